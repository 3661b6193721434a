"""convox.yml, today's racks' manifest (v2 and v3): Convox's rules, every variable the
project reads declared with its default, the build's required key, the domain switch,
the probes, and timeouts that agree with nginx and gunicorn."""

import re
import runpy

import pytest
from convox_rules import (
    ManifestRefused,
    check_convox_yml,
    load_convox_yml,
    service_domains,
)
from project_files import (
    assert_convox_yml_declares_every_variable_read,
    declared,
    load,
    pinned_minimum_postgres,
    variables_read,
)


def gunicorn_settings(project):
    return runpy.run_path(str(project / "gunicorn.conf.py"))


def test_convox_yml_follows_the_rules_of_todays_racks(project):
    doc = load(project, "convox.yml")
    assert check_convox_yml(doc, pinned_minimum_postgres(project)) == []


def test_convox_yml_web_declares_every_variable_the_project_reads(project):
    assert_convox_yml_declares_every_variable_read(project)


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
