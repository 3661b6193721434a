"""Finish the bake: let Django's own startapp make the app, then write .env.

Runs inside the new project directory. Any failure prints one line saying how to fix
it and exits 1; cookiecutter then deletes the half-made project.
"""

import re
import secrets
import string
import sys
from pathlib import Path

APP_NAME = {{ cookiecutter.app_name | tojson }}
DOMAIN_NAME = {{ cookiecutter.domain_name | tojson }}
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}

PROJECT = Path.cwd()

# Characters that are safe unquoted in .env files, Compose files and shell commands
# such as `convox env set SECRET_KEY=...`: no $ ' " ` \ # or spaces.
KEY_ALPHABET = string.ascii_letters + string.digits + "-_.+@%"
KEY_LENGTH = 64


class BakeError(Exception):
    pass


def pinned_django():
    """The Django requirement line, as the project's requirements.txt pins it."""
    text = (PROJECT / "requirements.txt").read_text()
    match = re.search(r"^Django==(\d+)\.(\d+)\.\d+$", text, re.MULTILINE)
    return match.group(0), (int(match.group(1)), int(match.group(2)))


def startapp_here(app_dir):
    """The fast path: the interpreter running cookiecutter has the pinned Django series."""
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.commands.startapp import Command as StartApp

    # With settings configured, startapp skips django.setup(), half of this hook's time;
    # a command object, unlike its name, needs no app registry to be found.
    settings.configure()
    call_command(StartApp(), APP_NAME, str(app_dir), verbosity=0)


def startapp_in_throwaway_venv(requirement, app_dir):
    """Install the pinned Django in a temporary virtualenv, run startapp, delete it all.

    The venv module works where cookiecutter was installed with pipx or `uv tool`
    and no pip sits beside it.
    """
    import subprocess  # imported here: the fast path needs none of these
    import tempfile
    import venv

    with tempfile.TemporaryDirectory(prefix="startapp-") as scratch:
        env_dir = Path(scratch) / "venv"
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        if not python.exists():  # Windows
            python = env_dir / "Scripts" / "python.exe"
        steps = [
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            # From the scratch folder, so the half-made app folder is not importable.
            [python, "-m", "django", "startapp", APP_NAME, str(app_dir)],
        ]
        for step in steps:
            done = subprocess.run(step, check=False, cwd=scratch, capture_output=True, text=True)
            if done.returncode:
                last_line = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise BakeError(f"{' '.join(map(str, step[1:4]))} failed: {last_line}")


def make_app():
    requirement, series = pinned_django()
    app_dir = PROJECT / APP_NAME  # already holds the template's static/ folder
    try:
        import django
    except ImportError:
        django = None
    if django is not None and django.VERSION[:2] == series:
        startapp_here(app_dir)
        return
    try:
        startapp_in_throwaway_venv(requirement, app_dir)
    except (BakeError, OSError) as error:
        raise BakeError(
            f"startapp needs {requirement} and could not get it ({error}). Install it beside "
            f"cookiecutter (pip install '{requirement}') or get online, then bake again."
        ) from error


def secret_key():
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def write_env_file():
    """The local environment: a fresh SECRET_KEY, and every other variable the project reads."""
    env_file = PROJECT / ".env"
    env_file.write_text(env_file_text(secret_key()))
    env_file.chmod(0o600)


def env_file_text(key):
    return f"""\
# Local settings, read by manage.py (python-dotenv), `convox start` and `docker compose`.
# Never commit this file (.gitignore and .dockerignore keep it out): on a rack, set
# these with `convox env set` instead.

SECRET_KEY={key}

# Local runs: debug pages, and bin/web applies migrations as it starts.
DEBUG=true
MIGRATE_ON_START=true

# Unset: a SQLite file, db.sqlite3. For PostgreSQL on this machine, for example:
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/{PROJECT_SLUG}

# Host names Django serves, and the HTTPS origins forms may be posted from.
# ALLOWED_HOSTS={DOMAIN_NAME},localhost,127.0.0.1,[::1]
# CSRF_TRUSTED_ORIGINS=https://{DOMAIN_NAME},https://localhost,https://127.0.0.1,https://[::1]

# How long browsers must use HTTPS only (ignored while DEBUG is on).
# SECURE_HSTS_SECONDS=31536000

# gunicorn worker processes in bin/web.
# WEB_CONCURRENCY=2

# How long bin/web waits for the database to answer before it gives up.
# DATABASE_WAIT_SECONDS=30
"""


def main():
    try:
        make_app()
    except BakeError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    write_env_file()
    return 0


if __name__ == "__main__":
    sys.exit(main())
