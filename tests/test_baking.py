"""Baking: the layout and names a bake produces, and how bad answers are refused."""

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import CUSTOM_ANSWERS, TEMPLATE, make_venv, text_files
from cookiecutter.environment import StrictEnvironment

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
    match = re.search(r"^SECRET_KEY=(.*)$", (project / ".env").read_text(), re.MULTILINE)
    return match.group(1)


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
    assert "<title>{% block title %}Café Shop{% endblock %}</title>" in base
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


def test_hooks_render_to_python_that_passes_ruff(tools, tmp_path):
    context = {"cookiecutter": {**json.loads((TEMPLATE / "cookiecutter.json").read_text()),
                                **CUSTOM_ANSWERS, "project_slug": "cafeshop"}}
    for hook in (TEMPLATE / "hooks").glob("*.py"):
        rendered = StrictEnvironment(context=context).from_string(hook.read_text())
        (tmp_path / hook.name).write_text(rendered.render(**context))
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
    env_file = default_project / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    readers = ["exampleproject/settings.py", "gunicorn.conf.py", "bin/web"]
    read = set()
    for reader in readers:
        text = (default_project / reader).read_text()
        read |= set(re.findall(r"(?:environ\.get|env_list)\('([A-Z_]+)'", text))
        read |= {"DATABASE_URL"} if "dj_database_url.config(" in text else set()
        read |= set(re.findall(r"\$\{([A-Z_]+):-", text))
    read -= {"PORT", "TMPDIR"}  # set by the rack and the system, never by hand
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL"} <= read
    listed = set(re.findall(r"^#? ?([A-Z_]+)=", env_file.read_text(), re.MULTILINE))
    assert read <= listed, read - listed


def test_gitignore_covers_secrets_databases_and_build_output(default_project):
    ignored = (default_project / ".gitignore").read_text().split()
    for entry in (".env", "db.sqlite3", ".venv/", "staticfiles/", "__pycache__/"):
        assert entry in ignored


def error_lines(capfd):
    return [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]


def bake_with_cli(cookiecutter, tmp_path, *answers, **env):
    """Bake as a user does, into a new folder tmp_path/out, with HOME in tmp_path."""
    return subprocess.run(
        [cookiecutter, "--no-input", "--output-dir", tmp_path / "out", TEMPLATE, *answers],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HOME": str(tmp_path), **env},
    )


BAD_ANSWERS = [
    ("project_slug", {"project_slug": "my-site"}),
    ("project_slug", {"project_slug": "my site"}),
    ("project_slug", {"project_slug": "2fast"}),
    ("project_slug", {"project_slug": "MySite"}),
    ("project_slug", {"project_slug": "class"}),
    ("project_slug", {"project_slug": "django"}),
    ("project_slug", {"project_slug": "test"}),
    ("app_name", {"app_name": "my-app"}),
    ("app_name", {"app_name": "Blog"}),
    ("app_name", {"app_name": "import"}),
    ("app_name", {"app_name": "os"}),
    ("app_name", {"app_name": "exampleproject"}),
    ("email", {"email": "not-an-email"}),
    ("email", {"email": "you@localhost"}),
    ("domain_name", {"domain_name": "https://example.com"}),
    ("domain_name", {"domain_name": "example.com/shop"}),
    ("domain_name", {"domain_name": "example.com:8000"}),
    ("domain_name", {"domain_name": "example .com"}),
]


@pytest.mark.parametrize(("field", "answers"), BAD_ANSWERS,
                         ids=[f"{f}={a[f]!r}" for f, a in BAD_ANSWERS])
def test_bad_answer_is_refused_with_one_line_and_nothing_written(bake, capfd, tmpdir, field, answers):
    result = bake(**answers)
    errors = error_lines(capfd)
    assert result.exit_code != 0
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"ERROR: {field}: ")
    assert "for example: " in errors[0]
    leftovers = [p for p in (tmpdir / "cookies").visit() if p.isfile()]
    assert leftovers == []


def test_empty_slug_is_refused_by_the_hook(tools, tmp_path):
    # An empty slug names the output folder itself; pytest-cookies' output folder already
    # exists, and cookiecutter would refuse it before the hook runs. Bake into a new one.
    done = bake_with_cli(tools["cookiecutter"], tmp_path, "project_slug=")
    assert done.returncode != 0
    assert "ERROR: project_slug: '' must be a lowercase ASCII Python identifier" in done.stderr
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
def cookiecutter_without_django(tmp_path_factory):
    """cookiecutter as pipx or `uv tool` install it: alone, with no Django beside it."""
    python = make_venv(tmp_path_factory.mktemp("cookiecutter-only"), "cookiecutter==2.7.1")
    assert subprocess.run([python, "-c", "import django"], capture_output=True).returncode
    return python.parent / "cookiecutter"


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


@pytest.mark.slow
def test_bake_without_django_and_offline_explains_and_leaves_nothing(
        cookiecutter_without_django, tmp_path):
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    done = bake_with_cli(cookiecutter_without_django, tmp_path, **offline)
    assert done.returncode != 0
    assert "ERROR: startapp needs Django==5.2." in done.stderr
    assert "pip install 'Django==5.2." in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
