"""The serving tests of test_serving.py, for the other end of the table of combinations:
Django 6.1 with the mysql answer, its image's steps followed with its own virtualenv, and
bin/web in front of the machine's MariaDB (through a proxy the tests can break)."""

import pytest
from combinations import SERVED
from conftest import project_env
from container import build
from db_proxy import DatabaseProxy
from test_serving import (  # noqa: F401 (fixtures and tests, run here on this bake)
    test_admin_login_over_4001_signs_the_superuser_in,
    test_hashed_static_files_are_served_by_nginx_and_cached_for_a_year,
    test_health_check_fails_fast_while_the_database_is_unreachable_then_recovers,
    test_health_check_is_answered_on_every_listener,
    test_port_4000_answers_a_health_check_addressed_to_an_ip,
    test_port_4000_redirects_pages_to_https,
    test_port_4001_refuses_connections_without_a_proxy_header,
    test_port_4001_serves_https_to_the_client_the_proxy_header_names,
    test_router_port_redirects_what_the_router_marks_as_plain_http,
    test_router_port_serves_requests_the_router_marks_as_https,
    test_router_port_takes_https_when_the_router_says_nothing,
    test_sigterm_lets_a_request_in_flight_finish_then_stops_nginx_and_gunicorn,
    test_static_files_are_compressed_for_clients_that_accept_it,
    web,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image(combination_projects, requirements_python, tmp_path_factory):
    """The 6.1 + mysql bake, its Dockerfile's last stage followed with its own virtualenv."""
    project = combination_projects[SERVED]
    python = requirements_python(project)
    built = build(project, tmp_path_factory.mktemp("image-mysql") / "app", project_env(python))
    assert built.skipped == [
        ("apt-get update && apt-get install -y --no-install-recommends nginx libmariadb3 "
        "&& rm -rf /var/lib/apt/lists/*"),
        "COPY --from=build /install /usr/local",
    ]
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
