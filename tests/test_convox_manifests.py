"""The files Convox reads: Dockerfile, .dockerignore, docker-compose.yml (first
generation) and convox.yml (today's racks), linted and held to Convox's rules."""

import re
import runpy
import subprocess

import container
import pytest
from conftest import PROJECT_VARIABLES
from convox_rules import (
    ManifestRefused,
    check_compose,
    check_convox_yml,
    load_convox_yml,
    minimum_postgres,
    service_domains,
)
from project_files import (
    COMPUTED,
    SET_BY_THE_SYSTEM,
    assert_convox_yml_declares_every_variable_read,
    assert_readme_lists_every_variable_read,
    declared,
    link_url,
    load,
    variables_read,
)


def gunicorn_settings(project):
    return runpy.run_path(str(project / "gunicorn.conf.py"))


def test_dockerfile_passes_hadolint(project, tools):
    done = subprocess.run([tools["hadolint"], "Dockerfile"], cwd=project, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_dockerfile_builds_from_a_pinned_slim_python_release(default_project, custom_project):
    for project, version in ((default_project, "3.13"), (custom_project, "3.12")):
        stages = [arguments for keyword, arguments in container.instructions(project / "Dockerfile")
                  if keyword == "FROM"]
        assert stages == [f"python:{version}-slim-trixie"]


def test_dockerfile_layers_go_from_slowest_to_quickest_to_change(default_project):
    steps = [" ".join(step) for step in container.instructions(default_project / "Dockerfile")]
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
                "exampleproject/__pycache__", "exampleapp/__pycache__", ".pytest_cache",
                # Docker matches from the context's root: these need `**/`.
                "exampleapp/.env", "exampleproject/.env.local", ".coverage", "htmlcov",
                "exampleapp/htmlcov", "exampleapp/views.pyc", "exampleapp/db.sqlite3"]
    sent = ["manage.py", "bin", "conf", "pyproject.toml", "uv.lock", "exampleapp/static",
            "templates"]
    assert [path for path in kept_out if not container.ignored(path, patterns)] == []
    assert [path for path in sent if container.ignored(path, patterns)] == []


def test_compose_file_is_valid_against_the_compose_specification(project, tools):
    done = subprocess.run(
        [tools["check-jsonschema"], "--builtin-schema", "vendor.compose-spec",
         "docker-compose.yml"], cwd=project, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def pinned_minimum_postgres(project):
    return minimum_postgres((project / "pyproject.toml").read_text())


def test_compose_file_follows_the_first_generation_rules(project):
    doc = load(project, "docker-compose.yml")
    assert check_compose(doc, pinned_minimum_postgres(project)) == []


def test_compose_file_is_the_seeds_manifest_with_a_health_check(default_project):
    services = load(default_project, "docker-compose.yml")["services"]
    web = services["web"]
    assert web["build"] == "."
    assert web["ports"] == ["80:4000", "443:4001"]
    assert web["links"] == ["database"]
    assert {"convox.port.443.protocol=tls", "convox.port.443.proxy=true",
            "convox.health.path=/health/",
            "convox.cron.clearsessions=0 3 * * ? python manage.py clearsessions",
            } <= set(web["labels"])
    # No value: `convox start -g 1` and `docker compose` both take these from .env.
    assert {"SECRET_KEY", "DEBUG", "MIGRATE_ON_START"} <= set(web["environment"])


def test_compose_database_is_postgres_17_and_its_link_gives_compose_the_same_url(project):
    services = load(project, "docker-compose.yml")["services"]
    database = services["database"]
    env = dict(entry.split("=", 1) for entry in database["environment"])
    assert database["image"] == "docker.io/library/postgres:17"
    assert link_url("database", database) == "postgres://postgres:password@database:5432/app"
    # The official image makes that user, password and database from POSTGRES_*.
    assert (env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == ("password", "app")
    assert env.get("POSTGRES_USER", "postgres") == env["LINK_USERNAME"]
    assert f"DATABASE_URL={link_url('database', database)}" in services["web"]["environment"]


def test_env_file_gives_every_value_compose_requires(project):
    lines = (project / ".env").read_text().splitlines()
    local = {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}
    web = load(project, "docker-compose.yml")["services"]["web"]
    required = {entry for entry in web["environment"] if "=" not in entry}
    assert required - local == set()


def test_convox_yml_follows_the_rules_of_todays_racks(project):
    doc = load(project, "convox.yml")
    assert check_convox_yml(doc, pinned_minimum_postgres(project)) == []


def test_convox_yml_web_declares_every_variable_the_project_reads(project):
    assert_convox_yml_declares_every_variable_read(project)


def test_the_variable_reader_sees_what_settings_read(default_project):
    read = variables_read(default_project)
    assert read["ALLOWED_HOSTS"] == "example.com,localhost,127.0.0.1,[::1]"
    assert read["CSRF_TRUSTED_ORIGINS"] is COMPUTED
    assert read["SECURE_HSTS_SECONDS"] == "31536000"
    assert read["WEB_CONCURRENCY"] == "2"
    assert read["MIGRATE_ON_START"] == "false"
    assert read["DATABASE_WAIT_SECONDS"] == "30"
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "PORT"} <= set(read)


def test_tests_never_inherit_a_variable_the_project_reads(default_project):
    assert set(variables_read(default_project)) - SET_BY_THE_SYSTEM <= PROJECT_VARIABLES


def test_readme_lists_every_variable_the_project_reads(project):
    assert_readme_lists_every_variable_read(project)


def test_convox_yml_builds_only_once_secret_key_is_set(project):
    # v2 and v3 racks load the manifest with the app's environment before they build.
    with pytest.raises(ManifestRefused, match="^required env: SECRET_KEY$"):
        load_convox_yml((project / "convox.yml").read_text(), {})


def test_convox_yml_routes_the_baked_domain_only_once_the_app_sets_domain(
        default_project, custom_project):
    # Unset, web has no domain: a v2 rack makes no ACM certificate that would wait for an
    # approval nobody can give (example.com), and both answer the rack's own host name.
    for project, domain in ((default_project, "example.com"),
                            (custom_project, "shop.cafe.example")):
        text = (project / "convox.yml").read_text()
        assert service_domains(load_convox_yml(text, {"SECRET_KEY": "x"}), "web") == []
        switched_on = load_convox_yml(text, {"SECRET_KEY": "x", "DOMAIN": domain})
        assert service_domains(switched_on, "web") == [domain]
        # Django already answers it: the README's one command is enough.
        assert domain in declared(switched_on["services"]["web"])["ALLOWED_HOSTS"].split(",")


def test_convox_yml_probes_liveness_after_start_up(default_project):
    web = load(default_project, "convox.yml")["services"]["web"]
    wait = int(variables_read(default_project)["DATABASE_WAIT_SECONDS"])
    startup = web["startupProbe"]
    assert web["liveness"]["path"] == startup["path"] == web["health"]["path"] == "/health/"
    # Kubernetes kills a container its startup probe gives up on: not before bin/web has
    # waited for the database and started.
    assert startup["grace"] + startup["failureThreshold"] * startup["interval"] > wait + 20


def test_convox_yml_web_service_matches_the_container(default_project):
    manifest = load(default_project, "convox.yml")
    web = manifest["services"]["web"]
    assert manifest["resources"]["database"] == {"type": "postgres",
                                                 "options": {"version": "17"}}
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
    # Once a day; "?" so that v2 racks make a cron expression AWS accepts.
    assert timer["schedule"] == "0 3 * * ?"


def test_nginx_and_gunicorn_timeouts_agree_with_convox(default_project):
    nginx = (default_project / "conf" / "nginx.conf").read_text()
    gunicorn = gunicorn_settings(default_project)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    shutdown = int(re.search(r"worker_shutdown_timeout (\d+)s;", nginx).group(1))
    grace = load(default_project, "convox.yml")["services"]["web"]["termination"]["grace"]
    assert gunicorn["timeout"] < read_timeout < 60  # 60 s: Convox's request timeout
    # bin/web stops nginx, then gunicorn: both within 40 s, under the grace period.
    assert shutdown + gunicorn["graceful_timeout"] <= 40 < grace
    # nginx keeps idle connections longer than the first generation's balancer does.
    keepalive = int(re.search(r"keepalive_timeout (\d+)s;", nginx).group(1))
    labels = load(default_project, "docker-compose.yml")["services"]["web"]["labels"]
    assert keepalive > int(dict(label.split("=", 1) for label in labels)["convox.idle.timeout"])
    assert gunicorn["control_socket_disable"] is True
    assert gunicorn["worker_tmp_dir"] == "/dev/shm"
