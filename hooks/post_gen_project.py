"""Finish the bake: let Django's own startapp make the app, write .env, say what is next.

Runs inside the new project directory. Any failure prints one line saying how to fix
it and exits 1; cookiecutter then deletes the half-made project.
"""

import re
import secrets
import shlex
import string
import sys
from pathlib import Path

APP_NAME = {{ cookiecutter.app_name | tojson }}

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
    """.env.example, the committed list of every variable, with the key filled in."""
    example = (PROJECT / ".env.example").read_text()
    line = f"SECRET_KEY={key}"
    return re.sub(r"^SECRET_KEY=.*$", lambda _: line, example, count=1, flags=re.MULTILINE)


def readme_block(heading):
    """The first fenced block after a heading of the project's README.md, line by line."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split(f"\n{heading}\n", 1)[1]
    return section.split("```bash\n", 1)[1].split("\n```", 1)[0].splitlines()


def print_next_steps():
    """Where the project is and how to start it: the README's own local run."""
    lines = [
        f"Your project is ready in {PROJECT}",
        "",
        "Run it on this machine (README.md, \"Run it on your machine\"):",
        f"    cd {shlex.quote(str(PROJECT))}",
        *(f"    {command}" for command in readme_block("## Run it on your machine")),
        "",
        "Then open http://127.0.0.1:8000/. Deploying to Convox: README.md, \"Deploy\".",
    ]
    print("\n".join(lines))


def main():
    try:
        make_app()
    except BakeError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    write_env_file()
    print_next_steps()
    return 0


if __name__ == "__main__":
    sys.exit(main())
