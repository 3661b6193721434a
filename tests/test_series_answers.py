"""What the series and Python answers give and refuse: pairs the hook refuses in one line,
answers outside the choices, ruff's target and the documentation links of each series,
and the names one database's modules reserve only in its own bakes.
"""

import json
import re
import tomllib

import combinations
import pytest
from combinations import DJANGO_PYTHON
from conftest import TEMPLATE
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config

# What the pre-generation hook refuses

REFUSED_PAIRS = [
    (series, python) for series in combinations.CHOICES["django_version"]
    for python in combinations.CHOICES["python_version"]
    if not combinations.accepted(series, python)
]


def test_some_pairs_are_refused():
    assert ("6.1", "3.11") in REFUSED_PAIRS


@pytest.mark.parametrize("series", combinations.CHOICES["django_version"])
def test_ruff_targets_the_oldest_python_the_answers_allow_for_the_series(bake, series):
    oldest = min((python for python in combinations.CHOICES["python_version"]
                  if combinations.accepted(series, python)), key=combinations.version)
    result = bake(django_version=series, python_version=oldest)
    assert result.exit_code == 0, result.exception
    pyproject = tomllib.loads((result.project_path / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + oldest.replace(".", "")
    assert pyproject["project"]["requires-python"] == f">={oldest}"


@pytest.mark.parametrize("series", combinations.CHOICES["django_version"])
def test_every_django_documentation_link_names_the_baked_series(bake, series):
    result = bake(django_version=series, background_tasks="django-tasks", error_reports="sentry")
    assert result.exit_code == 0, result.exception
    links = {path.relative_to(result.project_path): re.findall(
        r"docs\.djangoproject\.com/en/([^/]+)/", path.read_text())
        for path in result.project_path.rglob("*") if path.is_file()
        and path.suffix in {".py", ".md", ".toml", ".yml", ".html", ".example"}}
    assert sum(map(len, links.values())) >= 5
    assert {path: found for path, found in links.items() if set(found) - {series}} == {}


@pytest.mark.parametrize(("series", "python"), REFUSED_PAIRS)
def test_a_python_too_old_for_the_series_is_refused_in_one_line(bake, capfd, series, python):
    result = bake(django_version=series, python_version=python)
    assert result.exit_code != 0
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")
              and not line.startswith("ERROR: Stopping")]
    example = combinations.CHOICES["python_version"][0]
    assert errors == [(
        f"ERROR: python_version: '{python}' is too old for Django {series}, which needs Python"
        f" {DJANGO_PYTHON[series]} or later; for example: {example}"
    )]
    assert result.project_path is None or not result.project_path.exists()


@pytest.mark.parametrize(("field", "value"), [("django_version", "5.1"), ("database", "sqlite"),
                                              ("python_version", "3.15")])
def test_an_answer_outside_the_choices_is_refused_in_one_line(
        field, value, tmp_path, capfd, _cookiecutter_config_file):
    # cookiecutter refuses such an answer on its command line; a replay file passes it on.
    context = dict(prompt_for_config(generate_context(
        context_file=str(TEMPLATE / "cookiecutter.json")), no_input=True))
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": {**context, field: value}}))
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), replay=str(replay), output_dir=str(tmp_path / "out"),
                     config_file=_cookiecutter_config_file)
    errors = [line for line in capfd.readouterr().err.splitlines()
              if re.match(r"ERROR: \w+: ", line)]
    choices = ", ".join(combinations.CHOICES[field])
    assert errors == [(f"ERROR: {field}: '{value}' must be one of {choices}; for example: "
                      f"{combinations.CHOICES[field][0]}")]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_module_only_the_other_database_installs_is_a_name_the_app_may_take(bake):
    # hooks/reserved_names.json keeps a set of modules per django_version and database.
    result = bake(app_name="psycopg", database="mysql")
    assert result.exit_code == 0, result.exception
    assert (result.project_path / "psycopg" / "apps.py").is_file()
