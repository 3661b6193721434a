"""Time the default bake as a user waits for it: uv.lock written, next steps printed.

    python benchmarks/bake.py [--runs N] [--check]

Each run is `python -m cookiecutter --no-input` into a new folder, with the test group's
uv beside cookiecutter (the post-generation hook locks with it, from uv's cache when it
holds the tested versions, as after a machine's first bake) and its pinned Django (the
hook's startapp runs in-process). The target: a bake with its lock in under 3 s; nobody
feels the difference below that.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 3.0


def bake_seconds(folder):
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", folder,
                    TEMPLATE], check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if not (Path(folder) / "exampleproject" / "uv.lock").is_file():
        sys.exit("ERROR: the bake wrote no uv.lock: run this with the test group installed")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed bakes (default 10)")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the median bake takes {TARGET_SECONDS:.0f} s or more")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bake-bench-") as scratch:
        bake_seconds(Path(scratch) / "warm-up")  # uv's cache, the page cache
        times = [bake_seconds(Path(scratch) / str(run)) for run in range(args.runs)]
    median = statistics.median(times)
    print(f"default bake with uv.lock: median {median:.2f} s, min {min(times):.2f} s, "
          f"max {max(times):.2f} s over {len(times)} runs (target under {TARGET_SECONDS:.0f} s)"
          f" -> {'met' if median < TARGET_SECONDS else 'NOT met'}")
    return 1 if args.check and median >= TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
