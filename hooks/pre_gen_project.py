"""Check the answers before cookiecutter writes anything.

Each rule is one row: the field, the check, and an answer that works. A check returns
what is wrong, or None. Every broken rule prints one line; any problem stops the bake
with exit status 1.
"""

import ipaddress
import json
import keyword
import os
import re
import sys
import unicodedata

# `string` first: a replay file may hold any JSON value, and the templates render str().
RENDERED = {
    "project_name": {{ cookiecutter.project_name | string | tojson }},
    "project_slug": {{ cookiecutter.project_slug | string | tojson }},
    "app_name": {{ cookiecutter.app_name | string | tojson }},
    "description": {{ cookiecutter.description | string | tojson }},
    "author_name": {{ cookiecutter.author_name | string | tojson }},
    "email": {{ cookiecutter.email | string | tojson }},
    "domain_name": {{ cookiecutter.domain_name | string | tojson }},
    "python_version": {{ cookiecutter.python_version | string | tojson }},
    "django_version": {{ cookiecutter.django_version | string | tojson }},
    "database": {{ cookiecutter.database | string | tojson }},
    "background_tasks": {{ cookiecutter.background_tasks | string | tojson }},
    "media_storage": {{ cookiecutter.media_storage | string | tojson }},
    "error_reports": {{ cookiecutter.error_reports | string | tojson }},
}
# tojson writes a character beyond U+FFFF (an emoji) as two surrogates: join them again.
ANSWERS = {
    field: value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    for field, value in RENDERED.items()
}
TEMPLATE = {{ "." | template_path | tojson }}
# What the slug filter gives for a name with no letter or digit (local_extensions.py).
NO_SLUG = {{ "" | package_name | tojson }}


def template_json(*path):
    with open(os.path.join(TEMPLATE, *path), encoding="utf-8") as file:
        return json.load(file)


# Written by hooks/reserved_names.py from the tested versions, settings.py and the
# template's own files; a test keeps it in step with them.
RESERVED = template_json("hooks", "reserved_names.json")
# The choices the prompts offer; a replay file could hold anything.
CHOICES = template_json("cookiecutter.json")
PYTHON_VERSIONS = CHOICES["python_version"]
# Each adds packages to pyproject.toml, with modules of their own (reserved_names.json).
OPTION_QUESTIONS = ("background_tasks", "media_storage", "error_reports")
# The oldest Python each Django series runs on: its Requires-Python, as
# hooks/tested_versions.py found it.
DJANGO_PYTHON = template_json("hooks", "django_python.json")

# Django names tables `<app>_<model>` and PostgreSQL keeps 63 bytes of a name (MySQL 64):
# 40 leaves a model name 22 characters before Django shortens the table name with a hash.
# The slug also names the example PostgreSQL database in .env.
MAX_NAME = 40
# Free text is a title or a line on the home page, not a document.
MAX_TEXT = {"project_name": 100, "description": 300, "author_name": 100}
MAX_EMAIL = 254  # RFC 5321: a path of 256 octets, angle brackets included
MAX_DOMAIN = 253  # RFC 1035, written without the final dot; 63 a label
# The sender settings.py, .env.example and convox.yml make from the domain
# (DEFAULT_FROM_EMAIL, SERVER_EMAIL): it must be an address too, so the domain is held to
# the shorter of the two limits.
SENDER = "webmaster@"
MAX_DOMAIN_NAME = min(MAX_DOMAIN, MAX_EMAIL - len(SENDER))

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"{HOST_LABEL}(?:\.{HOST_LABEL})+", re.IGNORECASE)
# Control characters (newline, tab, NUL, ESC, DEL...), line and paragraph separators,
# and lone surrogates, which no file can hold as UTF-8.
NOT_ONE_LINE = {"Cc", "Zl", "Zp", "Cs"}


def unless(passes, problem):
    """A check that reports `problem` when `passes(value, answers)` is false."""
    return lambda value, answers: None if passes(value, answers) else problem


def one_line(value, answers):
    for char in value:
        if unicodedata.category(char) in NOT_ONE_LINE:
            return f"must be one line of text; it holds the control character U+{ord(char):04X}"
    return None


def at_most(limit):
    return unless(lambda value, answers: len(value) <= limit, f"must be at most {limit} characters")


def taken(value, answers):
    """What already answers to this name in the generated project, if anything."""
    if value in RESERVED["app_labels"]:
        return (f"is the label of {RESERVED['app_labels'][value]}, which settings.py installs;"
                " Django needs app labels to be unique")
    modules = {}
    requirement_set = f"{answers['django_version']} {answers['database']}"
    for group in [requirement_set, *(f"{requirement_set} + {answers[question]}"
                                     for question in OPTION_QUESTIONS)]:
        modules.update(RESERVED["modules"].get(group, {}))
    if value in modules:
        return (f"is a module of {modules[value]}, which the project installs"
                " (pyproject.toml); a package of that name would shadow it")
    if value in sys.stdlib_module_names:
        return "collides with a module of the Python standard library of that name"
    if value in RESERVED["project_names"]:
        return f"is {RESERVED['project_names'][value]}"
    return None


def convox_app(slug):
    """The Convox app name the README and CI use: an app name allows no `_`."""
    return slug.replace("_", "-")


def convox_app_name(value, answers):
    """The app name is a DNS label: a v3 rack makes the namespace RACK-APP of it
    (convox/convox provider/k8s/app.go, AppNamespace), which may not end with `-`.
    MAX_NAME keeps it to 40 characters, leaving a rack name 22 of the 63 a label has."""
    app = convox_app(value)
    if app.endswith("-"):
        return (f"ends with '_', so its Convox app name {app!r} ends with '-', which the"
                f" Kubernetes namespace a v3 rack makes of it (RACK-{app}) may not")
    if app in RESERVED["convox_apps"]:
        return f"would make the Convox app {app!r}, {RESERVED['convox_apps'][app]}"
    return None


def not_made(value, answers):
    if value == NO_SLUG:
        return (f"could not be made from project_name {shown(answers['project_name'])},"
                " which has no letter or digit: type a slug")
    return None


def made(check):
    """A slug rule that has nothing to add when there was no name to make the slug from."""
    return lambda value, answers: None if value == NO_SLUG else check(value, answers)


def version(text):
    return tuple(int(part) for part in text.split("."))


def python_runs_django(value, answers):
    """The image's Python is one the chosen Django series supports."""
    oldest = DJANGO_PYTHON.get(answers["django_version"])
    if oldest is None or value not in PYTHON_VERSIONS or version(value) >= version(oldest):
        return None  # an unknown answer has a rule of its own
    return f"is too old for Django {answers['django_version']}, which needs Python {oldest} or later"


def one_of(field):
    choices = CHOICES[field]
    return unless(lambda value, answers: value in choices, f"must be one of {', '.join(choices)}")


def ascii_domain(value, answers):
    if value.isascii():
        return None
    try:
        example = value.encode("idna").decode("ascii")
    except UnicodeError:
        example = "xn--bcher-kva.example"
    return f"must be written in ASCII, as the xn-- form of an international name ({example})"


def is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def lowercase_domain(value, answers):
    """v3 racks copy `domain:` into the Ingress host unchanged (convox/convox
    provider/k8s/template/app/ingress.yml.tmpl), and Kubernetes takes lowercase only."""
    if value.isascii() and value != value.lower():
        return (f"must be lowercase ({value.lower()}): v3 racks put it into a Kubernetes"
                " Ingress host, which is lowercase only")
    return None


def host_name(value, answers):
    """Convox routes a host name: a listener rule and certificate on v2 racks, an Ingress
    host on v3. An IP address is neither, and a name never ends in an all-digit label."""
    if not DOMAIN.fullmatch(value):
        return None  # the rule above says what is wrong
    if is_ip(value):
        return "is an IP address; Convox routes a service by its host name only"
    top = value.rsplit(".", 1)[-1]
    if top.isdigit():
        return (f"ends with the all-digit label {top!r}, which no host name has (and YAML"
                " reads a name like 123.456 as a number)")
    return None


def domain_length(value, answers):
    if len(value) <= MAX_DOMAIN_NAME:
        return None
    return (f"must be at most {MAX_DOMAIN_NAME} characters: the sender address made of it"
            f" ({SENDER}..., settings.py and convox.yml) may have {MAX_EMAIL}")


def identifier_rules(field, example):
    return [
        (field, unless(lambda value, answers: IDENTIFIER.fullmatch(value),
                       "must be a lowercase ASCII Python identifier (a-z first, then a-z, 0-9 or _)"),
         example),
        (field, at_most(MAX_NAME), example),
        (field, unless(lambda value, answers: not keyword.iskeyword(value),
                       "is a Python keyword"), example),
        (field, taken, example),
    ]


def text_rules(field, example):
    return [
        (field, one_line, example),
        (field, at_most(MAX_TEXT[field]), example),
    ]


RULES = [
    (
        "project_name",
        unless(lambda value, answers: value.strip(), "must not be empty"),
        "Example Project",
    ),
    *text_rules("project_name", "Example Project"),
    ("project_slug", not_made, "mysite"),
    *((field, made(check), example)
      for field, check, example in identifier_rules("project_slug", "mysite")),
    ("project_slug", made(convox_app_name), "mysite"),
    *identifier_rules("app_name", "blog"),
    ("app_name", unless(lambda value, answers: value != answers["project_slug"],
                        "must differ from project_slug"), "blog"),
    *text_rules("description", "A Django project that deploys on Convox."),
    *text_rules("author_name", "Zoë O'Brien"),
    ("email", unless(lambda value, answers: EMAIL.fullmatch(value),
                     "must be an email address"), "you@example.com"),
    ("email", one_line, "you@example.com"),
    ("email", at_most(MAX_EMAIL), "you@example.com"),
    ("domain_name", ascii_domain, "example.com"),
    ("domain_name", unless(lambda value, answers: not value.isascii() or DOMAIN.fullmatch(value),
                           "must be a bare host name (no scheme, path, port or spaces;"
                           " labels of at most 63 characters)"), "example.com"),
    ("domain_name", domain_length, "example.com"),
    ("domain_name", lowercase_domain, "example.com"),
    ("domain_name", host_name, "example.com"),
    ("django_version", one_of("django_version"), CHOICES["django_version"][0]),
    ("python_version", one_of("python_version"), PYTHON_VERSIONS[0]),
    ("python_version", python_runs_django, PYTHON_VERSIONS[0]),
    ("database", one_of("database"), CHOICES["database"][0]),
    *((question, one_of(question), CHOICES[question][0]) for question in OPTION_QUESTIONS),
]


def shown(value):
    """The answer, quoted on one line, and short enough to read."""
    if len(value) <= 60:
        return repr(value)
    return f"{value[:40]!r}... ({len(value)} characters)"


def problems(answers):
    for field, check, example in RULES:
        value = answers[field]
        problem = check(value, answers)
        if problem:
            yield f"{field}: {shown(value)} {problem}; for example: {example}"


def main():
    found = list(problems(ANSWERS))
    for message in found:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
