"""The serving tests of test_serving.py, for the other end of the table of combinations:
Django 6.1 with the mysql answer, its image's steps followed with its own virtualenv, and
bin/web in front of the machine's MariaDB (through a proxy the tests can break)."""

import inspect

import pytest
import test_serving
from combinations import SERVED
from conftest import project_env
from container import build
from db_proxy import DatabaseProxy
from test_serving import web  # noqa: F401 (its fixtures, used here)

pytestmark = pytest.mark.slow

# Every test of test_serving.py that runs on its `web`, here on this bake's, in that module's
# order (its last one stops the server).
for _name, _test in list(vars(test_serving).items()):
    if _name.startswith("test_") and "web" in inspect.signature(_test).parameters:
        globals()[_name] = _test


@pytest.fixture(scope="module")
def image(combination_projects, requirements_python, tmp_path_factory):
    """The 6.1 + mysql bake, its Dockerfile's last stage followed with its own virtualenv."""
    project = combination_projects[SERVED]
    python = requirements_python(project)
    built = build(project, tmp_path_factory.mktemp("image-mysql") / "app", project_env(python))
    # Left to the machine: Debian's packages, and what the first stage installs.
    assert [step.split()[0] for step in built.skipped] == ["apt-get", "COPY"]
    assert "libmariadb3" in built.skipped[0].split()
    assert built.skipped[1] == "COPY --from=build /install /usr/local"
    return built


@pytest.fixture(scope="module")
def proxied_database(fresh_mysql_database):
    """(proxy, DATABASE_URL): a new MariaDB database, behind a proxy the tests can break."""
    proxy = DatabaseProxy(upstream=("127.0.0.1", 3306))
    yield proxy, f"mysql://root@127.0.0.1:{proxy.port}/{fresh_mysql_database()}"
    proxy.close()


def test_the_served_bake_is_django_6_1_on_mariadb(image):
    requirements = (image.workdir / "requirements.txt").read_text()
    assert "Django==6.1." in requirements and "mysqlclient==" in requirements
