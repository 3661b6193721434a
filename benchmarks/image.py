"""Measure the default bake's image: sizes, build times, and start to first /health/ 200,
beside the image the template built with pip before it moved to uv.

    python benchmarks/image.py [--starts N] [--check] [--compare REV]

Everything happens in a podman storage of its own, made for this run and deleted after
it, so every figure starts cold: the stand-in base (debootstrap, then Debian's Python; see
tests/support/podman.py), the app's layers over it, a rebuild with nothing changed, three rebuilds
after a code-only change (median). The same builds are made, in the same storage, of a
default bake of the template at REV (default: its last commit whose Dockerfile ran `pip
install -r requirements.txt`, found in git's history), the code-only rebuilds of the two
taking turns, so the two installers are compared in one run under the same load.
Then today's image runs N times as the tests run it (its own user, a read-only root
filesystem, a network namespace of its own, the machine's PostgreSQL through its Unix
socket), each timed from `podman run` to the first 200 from /health/ on port 4000.

Needs root, podman, runc, debootstrap and PostgreSQL's socket in /var/run/postgresql.
The budget: the app's layers over the base weigh at most 80 MB.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "tests" / "support"))

import netns
import podman as oci
import stack

BUDGET_MB = 80
MB = 1_000_000
DATABASE_URL = stack.socket_url("postgres")  # bin/web only checks that it answers


def bake(folder, template=TEMPLATE):
    # As a user bakes, minus the closing next steps (the hook prints them): not figures.
    # From the output folder: `python -m` puts the working folder first on sys.path, where
    # another local_extensions.py than the template's would be found.
    # TMPDIR of its own: the pip-era template kept compiled Jinja in the temporary folder,
    # with the template's own path folded in, so a second run would bake from the first's.
    Path(folder).mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", folder,
                    template], check=True, stdout=subprocess.DEVNULL, cwd=folder,
                   env={**os.environ, "TMPDIR": str(folder)})
    return Path(folder) / "exampleproject"


def last_pip_commit():
    """The newest commit before the one that removed the project's requirements.txt."""
    moved = subprocess.run(["git", "log", "-1", "--format=%H", "--diff-filter=D", "--",
                            "{{cookiecutter.project_slug}}/requirements.txt"],
                           cwd=TEMPLATE, capture_output=True, text=True, check=True)
    if not moved.stdout.strip():
        sys.exit("ERROR: no commit removed requirements.txt here: pass --compare REV")
    return f"{moved.stdout.strip()}~1"


def template_at(revision, folder):
    archive = subprocess.run(["git", "archive", revision], cwd=TEMPLATE, capture_output=True,
                             check=True).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x"], input=archive, cwd=folder, check=True)
    return folder


def builds(engine, project, image, base):
    """Cold build, rebuild with nothing changed; size."""
    _, cold = timed(lambda: engine.build(project, image))
    _, warm = timed(lambda: engine.build(project, image))
    return {"cold_build_s": cold, "warm_build_s": warm, "code_change_build_s": [],
            "app_layer_bytes": engine.size(image) - engine.size(base)}


def code_change_rebuilds(engine, projects, rounds):
    """Rebuilds after a code-only change, the projects taking turns, so that both meet
    the same load on the machine: {image: [seconds, ...]}."""
    for number in range(rounds):
        for image, (project, figures) in projects.items():
            views = project / "exampleapp" / "views.py"
            views.write_text(views.read_text() + f"\n# code-only change {number}\n")
            build = lambda project=project, image=image: engine.build(project, image)
            figures["code_change_build_s"].append(timed(build)[1])


def timed(action):
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def start_to_health(engine, image):
    """Seconds from `podman run` to the first 200 from /health/ on port 4000."""
    namespace = netns.Namespace("bench")
    web = None
    try:
        web = stack.start(engine, image, namespace, stack.app_env(DATABASE_URL))
        return web.healthy_after
    finally:
        if web:
            web.remove()
        namespace.delete()


def measure(scratch, starts, compare):
    project = bake(scratch / "bake")
    before = bake(scratch / "bake-before", template_at(compare, scratch / "template-before"))
    engine = oci.Podman(scratch / "podman")
    try:
        (base, base_seconds) = oci.standin_base(engine, log=lambda line: None)
        image, image_before = (f"localhost/convox-template-benchmark:{tag}"
                               for tag in ("latest", "pip"))
        figures = {"base": base, "base_bytes": engine.size(base),
                   "standin_build_s": base_seconds,
                   "uv": builds(engine, project, image, base),
                   "pip": builds(engine, before, image_before, base)}
        code_change_rebuilds(engine, {image: (project, figures["uv"]),
                                      image_before: (before, figures["pip"])}, rounds=3)
        figures["start_to_health_s"] = [start_to_health(engine, image) for _ in range(starts)]
    finally:
        engine("system", "reset", "--force", check=False)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="timed starts (default 5)")
    parser.add_argument("--compare", default=None,
                        help="the template revision to build beside today's (default: the "
                             "last one that installed with pip)")
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
        figures = measure(scratch, args.starts, args.compare or last_pip_commit())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    app_mb = figures["uv"]["app_layer_bytes"] / MB
    starts = figures["start_to_health_s"]
    print(f"stand-in base ({figures['base']}): {figures['base_bytes'] / MB:.0f} MB, "
          f"built cold in {figures['standin_build_s']:.1f} s")
    for name, built in (("uv (today)", figures["uv"]), ("pip (before)", figures["pip"])):
        print(f"{name}: app layers over the base {built['app_layer_bytes'] / MB:.1f} MB; "
              f"build cold {built['cold_build_s']:.1f} s, "
              f"warm (nothing changed) {built['warm_build_s']:.1f} s, "
              f"after a code-only change {statistics.median(built['code_change_build_s']):.1f} s"
              f" (median of {len(built['code_change_build_s'])})")
    print(f"app layers budget: {BUDGET_MB} MB -> {'met' if app_mb <= BUDGET_MB else 'NOT met'}")
    print(f"podman run to first /health/ 200: median {statistics.median(starts):.2f} s, "
          f"max {max(starts):.2f} s over {len(starts)} starts")
    return 1 if args.check and app_mb > BUDGET_MB else 0


if __name__ == "__main__":
    sys.exit(main())
