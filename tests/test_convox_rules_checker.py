"""The manifest checker: known-good manifests pass, and each rule catches its own break.

Every broken case changes one thing in a known-good document and expects exactly one
problem, naming the field it changed.
"""

import pytest
import yaml
from convox_rules import (
    DJANGO_MINIMUM_POSTGRES,
    ManifestRefused,
    check_compose,
    check_convox_yml,
    load_convox_yml,
    minimum_postgres,
    pinned_django_series,
    service_domains,
)

GOOD_COMPOSE = """
version: "2"
services:
  web:
    build: .
    environment:
      - SECRET_KEY
      - DEBUG=false
    labels:
      - convox.port.443.protocol=tls
      - convox.port.443.proxy=true
      - convox.health.path=/health/
      - convox.cron.clearsessions=0 3 * * ? python manage.py clearsessions
    links:
      - database
    ports:
      - "80:4000"
      - "443:4001"
  database:
    image: postgres:17
    environment:
      - POSTGRES_PASSWORD=password
      - LINK_SCHEME=postgres
      - LINK_USERNAME=postgres
      - LINK_PASSWORD=password
      - LINK_PATH=/app
      - LINK_PORT=5432
    ports:
      - 5432
"""

GOOD_CONVOX_YML = """
resources:
  database:
    type: postgres
    options:
      version: "17"
services:
  web:
    build: .
    port: 3000
    health:
      path: /health/
      grace: 10
      interval: 5
      timeout: 3
    environment:
      - SECRET_KEY
      - DEBUG=false
    resources:
      - database
    scale:
      count: 1
    termination:
      grace: 45
    liveness:
      path: /health/
      grace: 10
      interval: 10
      timeout: 5
      failureThreshold: 6
    startupProbe:
      path: /health/
      interval: 5
      failureThreshold: 12
timers:
  clearsessions:
    schedule: "0 3 * * ?"
    command: python manage.py clearsessions
    service: web
    concurrency: Forbid
"""


def changed(text, change):
    doc = yaml.safe_load(text)
    change(doc)
    return doc


def web(doc):
    return doc["services"]["web"]


def add_label(label):
    return lambda doc: web(doc)["labels"].append(label)


def set_web(**settings):
    return lambda doc: web(doc).update(settings)


def set_in_web(key, **settings):
    return lambda doc: web(doc)[key].update(settings)


def set_timer(**settings):
    return lambda doc: doc["timers"]["clearsessions"].update(settings)


def rename(section, old, new):
    return lambda doc: doc[section].update({new: doc[section].pop(old)})


def assert_one_problem(problems, expected):
    assert len(problems) == 1, problems
    assert expected in problems[0]


# --- docker-compose.yml (generation 1) -------------------------------------------------


# The pinned series the checker is run with in test_compose_manifest.py and test_convox_yml.py.
MINIMUM = 14


def set_database(**settings):
    return lambda doc: doc["services"]["database"].update(settings)


def set_resource(**settings):
    return lambda doc: doc["resources"]["database"].update(settings)


def set_options(**options):
    return lambda doc: doc["resources"]["database"].setdefault("options", {}).update(options)


def test_the_pinned_django_series_is_read_from_pyproject_or_requirements():
    text = "# pins\nDjango==5.2.19\ndj-database-url==3.1.2\n"
    assert pinned_django_series(text) == (5, 2)
    pyproject = 'dependencies = [\n    "dj-database-url==3.1.2",\n    "Django==6.1.3",\n]\n'
    assert pinned_django_series(pyproject) == (6, 1)
    assert minimum_postgres(text) == 14
    assert minimum_postgres("django==6.1.0\n") == 15
    with pytest.raises(ValueError, match="Django 9.0 is not in DJANGO_MINIMUM_POSTGRES"):
        minimum_postgres("Django==9.0.1\n")
    with pytest.raises(ValueError, match="no Django==X.Y.Z pin"):
        minimum_postgres("Django>=5.2\n")


def test_minimum_postgres_table_agrees_with_the_installed_django():
    from django import VERSION
    from django.db.backends.postgresql.features import DatabaseFeatures

    assert DJANGO_MINIMUM_POSTGRES[VERSION[:2]] == DatabaseFeatures.minimum_database_version[0]


def test_good_compose_has_no_problems():
    assert check_compose(yaml.safe_load(GOOD_COMPOSE), MINIMUM) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(set_database(image="convox/postgres"),
                     "services.database.image: convox/postgres runs PostgreSQL 9; Django needs 14",
                     id="convox_postgres_image_is_9_6"),
        pytest.param(set_database(image="postgres:13-alpine"),
                     "services.database.image: postgres:13-alpine is PostgreSQL 13; Django needs 14",
                     id="postgres_13_image"),
        pytest.param(set_database(image="postgres"),
                     "services.database.image: postgres pins no PostgreSQL major version",
                     id="untagged_postgres_image"),
        pytest.param(lambda d: d["services"]["database"]["environment"].remove("LINK_PATH=/app"),
                     "services.database.environment: lacks LINK_PATH", id="link_path_missing"),
    ],
)
def test_compose_refuses_a_postgres_older_than_django_accepts(change, expected):
    assert_one_problem(check_compose(changed(GOOD_COMPOSE, change), MINIMUM), expected)


def test_compose_labels_as_a_mapping_are_read_like_the_list():
    doc = yaml.safe_load(GOOD_COMPOSE)
    web(doc)["labels"] = dict(label.split("=", 1) for label in web(doc)["labels"])
    web(doc)["labels"]["convox.port.443.proxy"] = True  # YAML's bool, not the string
    assert check_compose(doc) == []
    web(doc)["labels"]["convox.health.timeout"] = 99
    assert_one_problem(check_compose(doc), "convox.health.timeout=99 is out of range 0..60")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(version="2.2"), id="version_2_2"),
        pytest.param(set_web(environment={"SECRET_KEY": None, "DEBUG": "false"}),
                     id="environment_as_mapping"),
        pytest.param(set_web(ports=[80, "443:4001"]), id="bare_integer_port"),
        pytest.param(set_web(ports=["80:4000/tcp", "443:4001"]), id="port_with_protocol"),
        pytest.param(add_label("convox.health.port=4000"), id="health_port_on_container_side"),
        pytest.param(add_label("convox.port.80.protocol=http"), id="second_balancer_port"),
        pytest.param(add_label("convox.start.shift=1000"), id="start_shift"),
        pytest.param(add_label("convox.deployment.maximum=100"), id="deployment_maximum"),
        pytest.param(set_web(links=["database:db"]), id="link_with_alias"),
        pytest.param(add_label("com.example.team=web"), id="non_convox_label_is_ignored"),
        pytest.param(set_web(environment=["SECRET_KEY", "DEBUG=${DEBUG}", "HOME=$$HOME"]),
                     id="plain_interpolation_and_escaped_dollar"),
    ],
)
def test_compose_accepts_documented_alternatives(change):
    assert check_compose(changed(GOOD_COMPOSE, change), MINIMUM) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(lambda d: d.update(version="3"), "version: '3' must be one of",
                     id="version_3_is_refused"),
        pytest.param(lambda d: d.update(version=2), "version: 2 must be one of",
                     id="unquoted_version_is_refused"),
        pytest.param(lambda d: d.pop("services"), "services: is missing",
                     id="services_key_is_required"),
        pytest.param(rename("services", "web", "my_web"),
                     "services.my_web: service names may not contain '_'",
                     id="underscore_in_service_name"),
        pytest.param(set_web(ports=["80:web", "443:4001"]), "services.web.ports[0]: '80:web'",
                     id="port_that_is_not_a_number"),
        pytest.param(set_web(ports=["80:4000", "443:70000"]),
                     "services.web.ports[1]: '443:70000' is out of range 1..65535",
                     id="port_out_of_range"),
        pytest.param(add_label("convox.agent"), "services.web.labels[4]: 'convox.agent' must be",
                     id="list_label_without_equals"),
        pytest.param(add_label("convox.health.path=/"), "services.web.labels[4]: convox.health.path"
                     " is set twice", id="list_label_set_twice"),
        pytest.param(add_label("convox.scale=2"), "convox.scale is not a known convox label",
                     id="unknown_convox_label"),
        pytest.param(add_label("convox.port.443.protocl=tls"), "convox.port.443.protocl is not",
                     id="misspelt_convox_label"),
        pytest.param(add_label("convox.port.80.protocol=udp"),
                     "convox.port.80.protocol=udp is not one of tcp, tls, http, https",
                     id="port_protocol_outside_tcp_tls_http_https"),
        pytest.param(add_label("convox.port.4001.protocol=tls"),
                     "convox.port.4001.protocol names a port that is not a balancer",
                     id="port_label_on_container_side"),
        pytest.param(add_label("convox.port.80.proxy=yes"), "convox.port.80.proxy=yes is not one",
                     id="proxy_not_true_or_false"),
        pytest.param(add_label("convox.port.443.secure=1"), "convox.port.443.secure=1 is not one",
                     id="secure_not_true_or_false"),
        pytest.param(set_web(labels=["convox.health.path=health/"]),
                     "convox.health.path=health/ must start with '/'",
                     id="health_path_without_slash"),
        pytest.param(add_label("convox.health.port=80"),
                     "convox.health.port=80 is not a container port in ports [4000, 4001]",
                     id="health_port_on_balancer_side"),
        pytest.param(add_label("convox.health.timeout=99"),
                     "services.web.labels: convox.health.timeout=99 is out of range 0..60",
                     id="health_timeout_over_60"),
        pytest.param(add_label("convox.health.timeout=3s"), "convox.health.timeout=3s is not an",
                     id="health_timeout_not_an_integer"),
        pytest.param(add_label("convox.health.interval=4"),
                     "convox.health.interval=4 is out of range 5..300", id="health_interval_under_5"),
        pytest.param(add_label("convox.health.threshold.healthy=1"),
                     "convox.health.threshold.healthy=1 is out of range 2..10",
                     id="healthy_threshold_under_2"),
        pytest.param(add_label("convox.health.threshold.unhealthy=11"),
                     "convox.health.threshold.unhealthy=11 is out of range 2..10",
                     id="unhealthy_threshold_over_10"),
        pytest.param(add_label("convox.cron.job=0 3 * * ? true"),
                     "convox.cron.job has a task name that does not match",
                     id="cron_name_too_short"),
        pytest.param(add_label("convox.cron.clear_cache=0 3 * * ? true"),
                     "convox.cron.clear_cache has a task name", id="cron_name_with_underscore"),
        pytest.param(add_label("convox.cron.nightly=0 3 * * * true"),
                     "convox.cron.nightly=0 3 * * * true must have '?'", id="cron_without_question"),
        pytest.param(add_label("convox.cron.nightly=0 3 ? * ? true"),
                     "convox.cron.nightly=0 3 ? * ? true must have '?'", id="cron_with_two_questions"),
        pytest.param(add_label("convox.cron.nightly=0 3 * * ?"),
                     "convox.cron.nightly=0 3 * * ? must be five cron fields followed by a command",
                     id="cron_without_command"),
        pytest.param(add_label("convox.draining.timeout=0"),
                     "convox.draining.timeout=0 is out of range 1..3600", id="draining_timeout_0"),
        pytest.param(add_label("convox.idle.timeout=3601"),
                     "convox.idle.timeout=3601 is out of range 1..3600", id="idle_timeout_over_3600"),
        pytest.param(add_label("convox.deployment.minimum=101"),
                     "convox.deployment.minimum=101 is out of range 0..100",
                     id="deployment_minimum_over_100"),
        pytest.param(add_label("convox.deployment.maximum=99"),
                     "convox.deployment.maximum=99 is out of range 100..200",
                     id="deployment_maximum_under_100"),
        pytest.param(add_label("convox.start.shift=ten"), "convox.start.shift=ten is not an integer",
                     id="start_shift_not_an_integer"),
        pytest.param(add_label("convox.environment.secure=yes"),
                     "convox.environment.secure=yes is not one of true, false",
                     id="environment_secure_not_boolean"),
        pytest.param(add_label("convox.agent=on"), "convox.agent=on is not one of true, false",
                     id="agent_not_boolean"),
        pytest.param(add_label("convox.balancer=no"), "convox.balancer=no is not one of true",
                     id="balancer_not_boolean"),
        pytest.param(set_web(links=["db"]), "services.web.links: db is not a service",
                     id="link_to_missing_service"),
        pytest.param(lambda d: d["services"]["database"].pop("ports"),
                     "services.web.links: database declares no ports",
                     id="link_to_service_without_ports"),
        pytest.param(set_web(environment=["SECRET-KEY"]),
                     "services.web.environment[0]: 'SECRET-KEY' is not a valid variable name",
                     id="environment_name_with_dash"),
        pytest.param(set_web(environment=["1DEBUG=false"]),
                     "services.web.environment[0]: '1DEBUG' is not a valid variable name",
                     id="environment_default_with_bad_name"),
        pytest.param(set_web(environment={"DEBUG FLAG": "false"}),
                     "services.web.environment.DEBUG FLAG: 'DEBUG FLAG' is not a valid",
                     id="environment_mapping_with_bad_name"),
        pytest.param(set_web(environment="DEBUG=false"),
                     "services.web.environment: must be a list or a mapping",
                     id="environment_as_string"),
        pytest.param(set_web(environment=["SECRET_KEY", "DEBUG=${DEBUG:-false}"]),
                     "services.web: '${DEBUG:-false}' stays literal on the first generation",
                     id="interpolation_with_default"),
        pytest.param(set_web(environment=["SECRET_KEY", "DEBUG=${DEBUG?set it}"]),
                     "'${DEBUG?set it}' stays literal", id="interpolation_with_error"),
    ],
)
def test_compose_reports_each_broken_rule(change, expected):
    assert_one_problem(check_compose(changed(GOOD_COMPOSE, change)), expected)


# --- convox.yml (today's racks) --------------------------------------------------------


def test_good_convox_yml_has_no_problems():
    assert check_convox_yml(yaml.safe_load(GOOD_CONVOX_YML), MINIMUM) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(lambda d: d["resources"]["database"].pop("options"),
                     "resources.database.options.version: is missing, so the rack runs"
                     " PostgreSQL 10.5 on v3 racks, 12 on v2", id="postgres_without_version"),
        pytest.param(set_options(version="13"),
                     "resources.database.options.version: '13' is older than PostgreSQL 14",
                     id="postgres_13"),
        pytest.param(set_options(version="9.6"), "'9.6' is older than PostgreSQL 14",
                     id="postgres_9_6"),
        pytest.param(set_options(version=17), "resources.database.options.version: 17 must be"
                     " quoted text", id="version_as_a_number"),
        pytest.param(set_resource(type="rds-postgres", options={"class": "db.t4g.micro"}),
                     "resources.database.options.version: is missing (rds-postgres requires it)",
                     id="rds_postgres_without_version"),
        pytest.param(set_resource(type="rds-postgres", options={"version": "17"}),
                     "resources.database.options.class: is missing (rds-postgres requires it)",
                     id="rds_postgres_without_class"),
    ],
)
def test_convox_yml_refuses_a_postgres_older_than_django_accepts(change, expected):
    assert_one_problem(check_convox_yml(changed(GOOD_CONVOX_YML, change), MINIMUM), expected)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(set_web(health="/health/"), id="health_as_path"),
        pytest.param(set_web(health={"path": "/health/"}), id="health_path_only"),
        pytest.param(set_web(health={"grace": 30}), id="health_without_path_checks_root"),
        pytest.param(set_web(port="https:3000"), id="port_with_scheme"),
        pytest.param(set_web(port={"port": 3000, "scheme": "https"}), id="port_as_mapping"),
        pytest.param(set_in_web("scale", count="1-3"), id="scale_count_range"),
        pytest.param(set_web(scale=2), id="scale_as_bare_count"),
        pytest.param(set_web(deployment={"minimum": 0, "maximum": 200}), id="deployment_bounds"),
        pytest.param(set_web(internal=False, timeout=120), id="keys_without_rules"),
        pytest.param(set_web(domain="example.com"), id="domain"),
        pytest.param(set_web(domain="${DOMAIN}"), id="domain_from_the_environment"),
        pytest.param(set_web(domain="shop.example.com, www.example.com"), id="domains_in_text"),
        pytest.param(set_web(domain=["shop.example.com", "${DOMAIN}"]), id="domains_as_list"),
        pytest.param(set_web(domain=""), id="domain_empty"),
        pytest.param(lambda d: d.update(environment=["TZ=UTC"]), id="top_level_environment"),
        pytest.param(lambda d: d["timers"]["clearsessions"].pop("concurrency"),
                     id="timer_concurrency_is_optional"),
        pytest.param(set_timer(schedule="0 3 ? * MON"), id="timer_question_in_day_of_month"),
        pytest.param(set_options(version="17.2"), id="postgres_minor_version"),
        pytest.param(set_resource(type="rds-postgres", options={
            "class": "db.t4g.micro", "version": "17", "storage": 20, "encrypted": True,
            "deletionProtection": True, "backupRetentionPeriod": 7}), id="rds_postgres"),
        pytest.param(set_web(startupProbe={"tcpSocketPort": "3000", "grace": 30}),
                     id="startup_probe_on_a_tcp_port"),
    ],
)
def test_convox_yml_accepts_documented_alternatives(change):
    assert check_convox_yml(changed(GOOD_CONVOX_YML, change), MINIMUM) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param(lambda d: d.update(volumes=[]), "volumes: is not a convox.yml top-level key",
                     id="unknown_top_level_key"),
        pytest.param(lambda d: d.update(environment=["TZ UTC"]),
                     "environment[0]: 'TZ UTC' is not a valid variable name",
                     id="top_level_environment_bad_entry"),
        pytest.param(rename("timers", "clearsessions", "clear_sessions"),
                     "timers.clear_sessions: name must match", id="timer_name_with_underscore"),
        pytest.param(lambda d: d["resources"].update(Cache={"type": "redis"}),
                     "resources.Cache: name must match", id="resource_name_with_capital"),
        pytest.param(lambda d: d["services"].update(Worker={"build": "."}),
                     "services.Worker: name must match", id="service_name_with_capital"),
        pytest.param(lambda d: d["resources"]["database"].update(type="postgresql"),
                     "resources.database.type: 'postgresql' is not one of",
                     id="unknown_resource_type"),
        pytest.param(set_web(resources=["database", "cache"]),
                     "services.web.resources: cache is not under top-level resources",
                     id="service_resource_not_declared"),
        pytest.param(set_web(environment=["SECRET_KEY", "DEBUG-MODE=false"]),
                     "services.web.environment[1]: 'DEBUG-MODE' is not a valid variable name",
                     id="service_environment_bad_name"),
        pytest.param(set_web(environment={"DEBUG": "false"}),
                     "services.web.environment: must be a list", id="service_environment_mapping"),
        pytest.param(set_web(port=0), "services.web.port: 0 is out of range 1..65535",
                     id="port_zero"),
        pytest.param(set_web(port=70000), "services.web.port: 70000 is out of range",
                     id="port_over_65535"),
        pytest.param(set_web(port="tcp:3000"), "services.web.port: 'tcp:3000' must be",
                     id="port_with_unknown_scheme_prefix"),
        pytest.param(set_web(port={"port": 3000, "scheme": "tcp"}),
                     "services.web.port.scheme: 'tcp' is not http or https",
                     id="port_mapping_with_unknown_scheme"),
        pytest.param(set_web(port={"scheme": "https"}), "services.web.port.port: None must be",
                     id="port_mapping_without_port"),
        pytest.param(set_web(health="health/"), "services.web.health: 'health/' must be a path",
                     id="health_string_without_slash"),
        pytest.param(set_in_web("health", path="health/"),
                     "services.web.health.path: 'health/' must be a path starting with '/'",
                     id="health_path_without_slash"),
        pytest.param(set_in_web("health", grace=-1),
                     "services.web.health.grace: -1 must be an integer >= 0",
                     id="health_grace_negative"),
        pytest.param(set_in_web("health", interval="5s"),
                     "services.web.health.interval: '5s' must be an integer >= 0",
                     id="health_interval_not_integer"),
        pytest.param(set_in_web("health", timeout=5),
                     "services.web.health.timeout: 5 must be less than interval (5)",
                     id="health_timeout_not_below_interval"),
        pytest.param(set_in_web("scale", count=-1), "services.web.scale.count: -1 must be",
                     id="scale_count_negative"),
        pytest.param(set_in_web("scale", count="3-1"), "services.web.scale.count: '3-1' must be",
                     id="scale_count_range_backwards"),
        pytest.param(set_in_web("scale", count="two"), "services.web.scale.count: 'two' must be",
                     id="scale_count_not_a_number"),
        pytest.param(set_in_web("termination", grace=0),
                     "services.web.termination.grace: 0 must be an integer >= 1",
                     id="termination_grace_zero"),
        pytest.param(set_web(timeout=0), "services.web.timeout: 0 must be an integer >= 1",
                     id="timeout_zero"),
        pytest.param(set_web(deployment={"minimum": 101}),
                     "services.web.deployment.minimum: 101 must be an integer in 0..100",
                     id="deployment_minimum_over_100"),
        pytest.param(set_web(deployment={"maximum": 99}),
                     "services.web.deployment.maximum: 99 must be an integer in 100..200",
                     id="deployment_maximum_under_100"),
        pytest.param(set_web(deployment={"maximum": 201}),
                     "services.web.deployment.maximum: 201 must be an integer in 100..200",
                     id="deployment_maximum_over_200"),
        pytest.param(set_web(replicas=2), "services.web.replicas: is not a known service key",
                     id="unknown_service_key"),
        pytest.param(lambda d: d["timers"]["clearsessions"].pop("schedule"),
                     "timers.clearsessions.schedule: is missing", id="timer_without_schedule"),
        pytest.param(lambda d: d["timers"]["clearsessions"].pop("command"),
                     "timers.clearsessions.command: is missing", id="timer_without_command"),
        pytest.param(lambda d: d["timers"]["clearsessions"].pop("service"),
                     "timers.clearsessions.service: is missing", id="timer_without_service"),
        pytest.param(set_timer(schedule="0 3 * *"),
                     "timers.clearsessions.schedule: '0 3 * *' must be five cron fields",
                     id="timer_schedule_four_fields"),
        pytest.param(set_timer(schedule="0 3 * * ? *"), "timers.clearsessions.schedule:",
                     id="timer_schedule_in_aws_six_field_form"),
        pytest.param(set_timer(schedule="0 3 * * *"),
                     "timers.clearsessions.schedule: '0 3 * * *' must have '?' in exactly one",
                     id="timer_schedule_v2_turns_into_an_invalid_aws_cron"),
        pytest.param(set_timer(schedule="0 3 ? * ?"), "must have '?' in exactly one",
                     id="timer_schedule_with_two_question_marks"),
        pytest.param(set_in_web("liveness", path="health/"),
                     "services.web.liveness.path: 'health/' must be a path", id="liveness_path"),
        pytest.param(set_in_web("liveness", failureThreshold=0),
                     "services.web.liveness.failureThreshold: 0 must be an integer >= 1",
                     id="liveness_failure_threshold_zero"),
        pytest.param(set_web(startupProbe={"grace": 30}),
                     "services.web.startupProbe.path: None must be a path",
                     id="startup_probe_without_path"),
        pytest.param(set_in_web("startupProbe", interval="5s"),
                     "services.web.startupProbe.interval: '5s' must be an integer >= 0",
                     id="startup_probe_interval_not_integer"),
        pytest.param(set_timer(service="worker"),
                     "timers.clearsessions.service: worker is not under services",
                     id="timer_service_not_declared"),
        pytest.param(set_timer(concurrency="forbid"),
                     "timers.clearsessions.concurrency: 'forbid' is not one of Allow, Forbid",
                     id="timer_concurrency_wrong_case"),
        # YAML reads an unquoted 123.456 as a number, which neither rack takes as a domain.
        pytest.param(set_web(domain=123.456),
                     "services.web.domain: 123.456 must be text or a list of text",
                     id="domain_read_as_a_number"),
        pytest.param(set_web(domain="Shop.example.com"),
                     "services.web.domain: 'Shop.example.com' must be a lowercase host name",
                     id="domain_with_uppercase"),
        pytest.param(set_web(domain=["example.com", "192.168.1.10:80"]),
                     "services.web.domain: '192.168.1.10:80' must be a lowercase host name",
                     id="domain_with_a_port"),
    ],
)
def test_convox_yml_reports_each_broken_rule(change, expected):
    assert_one_problem(check_convox_yml(changed(GOOD_CONVOX_YML, change)), expected)


# --- convox.yml as the racks load it ------------------------------------------------------


def test_loading_without_a_required_variable_is_refused_as_convox_builds_refuse_it():
    with pytest.raises(ManifestRefused, match=r"^required env: SECRET_KEY$"):
        load_convox_yml(GOOD_CONVOX_YML, {})
    assert load_convox_yml(GOOD_CONVOX_YML, {"SECRET_KEY": "x"})["services"]["web"]


def test_a_domain_from_an_unset_variable_is_no_domain_and_a_set_one_routes():
    text = GOOD_CONVOX_YML.replace("    port: 3000\n", '    port: 3000\n    domain: "${DOMAIN}"\n')
    assert service_domains(load_convox_yml(text, {"SECRET_KEY": "x"}), "web") == []
    assert service_domains(load_convox_yml(text, {"SECRET_KEY": "x", "DOMAIN": ""}), "web") == []
    loaded = load_convox_yml(text, {"SECRET_KEY": "x", "DOMAIN": "shop.example.com, b.example"})
    assert service_domains(loaded, "web") == ["shop.example.com", "b.example"]
