"""Write reserved_names.json: the names a new package or app must not take.

    python hooks/reserved_names.py

The pre-generation hook reads the file; nobody edits it by hand. Run this after changing
the template's requirements.txt (hooks/requirements.py), INSTALLED_APPS, top-level
folders, .gitignore or .dockerignore: tests/test_answers.py fails until the file matches
them again.

Three kinds of names, each derived from the template itself:
- modules: for each requirement set ("5.2 postgresql": django_version and database),
  every top-level module of every distribution its requirements.txt pins (read from the
  installed files, so psycopg-binary's psycopg_binary counts), and the pin;
- app_labels: the label of every app settings.py installs (Django refuses two apps with
  one label);
- project_names: the template's top-level folders, and the names .gitignore or
  .dockerignore would keep out of git or the image.
"""

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from jinja2 import Environment

TEMPLATE = Path(__file__).resolve().parent.parent
PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
REQUIREMENTS = PROJECT / "requirements.txt"
SETTINGS = PROJECT / "{{cookiecutter.project_slug}}" / "settings.py"
DATA_FILE = Path(__file__).resolve().with_name("reserved_names.json")

# Run by the project's interpreter: it alone knows what its distributions installed.
PROBE = r"""
import json, sys
from importlib.metadata import PackageNotFoundError, distribution

import django
from django.apps import AppConfig
from django.conf import settings

asked = json.loads(sys.argv[1])
modules = {}
for pin in asked["pins"]:
    try:
        dist = distribution(pin.split("==")[0].split("[")[0])
    except PackageNotFoundError:  # a python_version marker left it out here
        continue
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


def load_requirements_script():
    spec = importlib.util.spec_from_file_location("requirements", TEMPLATE / "hooks" / "requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_sets():
    """The keys of the requirement sets: "5.2 postgresql", ..."""
    return list(load_requirements_script().requirement_sets())


def rendered_requirements(requirement_set):
    """requirements.txt as a bake with this set's answers renders it."""
    django_version, database = requirement_set.split()
    context = {"cookiecutter": {"django_version": django_version, "database": database}}
    return Environment(keep_trailing_newline=True).from_string(REQUIREMENTS.read_text()).render(
        **context)


def pins(requirement_set):
    """The requirement lines of the set's requirements.txt: `name==version[; marker]`."""
    lines = (line.split("#")[0].strip() for line in rendered_requirements(requirement_set).splitlines())
    return [line.split(";")[0].strip() for line in lines if line]


def installed_apps():
    """The dotted paths settings.py lists in INSTALLED_APPS (the app made by startapp aside)."""
    block = re.search(r"^INSTALLED_APPS = \[(.*?)^\]", SETTINGS.read_text(), re.DOTALL | re.MULTILINE)
    return re.findall(r"^\s*'([\w.]+)',", block.group(1), re.MULTILINE)


def project_apps():
    """The project's own apps in INSTALLED_APPS (`<slug>.accounts`): Django labels each by
    its last name, as their AppConfigs set no label of their own."""
    block = re.search(r"^INSTALLED_APPS = \[(.*?)^\]", SETTINGS.read_text(), re.DOTALL | re.MULTILINE)
    found = re.findall(r"^\s*'\{\{ cookiecutter\.project_slug \}\}\.(\w+)',", block.group(1),
                       re.MULTILINE)
    return {name: f"the project's own app (<project_slug>.{name})" for name in found}


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


def probe(python, requirement_set):
    """The set's modules and the app labels, found with `python`: an interpreter with the
    set's pins installed."""
    asked = json.dumps({"pins": pins(requirement_set), "apps": installed_apps()})
    done = subprocess.run([str(python), "-c", PROBE, asked], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def derive(pythons):
    """Every reserved name; `pythons` maps each requirement set to an interpreter with it."""
    found = {"modules": {}, "project_names": project_names()}
    for requirement_set in requirement_sets():
        probed = probe(pythons[requirement_set], requirement_set)
        found["modules"][requirement_set] = dict(sorted(probed["modules"].items()))
        found["app_labels"] = {**probed["app_labels"], **project_apps()}
    return {kind: dict(sorted(names.items())) for kind, names in sorted(found.items())}


def main():
    script = load_requirements_script()
    versions = sorted(json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"],
                      key=script.version_key)
    # The newest Python here runs every Django series.
    python = next(filter(None, map(script.interpreter, reversed(versions))))
    pythons = {}
    with tempfile.TemporaryDirectory(prefix="reserved-names-") as scratch:
        for requirement_set in requirement_sets():
            env_dir = Path(scratch) / requirement_set.replace(" ", "-")
            subprocess.run([python, "-m", "venv", env_dir], check=True)
            requirements = env_dir / "requirements.txt"
            requirements.write_text(rendered_requirements(requirement_set))
            pythons[requirement_set] = env_dir / "bin" / "python"
            subprocess.run([pythons[requirement_set], "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "-r", requirements], check=True)
        names = derive(pythons)
    DATA_FILE.write_text(json.dumps(names, indent=2) + "\n")
    print(f"wrote {DATA_FILE.relative_to(TEMPLATE)}: "
          + ", ".join(f"{len(found)} {kind}" for kind, found in names.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
