"""Background tasks (the background_tasks option): a worker service in both manifests, which
runs what the project queues and, stopped with SIGTERM mid-task, loses nothing.

The end-to-end runs start the worker with the command convox.yml gives it, against the
machine's PostgreSQL or MariaDB and Redis: one per backend, django-tasks on Django 5.2 (the
backport) with MariaDB, Celery on 6.1 with PostgreSQL. test_database_servers.py runs the other
series and database of each through migrate and the project's own tests.
"""

import re
import secrets
import shlex
import signal
import socket
import subprocess
import time

import psycopg
import pytest
import yaml
from combinations import COMBINATIONS, row_id, rows_with
from conftest import mariadb_url, mysql_client, project_env, require
from project_files import declared, link_url

REDIS = ("127.0.0.1", 6379)
WITH_TASKS = [row for row in COMBINATIONS if row[3] != "none"]


def one_row(answer, series, database):
    return next(row for row in rows_with("background_tasks", answer)
                if row[:2] == (series, database))


END_TO_END = [one_row("django-tasks", "5.2", "mysql"), one_row("celery", "6.1", "postgresql")]


def manifests(project):
    return (yaml.safe_load((project / "convox.yml").read_text()),
            yaml.safe_load((project / "docker-compose.yml").read_text()))


def worker_grace(project):
    """How long today's racks let the worker finish after SIGTERM."""
    return manifests(project)[0]["services"]["worker"]["termination"]["grace"]


# Finds the command as manage.py would and parses its arguments, without running it;
# prints the app it comes from and the backend the settings queue tasks with.
MANAGEMENT_COMMAND = """
from django.conf import settings
from django.core.management import get_commands, load_command_class
name, *arguments = {argv!r}
app = get_commands()[name]
load_command_class(app, name).create_parser("manage.py", name).parse_args(arguments)
print(app, settings.TASKS["default"]["BACKEND"])
"""


# The manifests, for every combination


@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_a_worker_service_exists_exactly_when_tasks_are_chosen(row, combination_projects):
    convox, compose = manifests(combination_projects[row])
    chosen = row[3] != "none"
    assert ("worker" in convox["services"]) is chosen
    assert ("worker" in compose["services"]) is chosen
    assert ("redis" in convox["resources"]) is (row[3] == "celery")
    assert ("redis" in compose["services"]) is (row[3] == "celery")
    package = combination_projects[row] / combination_projects[row].name
    assert (package / "background").is_dir() is chosen
    assert (package / "celery.py").is_file() is (row[3] == "celery")


@pytest.mark.parametrize("row", WITH_TASKS, ids=map(row_id, WITH_TASKS))
def test_the_worker_reads_what_web_reads_and_takes_no_traffic(
        row, combination_projects, python_of, django_of):
    project = combination_projects[row]
    convox, compose = manifests(project)
    web, worker = convox["services"]["web"], convox["services"]["worker"]
    assert worker["environment"] == web["environment"]
    assert worker["resources"] == web["resources"]
    assert worker["build"] == web["build"] == "."
    assert not {"port", "domain", "health", "liveness", "startupProbe"} & set(worker)
    # Fewer workers than the README's `convox scale worker` asks for, with web's memory:
    # the same image.
    readme = (project / "README.md").read_text()
    scaled_to = int(re.search(r"`convox scale worker --count (\d+)", readme).group(1))
    assert 1 <= worker["scale"]["count"] < scaled_to
    assert worker["scale"]["memory"] == web["scale"]["memory"]
    # Tasks are the work too slow for a request: more time to finish than web has. What
    # the README and settings tell the developer is the manifest's number.
    grace = worker_grace(project)
    assert grace > web["termination"]["grace"]
    stopping = next(part for part in readme.split("\n\n") if "`termination.grace`" in part)
    assert f"{grace} s" in stopping, stopping
    settings = (project / project.name / "settings.py").read_text()
    assert {int(n) for n in re.findall(r"convox\.yml gives it (\d+) s", settings)} <= {grace}
    first = compose["services"]
    assert first["worker"]["environment"] == first["web"]["environment"]
    assert first["worker"]["links"] == first["web"]["links"]
    assert "ports" not in first["worker"] and "labels" not in first["worker"]
    # Both generations start the worker the same way.
    assert first["worker"]["command"] == worker["command"]
    # The command runs the project's own tasks: run here up to the point of starting.
    argv = shlex.split(worker["command"])
    if row[3] == "celery":
        # The app is the project package's; --help exits 0 only once Celery has loaded it
        # and the subcommand takes every option given.
        assert argv[argv.index("--app") + 1].split(".")[0] == project.name, argv
        done = subprocess.run([*argv, "--help"], cwd=project, capture_output=True, text=True,
                              env=project_env(python_of(row)), timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        # A management command of the app whose backend the settings queue tasks with.
        assert argv[:2] == ["python", "manage.py"], argv
        app, backend = django_of(row).run(project, [
            "shell", "--no-imports", "-c", MANAGEMENT_COMMAND.format(argv=argv[2:])],
        ).stdout.split()
        assert backend.startswith(f"{app}."), (app, backend)


CELERY = rows_with("background_tasks", "celery")


@pytest.mark.parametrize("row", CELERY, ids=map(row_id, CELERY))
def test_the_redis_link_gives_compose_the_url_the_settings_read(row, combination_projects):
    convox, compose = manifests(combination_projects[row])
    services = compose["services"]
    # Named in full, with a version: podman resolves no short name, and `latest` moves.
    registry, _, image = services["redis"]["image"].partition("/")
    repository, _, tag = image.rpartition("/")[2].partition(":")
    assert "." in registry and repository == "redis" and re.fullmatch(r"\d+(\.\d+)*", tag)
    url = link_url("redis", services["redis"])
    for service in ("web", "worker"):
        assert f"REDIS_URL={url}" in services[service]["environment"]
    # Today's racks: the redis resource sets REDIS_URL, so the manifest declares none.
    assert convox["resources"]["redis"]["type"] == "redis"
    for service in ("web", "worker"):
        assert "redis" in convox["services"][service]["resources"]
        assert "REDIS_URL" not in declared(convox["services"][service])


# The worker at work, as the manifest starts it


@pytest.fixture
def redis_url():
    """A Redis database of the machine's server that nothing else uses; emptied afterwards."""
    try:
        socket.create_connection(REDIS, timeout=2).close()
        reachable = True
    except OSError:
        reachable = False
    require(reachable, f"Redis at {REDIS[0]}:{REDIS[1]} (Debian package redis-server)")
    url = f"redis://{REDIS[0]}:{REDIS[1]}/{secrets.randbelow(15) + 1}"
    yield url
    flush(url)


def flush(url):
    """FLUSHDB, in Redis' inline protocol: the test's interpreter has no Redis client."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(f"SELECT {url.rsplit('/', 1)[1]}\r\nFLUSHDB\r\n".encode())
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += connection.recv(64)
    assert replies == b"+OK\r\n+OK\r\n", replies


class Records:
    """The example task's rows (note, finished), read straight from the database server."""

    def __init__(self, database, name):
        self.database, self.name = database, name

    def __call__(self):
        sql = "SELECT note, finished_at IS NOT NULL FROM {}background_record ORDER BY id"
        if self.database == "mysql":
            done = mysql_client(sql.format(f"`{self.name}`."))
            assert done.returncode == 0, done.stderr
            return [(note, finished == "1") for note, finished in
                    (line.split("\t") for line in done.stdout.splitlines())]
        with psycopg.connect(f"postgresql://postgres@/{self.name}?host=/var/run/postgresql") as db:
            return [(note, bool(finished)) for note, finished in db.execute(sql.format(""))]


@pytest.fixture
def database(request):
    """database(kind) -> (DATABASE_URL, Records) of a new, empty database on the machine's
    PostgreSQL or MariaDB."""
    def make(kind):
        if kind == "mysql":
            name = request.getfixturevalue("fresh_mysql_database")()
            return mariadb_url(name), Records(kind, name)
        request.getfixturevalue("postgres")
        name = request.getfixturevalue("fresh_database")()
        return f"postgres://postgres@%2Fvar%2Frun%2Fpostgresql/{name}", Records(kind, name)
    return make


def wait_for(condition, seconds, what, worker):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {seconds} s; the worker wrote:\n{worker.log()}")


class Worker:
    """The worker service's command from convox.yml, run as the container runs it: in the
    project's folder, its virtualenv first on PATH."""

    def __init__(self, project, python, env, log):
        command = manifests(project)[0]["services"]["worker"]["command"]
        self.log_file = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(shlex.split(command), cwd=project, stdout=out,
                                            stderr=subprocess.STDOUT,
                                            env=project_env(python, **env))

    def log(self):
        return self.log_file.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("row", END_TO_END, ids=map(row_id, END_TO_END))
def test_the_worker_runs_queued_tasks_and_finishes_one_it_is_running_on_sigterm(
        row, combination_projects, python_of, django_of, database, tmp_path, request):
    project, python, django = combination_projects[row], python_of(row), django_of(row)
    url, records = database(row[1])
    env = {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "DATABASE_URL": url}
    if row[3] == "celery":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    django.run(project, ["migrate", "--noinput"], env)
    queued = django.run(project, ["example_task", "hello"], env).stdout
    assert queued.startswith("Queued 'hello' as task ")
    assert records() == []  # queued, not run: web never runs a task itself

    worker = Worker(project, python, env, tmp_path / "worker.log")
    try:
        wait_for(lambda: records() == [("hello", True)], 30, "finished 'hello' row", worker)
        django.run(project, ["example_task", "slow", "--seconds", "3"], env)
        wait_for(lambda: ("slow", False) in records(), 30, "started 'slow' row", worker)
        worker.process.send_signal(signal.SIGTERM)
        # Within the time today's racks give it before they kill it.
        code = worker.process.wait(timeout=worker_grace(project))
        # It finished the task it was running, once, before it exited.
        assert records() == [("hello", True), ("slow", True)], worker.log()
        assert code == 0, worker.log()
    finally:
        worker.stop()
