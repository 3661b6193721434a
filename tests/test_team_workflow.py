"""A team's first day: the bake says what to do next, a clone has what it needs to start
(.env.example), and a teammate following the README reaches the site and the admin."""

import os
import pty
import re
import select
import shlex
import shutil
import signal
import stat
import subprocess
import time

import pytest
import traffic
from conftest import TEMPLATE, checkout, project_env, readme_block
from project_files import SET_BY_THE_SYSTEM, env_example_entries, env_file, variables_read


def test_env_example_lists_every_variable_the_project_reads_and_no_other(project):
    entries = env_example_entries((project / ".env.example").read_text())
    read = set(variables_read(project)) - SET_BY_THE_SYSTEM
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "PORT"} <= read
    assert set(entries) == read


def test_env_example_gives_each_variable_a_reason_and_its_default(project):
    entries = env_example_entries((project / ".env.example").read_text())
    defaults = variables_read(project)
    for name, (reason, value, commented_out) in entries.items():
        assert len(reason.split()) >= 4, f"{name} needs a one-line reason above it"
        if commented_out and isinstance(defaults[name], str):
            assert value == defaults[name], f"{name}: the commented-out value is the default"
        if not commented_out and name != "SECRET_KEY":
            assert "default" in reason, f"{name} is set for local runs: say what its default is"


def test_env_example_holds_no_secret_and_env_is_it_with_a_key_of_its_own(project):
    example = (project / ".env.example").read_text()
    assert re.search(r"^SECRET_KEY=$", example, re.MULTILINE)
    env = (project / ".env").read_text()
    key = env_file(project)["SECRET_KEY"]
    assert key and key not in example
    assert env.replace(f"SECRET_KEY={key}", "SECRET_KEY=") == example


def test_every_project_file_but_env_is_committed(project, tmp_path):
    clone = checkout(project, tmp_path)
    assert not (clone / ".env").exists()
    expected = {
        path.relative_to(project) for path in project.rglob("*")
        if path.is_file() and not {".env", "db.sqlite3", "__pycache__", "staticfiles",
                                   ".pytest_cache", ".ruff_cache", ".venv"} & set(path.parts)
    }
    cloned = {path.relative_to(clone) for path in clone.rglob("*")
              if path.is_file() and ".git" not in path.relative_to(clone).parts}
    assert cloned == expected


# The bake's closing message


def bake_in_terminal_style(tools, tmp_path, *answers):
    """Bake with cookiecutter's command line, as a user does, into tmp_path/out."""
    return subprocess.run(
        [tools["cookiecutter"], "--no-input", "--output-dir", tmp_path / "out", TEMPLATE,
         *answers],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )


def test_bake_ends_with_the_readme_first_commands_and_where_deploying_is(tools, tmp_path):
    done = bake_in_terminal_style(tools, tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "out" / "exampleproject"
    readme = (project / "README.md").read_text()
    commands = readme_block(readme, "## Run it on your machine")
    expected = [
        f"Your project is ready in {project}",
        "",
        'Run it on this machine (README.md, "Run it on your machine"):',
        f"    cd {project}",
        *(f"    {command}" for command in commands),
        "",
        'Then open http://127.0.0.1:8000/. Deploying to Convox: README.md, "Deploy".',
    ]
    assert done.stdout.splitlines()[-len(expected):] == expected
    assert "\n## Deploy\n" in readme
    assert "runserver" in commands[-1]


def test_refused_bake_prints_no_next_steps(tools, tmp_path):
    done = bake_in_terminal_style(tools, tmp_path, "app_name=Not-An-Identifier")
    assert done.returncode != 0
    assert "app_name" in done.stderr
    assert "ready" not in done.stdout + done.stderr
    assert "manage.py" not in done.stdout + done.stderr
    assert not (tmp_path / "out" / "exampleproject").exists()


# A teammate's clone


def answer_in_a_terminal(command, cwd, env, answers, timeout=60):
    """Run a shell command on a pseudo-terminal, typing each reply once its prompt shows.

    createsuperuser asks its questions only on a terminal, and reads the password from it.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and controlling tty
        try:
            os.chdir(cwd)
            os.execvpe("bash", ["bash", "-c", command], env)
        finally:
            os._exit(127)
    output, pending, deadline = b"", list(answers), time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child has exited and closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if pending and pending[0][0].encode() in output.rsplit(b"\n", 1)[-1]:
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def user_env(uv_alone, **overrides):
    """A user's environment: the machine's Python and uv on PATH, nothing of the tests'
    virtualenv, no project variable inherited."""
    env = project_env("/usr/bin/python3", **overrides)
    env["PATH"] = f"{uv_alone}{os.pathsep}{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.slow
def test_first_run_then_tests_and_lint_work_as_the_readme_writes_them(
        default_project, uv_alone, pre_commit_home, tmp_path):
    """A fresh bake, outside any git repository: the README's first run (all but the two
    interactive steps), then its tests-and-lint block and its deployment check, each line
    verbatim."""
    project = tmp_path / default_project.name
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns(
        ".venv", "db.sqlite3", "staticfiles", "__pycache__"))
    readme = (project / "README.md").read_text()
    first_run = readme_block(readme, "## Run it on your machine")
    assert first_run[0] == "uv sync" and "runserver" in first_run[-1], first_run
    lint = readme_block(readme, "## Tests and lint")
    assert "pre-commit install" in lint[0] and "uv run pytest" in lint, lint
    steps = [step for step in first_run if "createsuperuser" not in step and
             "runserver" not in step] + lint
    env = user_env(uv_alone, PRE_COMMIT_HOME=str(pre_commit_home))
    for step in steps:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", step], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
        if step == "uv run pytest":
            assert re.search(r" \d+ passed", done.stdout), done.stdout
        if "pre-commit run" in step:
            assert "Failed" not in done.stdout, done.stdout
    assert (project / ".git" / "hooks" / "pre-commit").exists()
    # The section's second block: the deployment checklist with production settings, over
    # .env's DEBUG=true, clean as written; without its DEBUG=false, .env's debug warns.
    section = readme.split("\n## Tests and lint\n", 1)[1].split("\n## ", 1)[0]
    [deploy_check] = section.split("```bash\n")[2].split("\n```", 1)[0].splitlines()
    assert deploy_check.startswith("DEBUG=false ") and "check --deploy" in deploy_check
    for step, clean in ((deploy_check, True), (deploy_check.removeprefix("DEBUG=false "), False)):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", step], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)
        output = done.stdout + done.stderr
        assert (done.returncode == 0) is clean, f"{step}\n{output}"
        assert ("System check identified no issues (0 silenced)." in output) is clean, output
        assert ("security.W018" in output) is not clean, output


@pytest.fixture(scope="module")
def teammate(default_project, uv_alone, tmp_path_factory):
    """A clone of the committed default bake, set up by the README's teammate steps.

    Every step runs verbatim except the repository URL; createsuperuser gets its answers
    typed on a terminal. Returns (clone folder, the steps, the runserver step).
    """
    workdir = tmp_path_factory.mktemp("teammate")
    origin = workdir / "team-repository"
    readme = (default_project / "README.md").read_text()
    steps = readme_block(readme, "## Working as a team")
    assert steps[0].startswith("git clone YOUR-REPOSITORY-URL ")
    steps[0] = steps[0].replace("YOUR-REPOSITORY-URL", shlex.quote(str(origin / "origin")))
    superuser = [n for n, step in enumerate(steps) if "createsuperuser" in step]
    assert len(superuser) == 1 and "runserver" in steps[-1], steps
    first, createsuperuser, runserver = steps[:superuser[0]], steps[superuser[0]], steps[-1]
    assert steps[superuser[0] + 1:-1] == [], "nothing may hide between the two last steps"

    # The team's repository: the bake as committed (checkout() makes it and a first clone).
    checkout(default_project, origin)
    env = user_env(uv_alone)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(first)], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    clone = workdir / default_project.name
    user, password = traffic.SUPERUSER
    code, output = answer_in_a_terminal(createsuperuser, clone, env, [
        ("Username", user), ("Email address:", "ada@example.com"),
        ("Password:", password), ("Password (again):", password),
    ])
    assert code == 0 and "Superuser created successfully." in output, output
    return clone, env, runserver


@pytest.mark.slow
def test_teammate_env_is_private_with_a_fresh_key(teammate, default_project):
    clone, _, _ = teammate
    assert stat.S_IMODE((clone / ".env").stat().st_mode) == 0o600
    key, baked = env_file(clone)["SECRET_KEY"], env_file(default_project)["SECRET_KEY"]
    assert len(key) >= 50 and key != baked
    assert (clone / ".git" / "hooks" / "pre-commit").exists(), "pre-commit install ran"


def wait_for(fetch, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fetch()
        except OSError:
            assert time.monotonic() < deadline, f"no answer in {seconds} s"
            time.sleep(0.3)


def stop(server):
    """Stop a server started in a session of its own, and everything it started."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_teammate_reaches_the_home_page_and_the_admin_on_runserver(teammate, namespaces,
                                                                  tmp_path):
    clone, env, runserver = teammate
    namespace = namespaces()
    log = tmp_path / "runserver.log"
    with log.open("w") as output:
        # Port 8000, as written, in a network namespace of its own.
        server = namespace.popen(["bash", "-c", runserver], cwd=clone, env=env,
                                 stdout=output, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        home = wait_for(lambda: traffic.fetch(8000, "/", namespace=namespace))
        assert home.status == 200 and "Example Project is running" in home.body
        icon = traffic.fetch(8000, "/favicon.ico", namespace=namespace)
        assert icon.status == 302
        icon_file = traffic.fetch(8000, icon.headers["Location"], namespace=namespace)
        assert icon_file.status == 200
        assert icon_file.headers["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}

        signed_in = traffic.sign_in(8000, proxy_client=None, namespace=namespace,
                                    origin="http://example.com")
        assert signed_in.status == 302 and signed_in.headers["Location"] == "/admin/"
        cookies = "; ".join(signed_in.headers.get_all("Set-Cookie"))
        session = re.search(r"sessionid=([^;]+)", cookies).group(1)
        admin = traffic.fetch(8000, "/admin/", namespace=namespace,
                              headers={"Cookie": f"sessionid={session}"})
        assert admin.status == 200
        assert '<a href="/admin/">Example Project</a>' in admin.body
        assert 'href="/admin/accounts/user/"' in admin.body
    finally:
        stop(server)
    logged = log.read_text()
    assert '"GET /favicon.ico HTTP/1.1" 302' in logged, logged
    assert "Not Found" not in logged, logged


@pytest.mark.slow
def test_bin_web_runs_from_the_clone_as_docs_container_says(teammate, namespaces, nginx):
    clone, env, _ = teammate
    steps = readme_block((clone / "docs" / "container.md").read_text(),
                         "## Run `bin/web` without Docker")
    assert steps[-1] == "bin/web"
    namespace = namespaces()
    server = namespace.popen(["bash", "-euo", "pipefail", "-c", "\n".join(steps)], cwd=clone,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        home = wait_for(lambda: traffic.fetch(3000, "/", namespace=namespace), seconds=60)
        assert home.status == 200 and "Example Project is running" in home.body
        css = re.search(r'href="(/static/[^"]+\.css)"', home.body).group(1)
        assert traffic.fetch(3000, css, namespace=namespace).status == 200
    finally:
        stop(server)
    output = server.stdout.read().decode(errors="replace")
    assert server.returncode == 0, output
    assert (clone / "staticfiles" / "exampleapp" / "favicon.ico").is_file()
