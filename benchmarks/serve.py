"""Serve the default bake under load, the way the container runs it, and print the figures.

    python benchmarks/serve.py [--rounds N] [--duration S] [--python PATH]

Run as root on Debian with nginx and wrk installed (apt-get install nginx wrk) and the
machine's PostgreSQL at /var/run/postgresql (user postgres, trust), from the template's
test virtualenv (README.md's test command makes it). It takes a few minutes:

1. bakes the default project and follows its Dockerfile (tests/container.py) in a
   folder, with a virtualenv of what its uv.lock installs standing for the image's Python;
2. adds two references to that copy (never to the template): a plain Django view that
   returns a short HttpResponse, and a bare WSGI callable that wsgi.py hands
   /benchmark/wsgi/ to before Django sees it, so all six pages share one nginx and one
   gunicorn;
3. migrates a fresh PostgreSQL database, starts bin/web in a network namespace of its
   own (tests/stack.py) and times five cold starts to the first /health/ answer;
4. runs wrk inside the namespace at 1, 16 and 64 connections against each page,
   interleaved over several rounds, and reports the median of the rounds, with the
   proportional set size (PSS) of every process under bin/web before and after.

The output keeps its layout from run to run, so two runs can be compared line by line.
"""

import argparse
import datetime
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import container
import netns
import stack
from bake import write_config
from load import WRK_REPORT, wrk
from traffic import CLIENT, ROUTER_HEADERS, sign_in

TEMPLATE = HERE.parent
CONCURRENCIES = (1, 16, 64)
ROUTER_PORT = 3000
COLD_STARTS = 5

# name: at least this many times the other page's req/s, at every concurrency.
TARGETS = [
    ("home", "django-view", 0.85),
    ("health", "home", 1.0),
    ("static", "home", 8.0),
]
COLD_START_TARGET = 0.30  # seconds
PSS_TARGET = 75.0  # MiB, with two workers, after load

REFERENCES = '''\
"""Reference pages for benchmarks/serve.py, added to a copy of the bake only."""

from django.http import HttpResponse

BODY = b'Hello, world.\\n'


def django_view(request):
    return HttpResponse(BODY, content_type='text/plain')


def bare_wsgi(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(BODY)))])
    return [BODY]


def route_bare_wsgi(django_application):
    def application(environ, start_response):
        if environ.get('PATH_INFO') == '/benchmark/wsgi/':
            return bare_wsgi(environ, start_response)
        return django_application(environ, start_response)
    return application
'''

def bake(scratch):
    output = scratch / "bake"
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--config-file",
                    str(write_config(scratch)), "--output-dir", str(output), str(TEMPLATE)],
                   cwd=scratch, check=True, capture_output=True)
    (project,) = output.iterdir()
    return project


def build_image(project, python, scratch):
    """The Dockerfile's steps in a folder, with a virtualenv for the image's Python."""
    venv = scratch / "venv"
    uv = Path(sys.executable).parent / "uv"
    # What the image's `uv sync --locked --no-dev` installs, into a virtualenv of its own.
    subprocess.run([uv, "sync", "--quiet", "--locked", "--no-dev", "--python", python],
                   cwd=project, check=True, env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)})
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO", "DATABASE", "SECRET", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/sbin", env["PATH"]])
    image = container.build(project, scratch / "app", env)
    add_references(image.workdir, project.name)
    return image


def add_references(workdir, package):
    (workdir / package / "benchmark_references.py").write_text(REFERENCES)
    with open(workdir / package / "urls.py", "a") as urls:
        urls.write("\nfrom .benchmark_references import django_view  # noqa: E402\n\n"
                   "urlpatterns.append(path('benchmark/django/', django_view))\n")
    with open(workdir / package / "wsgi.py", "a") as wsgi:
        wsgi.write("\nfrom .benchmark_references import route_bare_wsgi  # noqa: E402\n\n"
                   "application = route_bare_wsgi(application)\n")


class Database:
    """A fresh database on the machine's PostgreSQL, reached through its Unix socket."""

    def __enter__(self):
        self.name = f"serve_benchmark_{secrets.token_hex(4)}"
        self.psql(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def psql(self, sql):
        import psycopg

        with psycopg.connect(host=stack.POSTGRES_SOCKET_DIR, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(sql)

    @property
    def url(self):
        return stack.socket_url(self.name)


def pss_mib(pid):
    """Proportional set size of pid and every process below it."""
    total_kib = 0
    for member in stack.tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kib += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE).group(1))
    return total_kib / 1024


def pages(web):
    home = web.fetch(ROUTER_PORT, "/", headers=ROUTER_HEADERS).body
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home).group(1)
    signed_in = sign_in(4001, proxy_client=CLIENT, namespace=web.namespace)
    session = re.search(r"sessionid=[^;]+", " ".join(signed_in.headers.get_all("Set-Cookie")))
    found = {
        "home": ("/", ROUTER_HEADERS),
        "health": ("/health/", ROUTER_HEADERS),
        "static": (stylesheet, ROUTER_HEADERS),
        "admin": ("/admin/", {**ROUTER_HEADERS, "Cookie": session.group(0)}),
        "django-view": ("/benchmark/django/", ROUTER_HEADERS),
        "bare-wsgi": ("/benchmark/wsgi/", ROUTER_HEADERS),
    }
    for name, (path, headers) in found.items():
        response = web.fetch(ROUTER_PORT, path, headers=headers)
        if response.status != 200:
            sys.exit(f"ERROR: {name} ({path}) answered {response.status}, not 200")
    return found


def measure(web, found, rounds, seconds, script):
    """Every page at every concurrency once per round, the order turning each round."""
    names = list(found)
    runs = {(name, c): [] for name in names for c in CONCURRENCIES}
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for connections in CONCURRENCIES:
            for name in order:
                path, headers = found[name]
                runs[name, connections].append(
                    wrk(web.namespace, ROUTER_PORT, path, headers, connections, seconds, script))
        print(f"  round {round_ + 1}/{rounds} done", file=sys.stderr)
    return {key: {
        "rate": statistics.median(r["rate"] for r in results),
        "p50": statistics.median(r["p50_us"] for r in results) / 1000,
        "p99": statistics.median(r["p99_us"] for r in results) / 1000,
        "errors": sum(r["errors"] for r in results),
    } for key, results in runs.items()}


def versions(python):
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    found = subprocess.run(
        [python, "-c", ("import platform, django, gunicorn; print(platform.python_version(), "
                       "django.get_version(), gunicorn.__version__)")],
        capture_output=True, text=True, check=True).stdout.split()
    return (f"Python {found[0]}, Django {found[1]}, gunicorn {found[2]}, "
            f"nginx {nginx.rsplit('/', 1)[-1]}")


def verdict(met):
    return "met" if met else "NOT met"


def report(args, image, results, cold_starts, pss_idle, pss_loaded, load_before):
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# benchmarks/serve.py --rounds {args.rounds} --duration {args.duration}")
    print(f"# {when}, {os.cpu_count()} CPUs ({platform.machine()}), "
          f"{versions(image.python)}, WEB_CONCURRENCY=2")
    # Other work on the machine shows in every figure: compare runs made at like loads.
    print(f"# load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"{'page':<12} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    names = dict.fromkeys(name for name, _ in results)
    for name in names:
        for c in CONCURRENCIES:
            r = results[name, c]
            print(f"{name:<12} {c:>5} {r['rate']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
                  f"{r['errors']:>7}")
    failed = []
    for page, other, target in TARGETS:
        ratios = [results[page, c]["rate"] / results[other, c]["rate"] for c in CONCURRENCIES]
        met = min(ratios) >= target
        failed += [] if met else [page]
        shown = " ".join(f"{ratio:5.2f}" for ratio in ratios)
        print(f"ratio {page + ' / ' + other:<24} {shown}  (at least {target:g}x) "
              f"{verdict(met)}")
    for page, other in (("home", "bare-wsgi"), ("admin", "home")):
        shown = " ".join(f"{results[page, c]['rate'] / results[other, c]['rate']:5.2f}"
                         for c in CONCURRENCIES)
        print(f"ratio {page + ' / ' + other:<24} {shown}")
    errors = sum(r["errors"] for r in results.values())
    print(f"errors, all pages and rounds     {errors:>6}  (none) {verdict(not errors)}")
    cold = statistics.median(cold_starts)
    print(f"cold start to /health/, median   {cold:6.3f} s  (at most {COLD_START_TARGET} s) "
          f"{verdict(cold <= COLD_START_TARGET)}  runs: "
          + " ".join(f"{s:.3f}" for s in cold_starts))
    print(f"PSS of bin/web and below, idle   {pss_idle:6.1f} MiB")
    print(f"PSS of bin/web and below, loaded {pss_loaded:6.1f} MiB  (at most {PSS_TARGET:g} "
          f"MiB) {verdict(pss_loaded <= PSS_TARGET)}")
    return not (failed or errors or cold > COLD_START_TARGET or pss_loaded > PSS_TARGET)


def missing():
    if os.geteuid() != 0:
        return "root (network namespaces)"
    for tool, package in (("wrk", "wrk"), ("nginx", "nginx"), ("ip", "iproute2")):
        if not shutil.which(tool, path=f"/usr/sbin{os.pathsep}{os.environ['PATH']}"):
            return f"{tool} (apt-get install {package})"
    if not Path(stack.POSTGRES_SOCKET_DIR, ".s.PGSQL.5432").exists():
        return f"PostgreSQL listening in {stack.POSTGRES_SOCKET_DIR}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every run (3)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the project's virtualenv (this one)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.rounds < 1 or args.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    problem = missing()
    if problem:
        sys.exit(f"ERROR: this benchmark needs {problem}")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as scratch, Database() as database:
        scratch = Path(scratch)
        script = scratch / "report.lua"
        script.write_text(WRK_REPORT)
        print("baking and building ...", file=sys.stderr)
        image = build_image(bake(scratch), args.python, scratch)
        env = stack.app_env(database.url)
        stack.release(image, env)
        namespace = netns.Namespace("serve")
        try:
            cold_starts = []
            for run in range(COLD_STARTS):
                web = stack.start(image, namespace, env, scratch / f"cold-{run}")
                cold_starts.append(web.healthy_after)
                web.stop()
            web = stack.start(image, namespace, env, scratch / "web")
            try:
                time.sleep(1)
                pss_idle = pss_mib(web.process.pid)
                found = pages(web)
                print(f"measuring {len(found)} pages x {len(CONCURRENCIES)} concurrencies x "
                      f"{args.rounds} rounds x {args.duration} s ...", file=sys.stderr)
                results = measure(web, found, args.rounds, args.duration, str(script))
                time.sleep(1)
                pss_loaded = pss_mib(web.process.pid)
            finally:
                web.stop()
        finally:
            namespace.delete()
        met = report(args, image, results, cold_starts, pss_idle, pss_loaded, load_before)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
