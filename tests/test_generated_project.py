"""The baked project works as Django: checks, migrations, its own tests, runserver,
and an app that is exactly what Django's startapp makes."""

import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import TEMPLATE, project_env, run
from traffic import free_port

pytestmark = pytest.mark.slow


def test_system_checks_pass(project, project_django):
    done = project_django.run(project, ["check", "--fail-level", "WARNING"])
    assert "System check identified no issues" in done.stdout


def test_migrate_on_sqlite_then_no_model_changes_are_left_unmigrated(project, project_django):
    project_django.run(project, ["migrate", "--noinput"])
    assert (project / "db.sqlite3").stat().st_size > 0
    shown = project_django.run(project, ["showmigrations", "--plan"]).stdout
    assert "[X]  auth.0001_initial" in shown and "[ ]" not in shown
    project_django.run(project, ["makemigrations", "--check", "--dry-run"])


def test_the_project_own_tests_pass(project, project_django):
    done = project_django.run(project, ["test"])
    ran = re.search(r"^Ran (\d+) tests", done.stderr, re.MULTILINE)
    assert ran and int(ran.group(1)) >= 5, done.stderr
    # OK, or OK with what needs a database server skipped: this runs on SQLite.
    assert re.search(r"\nOK( \(skipped=\d+\))?\n", done.stderr), done.stderr


def test_an_empty_database_url_runs_on_the_sqlite_default(default_project, project_python):
    # `DATABASE_URL=` (a line left empty in .env, or `export DATABASE_URL=`) is unset, as
    # for the project's other variables; dj-database-url alone would give no ENGINE.
    code = ("from django.db import connection; connection.ensure_connection();"
            " print(connection.vendor, connection.settings_dict['NAME'])")
    done = run(project_python, "manage.py", "shell", "--no-imports", "-c", code,
               cwd=default_project, env={"DATABASE_URL": ""})
    assert done.stdout.split() == ["sqlite", str(default_project / "db.sqlite3")]


def test_app_is_exactly_what_startapp_makes(project, project_python, tmp_path):
    app = "exampleapp" if project.name == "exampleproject" else "orders"
    target = tmp_path / "startapp" / app
    target.mkdir(parents=True)
    # From outside the target's folder, so the empty app folder is not importable.
    run(project_python, "-m", "django", "startapp", app, target, cwd=tmp_path)
    made_by_django = {p.relative_to(target): p.read_bytes()
                      for p in target.rglob("*") if p.is_file()}
    in_project = {p.relative_to(project / app): p.read_bytes()
                  for p in (project / app).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    template_own = {path for path in in_project if path.parts[0] == "static"}
    template_static = TEMPLATE / "{{cookiecutter.project_slug}}" / "{{cookiecutter.app_name}}"
    assert template_own == {
        Path(str(path.relative_to(template_static)).replace("{{cookiecutter.app_name}}", app))
        for path in template_static.rglob("*") if path.is_file()
    }
    assert {path: in_project[path] for path in in_project.keys() - template_own} == made_by_django


def test_runserver_serves_the_home_page_and_the_app_stylesheet(default_project, project_python):
    run(project_python, "manage.py", "migrate", "--noinput", cwd=default_project)
    port = free_port()
    server = subprocess.Popen(
        [project_python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=default_project, env=project_env(project_python),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not answer in 20 s"
                time.sleep(0.2)
        assert page.status == 200
        assert "Example Project is running" in page.read().decode()
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/exampleapp/style.css")
        assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    finally:
        server.terminate()
        server.wait(timeout=10)
