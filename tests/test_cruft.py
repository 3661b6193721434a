"""Updating a baked project from a later commit of the template with cruft.

The template is copied into a git repository of the test's own (commit A), a project is
made from it with `cruft create` and committed, the template changes (commit B), and
`cruft update` brings the change in, leaving .env and startapp's app as they were.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import TEMPLATE, commit_all, git, run

pytestmark = pytest.mark.slow

# Not part of the template: this repository's own tests, tooling and local state.
NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv", "tests", "benchmarks", ".ci",
                                      "__pycache__", ".pytest_cache", ".ruff_cache")
PROJECT_README = "{{cookiecutter.project_slug}}/README.md"
CHANGE = "\n## Release notes\n\nAdded by a later commit of the template.\n"


def template_repository(folder):
    shutil.copytree(TEMPLATE, folder, ignore=NOT_TEMPLATE)
    return commit_all(folder, "Template, commit A")


def cruft(tools, *args, cwd, home):
    """cruft as a user runs it, with the user's home and git identity kept out."""
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run([tools["cruft"], *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def files_under(folder):
    return {path.relative_to(folder): path.read_bytes()
            for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def updated(tools, tmp_path_factory):
    """A project made by cruft at commit A, worked on, then updated to commit B."""
    tmp_path = tmp_path_factory.mktemp("cruft")
    home = tmp_path / "home"
    home.mkdir()
    template = tmp_path / "template"
    commit_a = template_repository(template)
    done = cruft(tools, "create", template, "--no-input", "--checkout", commit_a,
                 "--output-dir", tmp_path, cwd=tmp_path, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    project = tmp_path / "exampleproject"
    # The team's own work, committed before the update.
    views = project / "exampleapp" / "views.py"
    views.write_text(views.read_text() + "\n\ndef about(request):\n"
                     "    return render(request, 'about.html')\n")
    commit_all(project, "Our project")
    before = {
        "env": (project / ".env").read_text(),
        "app": files_under(project / "exampleapp"),
    }

    with (template / PROJECT_README).open("a") as readme:
        readme.write(CHANGE)
    (template / "{{cookiecutter.project_slug}}" / "CHANGELOG.md").write_text(
        "# {{ cookiecutter.project_name }} changelog\n")
    commit_b = commit_all(template, "Template, commit B")

    done = cruft(tools, "update", "--skip-apply-ask", cwd=project, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    return project, before, commit_b, home


def test_cruft_update_brings_in_the_template_change(updated):
    project, _, commit_b, _ = updated
    assert (project / "README.md").read_text().endswith(CHANGE)
    assert (project / "CHANGELOG.md").read_text() == "# Example Project changelog\n"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_b
    assert not [path for path in project.rglob("*.rej")]
    changed = {line[3:] for line in git("status", "--porcelain", cwd=project).splitlines()}
    assert changed == {".cruft.json", "README.md", "CHANGELOG.md"}


def test_cruft_update_leaves_env_and_startapp_app_alone(updated):
    project, before, _, _ = updated
    env = (project / ".env").read_text()
    assert env == before["env"]
    assert re.search(r"^SECRET_KEY=\S{50,}$", env, re.MULTILINE)
    assert files_under(project / "exampleapp") == before["app"]


def test_updated_project_passes_its_tests_and_cruft_check(updated, tools, dev_python):
    project, _, _, home = updated
    done = run(dev_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert re.search(r"\d+ passed", done.stdout), done.stdout
    commit_all(project, "Update from the template")
    check = cruft(tools, "check", cwd=project, home=home)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date" in check.stdout


def test_without_the_skip_cruft_would_rewrite_env(tools, tmp_path):
    """Why pyproject.toml's [tool.cruft] skip is there: every bake draws its own key."""
    home = tmp_path / "home"
    home.mkdir()
    template = tmp_path / "template"
    template_repository(template)
    pyproject = template / "{{cookiecutter.project_slug}}" / "pyproject.toml"
    text = pyproject.read_text()
    assert 'skip = [".env", "uv.lock"]' in text
    pyproject.write_text(text.replace('skip = [".env", "uv.lock"]', 'skip = ["uv.lock"]'))
    commit_a = commit_all(template, "Template without the skip")
    done = cruft(tools, "create", template, "--no-input", "--checkout", commit_a,
                 "--output-dir", tmp_path, cwd=tmp_path, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    project = tmp_path / "exampleproject"
    env = (project / ".env").read_text()
    commit_all(project, "Our project")
    with (template / PROJECT_README).open("a") as readme:
        readme.write(CHANGE)
    commit_all(template, "Template, commit B")
    cruft(tools, "update", "--skip-apply-ask", cwd=project, home=home)
    # The new bake's .env has another key: the patch cannot apply to this one.
    assert (project / ".env.rej").is_file()
    assert (project / ".env").read_text() == env


def last_commit_before_uv():
    """The template's newest commit whose projects installed with pip (requirements.txt)."""
    moved = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--diff-filter=D", "--",
         "{{cookiecutter.project_slug}}/requirements.txt"],
        cwd=TEMPLATE, capture_output=True, text=True)
    if moved.returncode or not moved.stdout.strip():
        pytest.fail("this test reads the template's git history: run it in a full clone")
    return f"{moved.stdout.strip()}~1"


def test_a_project_baked_before_uv_updates_without_conflicts_and_syncs(tools, tmp_path,
                                                                        uv_alone):
    """Baked with pip's requirements files, worked on, then updated by cruft to today's
    template: no conflict in a file the team did not edit, the pins move to
    pyproject.toml, and the README's `uv lock` makes a lock `uv sync --locked` accepts."""
    home = tmp_path / "home"
    home.mkdir()
    template = tmp_path / "template"
    template.mkdir()
    old = subprocess.run(["git", "archive", last_commit_before_uv()], cwd=TEMPLATE,
                         capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "--exclude=tests", "--exclude=benchmarks", "--exclude=.ci"],
                   input=old, cwd=template, check=True)
    commit_a = commit_all(template, "Template before uv")
    # The README's line for projects baked before uv, run before each render of the old
    # commit: its compiled-template cache would send the hooks to another copy's path.
    readme = (TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md").read_text()
    clear_cache = next(line for line in readme.splitlines() if "_jinja2-cache-" in line)
    subprocess.run(["bash", "-c", clear_cache], check=True)
    done = cruft(tools, "create", template, "--no-input", "--checkout", commit_a,
                 "--output-dir", tmp_path, cwd=tmp_path, home=home)
    assert done.returncode == 0, done.stdout + done.stderr
    project = tmp_path / "exampleproject"
    assert (project / "requirements.txt").is_file() and not (project / "uv.lock").exists()
    views = project / "exampleapp" / "views.py"
    views.write_text(views.read_text() + "\n\ndef about(request):\n"
                     "    return render(request, 'about.html')\n")
    env = (project / ".env").read_text()
    commit_all(project, "Our project")

    for path in template.iterdir():  # today's template in its place, history kept
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE, dirs_exist_ok=True)
    commit_all(template, "Template on uv")
    subprocess.run(["bash", "-c", clear_cache], check=True)
    done = cruft(tools, "update", "--skip-apply-ask", cwd=project, home=home)
    assert done.returncode == 0, done.stdout + done.stderr

    assert not list(project.rglob("*.rej"))
    conflicted = [path for path in project.rglob("*") if path.is_file() and ".git" not in
                  path.parts and b"<<<<<<<" in path.read_bytes()]
    assert conflicted == []
    assert not (project / "requirements.txt").exists()
    assert not (project / "requirements-dev.txt").exists()
    assert "def about(request)" in views.read_text() and (project / ".env").read_text() == env
    env_vars = {**os.environ, "PATH": f"{uv_alone}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(home), "UV_CACHE_DIR": os.environ.get(
                    "UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))}
    for step in ("uv lock", "uv sync --locked", "uv run manage.py check"):
        done = subprocess.run(step.split(), cwd=project, env=env_vars, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
