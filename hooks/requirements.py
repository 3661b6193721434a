"""Write the pins of every requirement set into the project's requirements.txt template,
and the oldest Python of each Django series into hooks/django_python.json.

    python hooks/requirements.py

A requirement set is one answer to django_version with one answer to database. For each,
pip resolves the project's direct requirements (the newest patch release of the Django
series, the database driver, and the rest unpinned, so the newest of each) together with
what every option answer adds (OPTIONS: Celery, django-storages, ...) with every Python
interpreter the python_version question offers and this machine has, and the exact
versions it picks become the data block at the top of requirements.txt, which renders the
set a bake asks for. Each pin belongs to the set itself when its direct requirements
need it, else to each option answer whose requirements need it (read from the packages'
own dependency metadata), so a bake with every option off installs what it did before
the options existed. Where Pythons resolve a package to different versions,
each pin carries a python_version marker; a Python missing here gets the pins of the
run of Pythons it falls in. Nobody edits the data block by hand; run this, then
hooks/reserved_names.py, then the tests.

The driver for mysql is mysqlclient (the one Django documents). It has no wheels for
Linux, so resolving it builds its metadata: install pkg-config and the MariaDB client
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
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
REQUIREMENTS = TEMPLATE / "{{cookiecutter.project_slug}}" / "requirements.txt"
DJANGO_PYTHON = TEMPLATE / "hooks" / "django_python.json"
CHOICES = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

COMMON = ["dj-database-url", "gunicorn", "python-dotenv"]
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

HEADER = """\
{#- The pins of every requirement set (django_version and database), written by
    hooks/requirements.py from pip's resolver: run it rather than editing them. Each pin
    names the option answers that need it; [] is the set's own. #}
"""
BODY = """\
{%- set pins = sets[cookiecutter.django_version ~ " " ~ cookiecutter.database] -%}
{%- set chosen = [cookiecutter.background_tasks, cookiecutter.media_storage,
                  cookiecutter.error_reports] -%}
# Exact versions, tested together by the template's own test suite.
# Upgrade deliberately: change a pin, run the tests, commit.
{% for line, needed_by in pins.direct if not needed_by or needed_by | select("in", chosen) | list -%}
{{ line }}
{% endfor %}
# Installed by the packages above
{% for line, needed_by in pins.installed if not needed_by or needed_by | select("in", chosen) | list -%}
{{ line }}
{% endfor -%}
"""


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


def needed(report_items, environment, requirements):
    """The canonical names of what `requirements` pull in, following each installed
    package's own dependencies (markers and extras as pip evaluated them)."""
    metadata = {canonicalize_name(item["metadata"]["name"]): item["metadata"]
                for item in report_items}
    found, todo = set(), [Requirement(line) for line in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        extras = requirement.extras or {""}
        key = (name, frozenset(extras))
        if name not in metadata or key in found:
            continue
        found.add(key)
        for line in metadata[name].get("requires_dist", []):
            dependency = Requirement(line)
            if dependency.marker is None or any(
                    dependency.marker.evaluate({**environment, "extra": extra})
                    for extra in extras):
                todo.append(dependency)
    return {name for name, _ in found}


def version_key(version):
    return tuple(int(part) for part in version.split("."))


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


def resolve(python, requirements):
    """{name: (version, requested)} as pip would install `requirements` with `python`,
    or None when nothing satisfies them there (Django newer than that Python)."""
    with tempfile.TemporaryDirectory(prefix="requirements-") as scratch:
        report = Path(scratch) / "report.json"
        done = subprocess.run(
            [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--disable-pip-version-check", "--report", report, *requirements],
            capture_output=True, text=True)
        if done.returncode:
            if "No matching distribution found for Django" in done.stderr:
                return None
            raise SystemExit(f"pip could not resolve {requirements} with {python}:\n"
                             f"{done.stderr}")
        report = json.loads(report.read_text())
    return report["install"], report["environment"]


def groups(items, environment, requirements, options):
    """{canonical name: "" (the set itself) or the option answers that need it}."""
    base = needed(items, environment, requirements)
    found = {name: "" for name in base}
    for answer, added in options.items():
        for name in needed(items, environment, added) - base:
            found[name] = sorted({*found.get(name, []), answer})
    return found


def versions(items):
    """{name: (version, requested, requires_python)} from pip's report."""
    return {item["metadata"]["name"]: (item["metadata"]["version"], item["requested"],
                                       item["metadata"].get("requires_python", ""))
            for item in items}


def marker(versions, chosen):
    """The python_version marker for the Pythons in `chosen`, a run of `versions` (the
    Pythons that resolved); a Python between runs, or beyond them, falls in the nearer one."""
    if chosen == versions:
        return ""
    low, high = chosen[0], chosen[-1]
    parts = []
    if low != versions[0]:
        parts.append(f'python_version >= "{low}"')
    if high != versions[-1]:
        following = versions[versions.index(high) + 1]
        parts.append(f'python_version < "{following}"')
    return "; " + " and ".join(parts)


def pin_lines(resolved, spelled, owners):
    """Requirement lines sorted by name, each with the option answers that need it ([]:
    the set itself): (direct, installed)."""
    versions = sorted(resolved, key=version_key)
    names = sorted({name for found in resolved.values() for name in found}, key=str.lower)
    direct, installed = [], []
    for name in names:
        # A run of Pythons that agree on the version: one line each.
        runs = []
        for python in versions:
            found = resolved[python].get(name)
            if found is None:
                continue  # a marker in a dependency (typing_extensions): pinned anyway
            if runs and runs[-1][0] == found[0] and runs[-1][1][-1] == versions[
                    versions.index(python) - 1]:
                runs[-1][1].append(python)
            else:
                runs.append((found[0], [python]))
        requested = any(resolved[python].get(name, (None, False, ""))[1] for python in versions)
        spelling = spelled.get(name.lower(), name)
        needed_by = owners[canonicalize_name(name)] or []
        lines = [(f"{spelling}=={version}{marker(versions, chosen) if len(runs) > 1 else ''}",
                  needed_by)
                 for version, chosen in runs]
        (direct if requested else installed).extend(lines)
    return direct, installed


def render(sets):
    def items(lines):
        return "".join(f"            {json.dumps(list(line))},\n" for line in lines)

    block = "{%- set sets = {\n"
    for key, (direct, installed) in sets.items():
        block += (f"    {json.dumps(key)}: {{\n"
                  f"        \"direct\": [\n{items(direct)}        ],\n"
                  f"        \"installed\": [\n{items(installed)}        ],\n"
                  f"    }},\n")
    block += "} %}\n"
    return HEADER + block + BODY


def main():
    offered = sorted(CHOICES["python_version"], key=version_key)
    pythons = {version: interpreter(version) for version in offered}
    for version, python in pythons.items():
        print(f"Python {version}: {python or 'not found, takes its neighbour pins'}")
    sets, django_python = {}, {}
    for key, requirements in requirement_sets().items():
        options = option_requirements(key.split()[0])
        everything = requirements + [line for added in options.values() for line in added]
        resolved, owners = {}, {}
        for version, python in pythons.items():
            if python and (found := resolve(python, everything)) is not None:
                resolved[version] = versions(found[0])
                for name, owner in groups(*found, requirements, options).items():
                    # The set's own on any Python wins; else every answer that needs it.
                    earlier = owners.get(name, [])
                    owners[name] = "" if "" in (earlier, owner) else sorted({*earlier, *owner})
        if not resolved:
            raise SystemExit(f"no Python here resolves {key}: {everything}")
        spelled = {re.split(r"[\[~=]", r)[0].lower(): re.split(r"[~=]", r)[0]
                   for r in everything}
        sets[key] = pin_lines(resolved, spelled, owners)
        requires = next(iter(resolved.values()))["Django"][2]
        django_python[key.split()[0]] = re.fullmatch(r">=\s*(\d+\.\d+)", requires).group(1)
        print(f"{key}: resolved with Python {', '.join(resolved)}")
    REQUIREMENTS.write_text(render(sets))
    DJANGO_PYTHON.write_text(json.dumps(django_python, indent=2) + "\n")
    print(f"wrote {REQUIREMENTS.relative_to(TEMPLATE)} and {DJANGO_PYTHON.relative_to(TEMPLATE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
