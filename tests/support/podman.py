"""Real OCI builds and containers with podman, without a Docker daemon or an image registry.

Everything lives in a cache folder of the tests' own (`~/.cache/convox-template-tests`,
or under `$XDG_CACHE_HOME`): podman's configuration (`CONTAINERS_CONF`), its image storage
and the stand-in base image, so nothing touches the machine's own podman setup and the
stand-in survives between runs (CI runs each time in a fresh clone, on the same machine).

Two settings make podman work in a sandbox like CI's: `runc` (crun refuses a hybrid cgroup
layout) and ulimits no higher than the sandbox allows.

The stand-in: the Dockerfile starts `FROM python:X-slim-trixie`, and no registry is
reachable. `debootstrap --variant=minbase trixie`, from the mirror the machine's apt
already uses, gives Debian trixie; on it, Debian's `python3` as a virtualenv in /usr/local
puts `python` and `pip` in /usr/local/bin as the official image does, with Python's
headers as the official image has them (the mysql bakes compile mysqlclient against them)
and the apt and dpkg settings of Debian's slim images (no apt caches, docs or locales). It is tagged
`python:3.13-slim-trixie` in this storage only, and rebuilt when its recipe changes.
"""

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convox-template-tests"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SUITE = "trixie"
STANDIN = "localhost/convox-template-standin"
# Dependency layers kept between runs (Podman.keep_dependencies): the default bake's, the
# mysql one's, and a few more for branches of the template with other pins.
DEPENDENCIES = "localhost/convox-template-dependencies"
KEEP_DEPENDENCIES = 6

# Limits no higher than the sandbox allows (soft, hard).
ULIMITS = {"nofile": (20000, 20000), "nproc": (32768, 32768)}
CONTAINERS_CONF = f"""\
[containers]
default_ulimits = {json.dumps([f"{name}={soft}:{hard}" for name, (soft, hard) in ULIMITS.items()])}

[engine]
runtime = "runc"
"""


def ulimit_options(**overrides):
    """`podman run` options for ULIMITS with some replaced ({name: (soft, hard)}): a
    --ulimit on the command line drops every default of containers.conf."""
    return [f"--ulimit={name}={soft}:{hard}"
            for name, (soft, hard) in {**ULIMITS, **overrides}.items()]

# As Debian's official images are made (debuerreotype): apt keeps no caches, and, as in
# the slim variant the python image starts from, dpkg installs no docs or translations.
APT_CONF = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
APT::AutoRemove::SuggestsImportant "false";
"""
DPKG_CONF = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
"""
STANDIN_CONTAINERFILE = """\
FROM {rootfs}
COPY docker-clean /etc/apt/apt.conf.d/docker-clean
COPY docker-slim /etc/dpkg/dpkg.cfg.d/docker
RUN rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* \\
    && apt-get update \\
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev \\
    && rm -rf /var/lib/apt/lists/* \\
    && python3 -m venv /usr/local
# pip and uv in the build reach the package index through whatever this machine trusts
# (uv trusts its own roots unless SSL_CERT_FILE names a bundle).
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV LANG=C.UTF-8 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
"""


def missing():
    """What this machine lacks for real builds, or None."""
    if os.geteuid() != 0:
        return "root (podman builds and runs images as root here)"
    for command, package in (("podman", "podman"), ("buildah", "buildah"), ("runc", "runc"),
                             ("debootstrap", "debootstrap"), ("ip", "iproute2")):
        if not shutil.which(command, path=f"/usr/sbin:/sbin:{os.environ['PATH']}"):
            return f"{command} (Debian package {package})"
    return None


def apt_mirror(etc=Path("/etc")):
    """The Debian archive the machine's apt uses: the entry for its own release's suite."""
    codename = re.search(r"^VERSION_CODENAME=(\S+)", (etc / "os-release").read_text(),
                         re.MULTILINE).group(1)
    entries = []  # (URIs, suites) of every deb source
    for path in [etc / "apt/sources.list", *sorted((etc / "apt/sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.MULTILINE))
                if "deb" in fields.get("Types", "").split():
                    entries.append((fields.get("URIs", "").split(), fields.get("Suites", "").split()))
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb":
                    entries.append(([words[1]], [words[2]]))
    for uris, suites in entries:
        if codename in suites and uris:
            return uris[0].rstrip("/")
    raise RuntimeError(f"no Debian mirror for {codename} in apt's sources ({etc / 'apt'})")


def socket_folder(url):
    """The folder holding the Unix socket a DATABASE_URL names (its host: the socket's
    folder for PostgreSQL, the socket itself for MySQL), or None for a TCP host."""
    host = urllib.parse.unquote(urllib.parse.urlsplit(url).netloc.rpartition("@")[2])
    if not host.startswith("/"):
        return None
    return host if Path(host).is_dir() else str(Path(host).parent)


class Podman:
    """The podman command, with configuration and storage under `root`."""

    def __init__(self, root=CACHE / "podman"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        conf, storage = self.root / "containers.conf", self.root / "storage.conf"
        conf.write_text(CONTAINERS_CONF)
        # Run state belongs in /run, which a reboot empties; one folder per storage.
        digest = hashlib.sha256(bytes(self.root)).hexdigest()[:8]
        run_root = Path("/run") / f"convox-template-tests-{digest}"
        storage.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f"graphroot = {json.dumps(str(self.root / 'storage'))}\n"
            f"runroot = {json.dumps(str(run_root))}\n"
        )
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf),
                    "CONTAINERS_STORAGE_CONF": str(storage)}

    def __call__(self, *args, check=True, timeout=300, **kwargs):
        kwargs.setdefault("capture_output", True)
        done = subprocess.run(["podman", *map(str, args)], env=self.env, text=True,
                              timeout=timeout, **kwargs)
        if check and done.returncode:
            raise AssertionError(f"podman {' '.join(map(str, args))} exited {done.returncode}:\n"
                                 f"{done.stdout or ''}{done.stderr or ''}")
        return done

    def build(self, context, tag, *options):
        """`podman build` as the tests build every image; returns the builder's output."""
        done = self("build", "--pull=never", "--network", "host", "--format", "docker",
                    "--layers", *options, "-t", tag, context, timeout=600,
                    stderr=subprocess.STDOUT, capture_output=False, stdout=subprocess.PIPE)
        return done.stdout

    def keep_dependencies(self, image):
        """Tag the image's dependency layer (the one below the project's files: the
        Dockerfile's `COPY . .`, then collectstatic), so that removing the image keeps it
        and the next run's build of the same pyproject.toml and uv.lock takes it from the cache,
        as a builder that keeps its cache does. Only the newest few are kept."""
        history = [line.split("\t", 1) for line in self(
            "history", "--no-trunc", "--format", "{{.ID}}\t{{.CreatedBy}}", image,
        ).stdout.splitlines()]  # newest first
        steps = [created_by for _, created_by in history]
        collected = next(index for index, step in enumerate(steps) if "collectstatic" in step)
        assert "COPY" in steps[collected + 1], steps[collected + 1]
        layer = history[collected + 2][0]
        self("tag", layer, f"{DEPENDENCIES}:{layer[:12]}")
        kept = self("images", "--sort", "created", "--format", "{{.Repository}}:{{.Tag}}",
                    "--filter", f"reference={DEPENDENCIES}").stdout.split()
        for old in kept[:-KEEP_DEPENDENCIES]:  # oldest first
            self("rmi", old, check=False)

    def run_as_convox(self, image, env, *command, namespace=None, name=None, options=(),
                      timeout=120, check=True):
        """`podman run` as a rack runs the image: its own user, a read-only root with only
        /tmp writable, in `namespace` (netns.Namespace; no network at all without one), with
        the folder of DATABASE_URL's Unix socket mounted; detached when given a name, else
        a one-off that is removed after it."""
        network = f"ns:{namespace.path}" if namespace else "none"
        folder = socket_folder(env.get("DATABASE_URL", ""))
        arguments = [
            "--network", network,
            "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,mode=1777",
            *([f"--volume={folder}:{folder}"] if folder else []),
            *[f"--env={key}={value}" for key, value in env.items()],
            *options,
        ]
        arguments += ["--detach", "--name", name] if name else ["--rm"]
        return self("run", *arguments, image, *command, timeout=timeout, check=check)

    def state(self, container, field):
        """A field of the container's State, as podman inspect prints it."""
        return self("inspect", "--format", f"{{{{.State.{field}}}}}", container).stdout.strip()

    def exists(self, image):
        return self("image", "exists", image, check=False).returncode == 0

    def inspect(self, image, template):
        return self("image", "inspect", "--format", template, image).stdout.strip()

    def size(self, image):
        return int(self.inspect(image, "{{.Size}}"))

    def files(self, image, folder="/app"):
        """Every path under `folder` in the image, relative to it, as its user sees them."""
        done = self("run", "--rm", "--network", "none", image, "python", "-c",
                    "import os, sys\n"
                    "for top, dirs, files in os.walk(sys.argv[1]):\n"
                    "    for name in dirs + files:\n"
                    "        print(os.path.relpath(os.path.join(top, name), sys.argv[1]))\n",
                    folder)
        return set(done.stdout.split("\n")) - {""}


def standin_recipe(mirror):
    """Everything the stand-in is made from; its hash names the image."""
    return {"suite": SUITE, "variant": "minbase", "mirror": mirror,
            "containerfile": STANDIN_CONTAINERFILE, "apt": APT_CONF, "dpkg": DPKG_CONF,
            "ca": hashlib.sha256(CA_BUNDLE.read_bytes()).hexdigest()}


def standin_key(recipe):
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def standin_base(podman, log=print):
    """Tag the stand-in as python:X-slim-trixie, building it first unless its recipe is
    cached; returns (tag, seconds spent building it, 0 when cached)."""
    mirror = apt_mirror()
    recipe = standin_recipe(mirror)
    image = f"{STANDIN}:{standin_key(recipe)}"
    started = time.monotonic()
    with open(podman.root / "standin.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, for every test session
        built = not podman.exists(image)
        if built:
            log(f"building the stand-in base {image} (Debian {SUITE} from {mirror})")
            _build_standin(podman, mirror, image)
        built_in = time.monotonic() - started if built else 0.0
        version = podman("run", "--rm", "--network", "none", image, "python", "-c",
                         "import sys; print('%d.%d' % sys.version_info[:2])").stdout.strip()
        tag = f"docker.io/library/python:{version}-slim-{SUITE}"
        podman("tag", image, tag)
        # Stand-ins of earlier recipes, now tagged by nothing else: their layers go too.
        for old in podman("images", "--format", "{{.Repository}}:{{.Tag}}",
                          "--filter", f"reference={STANDIN}").stdout.split():
            # The filter lists every name of a matching image: keep the python tag.
            if old.startswith(f"{STANDIN}:") and old != image:
                podman("rmi", old, check=False)
    return tag, built_in


def _build_standin(podman, mirror, image):
    with tempfile.TemporaryDirectory(dir=podman.root, prefix="standin-") as scratch:
        scratch = Path(scratch)
        rootfs = scratch / "rootfs"
        done = subprocess.run(["debootstrap", "--variant=minbase", SUITE, rootfs, mirror],
                              capture_output=True, text=True)
        if done.returncode:
            raise AssertionError(f"debootstrap {SUITE} from {mirror} exited {done.returncode}:\n"
                                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        rootfs_image = f"localhost/convox-template-rootfs:{secrets.token_hex(4)}"
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        podman("import", "-", rootfs_image, stdin=tar.stdout)
        assert tar.wait() == 0, f"tar of {rootfs} failed"
        shutil.rmtree(rootfs)
        context = scratch / "context"
        context.mkdir()
        (context / "Containerfile").write_text(STANDIN_CONTAINERFILE.format(rootfs=rootfs_image))
        (context / "docker-clean").write_text(APT_CONF)
        (context / "docker-slim").write_text(DPKG_CONF)
        shutil.copy(CA_BUNDLE, context / "ca-certificates.crt")
        try:
            podman.build(context, image)
        finally:
            podman("untag", rootfs_image, check=False)


BUILD_CACHE_HIT = re.compile(r"^--> Using cache ", re.MULTILINE)


def steps_from_cache(output):
    """The build steps the builder took from its cache, as it printed them."""
    cached, step = [], None
    for line in output.splitlines():
        # "STEP 3/9: RUN ...", or "[1/2] STEP 3/9: RUN ..." in a multi-stage build
        if re.match(r"(\[\d+/\d+\] )?STEP \d+/\d+: ", line):
            step = line.split(": ", 1)[1]
        elif BUILD_CACHE_HIT.match(line) and step:
            cached.append(step)
    return cached
