"""docker-compose.yml, the first generation's manifest: valid Compose, Convox's
first-generation rules, the seed's services, and the link URL Compose and Convox build."""

import subprocess

from convox_rules import (
    check_compose,
)
from project_files import (
    env_file,
    link_url,
    load,
    pinned_minimum_postgres,
)


def test_compose_file_is_valid_against_the_compose_specification(project, tools):
    done = subprocess.run(
        [tools["check-jsonschema"], "--builtin-schema", "vendor.compose-spec",
         "docker-compose.yml"], cwd=project, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
    local = {name for name, value in env_file(project).items() if value is not None}
    web = load(project, "docker-compose.yml")["services"]["web"]
    required = {entry for entry in web["environment"] if "=" not in entry}
    assert required - local == set()
