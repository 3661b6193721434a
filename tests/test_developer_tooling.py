"""The baked project's developer tools: pinned apart from the runtime, pytest-django running
the same tests as manage.py test, ruff, and pre-commit hooks that install from PyPI."""

import re
import subprocess
import tomllib

import container
import pytest
import yaml
from conftest import CACHE, TEMPLATE, checkout, git, project_env, run

PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements_file):
    """{package: version} from a requirements file and the files it includes with -r."""
    found = {}
    for line in requirements_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found |= pins(requirements_file.parent / line[3:].strip())
        elif line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line).groups()
            found[normalized(name)] = version
    return found


@pytest.mark.slow
def test_dev_requirements_include_the_runtime_ones_and_pin_all_they_install(dev_python,
                                                                         default_project):
    dev = default_project / "requirements-dev.txt"
    assert "-r requirements.txt" in dev.read_text().splitlines()
    frozen = run(dev_python, "-m", "pip", "freeze", "--all", cwd=TEMPLATE).stdout
    installed = {
        normalized(name): version
        for name, version in re.findall(r"^(\S+)==(\S+)$", frozen, re.MULTILINE)
    }
    for name in ("pip", "setuptools", "wheel"):  # the virtualenv's own
        installed.pop(name, None)
    assert installed == pins(dev)


def test_the_image_installs_the_runtime_requirements_only(default_project):
    installs = [arguments for keyword, arguments in
                container.instructions(default_project / "Dockerfile")
                if keyword == "RUN" and "pip install" in arguments]
    assert installs and all("-r requirements.txt" in step for step in installs)
    assert not any("requirements-dev" in step for step in installs)


def test_ruff_has_one_version_in_the_dev_requirements_pre_commit_and_the_template(
        default_project):
    dev = pins(default_project / "requirements-dev.txt")["ruff"]
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
    done = run(dev_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert re.search(rf"^{len(by_pytest)} passed", done.stdout, re.MULTILINE), done.stdout


@pytest.fixture(scope="session")
def pre_commit_home():
    """pre-commit's own cache of hook environments, kept beside the tests' virtualenvs.

    The first run on a machine installs the hooks' pinned packages from PyPI (or pip's
    own cache); later runs, this session's and the next ones', reuse them without the
    network. pre-commit keys each environment by its hook's packages and locks the folder
    while it writes, so a changed pin gets an environment of its own.
    """
    return CACHE / "pre-commit"


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
