"""The local container path: README.md's compose command, as written, with podman-compose.

The project's `docker-compose.yml` is the first-generation Convox manifest, and
`docker-compose.override.yml` changes what a local run publishes. The fast tests read what
podman-compose makes of the two files (its own `config`); the slow one runs the README's
command: it builds the web image from the unchanged Dockerfile over the stand-in python
base (podman.py), starts the database the manifest names, and a browser signs in to the
admin on the one published port.

No registry is reachable, so `docker.io/library/postgres:17` is a stand-in built here and
tagged with that name in the tests' own podman storage: Debian trixie's PostgreSQL 17 over
the stand-in base, with an entry point that reads POSTGRES_PASSWORD and POSTGRES_DB as the
official image does. Everything runs in a network namespace of the test's own, so port
8000 is this test's alone.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from conftest import require
from traffic import SUPERUSER, fetch

HEADING = "## Run the container locally"
COMPOSE_FILES = ["-f", "docker-compose.yml", "-f", "docker-compose.override.yml"]
BROWSER = Path(__file__).parent / "support" / "browser.py"

POSTGRES_CONTAINERFILE = """\
FROM {base}
RUN apt-get update \\
    && apt-get install -y --no-install-recommends postgresql-17 \\
    && rm -rf /var/lib/apt/lists/*
COPY entrypoint /usr/local/bin/docker-entrypoint
USER postgres
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint"]
"""
# The official image's first start, in short: a cluster whose superuser postgres has
# POSTGRES_PASSWORD, the database POSTGRES_DB, password logins from any address.
POSTGRES_ENTRYPOINT = """\
#!/bin/sh
set -eu
bin=/usr/lib/postgresql/17/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\\n' "$POSTGRES_PASSWORD" >/tmp/password
    "$bin/initdb" -D "$PGDATA" -U postgres --pwfile=/tmp/password \\
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm /tmp/password
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -k /tmp" -w start >/dev/null
    "$bin/psql" -h /tmp -U postgres -q -c "CREATE DATABASE \\"$POSTGRES_DB\\""
    "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -k /tmp
"""


def podman_compose():
    """podman-compose beside this interpreter (the test group pins it), or a skip."""
    path = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    require(path, "podman-compose (the test dependency group installs it)")
    require(shutil.which("podman"), "podman (Debian package podman)")
    return path


def readme_commands(project):
    """The commands of each ```bash block in the README's local-run section."""
    section = (project / "README.md").read_text().split(f"\n{HEADING}\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [line for block in section.split("```bash\n")[1:]
            for line in block.split("\n```", 1)[0].splitlines()]


def compose_config(project, *files):
    done = subprocess.run([podman_compose(), *files, "config"], cwd=project,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_readme_starts_web_and_database_with_one_command_naming_both_files(default_project):
    start = readme_commands(default_project)[0]
    assert start == "docker compose " + " ".join(COMPOSE_FILES) + " up --build"


@pytest.mark.parametrize("answers", [{}, {"database": "mysql", "background_tasks": "celery"}],
                         ids=["default", "mysql-celery"])
def test_local_run_publishes_only_web_on_loopback(bake, answers):
    result = bake(**answers)
    assert result.exit_code == 0, result.exception
    project = result.project_path
    services = compose_config(project, *COMPOSE_FILES)["services"]
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published == {"web": ["127.0.0.1:8000:3000"],
                         **{name: [] for name in services if name != "web"}}
    # The manifest alone keeps what Convox needs: the balancer's ports and a port on each
    # linked service (its loader refuses a link to a service without one).
    manifest = compose_config(project, "-f", "docker-compose.yml")["services"]
    assert manifest["web"]["ports"] == ["80:4000", "443:4001"]
    for linked in manifest["web"]["links"]:
        assert manifest[linked]["ports"], linked
    # Named in full: podman resolves no short name without an alias in registries.conf.
    for name, service in manifest.items():
        if "image" in service:
            assert service["image"].startswith("docker.io/library/"), name


def test_without_f_podman_compose_reads_the_same_two_files(default_project):
    assert compose_config(default_project) == compose_config(default_project, *COMPOSE_FILES)


def inside(namespace, argv):
    """argv in the namespace's network only. `ip netns exec` would also mount a /sys of
    its own, without the cgroup mounts runc needs to start a container."""
    return ["nsenter", f"--net={namespace.path}", *map(str, argv)]


def postgres_standin(podman, base):
    """Tag the stand-in as docker.io/library/postgres:17 in the tests' storage."""
    with tempfile.TemporaryDirectory(dir=podman.root, prefix="postgres-") as context:
        context = Path(context)
        (context / "Containerfile").write_text(POSTGRES_CONTAINERFILE.format(base=base))
        (context / "entrypoint").write_text(POSTGRES_ENTRYPOINT)
        (context / "entrypoint").chmod(0o755)
        podman.build(context, "docker.io/library/postgres:17")


def wait_for(check, seconds, process, exited, log):
    """check()'s first true answer, failing at once when the compose command or one of
    its containers (exited() names them) has stopped."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None or exited():
            raise AssertionError(f"the compose command exited {process.poll()}, containers"
                                 f" {exited()}:\n{log.read_text()[-4000:]}")
        try:
            found = check()
            if found:
                return found
        except OSError:
            pass
        assert time.monotonic() < deadline, f"not up in {seconds} s:\n{log.read_text()[-4000:]}"
        time.sleep(0.5)


@pytest.mark.slow
def test_readme_command_serves_the_site_and_a_browser_signs_in_to_the_admin(
        podman, real_image, namespaces, default_project, tmp_path):
    require(Path("/usr/bin/chromium").exists(), "Chromium (Debian package chromium)")
    require(Path("/usr/lib/cni/dnsname").exists(),
            "podman's dnsname plugin, for names between containers (Debian package"
            " golang-github-containernetworking-plugin-dnsname)")
    tool = podman_compose()
    postgres_standin(podman, podman.base)
    project = default_project
    start, create = readme_commands(project)[:2]
    assert create == "docker compose " + " ".join(COMPOSE_FILES) + \
        " exec web python manage.py createsuperuser"
    # A name of this run's own: containers, network and image carry it.
    # BUILDAH_FORMAT: the format real_image's layers were built in (podman.build), so
    # that podman's build takes them from its cache.
    env = {**podman.env, "COMPOSE_PROJECT_NAME": f"local{secrets.token_hex(4)}",
           "BUILDAH_FORMAT": "docker"}
    namespace = namespaces("cmp")
    log = tmp_path / "compose.log"
    # The image's layers are the ones real_image built: the build inside the namespace,
    # which reaches no network, takes every step from the cache.
    with open(log, "w") as output:
        up = subprocess.Popen(inside(namespace, [tool, *start.split()[2:]]), cwd=project,
                              env=env, stdout=output, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        project_label = f"label=io.podman.compose.project={env['COMPOSE_PROJECT_NAME']}"

        def exited():
            return podman("ps", "--all", "--filter", project_label, "--filter",
                          "status=exited", "--format", "{{.Names}}").stdout.split()

        home = wait_for(lambda: fetch(8000, "/", namespace=namespace, timeout=5), 300, up,
                        exited, log)
        assert home.status == 200 and "Example Project is running" in home.body
        # Only web's router port is published, and only on the loopback.
        names = podman("ps", "--filter", project_label, "--format", "{{.Names}}").stdout.split()
        bindings = {name: json.loads(podman("inspect", "--format",
                                            "{{json .HostConfig.PortBindings}}", name).stdout)
                    for name in names}
        # An exposed port that nothing publishes is listed with null.
        published = {name: {port: hosts for port, hosts in ports.items() if hosts}
                     for name, ports in bindings.items()}
        assert len(names) == 2, names
        assert {name: ports for name, ports in published.items() if ports} == {
            next(name for name in names if "web" in name):
                {"3000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]}}
        # The README's command, answered by options instead of at its prompts: exec passes
        # the container no variable of the caller's unless -e names it.
        words = create.split()[2:]
        words[words.index("exec") + 1:words.index("exec") + 1] = [
            "-T", "-e", f"DJANGO_SUPERUSER_PASSWORD={SUPERUSER[1]}"]
        made = subprocess.run(
            inside(namespace, [tool, *words, "--noinput", "--username", SUPERUSER[0],
                               "--email", "admin@example.com"]),
            cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stdout + made.stderr
        screenshots = tmp_path / "screenshots"
        screenshots.mkdir()
        done = namespace.run([sys.executable, BROWSER, "http://127.0.0.1:8000", *SUPERUSER,
                              screenshots], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["home"]["status"] == 200
        assert ("To sign in to the admin, make a user first with manage.py createsuperuser."
                in seen["home"]["text"])
        assert seen["admin"]["url"] == "http://127.0.0.1:8000/admin/"
        assert "Site administration" in seen["admin"]["title"]
        assert "sessionid" in seen["admin"]["cookies"]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGINT)
            try:
                up.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
        # Containers, network and the web image's tag go; its layers are real_image's.
        subprocess.run(inside(namespace, [tool, *COMPOSE_FILES, "down", "--volumes",
                                          "--rmi", "local"]),
                       cwd=project, env=env, capture_output=True, timeout=120)
