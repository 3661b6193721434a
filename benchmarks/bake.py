"""Time the default bake against a one-file template baked the same way.

    python benchmarks/bake.py [--runs N] [--check]

The target: with the pinned Django series importable by the interpreter running cookiecutter
(the post-generation hook's fast path), the default bake takes at most twice as long as a
template with one variable, one file and no hooks.

Both bakes run as `python -m cookiecutter --no-input` subprocesses, the way a user waits for
them: in-process, the one-file bake takes a few milliseconds and the ratio would only count
the interpreters the hooks start.

The default bake keeps Jinja's compiled templates in the temporary directory
(local_extensions.CompiledTemplates), as every bake after a machine's first does. The
"first bake" row gives each run an empty temporary directory, for comparison; the target
is read from the "default" row.
"""

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0


def pinned_django_series():
    """The series the hook needs for its fast path: the one the project's requirements pin."""
    requirements = TEMPLATE / "{{cookiecutter.project_slug}}" / "requirements.txt"
    # The first set in its data block is the default answers' (5.2 postgresql).
    pin = re.search(r"Django==(\d+)\.(\d+)\.", requirements.read_text())
    return int(pin.group(1)), int(pin.group(2))


def missing_requirement():
    """Why this interpreter cannot measure the fast path, or None if it can."""
    series = pinned_django_series()
    wanted = f"Django {series[0]}.{series[1]}"
    if importlib.util.find_spec("cookiecutter") is None:
        return "cookiecutter is not installed"
    try:
        import django
    except ImportError:
        return f"{wanted} is not installed"
    if django.VERSION[:2] != series:
        # The hook would install Django in a throwaway virtualenv: that times pip, not us.
        return f"{wanted} is needed, found Django {django.get_version()}"
    return None


def write_one_file_template(root):
    root.mkdir()
    (root / "cookiecutter.json").write_text('{"project_slug": "mysite"}\n')
    project = root / "{{cookiecutter.project_slug}}"
    project.mkdir()
    (project / "README.md").write_text("# {{ cookiecutter.project_slug }}\n")


def write_config(scratch):
    """Keep replay files and cloned templates out of the user's home."""
    config = scratch / "config.yaml"
    # JSON strings are YAML strings: quoting that survives any temporary path.
    config.write_text(
        f"replay_dir: {json.dumps(str(scratch / 'replay'))}\n"
        f"cookiecutters_dir: {json.dumps(str(scratch / 'cookiecutters'))}\n"
    )
    return config


def bake(template, first, config, scratch):
    """Seconds for one bake into a fresh output directory; `first`: with an empty
    temporary directory, so no compiled template is at hand."""
    output = tempfile.mkdtemp(prefix="out-", dir=scratch)
    temp = Path(tempfile.mkdtemp(prefix="tmp-", dir=scratch)) if first else scratch / "tmp"
    temp.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "cookiecutter", "--no-input",
        "--config-file", str(config), "--output-dir", output, str(template),
    ]
    start = time.perf_counter()
    # From the scratch folder, so nothing in the caller's directory shadows an import.
    done = subprocess.run(command, cwd=scratch, capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(temp)})
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"Baking {template} failed:\n{done.stderr}")
    return elapsed


def measure(templates, runs, config, scratch):
    """Interleaved runs, alternating which goes first, after one discarded warm-up round."""
    times = {name: [] for name in templates}
    for round_ in range(runs + 1):
        order = list(templates) if round_ % 2 else list(reversed(templates))
        for name in order:
            elapsed = bake(*templates[name], config, scratch)
            if round_:
                times[name].append(elapsed)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed bakes of each (default 15)")
    parser.add_argument("--check", action="store_true", help="exit 1 when over the target")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    problem = missing_requirement()
    if problem:
        sys.exit(f"ERROR: {problem} in {sys.executable}. Run this with an interpreter that "
                 "has both (pip install --group test).")

    with tempfile.TemporaryDirectory(prefix="bake-bench-") as scratch:
        scratch = Path(scratch)
        write_one_file_template(scratch / "one-file")
        templates = {"one-file": (scratch / "one-file", False), "default": (TEMPLATE, False),
                     "first bake": (TEMPLATE, True)}
        times = measure(templates, args.runs, write_config(scratch), scratch)

    print(f"{'template':<11} {'runs':>5} {'median s':>9} {'min s':>7}")
    for name, seconds in times.items():
        print(f"{name:<11} {len(seconds):>5} {statistics.median(seconds):>9.3f} "
              f"{min(seconds):>7.3f}")
    ratio = statistics.median(times["default"]) / statistics.median(times["one-file"])
    met = ratio <= TARGET_RATIO
    print(f"ratio of medians: {ratio:.2f} (target: at most {TARGET_RATIO:g}) -> "
          f"{'met' if met else 'NOT met'}")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
