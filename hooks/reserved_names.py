"""Write reserved_names.json: the names a new package or app must not take.

    python hooks/reserved_names.py

The pre-generation hook reads the file; nobody edits it by hand. Run this after changing
the tested versions (hooks/tested_versions.py), INSTALLED_APPS, top-level folders,
.gitignore or .dockerignore: tests/test_answers.py fails until the file matches them
again.

Four kinds of names, the first three derived from the template itself:
- modules: for each requirement set ("5.2 postgresql": django_version and database),
  every top-level module of every distribution a bake of it pins, the development
  group's included (read from the installed files, so psycopg-binary's psycopg_binary
  counts, and pytest's _pytest and py), and the pin; and for each option answer that adds
  packages ("5.2 postgresql + celery"), the modules of the pins it adds;
- app_labels: the label of every app settings.py installs (Django refuses two apps with
  one label);
- project_names: the template's top-level folders, and the names .gitignore or
  .dockerignore would keep out of git or the image;
- convox_apps: the app names a v3 rack refuses (convox/convox provider/k8s/app.go,
  appNameValidate), which the slug makes with dashes for underscores.
"""

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"

SETTINGS = PROJECT / "{{cookiecutter.project_slug}}" / "settings.py"
DATA_FILE = Path(__file__).resolve().with_name("reserved_names.json")
CONVOX_APPS = {name: "a name v3 racks keep for themselves" for name in ("rack", "system")}
DEV_GROUP = "dev"  # tested_versions.py's mark of what the development group alone needs

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


def load_tested_versions_script():
    spec = importlib.util.spec_from_file_location("tested_versions",
                                                  TEMPLATE / "hooks" / "tested_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tested_sets():
    return load_tested_versions_script().tested()["sets"]


def requirement_sets():
    """The keys of the requirement sets: "5.2 postgresql", ..."""
    return list(tested_sets())


def option_answers():
    """The option answers that add packages ("celery", ...)."""
    return [answer for answers in load_tested_versions_script().OPTIONS.values()
            for answer in answers]


def groups():
    """The keys reserved_names.json gives modules under: each requirement set, and each
    set with one option answer ("5.2 postgresql + celery")."""
    return [*requirement_sets(),
            *(f"{key} + {answer}" for key in requirement_sets() for answer in option_answers())]


def all_pins(requirement_set):
    """Every pin of a set, whatever the answers: [(name==version, needed_by), ...]; the
    development group's are needed by every bake."""
    found = tested_sets()[requirement_set]
    return [*found["dependencies"], *((pin, []) for pin in found["dev"]),
            *found["constraints"]]


def pins(group):
    """The pins (`name==version`) a group adds: all of a set's own (the development
    group's included), or those an option answer adds to them."""
    requirement_set, _, answer = group.partition(" + ")
    own = [pin for pin, needed_by in all_pins(requirement_set)
           if needed_by in ([], [DEV_GROUP])]
    if not answer:
        return own
    return [pin for pin, needed_by in all_pins(requirement_set)
            if answer in needed_by and pin not in own]


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
    found = {"modules": {}, "project_names": project_names(), "convox_apps": CONVOX_APPS}
    by_python = {}
    for group in groups():
        by_python.setdefault(pythons[group], []).append(group)
    for python, its_groups in by_python.items():
        probed = probe(python, its_groups)
        for group in its_groups:
            # Only names an answer could take: the hook refuses `_pytest` for its `_` alone.
            found["modules"][group] = dict(sorted(
                (name, pin) for name, pin in probed["modules"][group].items()
                if is_plain_name(name)))
        found["app_labels"] = {**found.get("app_labels", {}), **probed["app_labels"],
                               **project_apps()}
    found["modules"] = {group: found["modules"][group] for group in groups()}
    return {kind: dict(sorted(names.items())) for kind, names in sorted(found.items())}


def interpreters(scratch):
    """{group: python} for every group, in virtualenvs made in `scratch`: one per
    requirement set, with every pin of the set installed, whatever its markers (a
    Windows-only or older-Python package is still a name a user's project would shadow)."""
    script = load_tested_versions_script()
    python = script.newest_interpreter()  # the newest Python here runs every Django series
    pythons = {}
    for requirement_set in requirement_sets():
        # Every option's packages at once: uv locked them together.
        env_dir = Path(scratch) / requirement_set.replace(" ", "-")
        subprocess.run([script.uv(), "venv", "--quiet", "--python", python, env_dir],
                       check=True)
        subprocess.run([script.uv(), "pip", "install", "--quiet", "--python", env_dir,
                        *(pin for pin, _ in all_pins(requirement_set))], check=True)
        for group in groups():
            if group.partition(" + ")[0] == requirement_set:
                pythons[group] = env_dir / "bin" / "python"
    return pythons


def main():
    with tempfile.TemporaryDirectory(prefix="reserved-names-") as scratch:
        names = derive(interpreters(scratch))
    DATA_FILE.write_text(json.dumps(names, indent=2) + "\n")
    print(f"wrote {DATA_FILE.relative_to(TEMPLATE)}: "
          + ", ".join(f"{len(found)} {kind}" for kind, found in names.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
