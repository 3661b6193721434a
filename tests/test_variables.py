"""The environment variables the project reads, found in its code: what the reader sees,
that the tests never inherit one, and that docs/configuration.md lists each."""

from conftest import PROJECT_VARIABLES
from project_files import (
    COMPUTED,
    SET_BY_THE_SYSTEM,
    assert_readme_lists_every_variable_read,
    variables_read,
)


def test_the_variable_reader_sees_what_settings_read(default_project):
    read = variables_read(default_project)
    assert read["ALLOWED_HOSTS"] == "example.com,localhost,127.0.0.1,[::1]"
    assert read["CSRF_TRUSTED_ORIGINS"] is COMPUTED
    assert read["SECURE_HSTS_SECONDS"] == "31536000"
    assert read["WEB_CONCURRENCY"] == "2"
    assert read["MIGRATE_ON_START"] == "false"
    assert read["DATABASE_WAIT_SECONDS"] == "30"
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "PORT"} <= set(read)


def test_tests_never_inherit_a_variable_the_project_reads(default_project):
    assert set(variables_read(default_project)) - SET_BY_THE_SYSTEM <= PROJECT_VARIABLES


def test_readme_lists_every_variable_the_project_reads(project):
    assert_readme_lists_every_variable_read(project)
