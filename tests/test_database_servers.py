"""One combination of each requirement set against real databases: migrations, checks and
the project's own tests on SQLite and on the machine's PostgreSQL or MariaDB, and the
deployment checklist with only a key and a database URL.
"""

import re
import secrets

import pytest
from combinations import ONE_PER_SET, SET_IDS
from conftest import mariadb_url

ENGINES = {"postgresql": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}


# One combination of each requirement set, against real databases


@pytest.fixture(scope="module")
def server_url(request):
    """server_url(database) -> a DATABASE_URL of a new, empty database on the machine's
    PostgreSQL or MariaDB (skipped, or failed in CI, when that server is missing)."""
    def make(database):
        if database == "mysql":
            return mariadb_url(request.getfixturevalue("fresh_mysql_database")())
        request.getfixturevalue("postgres")
        return f"postgres://postgres@%2Fvar%2Frun%2Fpostgresql/{request.getfixturevalue('fresh_database')()}"
    return make


def run_tests(django, project, env):
    done = django.run(project, ["test", "--noinput"], env)
    ran = re.search(r"^Ran (\d+) tests", done.stderr, re.MULTILINE)
    # A test for SQLite only (bin/web's database wait) is skipped on a server.
    assert ran and int(ran.group(1)) >= 5, done.stderr
    assert re.search(r"^OK( \(skipped=1\))?$", done.stderr, re.MULTILINE), done.stderr
    return done


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_migrations_and_the_project_tests_run_on_sqlite(row, combination_projects, django_of):
    project, django = combination_projects[row], django_of(row)
    env = {"DEBUG": "true"}
    django.run(project, ["migrate", "--noinput"], env)
    assert (project / "db.sqlite3").stat().st_size > 0
    django.run(project, ["makemigrations", "--check", "--dry-run"], env)
    run_tests(django, project, env)


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_migrations_checks_and_the_project_tests_run_on_the_database_server(
        row, combination_projects, django_of, server_url):
    project, django = combination_projects[row], django_of(row)
    database = row[1]
    env = {"DEBUG": "true", "DATABASE_URL": server_url(database)}
    django.run(project, ["migrate", "--noinput"], env)
    # With --database, the checks ask the server too (strict mode: mysql.W002).
    done = django.run(project, ["check", "--database", "default", "--fail-level", "WARNING"],
                      env)
    assert "System check identified no issues" in done.stdout
    probe = ("from django.db import connection\n"
             "with connection.cursor() as cursor:\n"
             "    print(connection.vendor, connection.get_database_version())\n"
             "    if connection.vendor == 'mysql':\n"
             "        cursor.execute('SELECT @@sql_mode, @@character_set_connection')\n"
             "        print(*cursor.fetchone())\n")
    shown = django.run(project, ["shell", "--no-imports", "-c", probe], env).stdout.split("\n")
    assert shown[0].startswith("mysql" if database == "mysql" else "postgresql")
    if database == "mysql":
        sql_mode, charset = shown[1].split()
        assert "STRICT_TRANS_TABLES" in sql_mode.split(",") and charset == "utf8mb4"
    run_tests(django, project, env)


def production(url):
    """What convox.yml and `convox env set` give web (the bake's .env says DEBUG=true)."""
    return {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "DATABASE_URL": url}


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_deploy_checks_pass_with_only_a_key_and_a_database(row, combination_projects,
                                                           django_of, server_url):
    project, django = combination_projects[row], django_of(row)
    # A server that answers: Django's MySQL backend asks it about its version in the checks.
    env = production(server_url(row[1]))
    deploy_checks = ["check", "--deploy", "--fail-level", "WARNING"]
    done = django.run(project, deploy_checks, env)
    assert "System check identified no issues (0 silenced)." in done.stdout
    probe = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    engine = django.run(project, ["shell", "--no-imports", "-c", probe], env).stdout.strip()
    assert engine == ENGINES[row[1]]
    # The same check fails with DEBUG on: for 6.1, on the console mail backend too.
    done = django.run(project, deploy_checks, {**env, "DEBUG": "true"}, check=False)
    assert done.returncode != 0 and "security.W018" in done.stderr
    assert ("mail.E001" in done.stderr) is (row[0] != "5.2")
