"""Follow the project's Dockerfile without Docker, for machines without podman.

`build` reads the Dockerfile and carries out its steps in a folder that stands for the
image's WORKDIR: COPY from the project (minus what .dockerignore keeps out), ENV, and
RUN with the project's virtualenv standing in for the image's Python. RUN steps that
change the operating system (apt-get) are skipped and reported; the machine running the
tests provides nginx the same way. In a multi-stage Dockerfile only the last stage is
followed: what an earlier stage installs, and the final stage copies from it
(COPY --from=...), the project's virtualenv already holds; those copies are reported too.
test_image.py proves that it puts the same files in /app as a real build of the same
context.
"""

import glob
import json
import posixpath
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Left to the machine: Debian's packages, and what pip and uv install (the tests give the
# steps a virtualenv with what uv.lock pins).
SYSTEM_COMMANDS = ("apt-get", "pip")


@dataclass
class Image:
    workdir: Path
    env: dict
    cmd: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def python(self):
        """The interpreter the image's RUN steps and CMD find on PATH."""
        return shutil.which("python", path=self.env["PATH"])


def instructions(dockerfile):
    """(KEYWORD, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in Path(dockerfile).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [tuple(line.split(None, 1)) for line in logical]


def ignore_patterns(context):
    lines = (context / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pattern_regex(pattern):
    """A .dockerignore pattern as Docker reads it: from the context's root, `*` and `?`
    within one path segment, `**` across any number of them (moby's patternmatcher)."""
    pattern = posixpath.normpath(pattern.lstrip("/"))
    regex, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            regex, i = regex + "(.*/)?", i + 3
            continue
        if pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            regex, i = regex + pattern[i:end + 1].replace("[!", "[^"), end + 1
            continue
        elif char == "\\" and i + 1 < len(pattern):
            regex, i = regex + re.escape(pattern[i + 1]), i + 2
            continue
        else:
            regex += re.escape(char)
        i += 1
    return re.compile(f"^{regex}$")


def ignored(relative, patterns):
    """Whether Docker leaves `relative` (a path from the context's root) out: the last
    pattern matching it or a folder above it decides, `!` marking an exception."""
    parts = relative.split("/")
    candidates = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    verdict = False
    for pattern in patterns:
        exception = pattern.startswith("!")
        regex = pattern_regex(pattern[1:] if exception else pattern)
        if any(regex.match(path) for path in candidates):
            verdict = not exception
    return verdict


def copy(context, source, target, patterns):
    """COPY source target, as Docker does it for a file or a folder."""
    origin = (context / source).resolve()
    if origin.is_file():
        if target.is_dir():
            target = target / origin.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
        return

    def skip(folder, names):
        base = Path(folder).relative_to(context)
        return {name for name in names if ignored((base / name).as_posix(), patterns)}

    shutil.copytree(origin, target, ignore=skip, dirs_exist_ok=True, symlinks=True)


def build(context, workdir, env):
    """Carry out the Dockerfile in `context`, with `workdir` standing for the image's."""
    context, workdir = Path(context).resolve(), Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    image = Image(workdir=workdir, env=dict(env))
    patterns = ignore_patterns(context)
    steps = instructions(context / "Dockerfile")
    last_stage = max(i for i, (keyword, _) in enumerate(steps) if keyword.upper() == "FROM")
    for keyword, arguments in steps[last_stage:]:
        keyword = keyword.upper()
        if keyword == "COPY" and arguments.startswith("--from="):
            image.skipped.append(f"COPY {arguments}")
            continue
        if keyword == "ENV":
            # $NAME in a value is the variable as the image has it so far (PATH=/venv/bin:$PATH).
            for pair in shlex.split(arguments):
                name, value = pair.split("=", 1)
                image.env[name] = re.sub(r"\$(\w+)", lambda m: image.env.get(m[1], ""), value)
        elif keyword == "COPY":
            *sources, target = shlex.split(arguments)
            for pattern in sources:  # a pattern that matches nothing copies nothing
                found = sorted(context.glob(pattern)) if glob.has_magic(pattern) else [
                    context / pattern]
                for source in found:
                    copy(context, source.relative_to(context), workdir / target, patterns)
        elif keyword == "RUN":
            if arguments.split()[0] in SYSTEM_COMMANDS:
                image.skipped.append(arguments)
                continue
            done = subprocess.run(["sh", "-c", arguments], cwd=workdir, env=image.env,
                                  capture_output=True, text=True)
            if done.returncode:
                raise AssertionError(f"RUN {arguments} failed:\n{done.stdout}{done.stderr}")
        elif keyword == "CMD":
            image.cmd = json.loads(arguments)
        # FROM, WORKDIR, USER, EXPOSE and HEALTHCHECK change nothing in the folder;
        # test_dockerfile.py checks them as written.
    return image
