"""Baking: the layout and names a bake produces, and how bad answers are refused."""

import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    COOKIECUTTER,
    CUSTOM_ANSWERS,
    TEMPLATE,
    UV,
    make_venv,
    path_with_pythons,
    require,
    text_files,
)
from cookiecutter.environment import StrictEnvironment
from project_files import SET_BY_THE_RACK, SET_BY_THE_SYSTEM, env_file, variables_read

STARTPROJECT_FILES = [
    "manage.py",
    "{slug}/__init__.py",
    "{slug}/settings.py",
    "{slug}/urls.py",
    "{slug}/wsgi.py",
    "{slug}/asgi.py",
]
STARTAPP_FILES = [
    "{app}/__init__.py",
    "{app}/admin.py",
    "{app}/apps.py",
    "{app}/migrations/__init__.py",
    "{app}/models.py",
    "{app}/tests.py",
    "{app}/views.py",
]


def secret_key(project):
    return env_file(project)["SECRET_KEY"]


def test_default_bake_uses_the_seed_names_in_the_startproject_layout(default_project):
    assert default_project.name == "exampleproject"
    for pattern in STARTPROJECT_FILES + STARTAPP_FILES + ["exampleapp/static/exampleapp/style.css"]:
        assert (default_project / pattern.format(slug="exampleproject", app="exampleapp")).is_file()


def test_custom_bake_uses_every_answer(custom_project):
    assert custom_project.name == "cafeshop"  # "Café Shop", made ASCII
    for pattern in STARTPROJECT_FILES + STARTAPP_FILES:
        assert (custom_project / pattern.format(slug="cafeshop", app="orders")).is_file()
    settings = (custom_project / "cafeshop" / "settings.py").read_text()
    assert "'orders'," in settings
    assert "'shop.cafe.example,localhost" in settings
    assert "FROM python:3.12-slim-" in (custom_project / "Dockerfile").read_text()
    base = (custom_project / "templates" / "base.html").read_text()
    assert CUSTOM_ANSWERS["project_name"] in re.search(r"<title>(.*?)</title>", base).group(1)
    home = (custom_project / "templates" / "home.html").read_text()
    assert "Coffee, &lt;b&gt;ordered&lt;/b&gt; online" in home


def test_no_cookiecutter_syntax_is_left_in_generated_files(project):
    for path, text in text_files(project):
        assert "cookiecutter" not in text, path
        if path.parent.name == "templates" and path.suffix == ".html":
            # Django templates keep Django's own tags, such as {% static %}.
            continue
        if path.parent.name == "workflows":
            # GitHub Actions expressions, such as ${{ secrets.CONVOX_RACK }}.
            text = re.sub(r"\$\{\{ [^{}]+ \}\}", "", text)
        assert "{{" not in text and "{%" not in text, path


def test_generated_python_passes_ruff_with_the_project_settings(project, tools):
    done = subprocess.run([tools["ruff"], "check", "."], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def render_hook(name, directory, **answers):
    """hooks/<name>.py rendered as cookiecutter renders it, written into directory."""
    defaults = {key: value[0] if isinstance(value, list) and not key.startswith("_")
                else value  # a choice: its first; _extensions stays a list
                for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()}
    context = {"cookiecutter": {**defaults, "project_slug": "exampleproject", **answers}}
    source = (TEMPLATE / "hooks" / f"{name}.py").read_text()
    rendered = directory / f"{name}.py"
    rendered.write_text(StrictEnvironment(context=context).from_string(source).render(**context))
    return rendered


def test_hooks_render_to_python_that_passes_ruff(tools, tmp_path):
    for hook in ("pre_gen_project", "post_gen_project"):
        render_hook(hook, tmp_path, **{**CUSTOM_ANSWERS, "project_slug": "cafeshop"})
    done = subprocess.run([tools["ruff"], "check", "--isolated", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_every_bake_gets_its_own_long_env_safe_secret_key(bake, default_project):
    other = bake().project_path
    first, second = secret_key(default_project), secret_key(other)
    assert first != second
    for key in (first, second):
        assert len(key) >= 50 and len(set(key)) >= 20
        assert not set(key) & set("$'\"`\\# \t"), key


def test_secret_key_stays_out_of_the_replay_file(default_project, _cookiecutter_config_file):
    replay_dir = Path(yaml.safe_load(Path(_cookiecutter_config_file).read_text())["replay_dir"])
    replay_files = list(replay_dir.glob("*.json"))
    assert replay_files, "cookiecutter wrote no replay file"
    key = secret_key(default_project)
    for replay in replay_files:
        assert key not in replay.read_text()


def test_env_file_is_private_and_lists_every_variable_the_project_reads(default_project):
    assert stat.S_IMODE((default_project / ".env").stat().st_mode) == 0o600
    read = set(variables_read(default_project)) - SET_BY_THE_RACK - SET_BY_THE_SYSTEM
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL"} <= read
    listed = set(env_file(default_project))
    assert read <= listed, read - listed


def test_gitignore_covers_secrets_databases_and_build_output(default_project):
    ignored = (default_project / ".gitignore").read_text().split()
    for entry in (".env", "db.sqlite3", ".venv/", "staticfiles/", "__pycache__/"):
        assert entry in ignored


def error_lines(capfd):
    return [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]


def bake_with_cli(cookiecutter, tmp_path, *answers, **env):
    """Bake as a user does, into a new folder tmp_path/out, with HOME in tmp_path (uv's
    cache stays the machine's, as a user's stays theirs)."""
    return subprocess.run(
        [cookiecutter, "--no-input", "--output-dir", tmp_path / "out", TEMPLATE, *answers],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HOME": str(tmp_path), "UV_CACHE_DIR": UV_CACHE, **env},
    )


UV_CACHE = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
NO_UV_NOTE = ("uv is not installed, so there is no uv.lock yet: the first `uv sync` writes it,"
              " with the same tested versions")


def test_bake_writes_a_lock_of_the_tested_versions_that_uv_accepts(default_project, tools):
    """uv beside cookiecutter locks the bake; `uv lock --locked` then finds nothing to change."""
    done = subprocess.run([UV, "lock", "--locked", "--offline"], cwd=default_project,
                          capture_output=True, text=True,
                          env={**os.environ, "UV_CACHE_DIR": UV_CACHE,
                               "PATH": path_with_pythons()})
    assert done.returncode == 0, done.stderr
    assert "version = 1" in (default_project / "uv.lock").read_text()


@pytest.mark.slow
def test_offline_bake_without_uv_cache_writes_no_lock_and_says_the_first_sync_will(
        tools, tmp_path):
    empty_cache = tmp_path / "empty-uv-cache"
    done = bake_with_cli(tools["cookiecutter"], tmp_path, UV_OFFLINE="1",
                         UV_CACHE_DIR=str(empty_cache))
    assert done.returncode == 0, done.stderr
    baked = tmp_path / "out" / "exampleproject"
    assert (baked / "pyproject.toml").is_file() and not (baked / "uv.lock").exists()
    note = done.stdout.strip().splitlines()[-1]
    assert note.startswith("uv could not write uv.lock (") and note.endswith(
        "the first `uv sync` writes it, with the same tested versions."), note


@pytest.mark.slow
def test_bake_with_uv_and_no_django_runs_startapp_through_uv(tools, tmp_path, default_project,
                                                           cookiecutter_without_django):
    """cookiecutter alone (as `uvx cookiecutter` runs it), uv named by UV as uvx names it."""
    done = bake_with_cli(cookiecutter_without_django, tmp_path, UV=str(UV))
    assert done.returncode == 0, done.stderr
    baked = tmp_path / "out" / "exampleproject"
    for pattern in STARTAPP_FILES:
        name = pattern.format(app="exampleapp")
        assert (baked / name).read_bytes() == (default_project / name).read_bytes(), name
    assert (baked / "uv.lock").is_file()


@pytest.mark.slow
def test_django_6_1_bake_on_python_3_11_finds_a_newer_python_for_startapp(
        cookiecutter_without_django, tmp_path):
    """cookiecutter on 3.11, no uv, no python3.12 that runs on PATH (pyenv's shims fail for
    versions it has not selected): the hook finds pyenv's own 3.12 or later."""
    import combinations

    newest = combinations.python_for("6.1")
    require(newest and "/.pyenv/versions/" in os.path.realpath(newest),
            "a Python 3.12 or later installed by pyenv")
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    done = bake_with_cli(cookiecutter_without_django, tmp_path, "django_version=6.1",
                         PYENV_ROOT=pyenv)
    assert done.returncode == 0, done.stderr
    baked = tmp_path / "out" / "exampleproject"
    assert (baked / "exampleapp" / "apps.py").is_file()
    assert done.stdout.strip().endswith(NO_UV_NOTE + " (https://docs.astral.sh/uv/)."), done.stdout


def test_empty_slug_is_refused_by_the_hook(tools, tmp_path):
    # An empty slug names the output folder itself; pytest-cookies' output folder already
    # exists, and cookiecutter would refuse it before the hook runs. Bake into a new one.
    done = bake_with_cli(tools["cookiecutter"], tmp_path, "project_slug=")
    assert done.returncode != 0
    assert "ERROR: project_slug: '' must be a lowercase ASCII Python identifier" in done.stderr
    assert not any((tmp_path / "out").rglob("*"))


def test_a_refusal_prints_the_hooks_lines_and_no_traceback(tools, tmp_path):
    done = bake_with_cli(tools["cookiecutter"], tmp_path, "app_name=auth", "email=nope")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert [line.split(":")[1] for line in done.stderr.splitlines()] == [" app_name", " email"]
    # Beside the hook's lines, only cookiecutter's own closing line.
    assert done.stdout.splitlines() == ["Hook script failed (exit status: 1)"]
    assert not any((tmp_path / "out").rglob("*"))


def test_bad_answers_in_several_fields_give_one_line_each(bake, capfd):
    result = bake(project_slug="my-site", email="nope", domain_name="http://x.com")
    errors = error_lines(capfd)
    assert result.exit_code != 0
    assert [line.split(":")[1].strip() for line in errors] == ["project_slug", "email", "domain_name"]


def test_bake_helper_refuses_answers_the_template_does_not_ask(bake):
    with pytest.raises(KeyError, match="projct_slug"):
        bake(projct_slug="typo")


@pytest.fixture(scope="session")
def cookiecutter_without_django():
    """cookiecutter as pipx or `uv tool` install it: alone, with no Django beside it."""
    python = make_venv(f"{COOKIECUTTER}\n")
    assert subprocess.run([python, "-c", "import django"], capture_output=True).returncode
    return python.parent / "cookiecutter"


def bake_6_1_without_pythons(cookiecutter, tmp_path, **env):
    """Bake Django 6.1 as a user with no Python but cookiecutter's: PATH holds only its
    folder, HOME is new, and no PYENV_ROOT or UV points elsewhere."""
    kept = {key: value for key, value in os.environ.items() if key not in {"PYENV_ROOT", "UV"}}
    done = subprocess.run(
        [cookiecutter, "--no-input", "--output-dir", tmp_path / "out", TEMPLATE,
         "django_version=6.1"], capture_output=True, text=True, timeout=300,
        env={**kept, "PATH": str(Path(cookiecutter).parent), "HOME": str(tmp_path), **env})
    assert done.returncode != 0
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.fixture(scope="module")
def cookiecutter_on_3_11():
    """cookiecutter alone on Python 3.11, the oldest the template offers, which Django 6.1
    does not run on, whatever Python runs the tests."""
    import combinations

    base = combinations.interpreter("3.11")
    require(base, "Python 3.11 (python3.11 on PATH, or under pyenv)")
    return make_venv(f"{COOKIECUTTER}\n", base=base).parent / "cookiecutter"


@pytest.mark.slow
def test_a_series_no_python_here_runs_is_refused_in_one_line_naming_it(
        cookiecutter_on_3_11, tmp_path):
    error = bake_6_1_without_pythons(cookiecutter_on_3_11, tmp_path)
    assert error.startswith("ERROR: startapp needs Django==6.1.")
    assert "runs on Python 3.12 or later; Python 3.11 is the newest here" in error


@pytest.mark.slow
def test_a_series_uv_finds_no_python_for_is_refused_in_one_line_naming_it(
        cookiecutter_on_3_11, tmp_path):
    """uv beside cookiecutter, no Python 3.12 here and uv's downloads off: uv's own reason."""
    error = bake_6_1_without_pythons(cookiecutter_on_3_11, tmp_path, UV=str(UV),
                                     UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=UV_CACHE)
    assert re.fullmatch(r"ERROR: startapp needs Django==6\.1\.\d+ on Python 3\.12 or later, and "
                        r"uv could not run it \(error: .*\)\. Get online \(uv fetches both\), or "
                        r"install Django==6\.1\.\d+ beside cookiecutter, then bake again\.",
                        error), error


@pytest.mark.slow
def test_bake_without_django_fetches_the_pinned_django_for_startapp(
        cookiecutter_without_django, default_project, tmp_path):
    done = bake_with_cli(cookiecutter_without_django, tmp_path)
    assert done.returncode == 0, done.stderr
    baked = tmp_path / "out" / "exampleproject"
    for pattern in STARTAPP_FILES:
        name = pattern.format(app="exampleapp")
        assert (baked / name).read_bytes() == (default_project / name).read_bytes(), name
    assert len(secret_key(baked)) >= 50
    assert NO_UV_NOTE in done.stdout and not (baked / "uv.lock").exists()


@pytest.mark.slow
def test_bake_without_django_and_offline_explains_and_leaves_nothing(
        cookiecutter_without_django, tmp_path):
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    done = bake_with_cli(cookiecutter_without_django, tmp_path, **offline)
    assert done.returncode != 0
    assert "ERROR: startapp needs Django==5.2." in done.stderr
    assert "pip install 'Django==5.2." in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def rule_lines(stderr):
    """The hooks' own error lines: `ERROR: <field>: ...` (cookiecutter adds one of its own)."""
    return [line for line in stderr.splitlines() if re.match(r"ERROR: \w+: ", line)]


def snapshot(folder):
    return {path: (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def baked_with_cli(tools, tmp_path):
    """A default bake in tmp_path/out, made by the CLI, to re-bake over."""
    done = bake_with_cli(tools["cookiecutter"], tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "out" / "exampleproject"


def test_rebake_keeps_the_env_file_and_the_app_and_says_so(tools, tmp_path, baked_with_cli):
    env_file, models = baked_with_cli / ".env", baked_with_cli / "exampleapp" / "models.py"
    lock = baked_with_cli / "uv.lock"
    env_file.write_text(env_file.read_text() + "DATABASE_URL=postgres://me@db/mine\n")
    models.write_text(models.read_text() + "\n\nclass Order(models.Model):\n    pass\n")
    lock.write_text(lock.read_text() + "# the team's lock\n")
    kept = {path: path.read_bytes() for path in (env_file, models, lock)}

    done = bake_with_cli(tools["cookiecutter"], tmp_path, "--overwrite-if-exists")

    assert done.returncode == 0, done.stderr
    assert "Kept the existing .env as it is" in done.stdout
    assert "Kept the existing app exampleapp/ as it is" in done.stdout
    assert "Kept the existing uv.lock as it is" in done.stdout
    assert {path: path.read_bytes() for path in kept} == kept
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_refused_rebake_leaves_the_existing_project_untouched(tools, tmp_path, baked_with_cli):
    before = snapshot(baked_with_cli)
    done = bake_with_cli(tools["cookiecutter"], tmp_path, "--overwrite-if-exists",
                         "app_name=admin")
    assert done.returncode != 0
    assert [line.split(":")[1].strip() for line in rule_lines(done.stderr)] == ["app_name"]
    assert snapshot(baked_with_cli) == before


def app_less_copy(project, tmp_path):
    """A baked project as cookiecutter leaves it for the post-generation hook: no .env,
    and an app folder holding only the template's static/ folder."""
    copy = tmp_path / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".env", "__pycache__"))
    for path in (copy / "exampleapp").iterdir():
        if path.name != "static":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return copy


def test_env_file_is_created_private_not_narrowed_afterwards(default_project, tmp_path):
    project = app_less_copy(default_project, tmp_path)
    hook = render_hook("post_gen_project", tmp_path)
    # Under umask 0 a file made with the default mode is world-readable until a chmod; an
    # audit hook sees every chmod the hook makes.
    watch = (
        "import os, runpy, sys\n"
        "os.umask(0)\n"
        "sys.addaudithook(lambda event, args: event == 'os.chmod' and print(*args))\n"
        f"sys.argv = [{str(hook)!r}]\n"
        f"runpy.run_path({str(hook)!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", watch], cwd=project, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert ".env" not in done.stdout  # startapp makes its own files writable: that is fine
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600
    assert secret_key(project)


def limit_file_size():
    """Writes past 16 bytes fail with EFBIG, as on a full or read-only disk they fail."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))


POST_GEN_FAILURES = [
    # (what, app already made, full disk, app_name, the one line expected)
    ("app on a full disk", False, True, "exampleapp",
     r"ERROR: could not make the app: File too large \(/.*/exampleapp\S*\)"),
    (".env on a full disk", True, True, "exampleapp",
     r"ERROR: could not write \.env: File too large \(/.*/\.env\)"),
    ("startapp refusing", False, False, "not-valid",
     r"ERROR: startapp refused 'not-valid': 'not-valid' is not a valid app name\. .*"),
]


@pytest.mark.parametrize(("app_made", "disk_full", "app_name", "expected"),
                         [row[1:] for row in POST_GEN_FAILURES],
                         ids=[row[0] for row in POST_GEN_FAILURES])
def test_post_generation_failure_is_one_line_naming_its_cause(
        default_project, tmp_path, app_made, disk_full, app_name, expected):
    project = app_less_copy(default_project, tmp_path)
    if app_made:
        shutil.copytree(default_project / "exampleapp", project / "exampleapp",
                        dirs_exist_ok=True)
    # The fast path: this interpreter has the pinned Django, as the test dependencies pin it.
    hook = render_hook("post_gen_project", tmp_path, app_name=app_name)
    done = subprocess.run([sys.executable, hook], cwd=project, capture_output=True, text=True,
                          preexec_fn=limit_file_size if disk_full else None)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert re.fullmatch(expected, done.stderr.strip()), done.stderr


@pytest.mark.slow
def test_startapp_refusal_without_django_is_reported_as_a_refusal(
        cookiecutter_without_django, default_project, tmp_path):
    # The hook's slow path: Django installed in a throwaway virtualenv, then startapp there;
    # and with no pip beside cookiecutter (pipx, `uv tool`), the virtualenv's own.
    project = app_less_copy(default_project, tmp_path)
    hook = render_hook("post_gen_project", tmp_path, app_name="not-valid")
    without_pip = ("import runpy, sys; sys.modules['pip'] = None; "
                   "runpy.run_path(sys.argv[1], run_name='__main__')")
    done = subprocess.run([cookiecutter_without_django.with_name("python"), "-c", without_pip,
                           hook], cwd=project, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    refusal = ("ERROR: startapp refused 'not-valid': 'not-valid' is not a valid app name. "
               "Please make sure the name is a valid identifier.")
    assert done.stderr.splitlines() == [refusal]


@pytest.mark.slow
def test_rebake_without_django_and_offline_keeps_the_app(
        cookiecutter_without_django, baked_with_cli, tmp_path):
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    done = bake_with_cli(cookiecutter_without_django, tmp_path, "--overwrite-if-exists", **offline)
    assert done.returncode == 0, done.stderr
    assert "Kept the existing app exampleapp/ as it is" in done.stdout


def test_convox_commands_name_the_app_without_underscores(bake):
    # Kubernetes namespaces (v3 racks name one RACK-APP) and CloudFormation stack names
    # (v2 racks) allow letters, digits and dashes: `coffee_shop` is the app `coffee-shop`.
    project = bake(project_slug="coffee_shop").project_path
    readme = (project / "README.md").read_text()
    apps = (re.findall(r"convox apps create ([a-z][\w-]*)", readme)
            + re.findall(r" -a ([\w-]+)", readme))
    assert apps and set(apps) == {"coffee-shop"}
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["jobs"]["deploy"]["env"]["APP"] == "coffee-shop"


@pytest.mark.slow
def test_startapp_refusal_through_uv_is_reported_as_a_refusal(cookiecutter_without_django,
                                                              default_project, tmp_path):
    project = app_less_copy(default_project, tmp_path)
    hook = render_hook("post_gen_project", tmp_path, app_name="not-valid")
    done = subprocess.run([cookiecutter_without_django.with_name("python"), hook], cwd=project,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "UV": str(UV), "UV_CACHE_DIR": UV_CACHE})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        ("ERROR: startapp refused 'not-valid': 'not-valid' is not a valid app name. "
         "Please make sure the name is a valid identifier.")]
