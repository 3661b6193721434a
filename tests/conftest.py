"""What the tests share: the bake helper, one bake of each kind and one virtualenv per
session, and the servers (PostgreSQL, nginx) that the slow tests run against."""

import atexit
import fcntl
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from db_proxy import MARIADB_SOCKET
from podman import CACHE

TEMPLATE = Path(__file__).resolve().parents[1]
QUESTIONS = {
    key for key in json.loads((TEMPLATE / "cookiecutter.json").read_text())
    if not key.startswith("_")
}

# Every answer differs from its default, and the names are not the seed's.
CUSTOM_ANSWERS = {
    "project_name": "Café Shop",
    "app_name": "orders",
    "description": "Coffee, <b>ordered</b> online",
    "author_name": "Zoë O'Brien",
    "email": "zoe@cafe.example",
    "domain_name": "shop.cafe.example",
    "python_version": "3.12",
}

# CI services set CI to "true" (GitHub Actions, GitLab, CircleCI) or "1" (some others).
IN_CI = os.environ.get("CI", "").lower() in {"true", "1"}
TESTED_VERSIONS = TEMPLATE / "templates" / "tested_versions.jinja"
# The cookiecutter the test dependencies pin, for the virtualenvs that bake beside another
# Django.
COOKIECUTTER = next(
    requirement for requirement in tomllib.loads((TEMPLATE / "pyproject.toml").read_text())
    ["dependency-groups"]["test"] if requirement.startswith("cookiecutter==")
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marks
def pytest_collection_modifyitems(items):
    """A test that needs every combination baked (combination_projects) is slow, marked or
    not: the fast run (-m "not slow") bakes two projects, not twenty."""
    for item in items:
        if "combination_projects" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def require(available, what):
    """In CI a missing server fails the test; on a newcomer's machine it skips."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI={os.environ['CI']}), and it is missing")
    pytest.skip(f"{what} is not available here: install it to run this test")


def check_answers(answers):
    """cookiecutter ignores answers it does not know: a typo would bake the defaults."""
    unknown = sorted(set(answers) - QUESTIONS)
    if unknown:
        raise KeyError(f"not questions in cookiecutter.json: {', '.join(unknown)}")


@pytest.fixture
def bake(cookies):
    """bake(**answers) -> pytest-cookies Result, refusing answers the template lacks."""
    def bake(**answers):
        check_answers(answers)
        return cookies.bake(extra_context=answers, template=str(TEMPLATE))
    return bake


def _bake_once(cookies_session, answers):
    check_answers(answers)
    result = cookies_session.bake(extra_context=answers, template=str(TEMPLATE))
    assert result.exit_code == 0, result.exception
    return result.project_path


@pytest.fixture(scope="session")
def default_project(cookies_session):
    return _bake_once(cookies_session, {})


@pytest.fixture(scope="session")
def custom_project(cookies_session):
    return _bake_once(cookies_session, CUSTOM_ANSWERS)


@functools.cache
def pythons_folder():
    """A folder of python3.X links, one for each Python the python_version question offers
    that this machine has. pyenv's shims on PATH fail for the versions it has not selected,
    and uv, finding no Python a project's requires-python allows, would download one (which
    the closed network refuses): with this folder first on PATH, uv and the hook find them
    as they would on a developer's machine."""
    import combinations

    folder = Path(tempfile.mkdtemp(prefix="pythons-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for version in combinations.CHOICES["python_version"]:
        if found := combinations.interpreter(version):
            (folder / f"python{version}").symlink_to(found)
    return folder


def path_with_pythons(path=None):
    """PATH (or `path`) with pythons_folder() first."""
    return f"{pythons_folder()}{os.pathsep}{path or os.environ['PATH']}"


@pytest.fixture(scope="session")
def newer_python_on_path():
    """A PATH on which the post-generation hook finds a Python for every Django series."""
    import combinations

    newest = combinations.python_for(max(combinations.DJANGO_PYTHON, key=combinations.version))
    require(newest, "a Python for every Django series the template offers (python3.12 or newer)")
    return path_with_pythons()


@pytest.fixture(scope="session")
def cookiecutter_for(tools):
    """cookiecutter_for(series) -> a cookiecutter command beside the Django the series pins,
    so the post-generation hook runs startapp in-process, as it does for a user who has
    that Django; the tests' own cookiecutter for the series the test dependencies pin.
    (test_baking.py bakes without a matching Django: the throwaway-virtualenv path.)"""
    import combinations

    pins = {series: pin for pin, series in re.findall(r'"Django==((\d+\.\d+)\.\d+)"',
                                                       TESTED_VERSIONS.read_text())}
    built, lock = {}, threading.Lock()

    def command(series):
        import django

        if django.get_version() == pins[series]:
            return tools["cookiecutter"]
        with lock:
            if series not in built:
                base = combinations.python_for(series)
                require(base, f"a Python {combinations.DJANGO_PYTHON[series]} or later for"
                        f" Django {series} (python3.12 or newer on PATH, or under pyenv)")
                python = make_venv(f"Django=={pins[series]}\n{COOKIECUTTER}\n", base=base)
                built[series] = python.parent / "cookiecutter"
            return built[series]

    return command


@pytest.fixture(scope="session")
def combination_projects(newer_python_on_path, tmp_path_factory, cookiecutter_for):
    """Every row of combinations.COMBINATIONS baked once, by the CLI, two at a time:
    {row: project folder}. Other answers keep their defaults."""
    import combinations

    config = tmp_path_factory.mktemp("cookiecutter-config")
    (config / "config.yaml").write_text(f"cookiecutters_dir: {config / 'templates'}\n"
                                        f"replay_dir: {config / 'replay'}\n")

    def bake(row):
        answers = combinations.answers(row)
        check_answers(answers)
        output = tmp_path_factory.mktemp(combinations.row_id(row))
        done = subprocess.run(
            [cookiecutter_for(row[0]), "--no-input", "--config-file", config / "config.yaml",
             "--output-dir", output, TEMPLATE, *[f"{key}={value}" for key, value in answers.items()]],
            capture_output=True, text=True, timeout=600,
            # UV: the uv that writes each bake's uv.lock, as `uvx cookiecutter` sets it.
            env={**os.environ, "PATH": newer_python_on_path, "UV": str(UV)})
        assert done.returncode == 0, f"{combinations.row_id(row)}:\n{done.stderr}"
        return output / "exampleproject"

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(combinations.COMBINATIONS, pool.map(bake, combinations.COMBINATIONS)))


@pytest.fixture(scope="session", params=["default", "custom"])
def project(request):
    """Each test using it runs on the default bake and on the custom one."""
    return request.getfixturevalue(f"{request.param}_project")


# The tests' virtualenvs of baked projects live in the tests' cache folder, one per
# interpreter and requirement set, and are kept between runs: a run then makes none, and
# leaves none behind for pytest to delete (a dozen of them are 100 000 files). uv makes
# each, from its wheel cache, in a second or two, where pip takes ten or more; --seed puts
# pip in, as `python -m venv` does, for the tests that ask it.
UV = Path(sys.executable).parent / "uv"
VENVS = CACHE / "venvs"


# How make_venv installs; part of each kept virtualenv's key. Compiled, as the image's
# are: where PYTHONDONTWRITEBYTECODE is set (as in the shells of the machine CI runs on),
# a process writes no bytecode, and every one compiles again each module it imports
# (`manage.py check` took 0.8 s there against 0.3 s compiled).
INSTALL_OPTIONS = ("--compile-bytecode",)


@functools.cache
def uv_version():
    """`uv --version`, as the kept virtualenvs' key names uv: the same in every clone of
    the template, where the path of each clone's .venv/bin/uv is not."""
    return subprocess.run([UV, "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="session")
def uv_alone(tmp_path_factory):
    """A folder holding uv (the test group's) and the machine's Pythons, to put on a user's
    PATH: the README's commands start with uv, and nothing else of the tests' virtualenv
    may leak in."""
    folder = tmp_path_factory.mktemp("uv-alone")
    (folder / "uv").symlink_to(UV.resolve())
    for python in pythons_folder().iterdir():  # the Pythons a developer has on PATH
        (folder / python.name).symlink_to(python.resolve())
    return folder


@pytest.fixture(scope="session")
def pre_commit_home():
    """pre-commit's own cache of hook environments, kept beside the tests' virtualenvs.

    The first run on a machine installs the hooks' pinned packages from PyPI (or pip's
    own cache); later runs, this session's and the next ones', reuse them without the
    network. pre-commit keys each environment by its hook's packages and locks the folder
    while it writes, so a changed pin gets an environment of its own.
    """
    return CACHE / "pre-commit"


def make_venv(requirements, base=sys.executable):
    """The python of a virtualenv on the interpreter `base` with `requirements` (the text
    of a requirements file) installed; made once, then reused for as long as the cache
    folder is kept."""
    base = os.path.realpath(base)
    key = hashlib.sha256("\n".join([base, uv_version(), *INSTALL_OPTIONS, requirements])
                         .encode()).hexdigest()[:16]
    folder, python = VENVS / key, VENVS / key / "bin" / "python"
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run, or a thread, may be making it
        if not (folder / "complete").exists():
            shutil.rmtree(folder, ignore_errors=True)  # what an interrupted run left
            subprocess.run([UV, "venv", "--quiet", "--seed", "--python", base, folder],
                           check=True)
            (folder / "requirements.txt").write_text(requirements)
            subprocess.run([UV, "pip", "install", "--quiet", *INSTALL_OPTIONS,
                            "--python", python, "-r", folder / "requirements.txt"], check=True)
            (folder / "complete").touch()
    return python


def locked_requirements(project):
    """What the project's uv.lock installs, the dev group included, as the text of a
    requirements file: `uv sync --locked` installs exactly these."""
    done = subprocess.run([UV, "export", "--locked", "--quiet", "--no-hashes", "--no-header",
                           "--no-annotate", "--format", "requirements-txt"],
                          cwd=project, capture_output=True, text=True, check=True,
                          env={**os.environ, "PATH": path_with_pythons()})
    return done.stdout


@pytest.fixture(scope="session")
def requirements_python():
    """requirements_python(project) -> the python of a virtualenv with what `uv sync`
    installs from the project's uv.lock: one per distinct set, built once per session."""
    import combinations

    built, locks, lock = {}, {}, threading.Lock()

    def python(project):
        requirements = locked_requirements(project)
        series = re.search(r"^django==(\d+\.\d+)\.", requirements, re.MULTILINE).group(1)
        with lock:  # one lock per set: two sets may build at once, one set only once
            set_lock = locks.setdefault(requirements, threading.Lock())
        with set_lock:
            if requirements not in built:
                base = combinations.python_for(series)
                require(base, f"a Python {combinations.DJANGO_PYTHON[series]} or later for"
                        f" Django {series} (python3.12 or newer on PATH, or under pyenv)")
                built[requirements] = make_venv(requirements, base=base)
            return built[requirements]

    return python


@pytest.fixture(scope="session")
def python_of(combination_projects, requirements_python):
    """python_of(row) -> the python of the virtualenv of a row of combinations.COMBINATIONS;
    every row's is built first, two at a time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(requirements_python, combination_projects.values()))
    return lambda row: requirements_python(combination_projects[row])


@pytest.fixture(scope="session")
def django_in():
    """django_in(python) -> a Django command server (preloaded.py) in that virtualenv,
    started once: `django_in(python).run(project, ["check"], env)` is `manage.py check`
    without a second of imports."""
    from preloaded import Preloaded

    servers, lock = {}, threading.Lock()

    def server(python):
        with lock:
            if python not in servers:
                servers[python] = Preloaded(python)
            return servers[python]

    yield server
    for each in servers.values():
        each.close()


@pytest.fixture(scope="session")
def django_of(python_of, django_in):
    """django_of(row) -> django_in of the virtualenv of a row of combinations.COMBINATIONS."""
    return lambda row: django_in(python_of(row))


@pytest.fixture(scope="session")
def project_python(default_project, requirements_python):
    """The virtualenv of the default bake's uv.lock; the custom bake pins the same."""
    return requirements_python(default_project)


@pytest.fixture(scope="session")
def project_django(project_python, django_in):
    """django_in of project_python."""
    return django_in(project_python)


@pytest.fixture(scope="session")
def dev_python(project_python):
    """The default bake's virtualenv, for the tests that use its dev group's tools (pytest,
    ruff, pre-commit): `uv sync` installs them with the rest."""
    return project_python


def git(*args, cwd):
    """Run git with a fixed identity and no user or system configuration."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Template Tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
           "GIT_COMMITTER_NAME": "Template Tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}
    done = subprocess.run(["git", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, f"git {' '.join(map(str, args))}: {done.stderr}"
    return done.stdout


def commit_all(folder, message):
    """Make folder a git repository if it is not one, and commit everything not ignored."""
    if not (Path(folder) / ".git").exists():
        git("init", "--quiet", "--initial-branch=main", cwd=folder)
    git("add", "--all", cwd=folder)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder).strip()


def checkout(project, workdir):
    """What a git clone of the committed project holds: tracked files only, no .env.

    The project is copied first, so the shared bake never becomes a repository.
    """
    origin = workdir / "origin"
    shutil.copytree(project, origin, ignore=shutil.ignore_patterns(".git"))
    commit_all(origin, "The baked project")
    clone = workdir / project.name
    git("clone", "--quiet", origin, clone, cwd=workdir)
    return clone


def readme_block(readme, heading):
    """The lines of the first ```bash block after `heading` (a whole line) in a README."""
    section = readme.split(f"\n{heading}\n", 1)[1]
    return section.split("```bash\n", 1)[1].split("\n```", 1)[0].splitlines()


# What the generated project reads: the tests set these themselves, never inherit them.
PROJECT_VARIABLES = {
    "SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
    "SECURE_HSTS_SECONDS", "WEB_CONCURRENCY", "MIGRATE_ON_START", "PORT",
    "DATABASE_WAIT_SECONDS", "SENTRY_DSN", "SENTRY_ENVIRONMENT", "RELEASE", "REDIS_URL",
    "EMAIL_URL", "DEFAULT_FROM_EMAIL", "SERVER_EMAIL",
    # media_storage s3
    "AWS_STORAGE_BUCKET_NAME", "AWS_S3_REGION_NAME", "AWS_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
}


def project_env(python, **overrides):
    """The environment for the project's commands: its virtualenv first on PATH."""
    env = {key: value for key, value in os.environ.items() if key not in PROJECT_VARIABLES}
    env["PATH"] = os.pathsep.join([str(Path(python).parent), "/usr/sbin", env["PATH"]])
    return {**env, **overrides}


def run(python, *args, cwd, env=None, check=True, timeout=120):
    """Run `python args...` in cwd, with its virtualenv's bin/ first on PATH."""
    full_env = project_env(python, **(env or {}))
    done = subprocess.run(
        [str(python), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout,
    )
    if check and done.returncode:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def text_files(root):
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


@pytest.fixture(scope="session")
def tools():
    """Paths to the linters installed with the test dependencies."""
    bin_dir = Path(sys.executable).parent
    found = {name: shutil.which(name, path=str(bin_dir)) or shutil.which(name)
             for name in ("ruff", "hadolint", "check-jsonschema", "cookiecutter", "cruft")}
    missing = [name for name, path in found.items() if not path]
    assert not missing, f"install the test dependencies (pip install --group test): {missing}"
    return found


POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def postgres():
    """The machine's PostgreSQL server, as its superuser."""
    import psycopg

    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
        reachable = True
    except psycopg.OperationalError:
        reachable = False
    require(reachable, f"PostgreSQL at {POSTGRES}")
    return POSTGRES


def mariadb_url(name, user="root"):
    """A DATABASE_URL for the machine's MariaDB through its Unix socket."""
    return f"mysql://{user}@{MARIADB_SOCKET.replace('/', '%2F')}/{name}"


def mysql_client(*sql):
    """The machine's mariadb client, as root over the socket; returns the completed run."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    return subprocess.run([client, "--user=root", f"--socket={MARIADB_SOCKET}", "--batch",
                           "--skip-column-names", *[f"--execute={line}" for line in sql]],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="session")
def mariadb():
    """The machine's MariaDB server, as root through its Unix socket."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    require(client, "the MariaDB client (Debian package mariadb-client)")
    require(mysql_client("SELECT 1").returncode == 0, f"MariaDB at {MARIADB_SOCKET}")
    return MARIADB_SOCKET


@pytest.fixture(scope="session")
def fresh_mysql_database(mariadb):
    """A factory of new, empty MariaDB databases, dropped at the end of the session."""
    created = []

    def create():
        name = f"convox_template_test_{secrets.token_hex(4)}"
        done = mysql_client(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        assert done.returncode == 0, done.stderr
        created.append(name)
        return name

    yield create
    for name in created:
        mysql_client(f"DROP DATABASE IF EXISTS `{name}`")
        mysql_client(f"DROP DATABASE IF EXISTS `test_{name}`")


@pytest.fixture(scope="session")
def nginx():
    path = shutil.which("nginx", path=f"/usr/sbin{os.pathsep}{os.environ['PATH']}")
    require(path, "nginx (Debian package nginx)")
    return path


@pytest.fixture(scope="session")
def fresh_database(postgres):
    """A factory of new, empty databases, dropped at the end of the session."""
    import psycopg

    created = []

    def create():
        name = f"convox_template_test_{secrets.token_hex(4)}"
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield create
    with psycopg.connect(postgres, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def podman():
    """podman.Podman with the tests' own configuration and storage, and the stand-in
    for the Dockerfile's base image tagged in that storage."""
    import podman

    why = podman.missing()
    require(why is None, f"real image builds, which need {why}")
    engine = podman.Podman()
    engine.base, _ = podman.standin_base(engine, log=lambda line: print(line, file=sys.stderr))
    return engine


@pytest.fixture(scope="session")
def build_image(podman):
    """build_image(project) -> the tag of its image, built from its Dockerfile unchanged by
    a real OCI builder, once a session; removed at the end, its dependency layer kept."""
    from project_files import dockerfile_steps

    built = {}

    def build(project):
        if project not in built:
            base = dockerfile_steps(project)[0][1].split()[0]
            assert podman.base == f"docker.io/library/{base}", (
                f"the stand-in base is {podman.base}; {project.name} wants {base}")
            tag = f"localhost/convox-template-test:{secrets.token_hex(4)}"
            podman.build(project, tag)
            podman.keep_dependencies(tag)
            built[project] = tag
        return built[project]

    yield build
    for tag in built.values():
        podman("rmi", tag, check=False)


@pytest.fixture(scope="session")
def real_image(build_image, default_project):
    """The default bake's image."""
    return build_image(default_project)


@dataclass(frozen=True)
class Served:
    """A bake the serving tests run as its image: its tag, its folder, and its database."""
    tag: str
    project: Path
    mysql: bool


# The two ends of the table of combinations: the default bake (Django 5.2, one stage) on
# PostgreSQL, and combinations.SERVED (Django 6.1, the mysql answer, two stages) on the
# machine's MariaDB, its Unix socket mounted in. A test marked on_each_bake runs on both,
# the default's first; on_the_default_bake runs a test on the default alone.
on_each_bake = pytest.mark.parametrize("served", ["default", "mysql"], indirect=True,
                                       scope="module")
# A test of the default bake alone that shares its servers with on_each_bake's default run.
on_the_default_bake = pytest.mark.parametrize("served", ["default"], indirect=True,
                                              scope="module")


@pytest.fixture(scope="module")
def served(request, build_image, default_project):
    from combinations import SERVED

    if getattr(request, "param", "default") == "default":
        return Served(build_image(default_project), default_project, mysql=False)
    project = request.getfixturevalue("combination_projects")[SERVED]
    return Served(build_image(project), project, mysql=True)


@pytest.fixture(scope="module")
def served_database(served, request):
    """(name, DATABASE_URL through the server's own socket): a new, empty database on the
    served bake's server."""
    if served.mysql:
        name = request.getfixturevalue("fresh_mysql_database")()
        return name, mariadb_url(name)
    import stack

    name = request.getfixturevalue("fresh_database")()
    return name, stack.socket_url(name)


@pytest.fixture(scope="session")
def namespaces():
    """namespaces() -> a new network namespace (netns.Namespace), deleted after the session.

    Every server that listens on fixed ports (bin/web: 4000, 4001, 3000) runs in one.
    """
    import netns

    why = netns.missing()
    require(why is None, f"network namespaces, which need {why}")
    made = []

    def make(prefix="tpl"):
        made.append(netns.Namespace(prefix))
        return made[-1]

    yield make
    for namespace in made:
        namespace.delete()


# cookiecutter.json's `_extensions` live in the template folder (local_extensions.py):
# cookiecutter puts it on sys.path while it renders, and so must a test that renders.
sys.path.append(str(TEMPLATE))
