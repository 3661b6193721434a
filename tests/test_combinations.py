"""The table of combinations (tests/support/combinations.py) and every row of it baked: each value
and each pair the hook accepts; each row renders its choices, reads an empty variable as
unset, passes hadolint, ruff, the Compose schema, Convox's rules (with the database version
Django needs) and `manage.py check`, and declares and documents every variable it reads.
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import tomllib

import combinations
import pytest
import yaml
from combinations import COMBINATIONS, DJANGO_PYTHON, ONE_PER_SET, row_id
from conftest import run
from convox_rules import check_compose, check_convox_yml, check_mysql_versions, minimum_postgres
from project_files import (
    assert_convox_yml_declares_every_variable_read,
    assert_readme_lists_every_variable_read,
    env_file,
    link_url,
    variables_read,
)

DRIVERS = {"postgresql": "psycopg[binary]", "mysql": "mysqlclient"}
SCHEMES = {"postgresql": "postgres://", "mysql": "mysql://"}
OPTION_PACKAGES = {"django-tasks": "django-tasks-db", "celery": "celery[redis]",
                   "s3": "django-storages[s3]", "sentry": "sentry-sdk"}


# The table itself


def allowed(first, x, second, y):
    """Whether the hook accepts answers x to `first` and y to `second` together."""
    answers = {first: x, second: y}
    if answers.keys() == {"django_version", "python_version"}:
        return combinations.accepted(answers["django_version"], answers["python_version"])
    return True


def test_the_table_bakes_every_value_and_every_pair_the_hook_accepts():
    choices = combinations.CHOICES
    for column, question in enumerate(combinations.QUESTIONS):
        assert {row[column] for row in COMBINATIONS} == set(choices[question])
    for (a, first), (b, second) in itertools.combinations(
            enumerate(combinations.QUESTIONS), 2):
        if second in combinations.OPTIONS and first not in {"django_version", "database"}:
            continue  # options meet the Django series and the database; no more is asked
        wanted = {(x, y) for x in choices[first] for y in choices[second]
                  if allowed(first, x, second, y)}
        assert {(row[a], row[b]) for row in COMBINATIONS} == wanted, (first, second)
    assert COMBINATIONS[0] == tuple(choices[question][0] for question in combinations.QUESTIONS)
    assert combinations.SERVED in COMBINATIONS


# Every combination


@pytest.fixture(scope="module")
def minimums(python_of):
    """{series: {"mariadb": (10, 11), "mysql": (8, 4)}}, as each pinned Django states them."""
    probe = ("import json\n"
             "from types import SimpleNamespace\n"
             "from django.db.backends.mysql.features import DatabaseFeatures as F\n"
             "found = F.__dict__['minimum_database_version']\n"
             "minimum = getattr(found, 'fget', None) or found.func\n"
             "print(json.dumps({engine: minimum(SimpleNamespace(connection=SimpleNamespace("
             "mysql_is_mariadb=engine == 'mariadb'))) for engine in ('mariadb', 'mysql')}))\n")
    found = {}
    for row in ONE_PER_SET:
        python = python_of(row)
        found.setdefault(row[0], {key: tuple(value) for key, value in
                                  json.loads(run(python, "-c", probe, cwd="/").stdout).items()})
    return found


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_every_combination_renders_its_choices(row, combination_projects):
    series, database, python, *options = row
    project = combination_projects[row]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    pinned = {line.split("==")[0]: line for line in pyproject["project"]["dependencies"]}
    assert re.fullmatch(rf"Django=={re.escape(series)}\.\d+", pinned["Django"])
    # Each option's own package is pinned when it is chosen, and only then.
    for answer, package in OPTION_PACKAGES.items():
        assert (package in pinned) is (answer in options), answer
    assert ("django-csp" in pinned) is (series == "5.2")
    assert DRIVERS[database] in pinned
    assert DRIVERS["mysql" if database == "postgresql" else "postgresql"] not in pinned
    # requires-python: what the series runs on, and the image's Python satisfies; ruff
    # lints for it.
    oldest = pyproject["project"]["requires-python"].removeprefix(">=")
    version = combinations.version
    assert version(DJANGO_PYTHON[series]) <= version(oldest) <= version(python)
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert (project / "uv.lock").is_file()
    assert f"FROM python:{python}-slim-trixie\n" in (project / "Dockerfile").read_text()
    settings = (project / "exampleproject" / "settings.py").read_text()
    assert f"docs.djangoproject.com/en/{series}/" in settings
    assert ("MAILERS = {" in settings) is (series != "5.2")
    assert ("DEFAULT_AUTO_FIELD" in settings) is (series == "5.2")
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert any(SCHEMES[database] in entry for entry in compose["services"]["web"]["environment"])
    convox = yaml.safe_load((project / "convox.yml").read_text())
    assert convox["resources"]["database"]["type"] == {"postgresql": "postgres",
                                                       "mysql": "mariadb"}[database]
    documents = [project / "README.md", *(project / "docs").glob("*.md"), project / ".env"]
    for text in [settings, *(path.read_text() for path in documents)]:
        assert "\n\n\n\n" not in text and "{%" not in text and "{{" not in text


# Loads settings.py and gunicorn.conf.py as the container does, once with the variables
# unset and once with each set to the empty string, and prints what each load set.
EMPTY_PROBE = """
import json, os, runpy, sys
project, names = sys.argv[1], json.loads(sys.argv[2])
def loaded():
    found = {}
    for prefix, path in (('', f'{project}/settings.py'), ('gunicorn.', 'gunicorn.conf.py')):
        for key, value in runpy.run_path(path).items():
            if key[:1].isalpha() and isinstance(value, (str, int, float, bool, list, tuple, dict)):
                found[prefix + key] = repr(value)
    return found
os.environ['SECRET_KEY'] = 'k' * 50
unset = loaded()
os.environ.update(dict.fromkeys(names, ''))
print(json.dumps([unset, loaded()]))
"""

@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_an_empty_variable_means_what_an_unset_one_does(row, combination_projects, python_of,
                                                        tmp_path):
    """Every variable the project reads but SECRET_KEY: a rack's `NAME=` in convox.yml, or
    an empty line in .env, gives the defaults the code has for the unset variable."""
    project = tmp_path / combination_projects[row].name
    shutil.copytree(combination_projects[row], project,
                    ignore=shutil.ignore_patterns(".env", ".venv", "db.sqlite3"))
    names = sorted(set(variables_read(project)) - {"SECRET_KEY", "PORT", "TMPDIR", "PWD"})
    done = run(python_of(row), "-c", EMPTY_PROBE, project.name, json.dumps(names), cwd=project,
               env={name: value for name, value in os.environ.items() if name not in names})
    unset, empty = json.loads(done.stdout)
    assert {key: (unset.get(key), value) for key, value in empty.items()
            if unset.get(key) != value} == {}


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_every_combination_passes_the_rules_of_both_convox_manifests(
        row, combination_projects, minimums):
    project = combination_projects[row]
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    convox = yaml.safe_load((project / "convox.yml").read_text())
    minimum = minimum_postgres((project / "pyproject.toml").read_text())
    assert check_compose(compose, minimum) == []
    assert check_convox_yml(convox, minimum) == []
    assert check_mysql_versions(convox, compose, minimums[row[0]]) == []


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_every_combination_declares_and_documents_every_variable_it_reads(
        row, combination_projects):
    project = combination_projects[row]
    assert_convox_yml_declares_every_variable_read(project)
    assert_readme_lists_every_variable_read(project)
    assert "EMAIL_URL" in variables_read(project)


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_every_combination_links_an_official_database_image_that_gives_compose_its_url(
        row, combination_projects):
    services = yaml.safe_load((combination_projects[row] / "docker-compose.yml").read_text())[
        "services"]
    database = services["database"]
    env = dict(entry.split("=", 1) for entry in database["environment"])
    if row[1] == "mysql":
        assert database["image"] == "docker.io/library/mariadb:11.8"
        assert link_url("database", database) == "mysql://root:password@database:3306/app"
        # The official image makes that database and root password from MARIADB_*.
        assert (env["MARIADB_ROOT_PASSWORD"], env["MARIADB_DATABASE"]) == ("password", "app")
    else:
        assert database["image"] == "docker.io/library/postgres:17"
        assert link_url("database", database) == "postgres://postgres:password@database:5432/app"
    assert f"DATABASE_URL={link_url('database', database)}" in services["web"]["environment"]
    # First-generation Convox leaves ${NAME:-default} as it is (convox_rules.check_compose).
    assert not any(":-" in entry for entry in services["web"]["environment"])


@pytest.mark.slow
def test_every_combination_passes_hadolint_ruff_and_the_compose_schema(combination_projects,
                                                                       tools):
    projects = list(combination_projects.values())
    for project in projects:
        done = subprocess.run([tools["hadolint"], "Dockerfile"], cwd=project,
                              capture_output=True, text=True)
        assert (done.returncode, done.stdout) == (0, ""), f"{project.parent.name}: {done.stdout}"
        done = subprocess.run([tools["ruff"], "check", "."], cwd=project, capture_output=True,
                              text=True)
        assert done.returncode == 0, f"{project.parent.name}: {done.stdout}"
    done = subprocess.run([tools["check-jsonschema"], "--builtin-schema", "vendor.compose-spec",
                           *[project / "docker-compose.yml" for project in projects]],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_every_combination_passes_check(row, combination_projects, django_of):
    done = django_of(row).run(combination_projects[row], ["check", "--fail-level", "WARNING"])
    assert "System check identified no issues" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=map(row_id, ONE_PER_SET))
def test_env_file_lists_every_variable_the_settings_read_with_the_database_scheme(
        row, combination_projects):
    project = combination_projects[row]
    read = set(re.findall(r"environ\.get\('([A-Z_]+)'",
                          (project / "exampleproject" / "settings.py").read_text()))
    listed = env_file(project)
    assert read <= set(listed), read - set(listed)
    assert "EMAIL_URL" in read
    # An example of the database's URL, commented out: SQLite until it is set.
    assert listed["DATABASE_URL"] is None
    assert f"# DATABASE_URL={SCHEMES[row[1]]}" in (project / ".env").read_text()


# The database-version rule catches what it is for

MINIMUMS_61 = {"mariadb": (10, 11), "mysql": (8, 4)}


@pytest.mark.parametrize(("convox", "compose", "problem"), [
    ({"resources": {"database": {"type": "mariadb"}}}, {},
     "resources.database.options.version: is missing, and the rack's default mariadb 10.4"),
    ({"resources": {"database": {"type": "mariadb", "options": {"version": "10.6"}}}}, {},
     "resources.database.options.version: mariadb 10.6 is older"),
    ({"resources": {"database": {"type": "rds-mysql", "options": {"class": "db.t4g.micro"}}}},
     {}, "resources.database.options.version: is missing"),
    ({}, {"services": {"database": {"image": "mariadb:10.6"}}},
     "services.database.image: mariadb 10.6 is older"),
    ({}, {"services": {"database": {"image": "mysql"}}},
     "services.database.image: 'mysql' must name a version"),
])
def test_the_database_version_rule_refuses_what_django_cannot_connect_to(convox, compose,
                                                                         problem):
    problems = check_mysql_versions(convox, compose, MINIMUMS_61)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    fixed = json.loads(json.dumps(convox).replace('"10.6"', '"11.8"'))
    if "mariadb:10.6" in json.dumps(compose):
        assert check_mysql_versions(
            {}, {"services": {"database": {"image": "mariadb:11.8"}}}, MINIMUMS_61) == []
    elif fixed != convox:
        assert check_mysql_versions(fixed, {}, MINIMUMS_61) == []
