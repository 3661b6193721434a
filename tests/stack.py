"""bin/web as the container runs it, in a network namespace of its own.

A release first (`release`: migrate, and a superuser to sign in as), then `start` runs
the image's CMD from its WORKDIR inside the namespace and waits for /health/, and
`Web.stop` ends it. The tests that serve and benchmarks/serve.py share these steps.

bin/web may check the database before it opens its ports, so `start` waits for the
first health answer rather than for a port.
"""

import os
import secrets
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from traffic import SUPERUSER, fetch

HEALTH = "/health/"
POSTGRES_SOCKET_DIR = "/var/run/postgresql"


def socket_url(database, folder=POSTGRES_SOCKET_DIR):
    """A DATABASE_URL for PostgreSQL's Unix socket, which a network namespace still reaches."""
    return f"postgres://postgres@{urllib.parse.quote(folder, safe='')}/{database}"


def manage(image, env, *args, timeout=120):
    """`python manage.py args...` in the image's WORKDIR, with the image's environment."""
    done = subprocess.run([image.python, "manage.py", *args], cwd=image.workdir,
                          env={**image.env, **env}, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} exited {done.returncode}\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def app_env(database_url, **overrides):
    """What Convox sets for the web process: a key of its own and the database."""
    return {"SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": database_url,
            **overrides}


def release(image, env):
    """What a release does once, before it takes traffic (`convox run web python manage.py
    migrate`), plus the superuser the tests sign in as."""
    manage(image, env, "migrate", "--noinput")
    manage(image, {**env, "DJANGO_SUPERUSER_PASSWORD": SUPERUSER[1]}, "createsuperuser",
           "--noinput", "--username", SUPERUSER[0], "--email", "admin@example.com")


def tree(pid):
    """pid and every process below it, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = {pid}, {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def command_name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@dataclass
class Web:
    process: subprocess.Popen
    namespace: object
    logs: Path
    started: float  # time.monotonic() when bin/web was started
    healthy_after: float = 0.0  # seconds from start to the first health answer

    def fetch(self, port, path, **kwargs):
        return fetch(port, path, namespace=self.namespace, **kwargs)

    def gunicorn_master(self):
        masters = [pid for pid in children(self.process.pid)
                   if command_name(pid).startswith("gunicorn")]
        assert len(masters) == 1, f"bin/web's children: {children(self.process.pid)}"
        return masters[0]

    def gunicorn_workers(self):
        return children(self.gunicorn_master())

    def stderr(self):
        return (self.logs / "stderr").read_text()

    def stop(self, grace=45):
        """SIGTERM, as Docker stops a container; SIGKILL whatever is left after grace."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The whole process group: bin/web started it in a session of its own.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def start(image, namespace, env, logs, timeout=30):
    """The image's CMD inside `namespace`, once /health/ answers 200 on port 4000."""
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
        started = time.monotonic()
        process = namespace.popen([image.workdir / image.cmd[0], *image.cmd[1:]],
                                  cwd=image.workdir, env={**image.env, **env},
                                  stdout=stdout, stderr=stderr, start_new_session=True)
    web = Web(process, namespace, logs, started)
    try:
        web.healthy_after = wait_until_healthy(web, timeout)
    except BaseException:
        web.stop(grace=5)
        raise
    return web


def wait_until_healthy(web, timeout):
    """Seconds from start to the first 200 from /health/; polls every 5 ms."""
    while time.monotonic() - web.started < timeout:
        if web.process.poll() is not None:
            raise AssertionError(f"bin/web exited {web.process.returncode}:\n{web.stderr()}")
        try:
            if web.fetch(4000, HEALTH, headers={"Host": "10.0.3.7"}, timeout=5).status == 200:
                return time.monotonic() - web.started
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError(f"bin/web not healthy in {timeout} s:\n{web.stderr()}")
