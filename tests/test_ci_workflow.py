"""The baked project's GitHub Actions workflow and Dependabot configuration: valid, testing
on the PostgreSQL convox.yml pins, deploying through Convox's actions, and green on the
first run because the template runs the test job's own commands on a fresh bake."""

import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import checkout, project_env, require

WORKFLOW = ".github/workflows/ci.yml"


def load(project, path):
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    return yaml.load((project / path).read_text(), Loader=yaml.BaseLoader)


def test_workflow_and_dependabot_config_are_valid_against_their_schemas(project, tools):
    for path, schema in ((WORKFLOW, "vendor.github-workflows"),
                         (".github/dependabot.yml", "vendor.dependabot")):
        done = subprocess.run([tools["check-jsonschema"], "--builtin-schema", schema,
                               project / path], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_runs_on_every_push_and_pull_request(project):
    triggers = load(project, WORKFLOW)["on"]
    assert set(triggers) == {"push", "pull_request"}
    assert not any(triggers.values()), "no branch or path filter"


def test_postgres_service_is_the_version_convox_yml_asks_the_rack_for(project):
    convox = yaml.safe_load((project / "convox.yml").read_text())
    versions = {str(resource["options"]["version"])
                for resource in convox["resources"].values()
                if resource["type"] in {"postgres", "rds-postgres"}}
    assert len(versions) == 1
    services = load(project, WORKFLOW)["jobs"]["test"]["services"]
    assert [service["image"] for service in services.values()] == [f"postgres:{versions.pop()}"]


def test_ci_installs_the_image_python_and_the_tested_uv_with_its_cache(project):
    base = re.search(r"^FROM python:(\d+\.\d+)-", (project / "Dockerfile").read_text(),
                     re.MULTILINE).group(1)
    image_uv = re.search(r"uv==([\d.]+)", (project / "Dockerfile").read_text()).group(1)
    setup = [step for step in load(project, WORKFLOW)["jobs"]["test"]["steps"]
             if step.get("uses", "").startswith("astral-sh/setup-uv@")]
    assert [step["with"] for step in setup] == [
        {"version": image_uv, "python-version": base, "enable-cache": "true"}]


def job_commands(project):
    return [step["run"] for step in load(project, WORKFLOW)["jobs"]["test"]["steps"]
            if "run" in step]


def test_test_job_runs_ruff_the_tests_and_django_checks(project):
    commands = job_commands(project)
    assert commands[0] == "uv sync --locked"
    for expected in ("uv run ruff check .", "uv run pytest",
                     "uv run manage.py makemigrations --check --dry-run",
                     "uv run manage.py check --deploy --fail-level WARNING"):
        assert expected in commands


@pytest.mark.slow
def test_test_job_commands_pass_on_a_fresh_bake_against_postgresql(
        project, uv_alone, fresh_database, tmp_path):
    """Each `run:` of the test job, in order, in a clone of the committed bake (no .env,
    as CI checks it out), with the job's environment pointed at this machine's
    PostgreSQL, and uv with the image's Python as setup-uv leaves them."""
    import combinations

    clone = checkout(project, tmp_path)
    job = load(project, WORKFLOW)["jobs"]["test"]
    database_url = re.sub(r"/\w+$", f"/{fresh_database()}", job["env"]["DATABASE_URL"])
    github_env = tmp_path / "github_env"
    github_env.touch()
    setup = next(step["with"] for step in job["steps"] if "setup-uv" in step.get("uses", ""))
    python = combinations.interpreter(setup["python-version"])
    require(python, f"Python {setup['python-version']}, the image's (python3.X or pyenv)")
    env = project_env("/usr/bin/python3", **{**job["env"], "DATABASE_URL": database_url},
                      GITHUB_ENV=str(github_env), UV_PYTHON=python)
    env["PATH"] = f"{uv_alone}:{env['PATH']}"
    for command in job_commands(project):
        # Variables an earlier step wrote to $GITHUB_ENV, as GitHub Actions passes them on.
        written = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", command], cwd=clone,
                              env={**env, **written}, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        if command == "uv run pytest":
            assert re.search(r" \d+ passed[ ,]", done.stdout), done.stdout
    assert "SECRET_KEY" in written


def test_a_lock_behind_a_hand_edited_pyproject_fails_the_jobs_first_step_saying_uv_lock(
        default_project, uv_alone, tmp_path):
    """A dependency added to pyproject.toml by hand, uv.lock left as it was: the job's
    `uv sync --locked` stops with uv's own message, which names the command the README
    gives (`uv lock`), before installing anything."""
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(default_project / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        "dependencies = [\n", 'dependencies = [\n    "six==1.17.0",\n', 1))
    command = job_commands(default_project)[0]
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{uv_alone}:{os.environ['PATH']}"},
                          timeout=300)
    assert done.returncode != 0
    said = " ".join(done.stderr.split())  # uv wraps its lines to the terminal's width
    assert "`--locked` was provided" in said and "run `uv lock`" in said, done.stderr
    assert not list(tmp_path.glob(".venv/lib/python*/site-packages/django"))
    assert "run `uv lock`" in " ".join((default_project / "README.md").read_text().split())


def test_deploy_builds_migrates_the_new_release_then_promotes_it(project):
    jobs = load(project, WORKFLOW)["jobs"]
    deploy = jobs["deploy"]
    steps = [step.get("uses", "").split("@")[0] for step in deploy["steps"]]
    assert steps == ["actions/checkout", "convox/action-login", "convox/action-build",
                     "convox/action-run", "convox/action-promote"]
    build, migrate, promote = deploy["steps"][2:]
    release = f"${{{{ steps.{build['id']}.outputs.release }}}}"
    assert migrate["with"]["command"] == "python manage.py migrate --noinput"
    assert migrate["with"]["service"] == "web"
    assert migrate["with"]["release"] == release and promote["with"]["release"] == release
    app = deploy["env"]["APP"]
    assert app == project.name
    for step in (build, migrate, promote):
        assert step["with"]["app"] == "${{ env.APP }}"
        assert step["with"]["rack"] == "${{ secrets.CONVOX_RACK }}"
    assert deploy["steps"][1]["with"]["password"] == "${{ secrets.CONVOX_DEPLOY_KEY }}"


def test_deploy_waits_for_the_tests_the_default_branch_and_the_secrets(project):
    jobs = load(project, WORKFLOW)["jobs"]
    gate = jobs["convox-credentials"]
    assert gate["if"] == ("github.event_name == 'push' && "
                          "github.ref_name == github.event.repository.default_branch")
    assert set(gate["steps"][0]["env"].values()) == {
        "${{ secrets.CONVOX_DEPLOY_KEY }}", "${{ secrets.CONVOX_RACK }}"}
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"test", "convox-credentials"}
    assert deploy["if"] == "needs.convox-credentials.outputs.configured == 'true'"


@pytest.mark.parametrize("secrets, configured", [
    ({"CONVOX_DEPLOY_KEY": "key", "CONVOX_RACK": "acme/production"}, True),
    ({"CONVOX_DEPLOY_KEY": "key", "CONVOX_RACK": ""}, False),
    ({"CONVOX_DEPLOY_KEY": "", "CONVOX_RACK": "acme/production"}, False),
    ({"CONVOX_DEPLOY_KEY": "", "CONVOX_RACK": ""}, False),
])
def test_credentials_check_says_configured_only_with_both_secrets(
        default_project, tmp_path, secrets, configured):
    check = load(default_project, WORKFLOW)["jobs"]["convox-credentials"]["steps"][0]
    output = tmp_path / "github_output"
    output.touch()
    done = subprocess.run(["bash", "-e", "-c", check["run"]], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **secrets})
    assert done.returncode == 0
    assert ("configured=true" in output.read_text().splitlines()) is configured
    assert ("Not deploying" in done.stdout) is not configured


def test_readme_names_every_secret_the_workflow_reads(project):
    secrets = set(re.findall(r"\$\{\{ secrets\.(\w+) \}\}", (project / WORKFLOW).read_text()))
    readme = (project / "README.md").read_text()
    assert secrets == {"CONVOX_DEPLOY_KEY", "CONVOX_RACK"}
    for secret in secrets:
        assert re.search(rf"^- `{secret}`: .+$", readme, re.MULTILINE), secret


def test_dependabot_keeps_uv_packages_and_actions_current(project):
    updates = load(project, ".github/dependabot.yml")["updates"]
    assert {(update["package-ecosystem"], update["directory"]) for update in updates} == {
        ("uv", "/"), ("github-actions", "/")}
