"""Every answer either bakes a project that works or is refused in one line.

CATALOGUE is the specification: an answer, and either BAKES (the project passes `check`)
or the field each broken rule names (one line each, nothing written, a non-zero exit).
One accepted answer of each kind, given a model with a long name, also passes its own
tests (on SQLite), migrates on PostgreSQL, and shows the answer on its home page exactly
as typed.

Answers reach the templates as a person types them at cookiecutter's prompts: through a
replay file. `--no-input` answers are rendered as Jinja first; typed ones are not.
"""

import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import tomllib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from html.parser import HTMLParser
from multiprocessing import get_context
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE, check_answers
from cookiecutter.exceptions import FailedHookException
from cookiecutter.generate import generate_context
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from preloaded import Preloaded

BAKES = ()
RESERVED = json.loads((TEMPLATE / "hooks" / "reserved_names.json").read_text())
PYTHON_VERSIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
LABEL_63 = "a" * 63

CATALOGUE = [
    # (kind, answers, the field of each broken rule; BAKES when it must bake)
    ("keyword", {"project_slug": "class"}, ("project_slug",)),
    ("keyword", {"app_name": "import"}, ("app_name",)),
    ("keyword", {"app_name": "match"}, BAKES),  # a soft keyword is a name like any other
    ("keyword", {"project_name": "Lambda Shop"}, BAKES),
    ("dashes", {"project_slug": "my-site"}, ("project_slug",)),
    ("dashes", {"app_name": "my-app"}, ("app_name",)),
    ("dashes", {"project_name": "my-site--two"}, BAKES),
    ("uppercase", {"project_slug": "MySite"}, ("project_slug",)),
    ("uppercase", {"app_name": "Blog"}, ("app_name",)),
    ("uppercase", {"project_name": "MY SHOP"}, BAKES),
    ("non-ASCII", {"project_name": "Café Shop", "author_name": "Zoë O'Brien"}, BAKES),
    ("non-ASCII", {"project_name": "Ñandú Señor"}, BAKES),
    ("non-ASCII", {"project_name": "日本語 App"}, BAKES),
    ("non-ASCII", {"project_name": "Привет мир", "description": "Ünïcödé façade"}, BAKES),
    ("non-ASCII", {"project_slug": "café"}, ("project_slug",)),
    ("non-ASCII", {"app_name": "blög"}, ("app_name",)),
    ("emoji", {"project_name": "Rocket 🚀", "description": "Ship it 🚢🎉 👩‍💻"}, BAKES),
    ("emoji", {"author_name": "🦄 Unicorn"}, BAKES),
    ("emoji", {"project_name": "🚀"}, ("project_slug",)),  # no letter to make a slug from
    ("no letter or digit", {"project_name": "!!! ---"}, ("project_slug",)),
    ("no letter or digit", {"project_name": "🚀", "project_slug": "rocket"}, BAKES),
    ("RTL", {"project_name": "مشروع جديد", "description": "שלום עולם"}, BAKES),
    ("RTL", {"description": "\u200fمرحبا\u200e mixed עברית text"}, BAKES),
    ("quotes", {"project_name": "Zoë's \"Quoted\" Shop",
                "description": "It's a 'test' with \"quotes\" and `backticks`"}, BAKES),
    ("quotes", {"description": "‘curly’ “double” «guillemets» „low“"}, BAKES),
    ("quotes", {"author_name": "O'Brien \"Ace\" D'Arcy"}, BAKES),
    ("HTML", {"project_name": "<script>alert(1)</script> Shop",
              "description": "<b>bold</b> & <i>it</i> &amp; &lt; </p></main>"}, BAKES),
    ("HTML", {"project_name": "Tom & Jerry's <Shop>"}, BAKES),
    ("HTML", {"author_name": "<img src=x onerror=alert(1)>"}, BAKES),
    ("YAML specials", {"project_name": "yes", "description": "null"}, BAKES),
    ("YAML specials", {"project_name": "- item: &anchor *alias !tag", "author_name": "~"}, BAKES),
    ("YAML specials", {"description": "key: value # not a comment --- ..."}, BAKES),
    ("shell specials", {"project_name": "$(id) `whoami`; rm -rf ~"}, BAKES),
    ("shell specials", {"description": "$HOME && echo hi | cat > /tmp/x 2>&1 \\ *"}, BAKES),
    ("shell specials", {"author_name": "a\\b\\c $PATH"}, BAKES),
    # Convox routes host names: an Ingress host on v3, a listener rule on v2.
    ("IP domain", {"domain_name": "192.168.1.10"}, ("domain_name",)),
    ("IP domain", {"domain_name": "::1"}, ("domain_name",)),
    ("IP domain", {"domain_name": "192.168.1.10.nip.io"}, BAKES),
    ("IP domain", {"domain_name": "[::1]"}, ("domain_name",)),
    ("IP domain", {"domain_name": "10.0.0.1:8000"}, ("domain_name",)),
    ("IDN domain", {"domain_name": "xn--bcher-kva.example"}, BAKES),
    ("IDN domain", {"domain_name": "bücher.example"}, ("domain_name",)),
    ("domain", {"domain_name": "https://example.com"}, ("domain_name",)),
    ("domain", {"domain_name": "example.com/shop"}, ("domain_name",)),
    ("domain", {"domain_name": "example .com"}, ("domain_name",)),
    ("domain", {"domain_name": "shop.example.com"}, BAKES),
    # Kubernetes takes lowercase Ingress hosts only; the refusal names the lowercase form.
    ("uppercase domain", {"domain_name": "Example.COM"}, ("domain_name",)),
    ("uppercase domain", {"domain_name": "SHOP.example.com"}, ("domain_name",)),
    ("uppercase domain", {"domain_name": "shop-2.example.com"}, BAKES),
    # No host name ends in an all-digit label, and YAML reads 123.456 as a number.
    ("numeric domain", {"domain_name": "123.456"}, ("domain_name",)),
    ("numeric domain", {"domain_name": "shop.example.123"}, ("domain_name",)),
    ("numeric domain", {"domain_name": "2048.io"}, BAKES),
    ("numeric domain", {"domain_name": "123.456.example"}, BAKES),
    ("email", {"email": "you+django@example.com"}, BAKES),
    ("email", {"email": "zoë@bücher.example"}, BAKES),
    ("email", {"email": "not-an-email"}, ("email",)),
    ("email", {"email": "you@localhost"}, ("email",)),
    ("empty", {"description": "", "author_name": ""}, BAKES),
    ("empty", {"project_name": ""}, ("project_name", "project_slug")),
    ("empty", {"project_name": "   "}, ("project_name", "project_slug")),
    ("empty", {"app_name": ""}, ("app_name",)),
    ("empty", {"email": ""}, ("email",)),
    ("empty", {"domain_name": ""}, ("domain_name",)),
    ("empty", {"python_version": ""}, ("python_version",)),
    *(("app label", {"app_name": label}, ("app_name",)) for label in RESERVED["app_labels"]),
    ("app label", {"project_slug": "auth"}, ("project_slug",)),
    *(("installed module", {"app_name": name}, ("app_name",))
      for name in RESERVED["modules"]["5.2 postgresql"]),  # the default answers' set
    ("installed module", {"project_slug": "psycopg"}, ("project_slug",)),
    ("cookiecutter's module", {"app_name": "jinja2"}, BAKES),
    ("cookiecutter's module", {"app_name": "arrow"}, BAKES),
    ("cookiecutter's module", {"app_name": "click"}, BAKES),
    ("cookiecutter's module", {"app_name": "rich"}, BAKES),
    ("cookiecutter's module", {"project_slug": "requests"}, BAKES),
    ("cookiecutter's module", {"project_slug": "cookiecutter", "app_name": "slugify"}, BAKES),
    ("standard library", {"app_name": "os"}, ("app_name",)),
    ("standard library", {"app_name": "email"}, ("app_name",)),
    ("standard library", {"project_slug": "json"}, ("project_slug",)),
    # sys.stdlib_module_names leaves out the test suite, which the python images delete.
    ("standard library", {"project_slug": "test"}, BAKES),
    ("project's own name", {"app_name": "templates"}, ("app_name",)),
    ("project's own name", {"project_slug": "bin"}, ("project_slug",)),
    ("project's own name", {"app_name": "venv"}, ("app_name",)),
    ("project's own name", {"app_name": "exampleproject"}, ("app_name",)),
    ("long", {"app_name": "a" * 40, "project_slug": "s" * 40}, BAKES),
    ("long", {"app_name": "a" * 41}, ("app_name",)),
    ("long", {"app_name": "a" * 200}, ("app_name",)),
    ("long", {"project_slug": "s" * 41}, ("project_slug",)),
    # The Convox app name (dashes for underscores) is a Kubernetes namespace's RACK-APP.
    ("Convox app name", {"project_slug": "my_site"}, BAKES),
    ("Convox app name", {"project_slug": "my_site_"}, ("project_slug",)),
    ("Convox app name", {"project_slug": "rack"}, ("project_slug",)),
    ("Convox app name", {"project_slug": "system"}, ("project_slug",)),
    ("Convox app name", {"project_name": "System"}, BAKES),  # systemproject
    ("Convox app name", {"project_slug": "s_" * 20}, ("project_slug",)),
    ("long", {"project_name": "Long name " * 10, "description": "d" * 300}, BAKES),
    ("long", {"project_name": "x" * 10_000}, ("project_name",)),
    ("long", {"description": "d" * 301}, ("description",)),
    ("long", {"author_name": "a" * 101}, ("author_name",)),
    ("long", {"email": "a" * 243 + "@example.com"}, ("email",)),
    # webmaster@ the domain is the sender's address, of at most 254 characters: 244 left.
    ("long", {"domain_name": f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'d' * 52}"}, BAKES),
    ("long", {"domain_name": f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'d' * 53}"}, ("domain_name",)),
    ("long", {"domain_name": f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'d' * 62}"}, ("domain_name",)),
    ("long", {"domain_name": f"{LABEL_63}a.example"}, ("domain_name",)),
    ("control character", {"project_name": "Two\nLines"}, ("project_name",)),
    ("control character", {"description": "tab\there"}, ("description",)),
    ("control character", {"author_name": "nul\x00byte"}, ("author_name",)),
    ("control character", {"description": "esc \x1b[31mred"}, ("description",)),
    ("control character", {"description": "line\u2028separator"}, ("description",)),
    ("control character", {"project_name": "next\x85line", "author_name": "bell\x07"},
     ("project_name", "author_name")),
    ("control character", {"email": "you@example.com\r\nBcc: x@y.z"}, ("email", "email")),
    ("control character", {"description": "lone \ud800 surrogate"}, ("description",)),
    ("template syntax", {"project_name": "{{ request.META }}",
                         "description": "{% block content %} {% if %}"}, BAKES),
    ("template syntax", {"project_name": "{% load static %}{% static 'x' %}"}, BAKES),
    ("template syntax", {"description": "{{ settings.SECRET_KEY }} {# note #} {% verbatim %}"},
     BAKES),
    ("template syntax", {"project_name": "Shop {{", "description": "{ } {{{ }}} %} #}"}, BAKES),
    ("python_version", {"python_version": "3.11"}, BAKES),
    ("python_version", {"python_version": "3.9"}, ("python_version",)),
    ("python_version", {"python_version": "3.10"}, ("python_version",)),  # end of life
    ("python_version", {"python_version": "3.12\nRUN curl https://x.example | sh"},
     ("python_version",)),
    ("leading digit", {"project_name": "2048 Game"}, BAKES),
    ("leading digit", {"project_name": "3D Printer Shop"}, BAKES),
    ("leading digit", {"project_name": "1984"}, BAKES),
    ("leading digit", {"project_slug": "2fast"}, ("project_slug",)),
    # A name whose slug the project already uses gets a suffix: djangoproject.
    ("name of a taken slug", {"project_name": "Django"}, BAKES),
    ("name of a taken slug", {"project_name": "Class"}, BAKES),
    ("name of a taken slug", {"project_name": "Admin"}, BAKES),
    ("name of a taken slug", {"project_name": "Email"}, BAKES),
    ("name of a taken slug", {"project_name": "Templates"}, BAKES),
    ("name of a taken slug", {"project_name": "Example App"}, BAKES),
    ("name of a taken slug", {"project_name": "Typing Extensions"}, BAKES),
    ("several fields", {"project_slug": "my-site", "email": "nope", "domain_name": "http://x.com"},
     ("project_slug", "email", "domain_name")),
]
ACCEPTED = [(kind, answers) for kind, answers, refused in CATALOGUE if refused is BAKES]
REFUSED = [(kind, answers, refused) for kind, answers, refused in CATALOGUE if refused]


def row_id(kind, answers):
    shown = ",".join(f"{key}={value[:20]!r}" for key, value in answers.items())
    return f"{kind}:{shown}"


def typed(answers):
    """The whole context, as cookiecutter makes it from these answers typed at its prompts.

    cookiecutter renders each default (the slug from the name); {% raw %} keeps the
    answers themselves as typed. Choices (python_version, ...) skip that: cookiecutter
    would check them itself, and the test is whether the hook does.
    """
    check_answers(answers)
    choices = {key for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text())
               .items() if isinstance(value, list)}
    literal = {key: "{% raw %}" + value + "{% endraw %}"
               for key, value in answers.items() if key not in choices}
    context = generate_context(context_file=str(TEMPLATE / "cookiecutter.json"),
                               extra_context=literal)
    context = dict(prompt_for_config(context, no_input=True))
    return {**context, **{key: answers[key] for key in answers.keys() & choices}}


def bake_as_typed(answers, output_dir, config_file):
    """Bake through a replay file; returns the project folder."""
    replay = output_dir.parent / f"{output_dir.name}-replay" / "answers.json"
    replay.parent.mkdir(parents=True)
    replay.write_text(json.dumps({"cookiecutter": typed(answers)}))
    return Path(cookiecutter(str(TEMPLATE), replay=str(replay), output_dir=str(output_dir),
                             config_file=config_file))


@pytest.mark.parametrize(("kind", "answers", "refused"), REFUSED,
                         ids=[row_id(kind, answers) for kind, answers, _ in REFUSED])
def test_refused_answer_prints_one_line_per_broken_rule_and_writes_nothing(
        kind, answers, refused, tmp_path, capfd, _cookiecutter_config_file):
    # A new folder: an empty slug names the output folder itself, which must not exist.
    output_dir = tmp_path / "out"
    with pytest.raises(FailedHookException):  # the CLI exits 1 on it
        bake_as_typed(answers, output_dir, _cookiecutter_config_file)
    stderr = capfd.readouterr().err
    lines = stderr.splitlines()
    assert all(line.startswith("ERROR: ") for line in lines), stderr
    assert sorted(line.split(":")[1].strip() for line in lines) == sorted(refused), stderr
    assert all("; for example: " in line for line in lines), stderr
    assert not output_dir.exists() or list(output_dir.iterdir()) == []


def test_catalogue_covers_every_kind_with_enough_rows():
    assert len(CATALOGUE) >= 80
    kinds = {kind for kind, _, _ in CATALOGUE}
    assert {kind for kind, _ in ACCEPTED} >= kinds - {"app label", "installed module",
                                                       "standard library", "project's own name",
                                                       "control character", "several fields"}


@pytest.mark.slow
def test_reserved_names_match_what_the_pinned_requirements_install(tmp_path):
    """A new pin that brings a module, or a new app, fails here until the file is rewritten."""
    spec = importlib.util.spec_from_file_location("reserved_names",
                                                  TEMPLATE / "hooks" / "reserved_names.py")
    reserved_names = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reserved_names)
    assert reserved_names.derive(reserved_names.interpreters(tmp_path)) == RESERVED, (
        "run `python hooks/reserved_names.py` and commit hooks/reserved_names.json")


@pytest.fixture(scope="session")
def accepted_projects(tmp_path_factory, _cookiecutter_config_file):
    """Every accepted answer, baked once, in two processes (a bake changes the working
    folder while its hooks run, so threads would not do): {row id: (typed answers,
    project folder)}."""
    jobs = [(answers, tmp_path_factory.mktemp("accepted"), _cookiecutter_config_file)
            for _, answers in ACCEPTED]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        folders = list(pool.map(bake_as_typed, *zip(*jobs)))
    return {row_id(kind, answers): (typed(answers), folder)
            for (kind, answers), folder in zip(ACCEPTED, folders)}


@pytest.fixture(scope="session")
def preloaded(project_python):
    """Two Django command servers (preloaded.py) in the default bake's virtualenv: every
    accepted bake pins the same requirements."""
    with Preloaded(project_python) as first, Preloaded(project_python) as second:
        yield [first, second]


def two_at_a_time(preloaded, work, items):
    """work(server, item) for every item, on the two servers at once, in order."""
    servers = queue.Queue()
    for server in preloaded:
        servers.put(server)

    def each(item):
        server = servers.get()
        try:
            return work(server, item)
        finally:
            servers.put(server)

    with ThreadPoolExecutor(max_workers=len(preloaded)) as pool:
        return list(pool.map(each, items))


@pytest.fixture(scope="session")
def checked(accepted_projects, preloaded):
    """`manage.py check` of every accepted bake."""
    def check(server, project):
        return server.run(project, ["check", "--fail-level", "WARNING"], check=False)
    projects = [project for _, project in accepted_projects.values()]
    return dict(zip(accepted_projects, two_at_a_time(preloaded, check, projects)))


@pytest.mark.slow
@pytest.mark.parametrize("row", [row_id(kind, answers) for kind, answers in ACCEPTED])
def test_accepted_answer_bakes_a_project_that_passes_check(row, accepted_projects, checked):
    answers, project = accepted_projects[row]
    done = checked[row]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    # The files that hold free text still parse, and the README's title is one line.
    tomllib.loads((project / "pyproject.toml").read_text())
    for manifest in ("convox.yml", "docker-compose.yml"):
        yaml.safe_load((project / manifest).read_text())
    assert (project / "README.md").read_text().splitlines()[0] == f"# {answers['project_name']}"
    assert f"FROM python:{answers['python_version']}-slim" in (project / "Dockerfile").read_text()


# A model with a long name in the app, so its table name is as long as answers make it.
MODEL = "PurchaseOrderLineItemsWithALongModelName"  # 40 characters
MODEL_SOURCE = f"""
from django.conf import settings


class {MODEL}(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=200, unique=True)
"""
# Run by the project's interpreter: a row in the new table, then the home page, through
# Django's test client.
PAGE_PROBE = """
import json, os, sys
import django
os.environ['DJANGO_SETTINGS_MODULE'] = sys.argv[1] + '.settings'
django.setup()
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
model = apps.get_model(sys.argv[2], sys.argv[3])
model.objects.create(owner=get_user_model().objects.create(username='owner'), title='first')
response = Client().get('/', secure=True)
print(json.dumps({'status': response.status_code, 'page': response.content.decode(),
                  'table': model._meta.db_table, 'rows': model.objects.count()}))
"""
ONE_OF_EACH_KIND = list({kind: row_id(kind, answers) for kind, answers in reversed(ACCEPTED)}
                        .values())


@pytest.fixture(scope="session")
def on_postgres(accepted_projects, preloaded, fresh_database, tmp_path_factory):
    """One accepted bake of each kind, with a model added: its own tests on SQLite, then
    migrated on a new PostgreSQL database and its page read through the test client.
    {row id: (answers, probe result)}."""
    def migrate_and_read(django, row):
        answers, baked = accepted_projects[row]
        project = tmp_path_factory.mktemp("postgres") / baked.name
        shutil.copytree(baked, project)
        with (project / answers["app_name"] / "models.py").open("a") as models:
            models.write(MODEL_SOURCE)
        env = {"DEBUG": "true",
               "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{fresh_database()}"}
        try:
            django.run(project, ["makemigrations", answers["app_name"]], env)
            # The project's own tests, on SQLite: its migrations, the new one included.
            django.run(project, ["test", "--noinput"])
            django.run(project, ["migrate", "--noinput"], env)
            probe = django.run(project, ["-c", PAGE_PROBE, answers["project_slug"],
                                         answers["app_name"], MODEL], env)
        except AssertionError as failed:  # reported by the row's own test
            return answers, {"failed": str(failed)}
        return answers, json.loads(probe.stdout)

    return dict(zip(ONE_OF_EACH_KIND,
                    two_at_a_time(preloaded, migrate_and_read, ONE_OF_EACH_KIND)))


class PageText(HTMLParser):
    """The text of each element, as a browser shows it (references decoded)."""

    def __init__(self, page):
        super().__init__()
        self.open, self.texts = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.open.append([tag, ""])

    def handle_data(self, data):
        if self.open:
            self.open[-1][1] += data

    def handle_endtag(self, tag):
        while self.open:
            name, text = self.open.pop()
            self.texts.append((name, re.sub(r"[ \t\n\r\f]+", " ", text).strip()))
            if name == tag:
                break

    def first(self, tag):
        return next(text for name, text in self.texts if name == tag)


def as_shown(text):
    """HTML shows a run of spaces as one."""
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip()


@pytest.mark.slow
@pytest.mark.parametrize("row", ONE_OF_EACH_KIND)
def test_accepted_answer_passes_its_tests_migrates_on_postgresql_and_shows_as_typed(
        row, on_postgres):
    answers, result = on_postgres[row]
    assert "failed" not in result, result.get("failed")
    assert result["rows"] == 1
    assert len(result["table"]) <= 63, result["table"]
    assert result["status"] == 200
    page = PageText(result["page"])
    assert page.first("title") == as_shown(answers["project_name"])
    assert page.first("h1") == as_shown(f"{answers['project_name']} is running")
    assert page.first("p") == as_shown(answers["description"])


MESSAGES = [
    # (answers, the one line the hook prints, after "ERROR: ")
    ({"app_name": "admin"},
     ("app_name: 'admin' is the label of django.contrib.admin, which settings.py installs;"
      " Django needs app labels to be unique; for example: blog")),
    ({"app_name": "sqlparse"},
     (f"app_name: 'sqlparse' is a module of {RESERVED['modules']['5.2 postgresql']['sqlparse']},"
      " which the project installs (pyproject.toml); a package of that name would shadow it;"
      " for example: blog")),
    ({"project_slug": "pluggy"},
     (f"project_slug: 'pluggy' is a module of {RESERVED['modules']['5.2 postgresql']['pluggy']},"
      " which the project installs (pyproject.toml); a package of that name would shadow it;"
      " for example: mysite")),
    ({"project_slug": "json"},
     ("project_slug: 'json' collides with a module of the Python standard library of that"
      " name; for example: mysite")),
    ({"app_name": "env"},
     "app_name: 'env' is a name the project's .gitignore keeps out of git; for example: blog"),
    ({"domain_name": "bücher.example"},
     ("domain_name: 'bücher.example' must be written in ASCII, as the xn-- form of an"
      " international name (xn--bcher-kva.example); for example: example.com")),
    ({"project_name": "x" * 10_000},
     (f"project_name: {'x' * 40!r}... (10000 characters) must be at most 100 characters;"
      " for example: Example Project")),
    ({"domain_name": "Shop.Example.com"},
     ("domain_name: 'Shop.Example.com' must be lowercase (shop.example.com): v3 racks put it"
      " into a Kubernetes Ingress host, which is lowercase only; for example: example.com")),
    ({"domain_name": "192.168.1.10"},
     ("domain_name: '192.168.1.10' is an IP address; Convox routes a service by its host name"
      " only; for example: example.com")),
    ({"domain_name": "123.456"},
     ("domain_name: '123.456' ends with the all-digit label '456', which no host name has"
      " (and YAML reads a name like 123.456 as a number); for example: example.com")),
    ({"domain_name": f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'d' * 53}"},
     (f"domain_name: {LABEL_63[:40]!r}... (245 characters) must be at most 244 characters:"
      " the sender address made of it (webmaster@..., settings.py and convox.yml) may have"
      " 254; for example: example.com")),
    ({"project_slug": "my_site_"},
     ("project_slug: 'my_site_' ends with '_', so its Convox app name 'my-site-' ends with"
      " '-', which the Kubernetes namespace a v3 rack makes of it (RACK-my-site-) may not;"
      " for example: mysite")),
    ({"project_slug": "system"},
     ("project_slug: 'system' would make the Convox app 'system', a name v3 racks keep for"
      " themselves; for example: mysite")),
    ({"project_name": "!!!"},
     ("project_slug: '(none)' could not be made from project_name '!!!', which has no letter"
      " or digit: type a slug; for example: mysite")),
    ({"python_version": "3.12\nRUN sh"},
     (f"python_version: '3.12\\nRUN sh' must be one of {', '.join(PYTHON_VERSIONS)};"
      f" for example: {PYTHON_VERSIONS[0]}")),
]


@pytest.mark.parametrize(("answers", "line"), MESSAGES, ids=[line[:24] for _, line in MESSAGES])
def test_refusal_names_what_the_answer_collides_with(answers, line, tmp_path, capfd,
                                                      _cookiecutter_config_file):
    with pytest.raises(FailedHookException):
        bake_as_typed(answers, tmp_path / "out", _cookiecutter_config_file)
    assert capfd.readouterr().err.splitlines() == [f"ERROR: {line}"]


def test_a_name_with_no_letter_or_digit_is_refused_by_the_hook_in_the_current_folder(
        tools, tmp_path):
    """As a user bakes: into the folder they are in. An empty slug would name that folder
    itself, and cookiecutter would stop with `Error: "." directory already exists` before
    the hook could say why."""
    here = tmp_path / "here"
    here.mkdir()
    done = subprocess.run([tools["cookiecutter"], "--no-input", TEMPLATE, "project_name=!!!"],
                          cwd=here, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        ("ERROR: project_slug: '(none)' could not be made from project_name '!!!', which has"
         " no letter or digit: type a slug; for example: mysite")]
    assert done.stdout.splitlines() == ["Hook script failed (exit status: 1)"]
    assert list(here.iterdir()) == []


def test_the_longest_domain_accepted_still_makes_sender_addresses_django_accepts(bake):
    from django.core.validators import validate_email

    domain = f"{LABEL_63}.{LABEL_63}.{LABEL_63}.{'d' * 52}"
    result = bake(domain_name=domain)
    assert result.exit_code == 0, result.exception
    senders = {address for path in result.project_path.rglob("*") if path.is_file()
               and path.suffix in {".py", ".yml", ".example", ".md"}
               for address in re.findall(r"\b\w+@" + re.escape(domain), path.read_text())}
    assert senders  # settings.py's DEFAULT_FROM_EMAIL and SERVER_EMAIL, and the manifests'
    for address in senders:
        assert len(address) <= 254, address
        validate_email(address)
