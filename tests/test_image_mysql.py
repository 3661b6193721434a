"""The image tests of test_image.py, for the other end of the table of combinations:
Django 6.1 with the mysql answer, built from its two-stage Dockerfile by podman, run as
Convox runs it against the machine's MariaDB (its Unix socket mounted in), and seen by
Chromium; and what the first stage keeps out of the image."""

import inspect
import json
import secrets

import pytest
import test_image
from combinations import SERVED
from conftest import MARIADB_SOCKET, mariadb_url, mysql_client
from test_image import router, start  # noqa: F401 (its fixtures, used here)
from traffic import BALANCER

pytestmark = pytest.mark.slow

SOCKETS = MARIADB_SOCKET.rsplit("/", 1)[0]  # the folder mounted into the container

# Every test of test_image.py that runs on its `web`, here on this bake's, in that module's
# order (its last one stops the server).
for _name, _test in list(vars(test_image).items()):
    if _name.startswith("test_") and "web" in inspect.signature(_test).parameters:
        globals()[_name] = _test


@pytest.fixture(scope="module")
def real_image(podman, combination_projects):
    """The 6.1 + mysql bake, built from its Dockerfile unchanged."""
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    podman.build(combination_projects[SERVED], tag)
    podman.keep_dependencies(tag)
    yield tag
    podman("rmi", tag, check=False)


@pytest.fixture(scope="module")
def web(podman, real_image, namespaces, fresh_mysql_database):
    namespace = namespaces("imy")
    namespace.add_address(BALANCER)
    try:
        yield start(podman, real_image, namespace, fresh_mysql_database(), url=mariadb_url,
                    sockets=SOCKETS)
    finally:
        podman("rm", "--force", "--time", "0", f"{namespace.name}-web", check=False)


def test_the_image_has_the_client_library_and_no_compiler_or_headers(podman, real_image):
    probe = ("import json, os, shutil, MySQLdb, django\n"
             "print(json.dumps([django.get_version(), MySQLdb.version_info[:3],"
             " [tool for tool in ('gcc', 'cc', 'pkg-config') if shutil.which(tool)],"
             " os.path.exists('/usr/include/mariadb/mysql.h')]))\n")
    done = podman("run", "--rm", "--network", "none", real_image, "python", "-c", probe)
    version, driver, tools, headers = json.loads(done.stdout)
    assert version.startswith("6.1.") and driver[0] >= 2
    assert tools == [] and headers is False


def test_migrations_made_the_tables_in_mariadb(web):
    tables = mysql_client(f"SHOW TABLES FROM `{web.database}`").stdout.split()
    assert {"accounts_user", "django_session", "django_migrations"} <= set(tables)
