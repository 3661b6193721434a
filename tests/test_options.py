"""The options: django_version, database and python_version, each value and each pair of
them (tests/combinations.py) baked into a project that works.

Every combination renders its choices, passes hadolint, the Compose schema, Convox's
rules (with the database version Django needs) and `manage.py check`. One combination of
each requirement set runs migrations and its own tests on SQLite and on the machine's
PostgreSQL or MariaDB, passes the deployment checklist, and has the app and settings its
Django series' own startapp and startproject make.
"""

import ast
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import combinations
import pytest
import yaml
from combinations import COMBINATIONS, DJANGO_PYTHON, ONE_PER_SET, row_id
from conftest import TEMPLATE, mariadb_url, run
from convox_rules import check_compose, check_convox_yml, check_mysql_versions, minimum_postgres
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from project_files import (
    assert_convox_yml_declares_every_variable_read,
    assert_readme_lists_every_variable_read,
    link_url,
    variables_read,
)

DRIVERS = {"postgresql": "psycopg[binary]", "mysql": "mysqlclient"}
SCHEMES = {"postgresql": "postgres://", "mysql": "mysql://"}
OPTION_PACKAGES = {"django-tasks": "django-tasks-db", "celery": "celery[redis]",
                   "s3": "django-storages[s3]", "sentry": "sentry-sdk"}
THIS_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
ENGINES = {"postgresql": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}


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


# What the pre-generation hook refuses

REFUSED_PAIRS = [
    (series, python) for series in combinations.CHOICES["django_version"]
    for python in combinations.CHOICES["python_version"]
    if not combinations.accepted(series, python)
]


def test_some_pairs_are_refused():
    assert ("6.1", "3.11") in REFUSED_PAIRS


@pytest.mark.parametrize("series", combinations.CHOICES["django_version"])
def test_ruff_targets_the_oldest_python_the_answers_allow_for_the_series(bake, series):
    oldest = min((python for python in combinations.CHOICES["python_version"]
                  if combinations.accepted(series, python)), key=combinations.version)
    result = bake(django_version=series, python_version=oldest)
    assert result.exit_code == 0, result.exception
    pyproject = tomllib.loads((result.project_path / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert pyproject["project"]["requires-python"] == f">={oldest}"


@pytest.mark.parametrize("series", combinations.CHOICES["django_version"])
def test_every_django_documentation_link_names_the_baked_series(bake, series):
    result = bake(django_version=series, background_tasks="django-tasks", error_reports="sentry")
    assert result.exit_code == 0, result.exception
    links = {path.relative_to(result.project_path): re.findall(
        r"docs\.djangoproject\.com/en/([^/]+)/", path.read_text())
        for path in result.project_path.rglob("*") if path.is_file()
        and path.suffix in {".py", ".md", ".toml", ".yml", ".html", ".example"}}
    assert sum(map(len, links.values())) >= 5
    assert {path: found for path, found in links.items() if set(found) - {series}} == {}


@pytest.mark.parametrize(("series", "python"), REFUSED_PAIRS)
def test_a_python_too_old_for_the_series_is_refused_in_one_line(bake, capfd, series, python):
    result = bake(django_version=series, python_version=python)
    assert result.exit_code != 0
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")
              and not line.startswith("ERROR: Stopping")]
    example = combinations.CHOICES["python_version"][0]
    assert errors == [(
        f"ERROR: python_version: '{python}' is too old for Django {series}, which needs Python"
        f" {DJANGO_PYTHON[series]} or later; for example: {example}"
    )]
    assert result.project_path is None or not result.project_path.exists()


@pytest.mark.parametrize(("field", "value"), [("django_version", "5.1"), ("database", "sqlite"),
                                              ("python_version", "3.15")])
def test_an_answer_outside_the_choices_is_refused_in_one_line(
        field, value, tmp_path, capfd, _cookiecutter_config_file):
    # cookiecutter refuses such an answer on its command line; a replay file passes it on.
    context = dict(prompt_for_config(generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json")), no_input=True))
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": {**context, field: value}}))
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), replay=str(replay), output_dir=str(tmp_path / "out"),
                     config_file=_cookiecutter_config_file)
    errors = [line for line in capfd.readouterr().err.splitlines()
              if re.match(r"ERROR: \w+: ", line)]
    choices = ", ".join(combinations.CHOICES[field])
    assert errors == [(f"ERROR: {field}: '{value}' must be one of {choices}; for example: "
                      f"{combinations.CHOICES[field][0]}")]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_module_only_the_other_database_installs_is_a_name_the_app_may_take(bake):
    # hooks/reserved_names.json keeps a set of modules per django_version and database.
    result = bake(app_name="psycopg", database="mysql")
    assert result.exit_code == 0, result.exception
    assert (result.project_path / "psycopg" / "apps.py").is_file()


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
    env_file = (project / ".env").read_text()
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", env_file, re.MULTILINE))
    assert read <= listed, read - listed
    assert "EMAIL_URL" in read
    assert f"# DATABASE_URL={SCHEMES[row[1]]}" in env_file


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


# One combination of each requirement set, against real databases

SET_IDS = [combinations.requirement_set(row).replace(" ", "-") for row in ONE_PER_SET]


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


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_the_app_is_what_the_series_own_startapp_makes(row, combination_projects,
                                                        python_of, tmp_path):
    project, python = combination_projects[row], python_of(row)
    target = tmp_path / "startapp" / "exampleapp"
    target.mkdir(parents=True)
    # From outside the target's folder, so the empty app folder is not importable.
    run(python, "-m", "django", "startapp", "exampleapp", target, cwd=tmp_path)
    made = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    ours = {p.relative_to(project / "exampleapp"): p.read_bytes()
            for p in (project / "exampleapp").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "static" not in p.parts}
    assert ours == made
    assert (b"default_auto_field" in made[Path("apps.py")]) is (row[0] == "5.2")


def assigned_names(source):
    return [target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


def section_links(source):
    return re.findall(r"^# (?:See )?(https://docs\.djangoproject\.com/\S+)$", source, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_settings_read_like_the_series_own_startproject(row, combination_projects,
                                                        python_of, tmp_path):
    project, python = combination_projects[row], python_of(row)
    run(python, "-m", "django", "startproject", "exampleproject", tmp_path, cwd=tmp_path)
    theirs = (tmp_path / "exampleproject" / "settings.py").read_text()
    ours = (project / "exampleproject" / "settings.py").read_text()
    # Every setting startproject writes, in the same order, and its sections' links.
    names = assigned_names(ours)
    assert [name for name in names if name in assigned_names(theirs)] == assigned_names(theirs)
    links = section_links(ours)
    assert [link for link in links if link in section_links(theirs)] == section_links(theirs)
    for module in ("urls.py", "wsgi.py", "asgi.py"):
        their_links = re.findall(r"https://docs\S+", (tmp_path / "exampleproject" / module).read_text())
        assert their_links and all(link in (project / "exampleproject" / module).read_text()
                                   for link in their_links), module


# The data the hooks read, against what the pins install


@pytest.mark.slow
def test_each_series_oldest_python_is_its_requires_python(python_of):
    for row in ONE_PER_SET:
        python = python_of(row)
        requires = run(python, "-c", "from importlib.metadata import metadata; "
                       "print(metadata('Django')['Requires-Python'])", cwd="/").stdout.strip()
        assert requires == f">={DJANGO_PYTHON[row[0]]}", (row, requires)



@pytest.mark.parametrize("row", ONE_PER_SET, ids=map(row_id, ONE_PER_SET))
def test_readme_asks_for_the_oldest_python_the_series_is_offered_with(row, combination_projects):
    offered = [python for python in combinations.CHOICES["python_version"]
               if combinations.accepted(row[0], python)]
    oldest = min(offered, key=combinations.version)
    readme = (combination_projects[row] / "README.md").read_text()
    assert f"on Python {oldest} or later (`requires-python`" in readme
