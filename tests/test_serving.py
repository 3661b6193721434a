"""Serving traffic the way the container does: the image's steps and start command
(bin/web: nginx in front of gunicorn) against a fresh PostgreSQL database, with requests
shaped like those of the first generation's balancer and today's rack router."""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run
from db_proxy import DatabaseProxy
from traffic import CLIENT, DOMAIN, SUPERUSER, fetch, sign_in

pytestmark = pytest.mark.slow

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx does
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


def descendants(pid):
    """Every process below pid, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Web:
    process: object
    proxy: DatabaseProxy
    router_port: int
    stdout: Path

    def gunicorn_log_lines(self, path):
        # nginx talks HTTP/1.0 to gunicorn, the tests HTTP/1.1 to nginx: that tells the
        # two access logs apart.
        time.sleep(0.3)
        return [line for line in self.stdout.read_text().splitlines()
                if f'"GET {path} HTTP/1.0"' in line]


@pytest.fixture(scope="module")
def proxied_database(fresh_database):
    """(proxy, DATABASE_URL): a new PostgreSQL database, behind a proxy the tests can break."""
    proxy = DatabaseProxy()
    yield proxy, f"postgres://postgres@127.0.0.1:{proxy.port}/{fresh_database()}"
    proxy.close()


@pytest.fixture(scope="module")
def web(image, nginx, proxied_database, tmp_path_factory):
    for port in (4000, 4001):
        assert port_is_free(port), f"port {port} is taken: bin/web's nginx listens on it"
    proxy, url = proxied_database
    env = {
        **image.env,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": url,
        "PORT": str(free_port()),  # the rack sets it from convox.yml's port
    }
    # What a release does once, before it takes traffic (`convox run web python manage.py migrate`).
    run(image.python, "manage.py", "migrate", "--noinput", cwd=image.workdir, env=env)
    run(image.python, "manage.py", "createsuperuser", "--noinput", "--username", SUPERUSER[0],
        "--email", "admin@example.com", cwd=image.workdir,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": SUPERUSER[1]})

    logs = tmp_path_factory.mktemp("bin-web")
    with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
        # The image's CMD, from its WORKDIR, in a process group of its own for clean-up.
        process = subprocess.Popen([image.workdir / image.cmd[0], *image.cmd[1:]],
                                   cwd=image.workdir, env=env, stdout=stdout, stderr=stderr,
                                   start_new_session=True)
    web = Web(process, proxy, int(env["PORT"]), logs / "stdout")
    try:
        wait_until_healthy(web, logs)
        yield web
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_healthy(web, logs, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert web.process.poll() is None, (
            f"bin/web exited {web.process.returncode}:\n{(logs / 'stderr').read_text()}")
        try:
            if fetch(4000, "/health/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"bin/web not healthy in {seconds} s:\n{(logs / 'stderr').read_text()}")


def test_port_4000_redirects_pages_to_https(web):
    response = fetch(4000, "/admin/?q=1")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/admin/?q=1"


def test_port_4000_answers_a_health_check_addressed_to_an_ip(web):
    response = fetch(4000, "/health/", headers={"Host": "10.0.3.7"})
    assert response.status == 200
    assert response.body == "ok\n"
    assert "no-store" in response.headers["Cache-Control"]


def test_health_check_is_answered_on_every_listener(web):
    assert fetch(4001, "/health/", headers={"Host": "10.0.3.7"}, proxy_client=CLIENT).status == 200
    assert fetch(web.router_port, "/health/", headers={"Host": "10.0.3.7"}).status == 200


def test_port_4001_serves_https_to_the_client_the_proxy_header_names(web):
    response = fetch(4001, "/", proxy_client=CLIENT, headers={"X-Forwarded-For": "198.51.100.66"})
    assert response.status == 200
    assert "Example Project is running" in response.body
    # Django took the request as HTTPS: HSTS, and no redirect back to https://.
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # Django got the PROXY header's address, not what the client claimed.
    assert [line.split(" ")[0] for line in web.gunicorn_log_lines("/")][-1] == CLIENT


def test_port_4001_refuses_connections_without_a_proxy_header(web):
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        fetch(4001, "/")


def test_router_port_serves_requests_the_router_marks_as_https(web):
    response = fetch(web.router_port, "/", headers={"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert "Strict-Transport-Security" in response.headers


def test_router_port_takes_https_when_the_router_says_nothing(web):
    assert fetch(web.router_port, "/").status == 200


def test_router_port_redirects_what_the_router_marks_as_plain_http(web):
    response = fetch(web.router_port, "/", headers={"X-Forwarded-Proto": "http"})
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/"


def test_hashed_static_files_are_served_by_nginx_and_cached_for_a_year(web):
    home = fetch(web.router_port, "/").body
    stylesheet = re.search(r'href="(/static/exampleapp/style\.[0-9a-f]{12}\.css)"', home).group(1)
    response = fetch(web.router_port, stylesheet)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert web.gunicorn_log_lines(stylesheet) == []  # nginx answered; gunicorn never saw it


def test_static_files_are_compressed_for_clients_that_accept_it(web):
    login = fetch(web.router_port, "/admin/login/").body
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login).group(1)
    response = fetch(web.router_port, stylesheet, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"


def test_admin_login_over_4001_signs_the_superuser_in(web):
    response = sign_in(4001)
    assert response.status == 302
    assert response.headers["Location"] == "/admin/"
    session = [c for c in response.headers.get_all("Set-Cookie") if c.startswith("sessionid=")]
    assert session and "Secure" in session[0] and "HttpOnly" in session[0]


def test_health_check_fails_fast_while_the_database_is_unreachable_then_recovers(web):
    web.proxy.unreachable()
    try:
        started = time.monotonic()
        response = fetch(4000, "/health/", headers={"Host": "10.0.3.7"})
        elapsed = time.monotonic() - started
    finally:
        web.proxy.reachable()
    assert response.status == 503
    assert elapsed < 2, f"503 took {elapsed:.2f} s"
    assert response.body == "unavailable\n"  # no details for whoever asks
    assert fetch(4000, "/health/").status == 200
    assert web.process.poll() is None  # recovered without a restart


def test_sigterm_lets_a_request_in_flight_finish_then_stops_nginx_and_gunicorn(web):
    # Runs last in this module: it stops the shared server.
    cookies = " ".join(sign_in(4001).headers.get_all("Set-Cookie"))
    session = re.search(r"sessionid=[^;]+", cookies).group(0)
    servers = descendants(web.process.pid)
    names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in servers}
    assert "nginx" in names and any(name.startswith("gunicorn") for name in names), names

    web.proxy.slow(0.5)  # every database packet waits: the admin index takes seconds
    answers = []
    request = threading.Thread(target=lambda: answers.append(fetch(
        4001, "/admin/", proxy_client=CLIENT, headers={"Cookie": session})))
    request.start()
    time.sleep(0.5)
    assert request.is_alive(), "the request was not in flight when SIGTERM came"

    started = time.monotonic()
    os.kill(web.process.pid, signal.SIGTERM)  # as Docker signals the container's command
    request.join(45)
    web.process.wait(timeout=45)
    stopped_in = time.monotonic() - started

    assert answers and answers[0].status == 200
    assert "Site administration" in answers[0].body
    assert web.process.returncode == 0
    assert stopped_in < 45  # convox.yml's termination grace
    assert [pid for pid in servers if alive(pid)] == []
