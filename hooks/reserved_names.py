"""Write reserved_names.json: the names a new package or app must not take.

    python hooks/reserved_names.py

The pre-generation hook reads the file; nobody edits it by hand. Run this after changing
the template's requirements.txt (hooks/requirements.py), INSTALLED_APPS, top-level
folders, .gitignore or .dockerignore: tests/test_answers.py fails until the file matches
them again.

Three kinds of names, each derived from the template itself:
- modules: for each requirement set ("5.2 postgresql": django_version and database),
  every top-level module of every distribution its requirements.txt pins (read from the
  installed files, so psycopg-binary's psycopg_binary counts), and the pin; and for each
  option answer that adds packages ("5.2 postgresql + celery"), the modules of the pins
  it adds;
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
for group, pins in asked["groups"].items():
    modules[group] = {}
    for pin in pins:
        try:
            dist = distribution(pin.split("==")[0].split("[")[0])
        except PackageNotFoundError:  # a python_version marker left it out here
            continue
        for file in dist.files or []:
            top = file.parts[0]
            if len(file.parts) == 1:  # a module file: name.py, or name.cpython-311-....so
                top = top.split(".")[0] if top.endswith((".py", ".so", ".pyd")) else ""
            if top.isidentifier() and top != "__pycache__":
                modules[group][top] = pin
settings.configure()
django.setup()
labels = {}
for app in asked["apps"]:
    try:
        labels[AppConfig.create(app).label] = app
    except ImportError:  # an option's app, not installed in this interpreter
        pass
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


def option_answers():
    """{answer: question} for every option answer that adds packages ("celery": ...)."""
    return {answer: question for question, answers in load_requirements_script().OPTIONS.items()
            for answer in answers}


def groups():
    """The keys reserved_names.json gives modules under: each requirement set, and each
    set with one option answer ("5.2 postgresql + celery")."""
    return [*requirement_sets(),
            *(f"{key} + {answer}" for key in requirement_sets() for answer in option_answers())]


def rendered_requirements(requirement_set, **options):
    """requirements.txt as a bake with this set's answers (and `options`) renders it."""
    django_version, database = requirement_set.split()
    context = {"django_version": django_version, "database": database,
               **dict.fromkeys(load_requirements_script().OPTIONS, "none"), **options}
    return Environment(keep_trailing_newline=True).from_string(REQUIREMENTS.read_text()).render(
        cookiecutter=context)


def pins(group):
    """The requirement lines (`name==version`) a group adds: all of a set's own, or those an
    option answer adds to them."""
    requirement_set, _, answer = group.partition(" + ")
    found = _pins(rendered_requirements(requirement_set))
    if not answer:
        return found
    with_answer = _pins(rendered_requirements(requirement_set, **{option_answers()[answer]: answer}))
    return [pin for pin in with_answer if pin not in found]


def _pins(text):
    lines = (line.split("#")[0].strip() for line in text.splitlines())
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


def probe(python, groups):
    """The modules of each of `groups` and the app labels, found with `python`: an
    interpreter with the groups' pins installed."""
    asked = json.dumps({"groups": {group: pins(group) for group in groups},
                        "apps": installed_apps()})
    done = subprocess.run([str(python), "-c", PROBE, asked], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def derive(pythons):
    """Every reserved name; `pythons` maps each group (groups()) to an interpreter with its
    pins installed."""
    found = {"modules": {}, "project_names": project_names()}
    by_python = {}
    for group in groups():
        by_python.setdefault(pythons[group], []).append(group)
    for python, its_groups in by_python.items():
        probed = probe(python, its_groups)
        for group in its_groups:
            found["modules"][group] = dict(sorted(probed["modules"][group].items()))
        found["app_labels"] = {**found.get("app_labels", {}), **probed["app_labels"],
                               **project_apps()}
    found["modules"] = {group: found["modules"][group] for group in groups()}
    return {kind: dict(sorted(names.items())) for kind, names in sorted(found.items())}


def bundles():
    """Option answers that together name every answer that adds packages, one per
    bundle: [{"background_tasks": "django-tasks", ...}, {"background_tasks": "celery"}]."""
    options = load_requirements_script().OPTIONS
    return [{question: list(answers)[index] for question, answers in options.items()
             if index < len(answers)}
            for index in range(max(map(len, options.values())))]


def main():
    script = load_requirements_script()
    versions = sorted(json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"],
                      key=script.version_key)
    # The newest Python here runs every Django series.
    python = next(filter(None, map(script.interpreter, reversed(versions))))
    pythons = {}
    with tempfile.TemporaryDirectory(prefix="reserved-names-") as scratch:
        for requirement_set in requirement_sets():
            for index, bundle in enumerate(bundles()):
                env_dir = Path(scratch) / f"{requirement_set.replace(' ', '-')}-{index}"
                subprocess.run([python, "-m", "venv", env_dir], check=True)
                requirements = env_dir / "requirements.txt"
                requirements.write_text(rendered_requirements(requirement_set, **bundle))
                subprocess.run([env_dir / "bin" / "python", "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "-r", requirements], check=True)
                for group in [requirement_set, *(f"{requirement_set} + {answer}"
                                                 for answer in bundle.values())]:
                    pythons[group] = env_dir / "bin" / "python"
        names = derive(pythons)
    DATA_FILE.write_text(json.dumps(names, indent=2) + "\n")
    print(f"wrote {DATA_FILE.relative_to(TEMPLATE)}: "
          + ", ".join(f"{len(found)} {kind}" for kind, found in names.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
