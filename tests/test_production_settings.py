"""Production settings: with SECRET_KEY and a PostgreSQL DATABASE_URL and nothing else,
the built image passes Django's deployment checklist."""

import json
import secrets

import pytest
from conftest import run

pytestmark = pytest.mark.slow

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://postgres:password@database:5432/app",
}


def test_deploy_checks_pass_with_only_a_key_and_a_database(image):
    done = run(image.python, "manage.py", "check", "--deploy", "--fail-level", "WARNING",
               cwd=image.workdir, env=PRODUCTION)
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_deploy_checks_catch_debug_left_on(image):
    # The same check fails when something is wrong: it is not passing by accident.
    done = run(image.python, "manage.py", "check", "--deploy", "--fail-level", "WARNING",
               cwd=image.workdir, env={**PRODUCTION, "DEBUG": "true"}, check=False)
    assert done.returncode != 0
    assert "security.W018" in done.stderr


def test_production_serves_the_baked_domain_and_trusts_its_https_origin(image):
    code = ("import json; from django.conf import settings as s; print(json.dumps("
            "[s.DEBUG, s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.DATABASES['default']['ENGINE'],"
            " s.DATABASES['default']['CONN_MAX_AGE'], s.SECURE_SSL_REDIRECT]))")
    done = run(image.python, "manage.py", "shell", "--no-imports", "-c", code, cwd=image.workdir,
               env=PRODUCTION)
    debug, hosts, origins, engine, max_age, redirect = json.loads(done.stdout.splitlines()[-1])
    assert debug is False and redirect is True
    assert "example.com" in hosts
    assert "https://example.com" in origins
    assert engine == "django.db.backends.postgresql" and max_age > 0


def test_the_image_collected_hashed_static_files(image):
    # What .dockerignore keeps out (.env, db.sqlite3, at any depth) test_image.py plants in
    # a copy of the bake and looks for in the real image; here the bake may hold neither.
    manifest = json.loads((image.workdir / "staticfiles" / "staticfiles.json").read_text())
    assert manifest["paths"]["exampleapp/style.css"].startswith("exampleapp/style.")
    # Only the operating system's step (nginx from Debian) and uv's install of uv.lock are
    # left to the machine: the fixture's virtualenv holds what that step installs.
    assert [step.split()[0] for step in image.skipped] == ["apt-get", "pip"]
    assert "uv sync --locked --no-dev" in image.skipped[1]
