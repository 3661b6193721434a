"""Serving traffic as a rack serves it: the real image (built from the unchanged Dockerfile),
its command bin/web (nginx in front of gunicorn) against a fresh database, with requests
shaped like those of the first generation's balancer and today's rack router.

Each container runs in a network namespace of its own (bin/web listens on fixed ports)
and reaches the database through a proxy on a Unix socket, mounted in, which the tests
make hang or refuse without touching the real server.
"""

import http.client
import os
import re
import secrets
import signal
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import stack
from combinations import COMBINATIONS, SERVED
from conftest import on_each_bake, on_the_default_bake
from db_proxy import DatabaseProxy
from project_files import env_file, load
from traffic import BALANCER, CLIENT, DOMAIN, sign_in

pytestmark = pytest.mark.slow

ROUTER_PORT = 8080  # what PORT says; the rack sets it from convox.yml's port


@pytest.fixture(scope="module")
def database(podman, served, served_database, tmp_path_factory):
    """(proxy, env): the served bake's database, migrated with a superuser, behind a proxy
    the tests can break: PostgreSQL for the default bake, MariaDB for the mysql one."""
    proxy = DatabaseProxy(socket_dir=str(tmp_path_factory.mktemp("db-proxy")),
                          server="mariadb" if served.mysql else "postgres")
    env = stack.app_env(proxy.url(served_database[0]), PORT=str(ROUTER_PORT))
    stack.release(podman, served.tag, env)
    yield proxy, env
    proxy.close()


@pytest.fixture(scope="module")
def start_web(podman, served, namespaces, database):
    """start_web(*command, healthy=True, **env) -> stack.Web: the image in a namespace of
    its own, its environment the database's with env on top."""
    started = []

    def start(*command, healthy=True, **env):
        namespace = namespaces()
        namespace.add_address(BALANCER)
        started.append(stack.start(podman, served.tag, namespace, {**database[1], **env},
                                   *command, healthy=healthy))
        return started[-1]

    yield start
    for web in started:
        web.remove()


@pytest.fixture(scope="module")
def web(start_web):
    """The shared server: production settings, the database reachable."""
    return start_web()


@pytest.fixture
def proxy(database):
    proxy = database[0]
    yield proxy
    proxy.reachable()


# --- port 4000: the first generation's balancer port 80 --------------------------------


@on_each_bake
def test_port_4000_redirects_pages_to_https_on_the_same_host(web):
    response = web.fetch(4000, "/admin/?q=1")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/admin/?q=1"


@pytest.mark.parametrize("host", ["example.com@evil.example", "evil.example", "10.0.3.7"])
@on_each_bake
def test_port_4000_never_redirects_to_a_host_outside_allowed_hosts(web, host):
    response = web.fetch(4000, "/admin/", headers={"Host": host})
    assert response.status == 400
    assert "Location" not in response.headers


@on_each_bake
def test_port_4000_answers_a_health_check_addressed_to_an_ip(web):
    response = web.fetch(4000, "/health/", headers={"Host": "10.0.3.7"})
    assert response.status == 200
    assert response.body == "ok\n"
    assert "no-store" in response.headers["Cache-Control"]


@on_each_bake
def test_health_check_is_answered_on_every_listener(web):
    ip_host = {"Host": "10.0.3.7"}
    assert web.fetch(4001, "/health/", headers=ip_host, proxy_client=CLIENT).status == 200
    assert web.fetch(ROUTER_PORT, "/health/", headers=ip_host).status == 200


# --- port 4001: the first generation's balancer port 443, PROXY protocol ---------------


@on_each_bake
def test_port_4001_serves_https_to_the_client_the_proxy_header_names(web):
    marker = secrets.token_hex(4)
    response = web.fetch(4001, f"/?m={marker}", proxy_client=CLIENT, host=BALANCER,
                         headers={"X-Forwarded-For": "198.51.100.66",
                                  "X-Real-IP": "198.51.100.67"})
    assert response.status == 200
    assert "Example Project is running" in response.body
    # Django took the request as HTTPS: HSTS, and no redirect back to https://.
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # The log names the PROXY header's client, not what the request claimed.
    assert [line.split(" ")[0] for line in web.access_log_lines(marker)] == [CLIENT]


@on_each_bake
def test_port_4001_refuses_connections_without_a_proxy_header(web):
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        web.fetch(4001, "/")


@on_each_bake
def test_port_4001_ignores_a_proxy_header_from_outside_the_private_network(web):
    marker = secrets.token_hex(4)
    assert web.fetch(4001, f"/?m={marker}", proxy_client=CLIENT).status == 200
    assert [line.split(" ")[0] for line in web.access_log_lines(marker)] == ["127.0.0.1"]


# --- the router port: today's racks ----------------------------------------------------


@on_each_bake
def test_router_port_serves_requests_the_router_marks_as_https(web):
    response = web.fetch(ROUTER_PORT, "/", headers={"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert "Strict-Transport-Security" in response.headers


# The content security policy settings.py sets, on both series. Compared by directive:
# django-csp 4.0 writes them in no fixed order.
POLICY = {"default-src": "'none'", "script-src": "'self'", "style-src": "'self'",
          "img-src": "'self'", "font-src": "'self'", "connect-src": "'self'",
          "base-uri": "'none'", "form-action": "'self'", "frame-ancestors": "'none'"}


def policy(header):
    """{directive: sources} of a Content-Security-Policy header."""
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@on_each_bake
def test_pages_error_pages_and_the_admin_carry_the_content_security_policy(web):
    for path, status in (("/", 200), ("/no-such-page/", 404), ("/admin/login/", 200)):
        response = web.fetch(ROUTER_PORT, path, headers={"X-Forwarded-Proto": "https"})
        assert response.status == status, path
        assert policy(response.headers["Content-Security-Policy"]) == POLICY, path
        # Once each: nginx adds what Django does not send, and nothing Django does.
        assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"], path
        assert response.headers.get_all("Cross-Origin-Resource-Policy") == ["same-origin"], path


@on_each_bake
def test_router_port_redirects_what_the_router_marks_as_plain_http(web):
    response = web.fetch(ROUTER_PORT, "/", headers={"X-Forwarded-Proto": "http"})
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/"


@on_each_bake
def test_router_port_takes_a_request_without_a_router_as_plain_http(web):
    # Nothing in front (a local container): with production settings, Django redirects.
    response = web.fetch(ROUTER_PORT, "/")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/"


@on_each_bake
def test_router_port_logs_the_address_the_router_adds_and_nothing_the_client_made_up(web):
    marker = secrets.token_hex(4)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.66, " + CLIENT}
    # From the router's private address: the last X-Forwarded-For entry, which it added.
    assert web.fetch(ROUTER_PORT, f"/?m={marker}", host=BALANCER, headers=forwarded).status == 200
    # From anywhere else: the peer's own address, whatever the headers say.
    assert web.fetch(ROUTER_PORT, f"/?m={marker}", headers=forwarded).status == 200
    assert [line.split(" ")[0] for line in web.access_log_lines(marker)] == [CLIENT, "127.0.0.1"]


@on_each_bake
def test_each_request_is_logged_once(web):
    marker = secrets.token_hex(4)
    web.fetch(ROUTER_PORT, f"/?m={marker}", headers={"X-Forwarded-Proto": "https"})
    web.fetch(4001, f"/admin/login/?m={marker}", proxy_client=CLIENT, host=BALANCER)
    lines = web.access_log_lines(marker)
    assert len(lines) == 2, lines
    assert f'"GET /?m={marker} HTTP/1.1" 200' in lines[0]


# --- static files ------------------------------------------------------------------------


def hashed_stylesheet(web, page, pattern):
    body = web.fetch(ROUTER_PORT, page, headers={"X-Forwarded-Proto": "https"}).body
    return re.search(pattern, body).group(1)


@on_each_bake
def test_hashed_static_files_are_served_by_nginx_and_cached_for_a_year(web):
    stylesheet = hashed_stylesheet(web, "/", r'href="(/static/exampleapp/style\.[0-9a-f]{12}\.css)"')
    response = web.fetch(ROUTER_PORT, stylesheet)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # nginx answered: no time spent in gunicorn ("-" in the log's upstream field).
    assert web.access_log_lines(f"GET {stylesheet} ")[-1].split(" ")[-2] == "-"


@on_each_bake
def test_static_files_carry_nosniff_and_same_origin_like_the_pages_on_every_port(web):
    stylesheet = hashed_stylesheet(web, "/", r'href="(/static/exampleapp/style\.[0-9a-f]{12}\.css)"')
    for response in (web.fetch(ROUTER_PORT, stylesheet),
                     web.fetch(4001, stylesheet, proxy_client=CLIENT, host=BALANCER),
                     web.fetch(ROUTER_PORT, "/static/no-such-file.css")):
        assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.get_all("Cross-Origin-Resource-Policy") == ["same-origin"]
    # The location's own header still comes beside them.
    assert web.fetch(ROUTER_PORT, stylesheet).headers["Cache-Control"].endswith("immutable")


@on_each_bake
def test_static_files_are_compressed_for_clients_that_accept_it(web):
    stylesheet = hashed_stylesheet(web, "/admin/login/",
                                   r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"')
    response = web.fetch(ROUTER_PORT, stylesheet, headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"


@on_each_bake
def test_admin_login_over_4001_signs_the_superuser_in(web):
    response = sign_in(4001, namespace=web.namespace)
    assert response.status == 302
    assert response.headers["Location"] == "/admin/"
    session = [c for c in response.headers.get_all("Set-Cookie") if c.startswith("sessionid=")]
    assert session and "Secure" in session[0] and "HttpOnly" in session[0]


# --- the database: health stays shallow, start-up checks it ----------------------------


def percentiles(seconds):
    """(p50, p99) in milliseconds."""
    ordered = sorted(seconds)
    return (statistics.median(ordered) * 1000,
            ordered[max(0, round(len(ordered) * 0.99) - 1)] * 1000)


def hold_every_worker(web, count=4):
    """Requests that hang on the database (a session to look up), in the background."""
    def request():
        cookie = {"Cookie": f"sessionid={secrets.token_hex(16)}"}
        try:
            web.fetch(4001, "/admin/", proxy_client=CLIENT, headers=cookie, timeout=60)
        except OSError:
            pass

    threads = [threading.Thread(target=request) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    return threads


@on_each_bake
def test_health_answers_within_50_ms_while_the_database_hangs(web, proxy):
    proxy.unreachable()
    held = hold_every_worker(web)  # more requests than gunicorn has workers
    opened = proxy.accepted
    marker = secrets.token_hex(4)

    def timed(_):
        started = time.monotonic()
        response = web.fetch(4000, f"/health/?m={marker}", headers={"Host": "10.0.3.7"},
                             timeout=5)
        return response.status, time.monotonic() - started

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(timed, range(200)))
    # nginx's $request_time: from the request's first byte to the answer's last.
    served = [float(line.split(" ")[-3]) for line in web.access_log_lines(marker)]
    served_p50, served_p99 = percentiles(served)
    client_p50, client_p99 = percentiles([seconds for _, seconds in results])
    print(f"/health/ while the database hangs, 200 calls, 20 at once: in nginx p50 "
          f"{served_p50:.0f} ms, p99 {served_p99:.0f} ms; at the test client p50 "
          f"{client_p50:.0f} ms, p99 {client_p99:.0f} ms")
    assert {status for status, _ in results} == {200} and len(served) == 200
    assert proxy.accepted == opened  # no database connection was even tried
    assert served_p99 < 50
    # The test's own 20 client threads share one interpreter: a looser bound there.
    assert client_p99 < 500
    assert web.running()
    assert all(thread.is_alive() for thread in held), "the workers were not held up"
    proxy.reachable()  # the held requests fail now, and free their workers
    for thread in held:
        thread.join(30)


@on_each_bake
def test_bin_web_waits_for_the_database_before_it_opens_a_port(start_web, proxy):
    proxy.unreachable()
    web = start_web(healthy=False, DATABASE_WAIT_SECONDS="20")
    time.sleep(3)
    with pytest.raises(ConnectionRefusedError):
        web.fetch(4000, "/health/")
    assert web.running()
    proxy.reachable()
    stack.wait_until_healthy(web)
    assert web.stop() < 15 and web.exit_code() == 0


@on_each_bake
def test_bin_web_gives_up_on_an_unreachable_database_with_one_line(start_web, proxy):
    proxy.unreachable()
    web = start_web(healthy=False, DATABASE_WAIT_SECONDS="4")
    started = time.monotonic()
    refused = []
    while web.running() and time.monotonic() - started < 20:
        try:
            web.fetch(4000, "/health/", timeout=1)
        except ConnectionRefusedError:
            refused.append(True)
        time.sleep(0.5)
    gave_up_in = time.monotonic() - started
    print(f"bin/web gave up on the database after {gave_up_in:.1f} s (DATABASE_WAIT_SECONDS=4)")
    assert web.exit_code() == 1
    assert refused and 4 <= gave_up_in < 10
    lines = web.stderr().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("bin/web: the database (") and "did not answer within 4 s" in lines[0]


# --- a local container: .env's values on the router port, as the compose run serves them ---


@on_the_default_bake
def test_local_container_with_env_values_signs_in_over_plain_http(start_web, default_project):
    local = {name: value for name, value in env_file(default_project).items()
             if value is not None}
    assert local["DEBUG"] == "true"
    web = start_web(**{**local, "PORT": "3000"})
    browser = {"Host": "localhost:8000"}  # what a browser at http://localhost:8000 sends
    response = sign_in(3000, proxy_client=None, namespace=web.namespace,
                       origin="http://localhost:8000", headers=browser)
    assert response.status == 302, response.body[:500]
    assert response.headers["Location"] == "/admin/"
    session = re.search(r"sessionid=[^;]+", " ".join(response.headers.get_all("Set-Cookie")))
    admin = web.fetch(3000, "/admin/", headers={**browser, "Cookie": session.group(0)})
    assert admin.status == 200 and "Site administration" in admin.body


# --- stopping --------------------------------------------------------------------------
# Once bin/web, the container's main process, exits, the engine ends the container: what
# these tests watch is how soon, and with what status, bin/web exits.


@on_the_default_bake
def test_worst_case_stop_fits_the_termination_grace(start_web, proxy, default_project):
    """A request whose headers arrive late, then block on the database, during a stop."""
    grace = load(default_project, "convox.yml")["services"]["web"]["termination"]["grace"]
    web = start_web()
    slow = web.namespace.connect(4001, BALANCER)
    slow.sendall(f"PROXY TCP4 {CLIENT} 10.0.0.2 51234 443\r\n".encode())
    slow.sendall(b"GET /admin/login/ HTTP/1.1\r\n")

    started = time.monotonic()
    web.send(signal.SIGTERM)
    time.sleep(8)  # the rest of the headers come just inside nginx's 10 s
    assert web.running(), "bin/web did not wait for the slow request"
    proxy.unreachable()  # and the request hangs on the database
    # A well-formed session key: Django looks it up in the database.
    session = f"sessionid={secrets.token_hex(16)}"
    slow.sendall(f"Host: {DOMAIN}\r\nCookie: {session}\r\n\r\n".encode())
    web.wait(timeout=60)
    stopped_in = time.monotonic() - started
    slow.close()
    print(f"worst-case stop: {stopped_in:.1f} s (termination grace {grace} s)")
    assert stopped_in <= 40 < grace
    assert web.exit_code() == 0


@on_each_bake
def test_a_killed_nginx_stops_everything_and_bin_web_exits_non_zero(start_web):
    web = start_web()
    servers = web.servers()
    nginx_master = [pid for pid, name in servers.items()
                    if name == "nginx" and stack.tree(pid) != {pid}]
    assert len(nginx_master) == 1 and any(n.startswith("gunicorn") for n in servers.values())

    started = time.monotonic()
    os.kill(nginx_master[0], signal.SIGKILL)  # as the kernel's OOM killer would
    time.sleep(0.2)
    web.send(signal.SIGTERM)  # a stop arriving meanwhile changes nothing
    web.wait(timeout=10)
    assert time.monotonic() - started < 5
    assert web.exit_code() != 0


@on_each_bake
def test_bin_web_runs_from_a_folder_with_a_space_an_ampersand_and_a_pipe(start_web):
    # The image's files, copied inside the container to such a folder in /tmp (its one
    # writable place), and bin/web started from there.
    folder = "/tmp/my site & co | test/app"
    web = start_web("sh", "-c", 'mkdir -p "$1" && cp -a /app/. "$1" && exec "$1/bin/web"',
                    "sh", folder)
    # bin/web works from its own folder: the one it was started in.
    assert web.podman("exec", web.name, "readlink", "/proc/1/cwd").stdout.strip() == folder
    stylesheet = hashed_stylesheet(web, "/", r'href="(/static/exampleapp/style\.[0-9a-f]{12}\.css)"')
    assert web.fetch(ROUTER_PORT, stylesheet).status == 200
    assert web.stop() < 15 and web.exit_code() == 0


@on_each_bake
def test_sigterm_lets_a_request_in_flight_finish_then_stops_nginx_and_gunicorn(web, proxy):
    # Runs last in this module: it stops the shared server.
    signed_in = sign_in(4001, namespace=web.namespace)
    assert signed_in.status == 302, (signed_in.status, signed_in.body[-2000:], web.stderr()[-3000:])
    cookies = " ".join(signed_in.headers.get_all("Set-Cookie"))
    session = re.search(r"sessionid=[^;]+", cookies).group(0)
    names = set(web.servers().values())
    assert "nginx" in names and any(name.startswith("gunicorn") for name in names), names

    proxy.slow(0.5)  # every database packet waits: the admin index takes seconds
    answers = []
    request = threading.Thread(target=lambda: answers.append(web.fetch(
        4001, "/admin/", proxy_client=CLIENT, headers={"Cookie": session})))
    request.start()
    time.sleep(0.5)
    assert request.is_alive(), "the request was not in flight when SIGTERM came"

    stopped_in = web.stop(timeout=45)
    request.join(45)

    assert answers and answers[0].status == 200
    assert "Site administration" in answers[0].body
    assert web.exit_code() == 0
    assert stopped_in < 40


@on_each_bake
def test_each_served_bake_runs_its_series_on_its_database(served, database):
    """The two ends of the table: the first row's series and database, and SERVED's."""
    series, database_answer = (SERVED if served.mysql else COMBINATIONS[0])[:2]
    pyproject = (served.project / "pyproject.toml").read_text()
    assert f'"Django=={series}.' in pyproject
    scheme = {"mysql": "mysql://", "postgresql": "postgres://"}[database_answer]
    assert database[1]["DATABASE_URL"].startswith(scheme)
