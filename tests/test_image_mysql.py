"""The image tests of test_image.py, for the other end of the table of combinations:
Django 6.1 with the mysql answer, built from its two-stage Dockerfile by podman, run as
Convox runs it against the machine's MariaDB (its Unix socket mounted in), and seen by
Chromium; and what the first stage keeps out of the image."""

import json
import secrets

import pytest
from combinations import SERVED
from conftest import MARIADB_SOCKET, mariadb_url, mysql_client
from test_image import (  # noqa: F401 (fixtures and tests, run here on this image)
    router,
    start,
    test_a_browser_sees_the_styled_home_page_and_signs_into_the_admin,
    test_admin_login_signs_the_superuser_in,
    test_every_process_runs_as_the_images_unprivileged_user,
    test_hashed_static_files_come_from_nginx_cached_for_a_year,
    test_only_tmp_is_writable,
    test_podman_stop_ends_the_container_well_within_the_grace_period,
    test_port_4000_redirects_pages_and_answers_health_checks,
    test_port_4001_serves_the_client_the_proxy_header_names,
    test_router_port_serves_the_home_page_as_https,
    test_the_images_healthcheck_passes_inside_the_container,
)

pytestmark = pytest.mark.slow

SOCKETS = MARIADB_SOCKET.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def real_image(podman, combination_projects):
    """The 6.1 + mysql bake, built from its Dockerfile unchanged."""
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    podman.build(combination_projects[SERVED], tag)
    yield tag
    podman("rmi", tag, check=False)


@pytest.fixture(scope="module")
def web(podman, real_image, namespaces, fresh_mysql_database):
    namespace = namespaces("imy")
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
    assert {"auth_user", "django_session", "django_migrations"} <= set(tables)
