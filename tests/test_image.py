"""The real image: the baked project's Dockerfile, unchanged, built by a real OCI builder
(podman, over a stand-in for the python base image: podman.py), run the way Convox runs
it, and seen by a real browser.

As a rack runs it: the image's own user, SECRET_KEY and DATABASE_URL from the environment,
`migrate` as a one-off run before the release takes traffic, then the default command, on
a read-only root filesystem with only /tmp writable (a v3 rack's `readOnlyRootFilesystem`).
Each container gets a network namespace of the test's own and reaches the machine's
PostgreSQL through its Unix socket, mounted in; nothing listens on the machine's loopback.
"""

import errno
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psycopg
import pytest
import stack
from conftest import POSTGRES, TEMPLATE, mysql_client, on_each_bake, require
from podman import CACHE, steps_from_cache
from project_files import load
from traffic import BALANCER, CLIENT, DOMAIN, ROUTER_HEADERS, SUPERUSER, fetch, sign_in

pytestmark = pytest.mark.slow

ROUTER_PORT = 3000  # convox.yml's port: the rack sets PORT from it
BROWSER = Path(__file__).parent / "support" / "browser.py"


def start(podman, image, namespace, database_url):
    """Migrate as a one-off run, then start the image's command; returns the stack.Web."""
    env = stack.app_env(database_url, PORT=str(ROUTER_PORT))
    stack.release(podman, image, env)
    return stack.start(podman, image, namespace, env)


@pytest.fixture(scope="module")
def web(podman, served, served_database, namespaces):
    namespace = namespaces("img")
    namespace.add_address(BALANCER)
    web = start(podman, served.tag, namespace, served_database[1])
    yield web
    web.remove()


def processes(pid):
    """pid and every process below it: {pid: (command, uids, gids)}, from /proc."""
    seen = {}
    for each in stack.tree(pid):
        try:
            status = dict(line.split(":\t", 1) for line in
                          Path(f"/proc/{each}/status").read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        seen[each] = (status["Name"], set(status["Uid"].split()), set(status["Gid"].split()))
    return seen


@on_each_bake
def test_every_process_runs_as_the_images_unprivileged_user(web, podman, served):
    user = podman.inspect(served.tag, "{{.Config.User}}")
    uid, gid = user.split(":")
    assert uid != "0" and gid != "0"
    found = processes(web.pid)
    names = {name for name, _, _ in found.values()}
    assert "nginx" in names and any(name.startswith("gunicorn") for name in names), names
    assert {pid: found[pid] for pid in found if found[pid][1:] != ({uid}, {gid})} == {}


@on_each_bake
def test_router_port_serves_the_home_page_as_https(web):
    response = fetch(ROUTER_PORT, "/", namespace=web.namespace, headers=ROUTER_HEADERS)
    assert response.status == 200
    assert "Example Project is running" in response.body
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@on_each_bake
def test_port_4000_redirects_pages_and_answers_health_checks(web):
    response = fetch(4000, "/admin/?q=1", namespace=web.namespace)
    assert response.status == 301
    assert response.headers["Location"] == f"https://{DOMAIN}/admin/?q=1"
    health = fetch(4000, "/health/", headers={"Host": "10.0.3.7"}, namespace=web.namespace)
    assert (health.status, health.body) == (200, "ok\n")


@on_each_bake
def test_port_4001_serves_the_client_the_proxy_header_names(web, podman):
    marker = secrets.token_hex(4)
    response = fetch(4001, f"/?m={marker}", proxy_client=CLIENT, namespace=web.namespace,
                     host=BALANCER, headers={"X-Forwarded-For": "198.51.100.66"})
    assert response.status == 200
    assert "Example Project is running" in response.body
    assert [line.split(" ")[0] for line in web.access_log_lines(marker)] == [CLIENT]


@on_each_bake
def test_port_4001_refuses_connections_without_a_proxy_header(web):
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        fetch(4001, "/", namespace=web.namespace)


@on_each_bake
def test_hashed_static_files_come_from_nginx_cached_for_a_year(web, podman):
    home = fetch(ROUTER_PORT, "/", namespace=web.namespace, headers=ROUTER_HEADERS).body
    stylesheet = re.search(r'href="(/static/exampleapp/style\.[0-9a-f]{12}\.css)"', home).group(1)
    response = fetch(ROUTER_PORT, stylesheet, namespace=web.namespace)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    # nginx answered it alone: no time spent upstream ("-" in the log's upstream field).
    assert web.access_log_lines(f"GET {stylesheet} ")[-1].split(" ")[-2] == "-"


@on_each_bake
def test_the_images_healthcheck_passes_inside_the_container(web, podman, served):
    # --format docker keeps HEALTHCHECK in the image; podman runs its command inside.
    check = json.loads(podman.inspect(served.tag, "{{json .Config.Healthcheck.Test}}"))
    assert check[0] == "CMD" and "/health/" in " ".join(check)
    done = podman("healthcheck", "run", web.name, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@on_each_bake
def test_admin_login_signs_the_superuser_in(web):
    response = sign_in(4001, namespace=web.namespace)
    assert response.status == 302
    assert response.headers["Location"] == "/admin/"


@on_each_bake
def test_only_tmp_is_writable(web, podman):
    assert podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}",
                  web.name).stdout.strip() == "true"
    probe = ("import json, os, sys\n"
             "outcome = {}\n"
             "for folder in sys.argv[1:]:\n"
             "    try:\n"
             "        open(os.path.join(folder, f'.probe-{os.getuid()}'), 'w').close()\n"
             "        outcome[folder] = 0\n"
             "    except OSError as error:\n"
             "        outcome[folder] = error.errno\n"
             "print(json.dumps(outcome))\n")
    folders = ["/", "/app", "/app/staticfiles", "/etc", "/usr/local", "/var/tmp", "/run", "/tmp"]
    # As root, so that only the filesystem can refuse, not permissions.
    as_root = json.loads(podman("exec", "--user", "0", web.name, "python", "-c", probe,
                                *folders).stdout)
    assert as_root == {**{folder: errno.EROFS for folder in folders}, "/tmp": 0}
    as_user = json.loads(podman("exec", web.name, "python", "-c", probe, "/tmp").stdout)
    assert as_user == {"/tmp": 0}


@pytest.fixture
def router(web, nginx, tmp_path):
    """TLS on 443 in the container's namespace, passed to the router port: the rack's
    router, as far as a browser can tell; and port 80 passed to port 4000, as the first
    generation's balancer passes its port 80 (traffic.py)."""
    require(shutil.which("openssl"), "openssl (Debian package openssl)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={DOMAIN}", "-addext", f"subjectAltName=DNS:{DOMAIN}",
                    "-keyout", tmp_path / "key.pem", "-out", tmp_path / "cert.pem"],
                   check=True, capture_output=True)
    (tmp_path / "nginx.conf").write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log stderr warn;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    server {{
        listen 80;
        location / {{
            proxy_pass http://127.0.0.1:4000;
            proxy_set_header Host $host;
        }}
    }}
    server {{
        listen 443 ssl;
        ssl_certificate {tmp_path}/cert.pem;
        ssl_certificate_key {tmp_path}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{ROUTER_PORT};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
""")
    process = web.namespace.popen([nginx, "-p", tmp_path, "-c", tmp_path / "nginx.conf",
                                   "-e", "stderr"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                web.namespace.connect(443, timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the router stand-in never listened"
                time.sleep(0.1)
        yield f"https://{DOMAIN}"
    finally:
        process.terminate()
        process.wait(10)


# The MDN HTTP Observatory's own scanner, the code behind its public service.
OBSERVATORY = "1.4.8"


@pytest.fixture(scope="module")
def observatory():
    """The command that runs the scanner's scan.js, installed from the npm registry once into the tests' cache.
    Its install scripts are skipped (they build a PostgreSQL client the command line never
    uses), and its list of preloaded HSTS hosts is empty: the service downloads it."""
    node = shutil.which("node")
    require(node, "Node.js (Debian's nodejs package), to run the HTTP Observatory's scanner")
    folder = CACHE / f"mdn-http-observatory-{OBSERVATORY}"
    package = folder / "node_modules" / "@mdn" / "mdn-http-observatory"
    if not (folder / "complete").exists():
        npm = shutil.which("npm")
        require(npm, "npm (Debian's npm package), to install the HTTP Observatory's scanner")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        done = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund",
                               "--silent", f"@mdn/mdn-http-observatory@{OBSERVATORY}"],
                              cwd=folder, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        (package / "conf" / "hsts-preload.json").write_text("{}")
        (folder / "complete").touch()
    return [node, package / "src" / "scan.js"]


@on_each_bake
def test_the_http_observatory_grades_the_site_a_plus_with_every_test_passed(
        web, router, observatory, tmp_path):
    """As the public service grades a deployed app: its scanner, run in the container's
    namespace, where the bake's domain is this machine (the namespace's own hosts file)
    and the stand-in router's certificate is trusted."""
    hosts = Path("/etc/netns") / web.namespace.name / "hosts"
    hosts.parent.mkdir(parents=True)
    try:
        hosts.write_text(f"127.0.0.1 localhost {DOMAIN}\n")
        done = web.namespace.run(
            [*observatory, DOMAIN], capture_output=True, text=True, timeout=120,
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(tmp_path / "cert.pem")})
    finally:
        shutil.rmtree(hosts.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    failed = {name: test["result"] for name, test in result["tests"].items() if not test["pass"]}
    assert failed == {}
    assert (result["scan"]["grade"], result["scan"]["testsPassed"]) == (
        "A+", result["scan"]["testsQuantity"]), result["scan"]
    # The points beyond a pass that cost nothing: a policy that starts from nothing, and
    # resources that other sites may not embed.
    assert result["tests"]["content-security-policy"]["result"] == (
        "csp-implemented-with-no-unsafe-default-src-none")
    assert result["tests"]["cross-origin-resource-policy"]["result"] == (
        "corp-implemented-with-same-origin")


STYLESHEET = (TEMPLATE / "{{cookiecutter.project_slug}}" / "{{cookiecutter.app_name}}" / "static"
              / "{{cookiecutter.app_name}}" / "style.css")


def stylesheet_colour(selector, prop):
    """The app stylesheet's `prop: #rrggbb` for `selector`, as a browser computes it."""
    rule = re.search(rf"^{selector} \{{(.*?)^\}}", STYLESHEET.read_text(), re.MULTILINE | re.DOTALL)
    red, green, blue = bytes.fromhex(re.search(rf"^\s*{prop}: #([0-9a-f]{{6}});", rule.group(1),
                                               re.MULTILINE).group(1))
    return f"rgb({red}, {green}, {blue})"


@on_each_bake
def test_a_browser_sees_the_styled_home_page_and_signs_into_the_admin_with_no_csp_violation(
        web, router, tmp_path_factory):
    require(Path("/usr/bin/chromium").exists(), "Chromium (Debian package chromium)")
    screenshots = tmp_path_factory.mktemp("screenshots")
    done = web.namespace.run(
        [sys.executable, BROWSER, router, *SUPERUSER, screenshots],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    home, admin = seen["home"], seen["admin"]
    assert home["status"] == 200
    assert home["heading"] == "Example Project is running"
    # The colours style.css gives, not the browser's defaults: the stylesheet applied.
    assert home["h1_color"] == stylesheet_colour("h1", "color")
    assert home["background"] == stylesheet_colour("body", "background")
    assert any(re.search(r"/static/exampleapp/style\.[0-9a-f]{12}\.css$", href or "")
               for href in home["stylesheets"])
    assert admin["url"] == f"{router}/admin/"
    assert admin["heading"] == "Example Project"  # urls.py heads the admin with the name
    assert "Site administration" in admin["title"]
    assert "sessionid" in admin["cookies"]
    for page in ("home.png", "admin.png"):
        assert (screenshots / page).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The content security policy blocks nothing the home page, a 404 page and the admin's
    # pages need; an injected inline script it blocks, and the browser says so once.
    assert seen["404"]["status"] == 404
    assert seen["csp_violations"] == {}
    assert seen["csp_control"] == {"violations": 1, "injected_script_ran": False}


@on_each_bake
def test_podman_stop_ends_the_container_well_within_the_grace_period(web, podman, served):
    # Last in this module: it stops the shared container.
    grace = load(served.project, "convox.yml")["services"]["web"]["termination"]["grace"]
    started = time.monotonic()
    podman("stop", "--time", grace, web.name, timeout=grace + 15)
    stopped_in = time.monotonic() - started
    assert web.exit_code() == 0
    assert stopped_in < grace / 3, f"took {stopped_in:.1f} s of the {grace} s grace"


# What a build puts in /app.

# A developer's local state, at the top and deeper down: Docker matches .dockerignore's
# patterns from the context's root, so the deeper ones need `**/`.
PLANTED = [
    "exampleapp/.env", "exampleproject/.env.local", ".env.local", ".coverage",
    "exampleapp/.coverage", "htmlcov/index.html", "exampleapp/htmlcov/index.html",
    "exampleapp/stray.pyc", "exampleapp/__pycache__/views.cpython-313.pyc",
    "exampleproject/__pycache__/settings.cpython-313.pyc", "exampleapp/db.sqlite3",
    "db.sqlite3", ".git/HEAD", ".convox/app", ".venv/pyvenv.cfg", "venv/pyvenv.cfg",
    ".pytest_cache/README.md", "exampleapp/.ruff_cache/CACHEDIR.TAG",
    # Uploads of a local run (the default bake keeps media on disk), and static files
    # collected outside the build, which the build collects afresh.
    "media/photos/cat.jpg", "staticfiles/stale.css",
]


@pytest.fixture(scope="module")
def cluttered(default_project, podman, tmp_path_factory):
    """The default bake with a developer's local state at every depth, built."""
    context = tmp_path_factory.mktemp("cluttered") / "project"
    shutil.copytree(default_project, context)
    for relative in PLANTED:
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text("local state\n")
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    podman.build(context, tag)
    yield context, tag
    podman("rmi", tag, check=False)


def test_local_state_at_any_depth_stays_out_of_the_image(cluttered, podman):
    _, tag = cluttered
    in_app = podman.files(tag)
    # What the image runs from: the serving tests show it is enough.
    assert {"manage.py", "bin/web", "conf/nginx.conf", "pyproject.toml", "uv.lock",
            "exampleapp/views.py", "exampleapp/static/exampleapp/style.css",
            "staticfiles/staticfiles.json"} <= in_app
    kept_out = {".env", ".gitignore", *PLANTED, "htmlcov", "exampleapp/htmlcov",
                "exampleapp/__pycache__", ".git", ".venv", "media"}
    assert sorted(kept_out & in_app) == []
    assert [path for path in in_app if Path(path).name.startswith(".env")] == []


def test_a_code_change_rebuilds_on_the_cached_dependency_layer(default_project, podman,
                                                                 tmp_path):
    context = tmp_path / "project"
    shutil.copytree(default_project, context)
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    try:
        podman.build(context, tag)
        views = context / "exampleapp" / "views.py"
        views.write_text(views.read_text() + f"\n# {secrets.token_hex(8)}\n")
        cached = steps_from_cache(podman.build(context, tag))
    finally:
        podman("rmi", tag, check=False)
    assert [step for step in cached if "uv sync --locked --no-dev" in step], cached
    assert "COPY . ." not in cached  # the change reached the build


def add_app(project, podman, image, name):
    """startapp, a model, a static file, INSTALLED_APPS, and makemigrations (in the image)."""
    subprocess.run([sys.executable, "-m", "django", "startapp", name], cwd=project, check=True)
    (project / name / "models.py").write_text(
        "from django.db import models\n\n\n"
        "class Book(models.Model):\n"
        "    title = models.CharField(max_length=200)\n")
    static = project / name / "static" / name / f"{name}.css"
    static.parent.mkdir(parents=True)
    static.write_text(f".{name} {{ color: #7a3e00; }}\n")
    settings = project / "exampleproject" / "settings.py"
    settings.write_text(settings.read_text().replace("    'exampleapp',\n",
                                                     f"    'exampleapp',\n    '{name}',\n"))
    podman("run", "--rm", "--network", "none", "--user", "0", "--volume", f"{project}:/app",
           "--env", "SECRET_KEY=makemigrations-only", image,
           "python", "manage.py", "makemigrations", name)
    assert (project / name / "migrations" / "0001_initial.py").is_file()
    return static


def test_a_build_without_uv_lock_stops_at_once_saying_to_run_uv_lock(default_project, podman,
                                                                     tmp_path):
    context = tmp_path / "project"
    shutil.copytree(default_project, context)
    (context / "uv.lock").unlink()
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    done = podman("build", "--pull=never", "--network", "host", "--layers", "-t", tag, context,
                  check=False, timeout=600)
    podman("rmi", tag, check=False)
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "uv.lock is missing: run `uv lock` and commit uv.lock" in said, said
    assert "uv sync" not in said.split("uv.lock is missing")[0], "it stops before installing"


def test_the_image_holds_the_locked_packages_compiled_and_no_uv_or_cache(real_image, podman,
                                                                         default_project):
    lock = tomllib.loads((default_project / "uv.lock").read_text())
    done = podman("run", "--rm", "--network", "none", real_image, "python", "-c", (
        "import importlib.metadata as m, json, pathlib, shutil, sys\n"
        "site = pathlib.Path(m.distribution('django').locate_file(''))\n"
        "print(json.dumps({'prefix': sys.prefix,\n"
        "    'installed': {d.metadata['Name'].lower(): d.version for d in m.distributions()},\n"
        "    'uv': shutil.which('uv'), 'caches': [str(p) for p in pathlib.Path('/').glob(\n"
        "        '*/.cache/*')] + [str(p) for p in pathlib.Path('/root').glob('.cache/*')],\n"
        "    'compiled': any(site.glob('django/__pycache__/*.pyc'))}))"))
    seen = json.loads(done.stdout)
    locked = {package["name"]: package["version"] for package in lock["package"]
              if "registry" in package["source"]}
    installed = {re.sub(r"[-_.]+", "-", name): version
                 for name, version in seen["installed"].items()}
    assert seen["prefix"] == "/venv"
    assert installed.items() <= locked.items()
    assert {"django", "gunicorn", "psycopg"} <= set(installed)
    assert not {"pytest", "ruff", "pre-commit", "uv"} & set(installed), "no dev group, no uv"
    assert seen["uv"] is None and seen["caches"] == []
    assert seen["compiled"], "bytecode compiled at build time (UV_COMPILE_BYTECODE)"


def test_a_second_app_builds_migrates_and_serves_its_static_file(
        default_project, podman, real_image, namespaces, fresh_database, tmp_path):
    context = tmp_path / "project"
    shutil.copytree(default_project, context)
    static = add_app(context, podman, real_image, "shelf")
    tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
    namespace = namespaces("grow")
    database, web = fresh_database(), None
    try:
        podman.build(context, tag)
        web = start(podman, tag, namespace, stack.socket_url(database))
        with psycopg.connect(POSTGRES.rsplit("/", 1)[0] + f"/{database}") as connection:
            tables = {row[0] for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert "shelf_book" in tables
        digest = hashlib.md5(static.read_bytes()).hexdigest()[:12]  # as ManifestStaticFilesStorage names it
        response = fetch(ROUTER_PORT, f"/static/shelf/shelf.{digest}.css", namespace=namespace)
        assert response.status == 200
        assert response.body == static.read_text()
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    finally:
        if web:
            web.remove()
        podman("rmi", tag, check=False)


@on_each_bake
def test_the_image_has_its_database_driver_and_no_compiler_or_headers(podman, served):
    """The mysql bake compiles mysqlclient in a first stage: none of it ships."""
    mysql = served.mysql
    probe = ("import json, os, shutil, django\n"
             f"import {'MySQLdb as driver' if mysql else 'psycopg as driver'}\n"
             "print(json.dumps([django.get_version(),"
             " [tool for tool in ('gcc', 'cc', 'pkg-config') if shutil.which(tool)],"
             " os.path.exists('/usr/include/mariadb/mysql.h')]))\n")
    done = podman("run", "--rm", "--network", "none", served.tag, "python", "-c", probe)
    version, tools, headers = json.loads(done.stdout)
    assert version.startswith("6.1." if mysql else "5.2.")
    assert tools == [] and headers is False


@on_each_bake
def test_migrations_made_the_tables_in_its_database(web, served, served_database):
    wanted = {"accounts_user", "django_session", "django_migrations"}
    name = served_database[0]
    if served.mysql:
        tables = set(mysql_client(f"SHOW TABLES FROM `{name}`").stdout.split())
    else:
        with psycopg.connect(POSTGRES.rsplit("/", 1)[0] + f"/{name}") as connection:
            tables = {row[0] for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert wanted <= tables
