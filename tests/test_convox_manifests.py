"""The files Convox reads: Dockerfile, .dockerignore, docker-compose.yml (first
generation) and convox.yml (today's racks), linted and held to Convox's rules."""

import re
import runpy
import subprocess

import container
import yaml
from convox_rules import check_compose, check_convox_yml


def load(project, name):
    return yaml.safe_load((project / name).read_text())


def gunicorn_settings(project):
    return runpy.run_path(str(project / "gunicorn.conf.py"))


def test_dockerfile_passes_hadolint(project, tools):
    done = subprocess.run([tools["hadolint"], "Dockerfile"], cwd=project, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_dockerfile_builds_from_a_pinned_slim_python_release(default_project, custom_project):
    for project, version in ((default_project, "3.13"), (custom_project, "3.12")):
        first = container.instructions(project / "Dockerfile")[0]
        assert first == ("FROM", f"python:{version}-slim-trixie")


def test_dockerfile_layers_go_from_slowest_to_quickest_to_change(default_project):
    steps = [" ".join(step) for step in container.instructions(default_project / "Dockerfile")]
    order = [
        "COPY requirements.txt .",
        "RUN pip install --no-cache-dir -r requirements.txt",
        # collectstatic imports every app: after the whole project (test_image.py builds
        # a project with a second app).
        "COPY . .",
        "RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput",
    ]
    assert [steps.index(step) for step in order] == sorted(steps.index(step) for step in order)
    assert [step for step in steps if step.startswith("COPY")][-1] == "COPY . ."


def test_dockerfile_keeps_secrets_out_and_runs_unprivileged(default_project):
    steps = container.instructions(default_project / "Dockerfile")
    env = " ".join(arguments for keyword, arguments in steps if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert not re.search(r"SECRET|PASSWORD|TOKEN|DATABASE_URL", env)
    # The throwaway key lives in the one RUN that needs settings to load.
    mentions = [arguments for keyword, arguments in steps if "SECRET_KEY" in arguments]
    assert mentions == ["SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput"]
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert len(users) == 1 and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[0])


def test_dockerfile_starts_bin_web_and_checks_health_without_curl(default_project):
    steps = dict(container.instructions(default_project / "Dockerfile"))
    assert steps["CMD"] == '["bin/web"]'
    assert "curl" not in steps["HEALTHCHECK"]
    assert "http://127.0.0.1:4000/health/" in steps["HEALTHCHECK"]
    router_port = load(default_project, "convox.yml")["services"]["web"]["port"]
    assert sorted(map(int, steps["EXPOSE"].split())) == sorted([4000, 4001, router_port])


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build(default_project):
    patterns = container.ignore_patterns(default_project)
    kept_out = [".env", ".git", ".convox", ".venv", "venv", "db.sqlite3", "staticfiles",
                "exampleproject/__pycache__", "exampleapp/__pycache__", ".pytest_cache"]
    sent = ["manage.py", "bin", "conf", "requirements.txt", "exampleapp/static", "templates"]
    assert [path for path in kept_out if not container.ignored(path, patterns)] == []
    assert [path for path in sent if container.ignored(path, patterns)] == []


def test_compose_file_is_valid_against_the_compose_specification(project, tools):
    done = subprocess.run(
        [tools["check-jsonschema"], "--builtin-schema", "vendor.compose-spec",
         "docker-compose.yml"], cwd=project, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_file_follows_the_first_generation_rules(project):
    assert check_compose(load(project, "docker-compose.yml")) == []


def test_compose_file_is_the_seeds_manifest_with_a_health_check(default_project):
    services = load(default_project, "docker-compose.yml")["services"]
    web, database = services["web"], services["database"]
    assert web["build"] == "."
    assert web["ports"] == ["80:4000", "443:4001"]
    assert web["links"] == ["database"]
    assert {"convox.port.443.protocol=tls", "convox.port.443.proxy=true",
            "convox.health.path=/health/"} <= set(web["labels"])
    assert "SECRET_KEY" in web["environment"]  # no value: required
    assert "DATABASE_URL=postgres://postgres:password@database:5432/app" in web["environment"]
    assert database == {"image": "convox/postgres", "ports": [5432]}


def test_convox_yml_follows_the_rules_of_todays_racks(project):
    assert check_convox_yml(load(project, "convox.yml")) == []


def test_convox_yml_web_service_matches_the_container(default_project):
    manifest = load(default_project, "convox.yml")
    web = manifest["services"]["web"]
    assert manifest["resources"]["database"]["type"] == "postgres"
    assert web["build"] == "."
    assert web["resources"] == ["database"]
    assert web["health"]["path"] == "/health/"
    assert web["health"]["timeout"] < web["health"]["interval"]
    assert "SECRET_KEY" in web["environment"]
    assert web["scale"]["count"] >= 1
    assert web["termination"]["grace"] > gunicorn_settings(default_project)["graceful_timeout"]
    timer = manifest["timers"]["clearsessions"]
    assert timer["command"] == "python manage.py clearsessions"
    assert timer["service"] == "web"
    assert timer["schedule"].split()[2:] == ["*", "*", "*"]  # once a day


def test_nginx_and_gunicorn_timeouts_agree_with_convox(default_project):
    nginx = (default_project / "conf" / "nginx.conf").read_text()
    gunicorn = gunicorn_settings(default_project)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    shutdown = int(re.search(r"worker_shutdown_timeout (\d+)s;", nginx).group(1))
    grace = load(default_project, "convox.yml")["services"]["web"]["termination"]["grace"]
    assert gunicorn["timeout"] < read_timeout < 60  # 60 s: Convox's request timeout
    assert shutdown < grace and gunicorn["graceful_timeout"] < grace
    assert gunicorn["control_socket_disable"] is True
    assert gunicorn["worker_tmp_dir"] == "/dev/shm"
