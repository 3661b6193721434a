"""Background tasks (the background_tasks option): a worker service in both manifests, which
runs what the project queues and, stopped with SIGTERM mid-task, loses nothing.

The end-to-end runs start the worker with the command convox.yml gives it, against the
machine's PostgreSQL or MariaDB and Redis: one per backend, django-tasks on Django 5.2 (the
backport) with MariaDB, Celery on 6.1 with PostgreSQL. test_database_servers.py runs the other
series and database of each through migrate and the project's own tests.
"""

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
from project_files import link_url

REDIS = ("127.0.0.1", 6379)
WITH_TASKS = [row for row in COMBINATIONS if row[3] != "none"]


def one_row(answer, series, database):
    return next(row for row in rows_with("background_tasks", answer)
                if row[:2] == (series, database))


END_TO_END = [one_row("django-tasks", "5.2", "mysql"), one_row("celery", "6.1", "postgresql")]


def manifests(project):
    return (yaml.safe_load((project / "convox.yml").read_text()),
            yaml.safe_load((project / "docker-compose.yml").read_text()))


# The manifests, for every combination


@pytest.mark.parametrize("row", COMBINATIONS, ids=map(row_id, COMBINATIONS))
def test_a_worker_service_exists_exactly_when_tasks_are_chosen(row, combination_projects):
    convox, compose = manifests(combination_projects[row])
    chosen = row[3] != "none"
    assert ("worker" in convox["services"]) is chosen
    assert ("worker" in compose["services"]) is chosen
    assert ("redis" in convox["resources"]) is (row[3] == "celery")
    assert ("redis" in compose["services"]) is (row[3] == "celery")
    package = combination_projects[row] / "exampleproject"
    assert (package / "background").is_dir() is chosen
    assert (package / "celery.py").is_file() is (row[3] == "celery")


@pytest.mark.parametrize("row", WITH_TASKS, ids=map(row_id, WITH_TASKS))
def test_the_worker_reads_what_web_reads_and_takes_no_traffic(row, combination_projects):
    convox, compose = manifests(combination_projects[row])
    web, worker = convox["services"]["web"], convox["services"]["worker"]
    assert worker["environment"] == web["environment"]
    assert worker["resources"] == web["resources"]
    assert worker["build"] == web["build"] == "."
    assert not {"port", "domain", "health", "liveness", "startupProbe"} & set(worker)
    # One worker (`convox scale worker` adds more), with web's memory: the same image.
    assert worker["scale"]["count"] == 1
    assert worker["scale"]["memory"] == web["scale"]["memory"]
    assert worker["termination"]["grace"] == 120
    first = compose["services"]
    assert first["worker"]["environment"] == first["web"]["environment"]
    assert first["worker"]["links"] == first["web"]["links"]
    assert "ports" not in first["worker"] and "labels" not in first["worker"]
    # Both generations start the worker the same way.
    assert first["worker"]["command"] == worker["command"]
    expected = {"django-tasks": "python manage.py db_worker --no-reload",
                "celery": "celery --app exampleproject worker --loglevel INFO"}[row[3]]
    assert worker["command"] == expected


CELERY = rows_with("background_tasks", "celery")


@pytest.mark.parametrize("row", CELERY, ids=map(row_id, CELERY))
def test_the_redis_link_gives_compose_the_url_the_settings_read(row, combination_projects):
    convox, compose = manifests(combination_projects[row])
    services = compose["services"]
    assert services["redis"]["image"] == "docker.io/library/redis:7"
    url = link_url("redis", services["redis"])
    assert url == "redis://redis:6379/0"
    assert f"REDIS_URL={url}" in services["web"]["environment"]
    # Today's racks: the redis resource sets REDIS_URL, so the manifest declares none.
    assert convox["resources"]["redis"] == {"type": "redis"}
    assert "redis" in convox["services"]["web"]["resources"]


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
        code = worker.process.wait(timeout=30)
        # It finished the task it was running, once, before it exited.
        assert records() == [("hello", True), ("slow", True)], worker.log()
        assert code == 0, worker.log()
    finally:
        worker.stop()
