"""Write reserved_names.json: the names a new package or app must not take.

    python hooks/reserved_names.py

The pre-generation hook reads the file; nobody edits it by hand. Run this after changing
the template's requirements.txt, INSTALLED_APPS, top-level folders, .gitignore or
.dockerignore: tests/test_answers.py fails until the file matches them again.

Three kinds of names, each derived from the template itself:
- modules: every top-level module of every distribution requirements.txt pins (read
  from the installed files, so psycopg-binary's psycopg_binary counts), and the pin;
- app_labels: the label of every app settings.py installs (Django refuses two apps with
  one label);
- project_names: the template's top-level folders, and the names .gitignore or
  .dockerignore would keep out of git or the image.
"""

import json
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
REQUIREMENTS = PROJECT / "requirements.txt"
SETTINGS = PROJECT / "{{cookiecutter.project_slug}}" / "settings.py"
DATA_FILE = Path(__file__).resolve().with_name("reserved_names.json")

# Run by the project's interpreter: it alone knows what its distributions installed.
PROBE = r"""
import json, sys
from importlib.metadata import distribution

import django
from django.apps import AppConfig
from django.conf import settings

asked = json.loads(sys.argv[1])
modules = {}
for pin in asked["pins"]:
    dist = distribution(pin.split("==")[0].split("[")[0])
    for file in dist.files or []:
        top = file.parts[0]
        if len(file.parts) == 1:  # a module file: name.py, or name.cpython-311-....so
            top = top.split(".")[0] if top.endswith((".py", ".so", ".pyd")) else ""
        if top.isidentifier() and top != "__pycache__":
            modules[top] = pin
settings.configure()
django.setup()
labels = {AppConfig.create(app).label: app for app in asked["apps"]}
print(json.dumps({"modules": modules, "app_labels": labels}))
"""


def pins():
    """The requirement lines of requirements.txt: `name==version`."""
    lines = (line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return [line for line in lines if line]


def installed_apps():
    """The dotted paths settings.py lists in INSTALLED_APPS (the app made by startapp aside)."""
    block = re.search(r"^INSTALLED_APPS = \[(.*?)^\]", SETTINGS.read_text(), re.DOTALL | re.MULTILINE)
    return re.findall(r"^\s*'([\w.]+)',", block.group(1), re.MULTILINE)


def is_plain_name(name):
    """A name an answer could take: a-z first (the hook's rule), no Jinja."""
    return name.isidentifier() and name[:1].isalpha()


def project_names():
    """Top-level names the project itself holds, with what holds them."""
    names = {
        path.name: "a folder the project ships"
        for path in PROJECT.iterdir() if path.is_dir() and is_plain_name(path.name)
    }
    for ignore_file in (".gitignore", ".dockerignore"):
        for line in (PROJECT / ignore_file).read_text().splitlines():
            name = line.strip().strip("/")
            if is_plain_name(name) and name not in names:
                keeps_out = "git" if ignore_file == ".gitignore" else "the image"
                names[name] = f"a name the project's {ignore_file} keeps out of {keeps_out}"
    return names


def derive(python):
    """Every reserved name, found with `python`: an interpreter with the pins installed."""
    asked = json.dumps({"pins": pins(), "apps": installed_apps()})
    done = subprocess.run([str(python), "-c", PROBE, asked], capture_output=True, text=True,
                          check=True)
    found = json.loads(done.stdout)
    found["project_names"] = project_names()
    return {kind: dict(sorted(names.items())) for kind, names in sorted(found.items())}


def main():
    with tempfile.TemporaryDirectory(prefix="reserved-names-") as scratch:
        env_dir = Path(scratch) / "venv"
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", REQUIREMENTS], check=True)
        names = derive(python)
    DATA_FILE.write_text(json.dumps(names, indent=2) + "\n")
    print(f"wrote {DATA_FILE.relative_to(TEMPLATE)}: "
          + ", ".join(f"{len(found)} {kind}" for kind, found in names.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
