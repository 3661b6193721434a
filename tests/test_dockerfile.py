"""The Dockerfile both generations build from: linted, pinned, layered from the slowest
to the quickest to change, with no secret and an unprivileged user. What .dockerignore
keeps out, test_image.py shows in a real build."""

import re
import subprocess

from project_files import dockerfile_steps, load


def test_dockerfile_passes_hadolint(project, tools):
    done = subprocess.run([tools["hadolint"], "Dockerfile"], cwd=project, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_dockerfile_builds_from_a_pinned_slim_python_release(default_project, custom_project):
    for project, version in ((default_project, "3.13"), (custom_project, "3.12")):
        stages = [arguments for keyword, arguments in dockerfile_steps(project)
                  if keyword == "FROM"]
        assert stages == [f"python:{version}-slim-trixie"]


def test_dockerfile_layers_go_from_slowest_to_quickest_to_change(default_project):
    steps = [" ".join(step) for step in dockerfile_steps(default_project)]
    order = [
        "COPY pyproject.toml uv.loc[k] ./",
        next(step for step in steps if "uv sync --locked --no-dev" in step),
        # collectstatic imports every app: after the whole project (test_image.py builds
        # a project with a second app).
        "COPY . .",
        "RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput",
    ]
    assert [steps.index(step) for step in order] == sorted(steps.index(step) for step in order)
    assert [step for step in steps if step.startswith("COPY")][-1] == "COPY . ."


def test_dockerfile_keeps_secrets_out_and_runs_unprivileged(default_project):
    steps = dockerfile_steps(default_project)
    env = " ".join(arguments for keyword, arguments in steps if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert not re.search(r"SECRET|PASSWORD|TOKEN|DATABASE_URL", env)
    # The throwaway key lives in the one RUN that needs settings to load.
    mentions = [arguments for keyword, arguments in steps if "SECRET_KEY" in arguments]
    assert mentions == ["SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput"]
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert len(users) == 1 and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[0])


def test_dockerfile_starts_bin_web_and_checks_health_without_curl(default_project):
    steps = dict(dockerfile_steps(default_project))
    assert steps["CMD"] == '["bin/web"]'
    assert "curl" not in steps["HEALTHCHECK"]
    assert "http://127.0.0.1:4000/health/" in steps["HEALTHCHECK"]
    router_port = load(default_project, "convox.yml")["services"]["web"]["port"]
    assert sorted(map(int, steps["EXPOSE"].split())) == sorted([4000, 4001, router_port])
