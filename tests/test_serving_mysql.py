"""The serving tests of test_serving.py, for the other end of the table of combinations:
Django 6.1 with the mysql answer, its image's steps followed with its own virtualenv, and
bin/web, in a network namespace of its own, in front of the machine's MariaDB through a
proxy on a Unix socket that the tests can break."""

import inspect

import pytest
import test_serving
from combinations import SERVED
from conftest import project_env
from container import build
from db_proxy import DatabaseProxy
from test_serving import migrated, proxy, start_web, web  # noqa: F401 (its fixtures, used here)

pytestmark = pytest.mark.slow

# Every test of test_serving.py that runs bin/web on this module's database, in that
# module's order (its last one stops the shared server). Those that read the default bake's
# own files (.env, convox.yml) stay there.
for _name, _test in list(vars(test_serving).items()):
    _needs = inspect.signature(_test).parameters if _name.startswith("test_") else {}
    if {"web", "start_web"} & set(_needs) and "default_project" not in _needs:
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
    assert built.skipped[1] == "COPY --from=build /venv /venv"
    return built


@pytest.fixture(scope="module")
def database(image, fresh_mysql_database, tmp_path_factory):
    """A migrated MariaDB database with a superuser, behind a proxy the tests can break."""
    mariadb_proxy = DatabaseProxy(socket_dir=str(tmp_path_factory.mktemp("mariadb-proxy")),
                                  server="mariadb")
    yield migrated(image, mariadb_proxy, fresh_mysql_database())
    mariadb_proxy.close()


def test_the_served_bake_is_django_6_1_on_mariadb(image, database):
    pyproject = (image.workdir / "pyproject.toml").read_text()
    assert '"Django==6.1.' in pyproject and '"mysqlclient==' in pyproject
    assert database[1]["DATABASE_URL"].startswith("mysql://root@")
