"""convox.yml, today's racks' manifest (v2 and v3): Convox's rules, every variable the
project reads declared with its default, the build's required key, the domain switch,
the probes, and timeouts that agree with nginx and gunicorn."""

import json
import re
import runpy
import shlex

import pytest
from conftest import CUSTOM_ANSWERS, TEMPLATE
from convox_rules import (
    ManifestRefused,
    aws_day_fields_agree,
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


def nginx_answers(project):
    """The paths nginx answers itself, with a 200, never asking Django."""
    nginx = (project / "conf" / "nginx.conf").read_text()
    return set(re.findall(r"location = (\S+) \{[^}]*\breturn 200\b", nginx))


# Finds the command as manage.py would and parses its arguments, without running it.
MANAGEMENT_COMMAND = """
from django.core.management import get_commands, load_command_class
name, *arguments = {argv!r}
load_command_class(get_commands()[name], name).create_parser("manage.py", name).parse_args(
    arguments)
"""


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
    default_domain = json.loads((TEMPLATE / "cookiecutter.json").read_text())["domain_name"]
    for project, domain in ((default_project, default_domain),
                            (custom_project, CUSTOM_ANSWERS["domain_name"])):
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
    assert web["liveness"]["path"] == startup["path"] == web["health"]["path"]
    assert web["health"]["path"] in nginx_answers(default_project)
    # Kubernetes kills a container its startup probe gives up on: not before bin/web has
    # waited for the database and started.
    assert startup["grace"] + startup["failureThreshold"] * startup["interval"] > wait + 20


def test_convox_yml_web_service_matches_the_container(default_project, project_django):
    manifest = load(default_project, "convox.yml")
    compose = load(default_project, "docker-compose.yml")["services"]
    web = manifest["services"]["web"]
    database = manifest["resources"]["database"]
    # The default bake's PostgreSQL, the same major on today's racks as in the first
    # generation's container.
    assert database["type"] == "postgres"
    assert database["options"]["version"] == compose["database"]["image"].rpartition(":")[2]
    assert web["build"] == "."
    assert web["resources"] == list(manifest["resources"])
    # nginx answers it, so the check never waits on Django or the database.
    assert web["health"]["path"] in nginx_answers(default_project)
    assert web["health"]["timeout"] < web["health"]["interval"]
    assert "SECRET_KEY" in web["environment"]
    assert web["scale"]["count"] >= 1
    assert web["termination"]["grace"] > gunicorn_settings(default_project)["graceful_timeout"]
    timer = manifest["timers"]["clearsessions"]
    assert timer["service"] == "web"
    # A management command the project has, with arguments it accepts.
    argv = shlex.split(timer["command"])
    assert argv[:2] == ["python", "manage.py"], argv
    project_django.run(default_project, ["shell", "--no-imports", "-c",
                                         MANAGEMENT_COMMAND.format(argv=argv[2:])])
    # Five fields, which v2 racks end with a year for AWS: "?" in one day field, or AWS
    # refuses the rule.
    fields = timer["schedule"].split()
    assert len(fields) == 5 and aws_day_fields_agree(fields), fields
    # Daily: one minute of one hour, any day.
    minute, hour, *days = fields
    assert re.fullmatch(r"\d+", minute) and int(minute) < 60, minute
    assert re.fullmatch(r"\d+", hour) and int(hour) < 24, hour
    assert set(days) <= {"*", "?"}, days
    # The first generation runs the same command on the same schedule.
    labels = dict(label.split("=", 1) for label in compose["web"]["labels"])
    assert labels["convox.cron.clearsessions"] == f"{timer['schedule']} {timer['command']}"


def test_nginx_and_gunicorn_timeouts_agree_with_convox(default_project):
    nginx = (default_project / "conf" / "nginx.conf").read_text()
    gunicorn = gunicorn_settings(default_project)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))
    shutdown = int(re.search(r"worker_shutdown_timeout (\d+)s;", nginx).group(1))
    web = load(default_project, "convox.yml")["services"]["web"]
    # Convox's router gives up after the service's timeout, 60 s unless it sets one.
    assert gunicorn["timeout"] < read_timeout < web.get("timeout", 60)
    # bin/web stops nginx, then gunicorn: both before the rack kills the container.
    assert shutdown + gunicorn["graceful_timeout"] < web["termination"]["grace"]
    # nginx keeps idle connections longer than the first generation's balancer does.
    keepalive = int(re.search(r"keepalive_timeout (\d+)s;", nginx).group(1))
    labels = load(default_project, "docker-compose.yml")["services"]["web"]["labels"]
    assert keepalive > int(dict(label.split("=", 1) for label in labels)["convox.idle.timeout"])
    assert gunicorn["control_socket_disable"] is True
    assert gunicorn["worker_tmp_dir"] == "/dev/shm"
