"""Check the answers before cookiecutter writes anything.

Each rule is one row: the field, the test, what is allowed, and an answer that works.
Every broken rule prints one line; any problem stops the bake with exit status 1.
"""

import keyword
import re
import sys

ANSWERS = {
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "app_name": {{ cookiecutter.app_name | tojson }},
    "email": {{ cookiecutter.email | tojson }},
    "domain_name": {{ cookiecutter.domain_name | tojson }},
}

# Names the generated project imports or keeps at its top level: a package with one of
# these names would shadow the real module or collide with the template's own files.
TAKEN_NAMES = set(sys.stdlib_module_names) | {
    "bin", "conf", "dj_database_url", "django", "dotenv", "gunicorn", "psycopg",
    "static", "staticfiles", "templates", "test", "tests",
}

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"{HOST_LABEL}(?:\.{HOST_LABEL})+", re.IGNORECASE)


def identifier_rules(field, example):
    return [
        (field, lambda a: IDENTIFIER.fullmatch(a[field]),
         "must be a lowercase ASCII Python identifier (a-z first, then a-z, 0-9 or _)",
         example),
        (field, lambda a: not keyword.iskeyword(a[field]),
         "must not be a Python keyword", example),
        (field, lambda a: a[field] not in TAKEN_NAMES,
         "must not shadow a module the project imports or a folder it ships", example),
    ]


RULES = [
    *identifier_rules("project_slug", "mysite"),
    *identifier_rules("app_name", "blog"),
    ("app_name", lambda a: a["app_name"] != a["project_slug"],
     "must differ from project_slug", "blog"),
    ("email", lambda a: EMAIL.fullmatch(a["email"]),
     "must be an email address", "you@example.com"),
    ("domain_name", lambda a: DOMAIN.fullmatch(a["domain_name"]),
     "must be a bare host name (no scheme, path, port or spaces)", "example.com"),
]


def problems(answers):
    """One message per field: the first rule it breaks."""
    seen = set()
    for field, passes, rule, example in RULES:
        if field in seen or passes(answers):
            continue
        seen.add(field)
        yield f"{field}: {answers[field]!r} {rule}; for example: {example}"


def main():
    found = list(problems(ANSWERS))
    for message in found:
        print(f"ERROR: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
