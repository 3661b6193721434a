"""The combinations of answers that the tests bake: django_version, database and
python_version, and the options (background_tasks, media_storage, error_reports).

One table, read by every module that does something per combination. It holds every
value of each question at least once; every pair of values from two of the first three
that the pre-generation hook accepts; and every option answer with each Django series and
each database (test_combinations.py proves all three). Each requirement set has every option
answer in some row, so the rows' virtualenvs hold every package a bake can pin. The first
row is the default bake; the row of SERVED is also built as an image and served, with
every option off.
"""

import importlib.util
import json
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2]
CHOICES = json.loads((TEMPLATE / "cookiecutter.json").read_text())
# The oldest Python of each Django series (hooks/tested_versions.py writes it).
DJANGO_PYTHON = json.loads((TEMPLATE / "hooks" / "django_python.json").read_text())
QUESTIONS = ("django_version", "database", "python_version",
             "background_tasks", "media_storage", "error_reports")
OPTIONS = QUESTIONS[3:]

COMBINATIONS = [
    # django_version, database, python_version, background_tasks, media_storage, error_reports
    ("5.2", "postgresql", "3.13", "none", "local", "none"),  # every answer at its default
    ("6.1", "mysql", "3.13", "none", "local", "none"),  # built as an image and served too
    ("5.2", "postgresql", "3.11", "django-tasks", "s3", "sentry"),
    ("5.2", "postgresql", "3.14", "celery", "local", "none"),
    ("5.2", "mysql", "3.11", "celery", "s3", "sentry"),
    ("5.2", "mysql", "3.12", "django-tasks", "local", "none"),
    ("6.1", "postgresql", "3.12", "django-tasks", "s3", "sentry"),
    ("6.1", "postgresql", "3.13", "celery", "local", "none"),
    ("6.1", "mysql", "3.14", "celery", "s3", "sentry"),
    ("6.1", "mysql", "3.12", "django-tasks", "local", "none"),
]
SERVED = ("6.1", "mysql", "3.13", "none", "local", "none")


def answers(row):
    return dict(zip(QUESTIONS, row))


def row_id(row):
    django_version, database, python_version, *options = row
    chosen = [answer for answer, question in zip(options, OPTIONS)
              if answer != CHOICES[question][0]]
    return "-".join([f"django{django_version}", database, f"py{python_version}", *chosen])


def rows_with(question, answer):
    """The rows that give `answer` to `question`."""
    column = QUESTIONS.index(question)
    return [row for row in COMBINATIONS if row[column] == answer]


def requirement_set(row):
    """The key of the row's requirement set: "6.1 mysql"."""
    return f"{row[0]} {row[1]}"


def version(text):
    return tuple(int(part) for part in text.split("."))


def accepted(django_version, python_version):
    return version(python_version) >= version(DJANGO_PYTHON[django_version])


# One row of each requirement set: those run against SQLite and the database server.
ONE_PER_SET = []
for _row in COMBINATIONS:
    if requirement_set(_row) not in map(requirement_set, ONE_PER_SET):
        ONE_PER_SET.append(_row)
# Their test ids: the sets' keys ("6.1-mysql").
SET_IDS = [requirement_set(row).replace(" ", "-") for row in ONE_PER_SET]


def tested_versions_script():
    """hooks/tested_versions.py as a module: its interpreter finder, its set keys."""
    spec = importlib.util.spec_from_file_location("tested_versions",
                                                  TEMPLATE / "hooks" / "tested_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def python_for(django_version):
    """An interpreter for the series' virtualenvs: this one when the series runs on it,
    else the newest the python_version question offers that this machine has."""
    if sys.version_info[:2] >= version(DJANGO_PYTHON[django_version]):
        return sys.executable
    script = tested_versions_script()
    for candidate in sorted(CHOICES["python_version"], key=version, reverse=True):
        oldest = version(DJANGO_PYTHON[django_version])
        if version(candidate) >= oldest and (found := script.interpreter(candidate)):
            return found
    return None


def interpreter(version):
    """A working python<version> here (on PATH or under pyenv), or None."""
    return tested_versions_script().interpreter(version)
