"""Write templates/tested_versions.jinja: the exact versions a bake pins, as uv locks them.

    python hooks/tested_versions.py            # lock again, keeping today's versions
    python hooks/tested_versions.py --upgrade  # the newest release of everything

A requirement set is one answer to django_version with one answer to database. For each,
`uv lock` resolves, for every Python the set allows, the project's direct requirements
(REQUIREMENTS: the newest patch release of the Django series, the database driver, and
the rest unpinned, so the newest of each), what every option answer adds (OPTIONS:
Celery, django-storages, ...) and the development group (DEV). Without --upgrade, the
versions in tested_versions.jinja are kept wherever they still fit, so adding a package
moves nothing else. The lock's dependency graph says which answers need each package: a
bake pins the set's own packages, the development group's, and those of the options it
chose, and nothing else. The template's test suite bakes and installs these versions;
nobody edits the file by hand. Run hooks/reserved_names.py after this, then the tests.

The lock itself is not kept: it names the index it was made against, and a baked project
locks against the index its own uv is set up for (hooks/post_gen_project.py).

The driver for mysql is mysqlclient (the one Django documents). It has no wheels for
Linux, so locking it builds its metadata: install pkg-config and the MariaDB client
headers first (Debian: pkg-config libmariadb-dev).

django_python.json holds what each series' Requires-Python says, as the version the
pre-generation hook compares python_version with ({"6.1": "3.12"}).
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
# A Jinja file of data, in the folder cookiecutter's templates import from (`{% from
# "tested_versions.jinja" import sets %}`): Jinja reads it afresh for every render, where a
# filter module would stay as the first render of a process imported it (cruft renders the
# old and the new commit in one process).
DATA_FILE = TEMPLATE / "templates" / "tested_versions.jinja"
DJANGO_PYTHON = TEMPLATE / "hooks" / "django_python.json"
CHOICES = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))

# Every bake's own requirements, besides its Django series and database driver.
COMMON = ["dj-database-url", "django-axes", "gunicorn", "python-dotenv"]
DRIVERS = {"postgresql": "psycopg[binary]", "mysql": "mysqlclient"}
# What a Django series needs besides: Django 6.0 has a content security policy of its own.
SERIES = {"5.2": ["django-csp"], "6.1": []}
# What each option answer adds, by question, for every series or by series. Django 6.0
# has the Tasks framework built in; 5.2 takes it from django-tasks, its backport.
OPTIONS = {
    "background_tasks": {
        "django-tasks": {"5.2": ["django-tasks", "django-tasks-db"], "6.1": ["django-tasks-db"]},
        "celery": ["celery[redis]"],
    },
    "media_storage": {"s3": ["django-storages[s3]"]},
    "error_reports": {"sentry": ["sentry-sdk"]},
}
# The development group of every bake: the project's tests, lint and pre-commit.
DEV = ["pre-commit", "pytest", "pytest-django", "ruff"]
# Marks a package only the development group needs.
DEV_GROUP = "dev"
HEADER = """\
{#- The exact versions each bake pins, tested together by the template's test suite, and
    the uv that locked them (the image installs it). Written by hooks/tested_versions.py
    from `uv lock`: run it rather than editing this file. Each pin names the option answers
    that need it ("dev": the development group); [] is the set's own. -#}
"""


def version_key(version):
    return tuple(int(part) for part in version.split("."))


def name_of(requirement):
    """The normalised distribution name of a requirement (`celery[redis]` gives celery)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=~<>!; ]", requirement)[0]).lower()


def extras_of(requirement):
    found = re.search(r"\[([^\]]*)\]", requirement)
    return [extra.strip() for extra in found.group(1).split(",")] if found else []


def requirement_sets():
    """{"5.2 postgresql": [requirement, ...], ...}: every pair the questions allow."""
    return {
        f"{series} {database}": [f"Django~={series}.0", *COMMON, *SERIES[series],
                                 DRIVERS[database]]
        for series in CHOICES["django_version"]
        for database in CHOICES["database"]
    }


def option_requirements(series):
    """{answer: [requirement, ...]}: what each option answer adds to a set of the series."""
    found = {}
    for answers in OPTIONS.values():
        for answer, requirements in answers.items():
            found[answer] = requirements[series] if isinstance(requirements, dict) else requirements
    return found


def django_requires_python(series):
    """The oldest Python the newest release of a Django series runs on, from its metadata."""
    with tempfile.TemporaryDirectory(prefix="django-metadata-") as scratch:
        subprocess.run([uv(), "pip", "install", "--quiet", "--no-deps", "--target", scratch,
                        "--python-version", max(CHOICES["python_version"], key=version_key),
                        f"Django~={series}.0"], check=True)
        metadata = next(Path(scratch).glob("[Dd]jango-*.dist-info")) / "METADATA"
        requires = re.search(r"^Requires-Python: >=\s*(\d+\.\d+)", metadata.read_text(),
                             re.MULTILINE)
    return requires.group(1)


def oldest_python(series, django_python):
    """The oldest Python a set locks for: the oldest python_version answer the series runs on."""
    offered = sorted(CHOICES["python_version"], key=version_key)
    return next(v for v in offered if version_key(v) >= version_key(django_python[series]))


def interpreter(version):
    """A working `python<version>` on PATH or under pyenv, else None."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(path) for path in
                         Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    return None


def newest_interpreter():
    """The newest Python the python_version question offers that this machine has: every
    Django series runs on it, and uv locks with it (mysqlclient's metadata is built)."""
    for version in sorted(CHOICES["python_version"], key=version_key, reverse=True):
        if found := interpreter(version):
            return found
    raise SystemExit(f"none of Python {', '.join(CHOICES['python_version'])} is here")


def uv():
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise SystemExit("uv is needed: install the template's test group (CONTRIBUTING.md)")
    return found


def lock(requirements, options, python, kept, upgrade):
    """uv's lock of one set with every option answer's requirements and the dev group."""
    everything = requirements + [line for added in options.values() for line in added]
    project = {
        "project": {"name": "tested-versions", "version": "0", "requires-python": f">={python}",
                    "dependencies": everything},
        "dependency-groups": {DEV_GROUP: DEV},
        "tool": {"uv": {"package": False, "constraint-dependencies": [] if upgrade else kept}},
    }
    with tempfile.TemporaryDirectory(prefix="tested-versions-") as scratch:
        (Path(scratch) / "pyproject.toml").write_text(toml(project))
        done = subprocess.run([uv(), "lock", "--quiet", "--no-progress", "--python",
                               newest_interpreter()], cwd=scratch,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"uv could not lock {everything} for Python {python}:\n"
                             f"{done.stderr}")
        return tomllib.loads((Path(scratch) / "uv.lock").read_text())


def toml(table, prefix=""):
    """Enough TOML for the scratch pyproject.toml: tables of strings, bools and lists."""
    lines, subtables = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            subtables.append((key, value))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    text = (f"[{prefix}]\n" if prefix and lines else "") + "".join(f"{line}\n" for line in lines)
    for key, value in subtables:
        text += toml(value, f"{prefix}.{key}" if prefix else key)
    return text


def owners(locked, requirements, options):
    """{package: [] (the set's own), [answer, ...] or [DEV_GROUP]}, following the lock's
    graph from each direct requirement, extras included."""
    packages = {}
    for package in locked["package"]:
        if package["name"] in packages:
            raise SystemExit(f"the lock holds two versions of {package['name']} (a fork by "
                             "Python version): tested_versions.jinja has no markers for that")
        packages[package["name"]] = package

    def reached(requirement_lines):
        found, todo = set(), [(name_of(line), tuple(extras_of(line))) for line in requirement_lines]
        while todo:
            name, extras = todo.pop()
            if (name, extras) in found:
                continue
            found.add((name, extras))
            package = packages[name]
            edges = list(package.get("dependencies", []))
            for extra in extras:
                edges += package.get("optional-dependencies", {}).get(extra, [])
            todo += [(edge["name"], tuple(edge.get("extra", []))) for edge in edges]
        return {name for name, _ in found}

    # Every bake has the development group: what it needs is pinned whatever the options.
    base = reached(requirements)
    dev = reached(DEV) - base
    needed = {name: [] for name in base} | {name: [DEV_GROUP] for name in dev}
    for answer, added in options.items():
        for name in reached(added) - base - dev:
            needed[name] = sorted({*needed.get(name, []), answer})
    return {name: needed[name] for name in sorted(needed)}, packages


def pins(locked, requirements, options):
    """The set's data: its requirements pinned as spelled, the dev group's, and every other
    package the lock holds, each with the answers that need it."""
    needed, packages = owners(locked, requirements, options)
    direct = {name_of(line): line for line in requirements}
    for added in options.values():
        direct.update({name_of(line): line for line in added})

    def pinned(line):
        spelled = re.split(r"[~=<>!; ]", line)[0]
        return f"{spelled}=={packages[name_of(line)]['version']}"

    dependencies = [[pinned(line), needed[name]] for name, line in
                    sorted(direct.items(), key=lambda item: item[1].lower())]
    dev = [pinned(line) for line in DEV]
    spoken_for = {*direct, *map(name_of, DEV)}
    constraints = [[f"{name}=={packages[name]['version']}", needed[name]]
                   for name in needed if name not in spoken_for]
    return {"dependencies": dependencies, "dev": dev, "constraints": constraints}


def tested():
    """The data in DATA_FILE: {"uv": version, "sets": {...}}, read by Jinja as the templates
    read it."""
    from jinja2 import Environment, FileSystemLoader

    module = Environment(loader=FileSystemLoader(DATA_FILE.parent)).get_template(
        DATA_FILE.name).module
    return {"uv": module.uv, "sets": module.sets}


def kept_versions(key):
    """Today's pins of a set, as uv constraints: what a lock without --upgrade keeps."""
    found = tested()["sets"].get(key) if DATA_FILE.exists() else None
    if not found:
        return []
    lines = [line for line, _ in found["dependencies"] + found["constraints"]] + found["dev"]
    # The Django series comes from the set's own requirement, so a pin never holds it back.
    return [line.split("[")[0] + line[line.index("]") + 1:] if "[" in line else line
            for line in lines]


def main(args):
    upgrade = "--upgrade" in args
    django_python = {series: django_requires_python(series) for series in CHOICES["django_version"]}
    sets = {}
    for key, requirements in requirement_sets().items():
        series = key.split()[0]
        options = option_requirements(series)
        python = oldest_python(series, django_python)
        locked = lock(requirements, options, python, kept_versions(key), upgrade)
        sets[key] = {"requires_python": python, **pins(locked, requirements, options)}
        print(f"{key}: {len(locked['package']) - 1} packages, for Python {python} and later")
    version = subprocess.run([uv(), "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    text = json.dumps(sets, indent=2, ensure_ascii=False)
    # One pin a line: ["celery[redis]==5.7.0", ["celery"]].
    text = re.sub(r"\[\s+(\"[^\"]+\"),\s+\[([^\]]*)\]\s+\]",
                  lambda m: json.dumps([json.loads(m[1]), json.loads(f"[{m[2]}]")]), text)
    text = (HEADER + "{%- set uv = " + json.dumps(version) + " -%}\n"
            + "{%- set sets = " + text + " -%}")
    DATA_FILE.write_text(text + "\n")
    DJANGO_PYTHON.write_text(json.dumps(django_python, indent=2) + "\n")
    print(f"wrote {DATA_FILE.relative_to(TEMPLATE)} and {DJANGO_PYTHON.relative_to(TEMPLATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
