"""The baked project's developer tools: a dev group pinned apart from the runtime and held
by uv.lock, pytest-django running the same tests as manage.py test, ruff, and pre-commit
hooks that install from PyPI."""

import re
import subprocess
import tomllib

import pytest
import yaml
from conftest import TEMPLATE, checkout, git, project_env, run
from project_files import dockerfile_steps

PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def exact_pins(lines):
    """{package: version} of requirement lines that each pin one exact version."""
    found = {}
    for line in lines:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^;\s]+)", line).groups()
        found[normalized(name)] = version
    return found


def locked_versions(project):
    """{package: version} of every package uv.lock holds."""
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]
            if "registry" in package["source"]}


def test_pyproject_pins_exactly_what_uv_lock_holds(project):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    direct = exact_pins(pyproject["project"]["dependencies"])
    dev = exact_pins(pyproject["dependency-groups"]["dev"])
    held = exact_pins(pyproject["tool"]["uv"]["constraint-dependencies"])
    assert set(dev) == {"pre-commit", "pytest", "pytest-django", "ruff"}
    assert not set(direct) & set(dev) and not set(direct) & set(held)
    # Every package the lock holds is pinned in pyproject.toml, at the locked version.
    assert locked_versions(project) == direct | dev | held
    assert pyproject["tool"]["uv"]["package"] is False, "an application: never built"


@pytest.mark.slow
def test_dev_virtualenv_holds_exactly_what_uv_lock_installs(dev_python, default_project):
    frozen = run(dev_python, "-m", "pip", "freeze", "--all", cwd=TEMPLATE).stdout
    installed = {
        normalized(name): version
        for name, version in re.findall(r"^(\S+)==(\S+)$", frozen, re.MULTILINE)
    }
    for name in ("pip", "setuptools", "wheel"):  # the virtualenv's own (uv venv --seed)
        installed.pop(name, None)
    locked = locked_versions(default_project)
    # What only Windows installs (colorama, tzdata) is locked but not installed here.
    assert installed.items() <= locked.items()
    assert {"django", "pytest", "ruff", "pre-commit", "gunicorn"} <= set(installed)


def test_the_image_installs_from_the_lock_without_the_dev_group(default_project):
    syncs = [arguments for keyword, arguments in
             dockerfile_steps(default_project)
             if keyword == "RUN" and "uv sync" in arguments]
    assert len(syncs) == 1 and "uv sync --locked --no-dev --no-install-project" in syncs[0]


def test_ruff_has_one_version_in_the_dev_group_pre_commit_and_the_template(default_project):
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    dev = exact_pins(pyproject["dependency-groups"]["dev"])["ruff"]
    hooks = yaml.safe_load((PROJECT_TEMPLATE / ".pre-commit-config.yaml").read_text())
    in_hooks = {dependency for repo in hooks["repos"] for hook in repo["hooks"]
                for dependency in hook.get("additional_dependencies", [])
                if dependency.startswith("ruff==")}
    template = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())
    in_template = {d for d in template["dependency-groups"]["test"] if d.startswith("ruff==")}
    assert in_hooks == in_template == {f"ruff=={dev}"}


def test_pre_commit_hooks_install_from_pypi_only():
    hooks = yaml.safe_load((PROJECT_TEMPLATE / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in hooks["repos"]] == ["local"]
    for hook in (hook for repo in hooks["repos"] for hook in repo["hooks"]):
        assert hook["language"] == "python", hook["id"]
        assert all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", dependency)
                   for dependency in hook["additional_dependencies"]), hook["id"]


@pytest.mark.slow
def test_pytest_runs_the_same_tests_as_manage_py_test(project, dev_python):
    collected = run(dev_python, "-m", "pytest", "--collect-only", "-q", cwd=project).stdout
    by_pytest = set(re.findall(r"::(\w+)::(test_\w+)$", collected, re.MULTILINE))
    listed = run(dev_python, "manage.py", "test", "-v", "2", cwd=project).stderr
    by_django = set(re.findall(r"^(test_\w+) \([\w.]+\.(\w+)\.test_\w+\) \.\.\. ", listed,
                               re.MULTILINE))
    assert len(by_pytest) >= 10
    assert by_pytest == {(cls, test) for test, cls in by_django}
    # On SQLite, as here, Django skips what needs a database server; pytest must too.
    skipped = len(re.findall(r"^test_\w+ \(.*\) \.\.\. skipped ", listed, re.MULTILINE))
    done = run(dev_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    ran = f"{len(by_pytest) - skipped} passed" + (f", {skipped} skipped" if skipped else "")
    assert re.search(rf"^{ran}\b", done.stdout, re.MULTILINE), done.stdout


@pytest.mark.slow
def test_pre_commit_passes_on_a_fresh_bake_and_stops_a_bad_commit(
        project, dev_python, pre_commit_home, tmp_path):
    clone = checkout(project, tmp_path)
    env = {"PRE_COMMIT_HOME": str(pre_commit_home)}
    done = run(dev_python, "-m", "pre_commit", "run", "--all-files", cwd=clone, env=env,
               timeout=600)
    assert "Failed" not in done.stdout and done.stdout.count("Passed") >= 5, done.stdout

    run(dev_python, "-m", "pre_commit", "install", cwd=clone, env=env)
    (clone / "careless.py").write_text("import os   \n")
    git("add", "careless.py", cwd=clone)
    commit = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-m", "oops"],
        cwd=clone, env=project_env(dev_python, **env), capture_output=True, text=True)
    hooks_said = commit.stderr  # git hands a hook's output to its own stderr
    assert commit.returncode != 0, hooks_said
    assert re.search(r"ruff check\.+Failed", hooks_said), hooks_said
    assert "F401" in hooks_said
    assert re.search(r"no trailing whitespace\.+Failed", hooks_said)
    assert git("log", "--format=%s", cwd=clone).splitlines()[0] != "oops"
    assert (clone / "careless.py").read_text() == "import os\n", "the fixer removed the spaces"
