"""Finish the bake: let Django's own startapp make the app, write .env and uv.lock, and
say what is next.

Runs inside the new project directory. Any failure prints one line naming its cause and
exits 1; cookiecutter then deletes the half-made project. A re-bake over an existing
project (--overwrite-if-exists) keeps the app, the .env and the uv.lock it finds.
"""

import functools
import os
import re
import secrets
import shlex
import string
import sys
from pathlib import Path

APP_NAME = {{ cookiecutter.app_name | tojson }}
PACKAGE = {{ cookiecutter.project_slug | tojson }}
BACKGROUND_TASKS = {{ cookiecutter.background_tasks | tojson }}

PROJECT = Path.cwd()
# The oldest Python each Django series runs on, as hooks/tested_versions.py found it.
DJANGO_PYTHON = {{ "hooks/django_python.json" | template_path | tojson }}

# Folders that belong to one option, and whether this bake chose it. cookiecutter cannot
# leave a folder out by its name (an empty folder name is an error), so this hook removes
# the ones not chosen.
OPTION_FOLDERS = {
    Path(PACKAGE, "background"): BACKGROUND_TASKS != "none",
}

# Characters that are safe unquoted in .env files, Compose files and shell commands
# such as `convox env set SECRET_KEY=...`: no $ ' " ` \ # or spaces.
KEY_ALPHABET = string.ascii_letters + string.digits + "-_.+@%"
KEY_LENGTH = 64


# What the closing message says besides the next steps.
NOTES = []


class BakeError(Exception):
    pass


def pinned_django():
    """The Django requirement, as the project's pyproject.toml pins it, and its series."""
    text = (PROJECT / "pyproject.toml").read_text()
    match = re.search(r'^    "(Django==(\d+)\.(\d+)\.\d+)",$', text, re.MULTILINE)
    return match.group(1), (int(match.group(2)), int(match.group(3)))


def find_uv():
    """uv's path: the one running this bake (uvx sets UV), on PATH, or beside cookiecutter
    (the uv package from PyPI); None without uv."""
    import shutil

    for candidate in (os.environ.get("UV"), shutil.which("uv"),
                      shutil.which("uv", path=str(Path(sys.executable).parent))):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    try:
        from uv import find_uv_bin
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


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


@functools.cache
def pythons():
    """{(3, minor): path} of the Pythons here: this one, python3.X on PATH, and pyenv's.

    A Django series may need a newer Python than cookiecutter runs on (Django 6.1 needs
    3.12); every series the template offers runs on the newest.
    """
    import shutil
    import subprocess

    found = {sys.version_info[:2]: sys.executable}
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for minor in range(sys.version_info[1] + 1, 30):
        candidates = [shutil.which(f"python3.{minor}"),
                      *sorted(map(str, pyenv.glob(f"3.{minor}.*/bin/python3.{minor}")))]
        for path in filter(None, candidates):
            # pyenv's shims exist for versions it has not selected: they fail when run.
            if subprocess.run([path, "-c", "import venv"], check=False,
                              capture_output=True).returncode == 0:
                found[(3, minor)] = path
                break
    return found


def python_for(series):
    """The oldest Python the Django series runs on ("3.12"), and the path of the newest
    Python here when it runs the series, else False."""
    import json

    with open(DJANGO_PYTHON, encoding="utf-8") as file:
        oldest = tuple(map(int, json.load(file)[".".join(map(str, series))].split(".")))
    found = pythons()
    newest = max(found)
    return ".".join(map(str, oldest)), newest >= oldest and found[newest]


def startapp_with_uv(uv, requirement, series, target):
    """startapp in uv's throwaway environment with the pinned Django, on a Python here
    that runs it, or one uv finds or fetches (uv's own Python downloads, online)."""
    import subprocess

    oldest, python = python_for(series)
    done = subprocess.run([uv, "run", "--quiet", "--no-project", "--isolated",
                           "--python", python or f">={oldest}", "--with", requirement,
                           "python", __file__, "--startapp", target],
                          check=False, capture_output=True, text=True, cwd=target.parent)
    said = last_line(done.stderr)
    if done.returncode and said.startswith("ERROR: "):  # this hook's own line: startapp ran
        raise BakeError(said.removeprefix("ERROR: "))
    if done.returncode:  # uv's (`error: ...`): Django or a Python out of reach
        said = next((line.strip() for line in done.stderr.splitlines()
                     if line.startswith("error: ")), said)  # its reason, not the hint after
        raise BakeError(
            f"startapp needs {requirement} on Python {oldest} or later, and uv could not "
            f"run it ({said}). Get online (uv "
            f"fetches both), or install {requirement} beside cookiecutter, then bake again."
        )


def startapp_in_throwaway_venv(requirement, series, target):
    """Install the pinned Django in a temporary virtualenv, run startapp there, delete it all.

    The virtualenv gets no pip of its own (making one costs seconds): the pip beside
    cookiecutter installs into it (`pip --python`, pip 22.3 and later). Where cookiecutter
    was installed with pipx or `uv tool` and no pip sits beside it, the venv module seeds
    one. The virtualenv runs this very file, with --startapp.
    """
    import subprocess  # imported here: the fast path needs none of these
    import tempfile

    oldest, base = python_for(series)
    if not base:
        raise BakeError(
            f"startapp needs {requirement}, which is not beside cookiecutter and runs on "
            f"Python {oldest} or later; Python {'.'.join(map(str, max(pythons())))} is the "
            f"newest here. Install uv, or "
            f"Python {oldest} or later (or {requirement} beside cookiecutter), then bake again."
        )
    version = subprocess.run([base, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    pip = pip_beside_cookiecutter()
    with tempfile.TemporaryDirectory(prefix="startapp-") as scratch:
        env_dir = Path(scratch) / "venv"
        done = subprocess.run([base, "-m", "venv", *(["--without-pip"] if pip else []),
                               env_dir], check=False, capture_output=True, text=True)
        if done.returncode:
            raise BakeError(f"could not make a virtualenv with Python {version} ({base}): "
                            f"{last_line(done.stderr)}")
        python = env_dir / "bin" / "python"
        if not python.exists():  # Windows
            python = env_dir / "Scripts" / "python.exe"
        # --no-compile: the virtualenv runs startapp once and is deleted, so the .pyc
        # files of Django's 2,800 modules would be written for nothing.
        install = [*([*pip, python] if pip else [python, "-m", "pip"]), "install", "--quiet",
                   "--disable-pip-version-check", "--no-compile", requirement]
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


def pip_beside_cookiecutter():
    """`pip --python`'s command line with the pip beside cookiecutter, without its Python
    argument; None where there is no pip, or one too old to install into another Python."""
    try:
        from pip import __version__
    except ImportError:
        return None
    if tuple(int(part) for part in __version__.split(".")[:2] if part.isdigit()) < (22, 3):
        return None
    return [sys.executable, "-m", "pip", "--python"]


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
        elif uv := find_uv():
            startapp_with_uv(uv, requirement, series, app_dir)
        else:
            startapp_in_throwaway_venv(requirement, series, app_dir)
    except OSError as error:  # say where, when Django's writes do not
        raise OSError(error.errno, error.strerror, error.filename or str(app_dir)) from error


def write_lock():
    """uv.lock, with the versions pyproject.toml pins and the hashes of the index the user's
    uv is set up for: from uv's cache when it has them all, else from the index. Without uv,
    or offline, the bake goes on without one, and the first `uv sync` writes it. A re-bake
    keeps the lock it finds.
    """
    import subprocess

    if (PROJECT / "uv.lock").exists():
        NOTES.append("Kept the existing uv.lock as it is (`uv lock` updates it to pyproject.toml).")
        return
    uv = find_uv()
    if not uv:
        NOTES.append("uv is not installed, so there is no uv.lock yet: the first `uv sync` "
                     "writes it, with the same tested versions (https://docs.astral.sh/uv/).")
        return
    _, python = python_for(pinned_django()[1])
    command = [uv, "lock", "--quiet", "--no-progress", *(["--python", python] if python else [])]
    for extra in (["--offline"], []):
        try:
            done = subprocess.run(command + extra, cwd=PROJECT, check=False,
                                  capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            break
        if done.returncode == 0:
            return
    NOTES.append(f"uv could not write uv.lock ({last_line(done.stderr)}): the first `uv "
                 "sync` writes it, with the same tested versions.")


def remove_folders_not_chosen():
    """A bake without an option has none of its files (OPTION_FOLDERS). The hook may run
    again over a project it finished, where they are gone already."""
    import shutil

    for folder, chosen in OPTION_FOLDERS.items():
        if not chosen and (PROJECT / folder).exists():
            shutil.rmtree(PROJECT / folder)


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
        *(["", *NOTES] if NOTES else []),
    ]
    print("\n".join(lines))


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
    return run([("leave out the options not chosen", remove_folders_not_chosen),
                ("make the app", make_app), ("write .env", write_env_file),
                ("write uv.lock", write_lock),
                ("print the next steps", print_next_steps)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
