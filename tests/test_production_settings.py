"""Production settings: with SECRET_KEY and a PostgreSQL DATABASE_URL and nothing else, the
real image passes Django's deployment checklist and serves the baked domain."""

import json
import secrets

import pytest
import stack
from traffic import DOMAIN

pytestmark = pytest.mark.slow

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://postgres:password@database:5432/app",
}


def deploy_check(podman, image, env):
    return podman.run_as_convox(image, env, "python", "manage.py", "check", "--deploy",
                                "--fail-level", "WARNING", check=False)


def test_deploy_checks_pass_with_only_a_key_and_a_database(podman, real_image):
    done = deploy_check(podman, real_image, PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_deploy_checks_catch_debug_left_on(podman, real_image):
    # The same check fails when something is wrong: it is not passing by accident.
    done = deploy_check(podman, real_image, {**PRODUCTION, "DEBUG": "true"})
    assert done.returncode != 0
    assert "security.W018" in done.stderr


def test_production_serves_the_baked_domain_and_trusts_its_https_origin(podman, real_image):
    code = ("import json; from django.conf import settings as s; print(json.dumps("
            "[s.DEBUG, s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.DATABASES['default']['ENGINE'],"
            " s.DATABASES['default']['CONN_MAX_AGE'], s.SECURE_SSL_REDIRECT]))")
    done = stack.manage(podman, real_image, PRODUCTION, "shell", "--no-imports", "-c", code)
    debug, hosts, origins, engine, max_age, redirect = json.loads(done.stdout.splitlines()[-1])
    assert debug is False and redirect is True
    assert DOMAIN in hosts
    assert f"https://{DOMAIN}" in origins
    assert engine == "django.db.backends.postgresql" and max_age > 0


def test_the_image_collected_hashed_static_files(podman, real_image):
    # What .dockerignore keeps out (.env, db.sqlite3, at any depth) test_image.py plants in
    # a copy of the bake and looks for in the real image.
    done = podman.run_as_convox(real_image, {}, "cat", "staticfiles/staticfiles.json")
    manifest = json.loads(done.stdout)
    assert manifest["paths"]["exampleapp/style.css"].startswith("exampleapp/style.")
