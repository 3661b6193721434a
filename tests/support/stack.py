"""The web stack as a rack runs it: the real image (podman.py builds it), a release first,
then the image's own command, each container in a network namespace of its own.

`release` is what a release does once before it takes traffic (`convox run web python
manage.py migrate`), plus the superuser the tests sign in as. `start` runs the image's
CMD detached, as a rack runs it (Podman.run_as_convox: its own user, a read-only root with
/tmp writable, the database's socket folder mounted), and waits for the first /health/
answer; `Web` watches, signals and removes it. The serving, reliability and image tests
and benchmarks/serve.py share these steps.

Here bin/web is the container's PID 1, as under `docker run` without `--init`. A v3 rack
shares the pod's process namespace by default (convox/convox: `init` defaults to true in
pkg/manifest/manifest.go, and provider/k8s/template/app/service.yml.tmpl turns it into
`shareProcessNamespace`), so there the pod's pause process is PID 1 instead; bin/web
traps TERM and INT itself, so it stops the same way either way. Its PID on this machine,
from podman, shows the process tree in /proc and lets a test signal one server as a
crash or the kernel's OOM killer would. bin/web may check the database before it opens
its ports, so `start` waits for the first health answer, not a port.
"""

import secrets
import signal
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


def app_env(database_url, **overrides):
    """What Convox sets for the web process: a key of its own and the database."""
    return {"SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": database_url,
            **overrides}


def manage(podman, image, env, *args, timeout=120):
    """`python manage.py args...` as a one-off run of the image (`convox run`)."""
    return podman.run_as_convox(image, env, "python", "manage.py", *args, timeout=timeout)


def release(podman, image, env):
    """migrate, then the superuser the tests sign in as: one one-off run."""
    script = ("python manage.py migrate --noinput && python manage.py createsuperuser "
              f"--noinput --username {SUPERUSER[0]} --email admin@example.com")
    podman.run_as_convox(image, {**env, "DJANGO_SUPERUSER_PASSWORD": SUPERUSER[1]},
                         "sh", "-c", script)


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


def alive(pid):
    """Whether pid runs (a zombie, exited and not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Web:
    podman: object
    name: str
    namespace: object
    pid: int  # bin/web's PID on this machine
    started: float  # time.monotonic() before `podman run`
    healthy_after: float = 0.0  # seconds from start to the first health answer

    def fetch(self, port, path, **kwargs):
        return fetch(port, path, namespace=self.namespace, **kwargs)

    def running(self):
        return alive(self.pid)

    def exit_code(self):
        """bin/web's exit status, once it has exited."""
        return int(self.podman("wait", self.name, timeout=60).stdout.strip())

    def stdout(self):
        return self.podman("logs", self.name).stdout

    def stderr(self):
        return self.podman("logs", self.name).stderr

    def access_log_lines(self, marker):
        """nginx's access log lines (one a request) that hold marker."""
        time.sleep(0.3)  # the log goes through a pipe, then podman's log file
        return [line for line in self.stdout().splitlines() if marker in line]

    def servers(self):
        """{pid: command name} of every process below bin/web."""
        return {pid: command_name(pid) for pid in tree(self.pid) - {self.pid}}

    def gunicorn_master(self):
        masters = [pid for pid in children(self.pid) if command_name(pid).startswith("gunicorn")]
        assert len(masters) == 1, f"bin/web's children: {children(self.pid)}"
        return masters[0]

    def gunicorn_workers(self):
        return children(self.gunicorn_master())

    def send(self, sig=signal.SIGTERM):
        """Send bin/web sig, as the engine does (`docker stop` sends SIGTERM to its process)."""
        self.podman("kill", "--signal", sig.name, self.name)

    def wait(self, timeout=60):
        """Seconds from now until bin/web has exited."""
        started = time.monotonic()
        while self.running():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"bin/web still running after {timeout} s")
            time.sleep(0.01)
        return time.monotonic() - started

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signal bin/web; seconds until it exited."""
        started = time.monotonic()
        self.send(sig)
        self.wait(timeout)
        return time.monotonic() - started

    def remove(self):
        self.podman("rm", "--force", "--time", "0", self.name, check=False)


def start(podman, image, namespace, env, *command, healthy=True, timeout=60, options=()):
    """The image's CMD (or `command`) detached in `namespace`; once /health/ answers 200
    on port 4000 unless healthy is False. `options` go to `podman run` (say, --ulimit)."""
    name = f"{namespace.name}-web-{secrets.token_hex(2)}"
    started = time.monotonic()
    podman.run_as_convox(image, env, *command, namespace=namespace, name=name, options=options)
    web = Web(podman, name, namespace, int(podman.state(name, "Pid")), started)
    if healthy:
        try:
            web.healthy_after = wait_until_healthy(web, timeout)
        except BaseException:
            web.remove()
            raise
    return web


def wait_until_healthy(web, timeout=60):
    """Seconds from start to the first 200 from /health/; polls every 5 ms."""
    while time.monotonic() - web.started < timeout:
        if not web.running():
            raise AssertionError(f"bin/web exited {web.exit_code()}:\n{web.stderr()}")
        try:
            if web.fetch(4000, HEALTH, headers={"Host": "10.0.3.7"}, timeout=5).status == 200:
                return time.monotonic() - web.started
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError(f"bin/web not healthy in {timeout} s:\n{web.stderr()}")
