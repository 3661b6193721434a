"""Finish the bake: let Django's own startapp make the app, then write .env.

Runs inside the new project directory. Any failure prints one line naming its cause and
exits 1; cookiecutter then deletes the half-made project. A re-bake over an existing
project (--overwrite-if-exists) keeps the app and the .env it finds.
"""

import os
import re
import secrets
import string
import sys
from pathlib import Path

APP_NAME = {{ cookiecutter.app_name | tojson }}
DOMAIN_NAME = {{ cookiecutter.domain_name | tojson }}
PROJECT_SLUG = {{ cookiecutter.project_slug | tojson }}
DATABASE = {{ cookiecutter.database | tojson }}
DJANGO_VERSION = {{ cookiecutter.django_version | tojson }}

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


def startapp(target):
    """Django's startapp, in this interpreter, into the app folder `target`.

    startapp also refuses a name its own interpreter can import. That interpreter runs
    cookiecutter (jinja2, yaml, click, ...), not the project, and the pre-generation hook
    has already refused the names the project installs; so only the identifier check stays.
    """
    from django.conf import settings
    from django.core.management import CommandError, call_command
    from django.core.management.commands.startapp import Command

    class StartApp(Command):
        def validate_name(self, name, name_or_dir="name"):
            if not name.isidentifier():
                super().validate_name(name, name_or_dir)

    # With settings configured, startapp skips django.setup(), half of this hook's time;
    # a command object, unlike its name, needs no app registry to be found.
    settings.configure()
    try:
        call_command(StartApp(), APP_NAME, str(target), verbosity=0)
    except CommandError as error:
        raise BakeError(f"startapp refused {APP_NAME!r}: {error}") from error


def newest_python():
    """(version, path) of the newest Python on PATH, this one included.

    Every Django series the template offers runs on the newest Python, and a newer series
    may need a newer one than cookiecutter runs on (Django 6.1 needs 3.12).
    """
    import shutil
    import subprocess

    found = {sys.version_info[:2]: sys.executable}
    for minor in range(sys.version_info[1] + 1, 30):
        path = shutil.which(f"python3.{minor}")
        # pyenv's shims exist for versions it has not selected: they fail when run.
        if path and subprocess.run([path, "-c", "import ensurepip, venv"], check=False,
                                   capture_output=True).returncode == 0:
            found[(3, minor)] = path
    version = max(found)
    return ".".join(map(str, version)), found[version]


def startapp_in_throwaway_venv(requirement, target):
    """Install the pinned Django in a temporary virtualenv, run startapp there, delete it all.

    The venv module works where cookiecutter was installed with pipx or `uv tool`
    and no pip sits beside it. The virtualenv runs this very file, with --startapp.
    """
    import subprocess  # imported here: the fast path needs none of these
    import tempfile

    version, base = newest_python()
    with tempfile.TemporaryDirectory(prefix="startapp-") as scratch:
        env_dir = Path(scratch) / "venv"
        done = subprocess.run([base, "-m", "venv", env_dir], check=False, capture_output=True,
                              text=True)
        if done.returncode:
            raise BakeError(f"could not make a virtualenv with Python {version} ({base}): "
                            f"{last_line(done.stderr)}")
        python = env_dir / "bin" / "python"
        if not python.exists():  # Windows
            python = env_dir / "Scripts" / "python.exe"
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   requirement]
        done = subprocess.run(install, check=False, cwd=scratch, capture_output=True,
                              text=True)
        if done.returncode:
            raise BakeError(
                f"startapp needs {requirement}, which is not beside cookiecutter, and pip "
                f"could not install it for Python {version}, the newest here "
                f"({last_line(done.stderr)}). Install it beside cookiecutter "
                f"(pip install '{requirement}') or get online, then bake again."
            )
        done = subprocess.run([python, __file__, "--startapp", target], check=False,
                              cwd=scratch, capture_output=True, text=True)
        if done.returncode:
            raise BakeError(last_line(done.stderr).removeprefix("ERROR: "))


def last_line(output):
    return (output.strip().splitlines() or ["no output"])[-1]


def make_app():
    """startapp, into the app folder that already holds the template's static/ folder.

    On a re-bake the folder may hold the app itself: then it stays as it is, and Django
    is not needed.
    """
    app_dir = PROJECT / APP_NAME
    if (app_dir / "apps.py").exists():
        print(f"Kept the existing app {APP_NAME}/ as it is (startapp not run).")
        return
    requirement, series = pinned_django()
    try:
        import django
    except ImportError:
        django = None
    try:
        if django is not None and django.VERSION[:2] == series:
            startapp(app_dir)
        else:
            startapp_in_throwaway_venv(requirement, app_dir)
    except OSError as error:  # say where, when Django's writes do not
        raise OSError(error.errno, error.strerror, error.filename or str(app_dir)) from error


def secret_key():
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def write_env_file():
    """The local environment: a fresh SECRET_KEY, and every other variable the project reads.

    Created private (0600) from its first byte. An existing .env, from an earlier bake,
    holds the key and whatever the user added: it stays as it is.
    """
    env_file = PROJECT / ".env"
    try:
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print("Kept the existing .env as it is: its SECRET_KEY and settings are unchanged.")
        return
    try:
        with open(fd, "w", encoding="utf-8") as file:
            file.write(env_file_text(secret_key()))
    except OSError as error:
        env_file.unlink()  # a half-written .env would be kept by the next re-bake
        raise OSError(error.errno, error.strerror, str(env_file)) from error


def env_file_text(key):
    return f"""\
# Local settings, read by manage.py (python-dotenv), `convox start` and `docker compose`.
# Never commit this file (.gitignore and .dockerignore keep it out): on a rack, set
# these with `convox env set` instead.

SECRET_KEY={key}

# Local runs: debug pages, and bin/web applies migrations as it starts.
DEBUG=true
MIGRATE_ON_START=true

# Unset: a SQLite file, db.sqlite3. {LOCAL_DATABASE[DATABASE]}

# Host names Django serves, and the HTTPS origins forms may be posted from.
# ALLOWED_HOSTS={DOMAIN_NAME},localhost,127.0.0.1,[::1]
# CSRF_TRUSTED_ORIGINS=https://{DOMAIN_NAME},https://localhost,https://127.0.0.1,https://[::1]

# How long browsers must use HTTPS only (ignored while DEBUG is on).
# SECURE_HSTS_SECONDS=31536000

# gunicorn worker processes in bin/web.
# WEB_CONCURRENCY=2

# How long bin/web waits for the database to answer before it gives up.
# DATABASE_WAIT_SECONDS=30
{EMAIL if DJANGO_VERSION != "5.2" else ""}"""


LOCAL_DATABASE = {
    "postgresql": f"""For PostgreSQL on this machine, for example:
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/{PROJECT_SLUG}""",
    "mysql": f"""For MariaDB or MySQL on this machine, for example:
# DATABASE_URL=mysql://root@127.0.0.1:3306/{PROJECT_SLUG}""",
}

EMAIL = """
# The SMTP server mail goes to: smtp+tls://USER:PASSWORD@HOST:587, smtps://...:465 or
# smtp://HOST:25. Unset, mail is printed while DEBUG is on.
# EMAIL_URL=smtp+tls://apikey:secret@smtp.example.com:587
"""


def run(steps):
    """Each (what, function) in turn; the first failure prints one line and stops."""
    for what, function in steps:
        try:
            function()
        except BakeError as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            print(f"ERROR: could not {what}: {error.strerror or error}{where}", file=sys.stderr)
            return 1
    return 0


def main(args):
    if args[:1] == ["--startapp"]:  # in startapp_in_throwaway_venv's virtualenv
        return run([("make the app", lambda: startapp(Path(args[1])))])
    return run([("make the app", make_app), ("write .env", write_env_file)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
