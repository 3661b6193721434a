"""Measure the default bake's image: sizes, build times, and start to first /health/ 200.

    python benchmarks/image.py [--starts N] [--check]

Everything happens in a podman storage of its own, made for this run and deleted after
it, so every figure starts cold: the stand-in base (debootstrap, then Debian's Python; see
tests/podman.py), the app's layers over it, a rebuild with nothing changed, a rebuild after
a code-only change. Then the image runs N times as the tests run it (its own user, a
read-only root filesystem, a network namespace of its own, the machine's PostgreSQL through
its Unix socket), each timed from `podman run` to the first 200 from /health/ on port 4000.

Needs root, podman, runc, debootstrap and PostgreSQL's socket in /var/run/postgresql.
The budget: the app's layers over the base weigh at most 80 MB.
"""

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "tests"))

import netns
import podman as oci

BUDGET_MB = 80
MB = 1_000_000
DATABASE_URL = oci.database_url("postgres")  # bin/web only checks that it answers


def bake(folder):
    # As a user bakes, minus the closing next steps (the hook prints them): not figures.
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", folder,
                    TEMPLATE], check=True, stdout=subprocess.DEVNULL)
    return Path(folder) / "exampleproject"


def timed(action):
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def start_to_health(engine, image):
    """Seconds from `podman run` to the first 200 from /health/ on port 4000."""
    namespace = netns.Namespace("bench")
    name = f"{namespace.name}-web"
    try:
        started = time.monotonic()
        env = {"SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": DATABASE_URL}
        engine.run_as_convox(image, namespace, env, name=name)
        engine.wait_until_healthy(name, namespace)
        return time.monotonic() - started
    finally:
        engine("rm", "--force", "--time", "0", name, check=False)
        namespace.delete()


def measure(scratch, starts):
    project = bake(scratch / "bake")
    engine = oci.Podman(scratch / "podman")
    try:
        (base, base_seconds) = oci.standin_base(engine, log=lambda line: None)
        image = "localhost/convox-template-benchmark:latest"
        _, cold = timed(lambda: engine.build(project, image))
        _, warm = timed(lambda: engine.build(project, image))
        views = project / "exampleapp" / "views.py"
        views.write_text(views.read_text() + "\n# a code-only change\n")
        _, code_change = timed(lambda: engine.build(project, image))
        figures = {
            "base": base,
            "base_bytes": engine.size(base),
            "app_layer_bytes": engine.size(image) - engine.size(base),
            "standin_build_s": base_seconds,
            "cold_build_s": cold,
            "warm_build_s": warm,
            "code_change_build_s": code_change,
            "start_to_health_s": [start_to_health(engine, image) for _ in range(starts)],
        }
    finally:
        engine("system", "reset", "--force", check=False)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="timed starts (default 5)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the app's layers exceed {BUDGET_MB} MB")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    problem = oci.missing() or netns.missing()
    if problem:
        sys.exit(f"ERROR: this benchmark needs {problem}.")

    scratch = Path(tempfile.mkdtemp(prefix="image-bench-"))
    try:
        figures = measure(scratch, args.starts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    app_mb = figures["app_layer_bytes"] / MB
    starts = figures["start_to_health_s"]
    print(f"stand-in base ({figures['base']}): {figures['base_bytes'] / MB:.0f} MB, "
          f"built cold in {figures['standin_build_s']:.1f} s")
    print(f"app layers over the base: {app_mb:.1f} MB (budget {BUDGET_MB} MB) -> "
          f"{'met' if app_mb <= BUDGET_MB else 'NOT met'}")
    print(f"app build: cold {figures['cold_build_s']:.1f} s, "
          f"warm (nothing changed) {figures['warm_build_s']:.1f} s, "
          f"after a code-only change {figures['code_change_build_s']:.1f} s")
    print(f"podman run to first /health/ 200: median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s over {len(starts)} starts")
    return 1 if args.check and app_mb > BUDGET_MB else 0


if __name__ == "__main__":
    sys.exit(main())
