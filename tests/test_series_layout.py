"""Each series as its own tools make it: the app is what the series' startapp writes,
settings.py reads like its startproject, and the oldest Python each series is offered
with is its requires-python and the README's.
"""

import ast
import re
from pathlib import Path

import combinations
import pytest
from combinations import DJANGO_PYTHON, ONE_PER_SET, SET_IDS, row_id
from conftest import run


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_the_app_is_what_the_series_own_startapp_makes(row, combination_projects,
                                                        python_of, tmp_path):
    project, python = combination_projects[row], python_of(row)
    target = tmp_path / "startapp" / "exampleapp"
    target.mkdir(parents=True)
    # From outside the target's folder, so the empty app folder is not importable.
    run(python, "-m", "django", "startapp", "exampleapp", target, cwd=tmp_path)
    made = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    ours = {p.relative_to(project / "exampleapp"): p.read_bytes()
            for p in (project / "exampleapp").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "static" not in p.parts}
    assert ours == made
    assert (b"default_auto_field" in made[Path("apps.py")]) is (row[0] == "5.2")


def assigned_names(source):
    return [target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)]


def section_links(source):
    return re.findall(r"^# (?:See )?(https://docs\.djangoproject\.com/\S+)$", source, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_PER_SET, ids=SET_IDS)
def test_settings_read_like_the_series_own_startproject(row, combination_projects,
                                                        python_of, tmp_path):
    project, python = combination_projects[row], python_of(row)
    run(python, "-m", "django", "startproject", "exampleproject", tmp_path, cwd=tmp_path)
    theirs = (tmp_path / "exampleproject" / "settings.py").read_text()
    ours = (project / "exampleproject" / "settings.py").read_text()
    # Every setting startproject writes, in the same order, and its sections' links.
    names = assigned_names(ours)
    assert [name for name in names if name in assigned_names(theirs)] == assigned_names(theirs)
    links = section_links(ours)
    assert [link for link in links if link in section_links(theirs)] == section_links(theirs)
    for module in ("urls.py", "wsgi.py", "asgi.py"):
        their_links = re.findall(r"https://docs\S+", (tmp_path / "exampleproject" / module).read_text())
        assert their_links and all(link in (project / "exampleproject" / module).read_text()
                                   for link in their_links), module


# The data the hooks read, against what the pins install


@pytest.mark.slow
def test_each_series_oldest_python_is_its_requires_python(python_of):
    for row in ONE_PER_SET:
        python = python_of(row)
        requires = run(python, "-c", "from importlib.metadata import metadata; "
                       "print(metadata('Django')['Requires-Python'])", cwd="/").stdout.strip()
        assert requires == f">={DJANGO_PYTHON[row[0]]}", (row, requires)


@pytest.mark.parametrize("row", ONE_PER_SET, ids=map(row_id, ONE_PER_SET))
def test_readme_asks_for_the_oldest_python_the_series_is_offered_with(row, combination_projects):
    offered = [python for python in combinations.CHOICES["python_version"]
               if combinations.accepted(row[0], python)]
    oldest = min(offered, key=combinations.version)
    readme = (combination_projects[row] / "README.md").read_text()
    assert f"on Python {oldest} or later (`requires-python`" in readme
