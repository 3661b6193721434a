"""Jinja filters for cookiecutter.json, loaded through its `_extensions` (cookiecutter puts
the template folder on sys.path while it renders)."""

import json
import keyword
import logging
import sys
from pathlib import Path

from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import simple_filter
from slugify import slugify  # python-slugify, a dependency of cookiecutter

MAX_NAME = 40  # as hooks/pre_gen_project.py allows
SUFFIX = "project"
TEMPLATE = Path(__file__).resolve().parent
# The slug of a name with no letter or digit. Not "": cookiecutter names the project's
# folder after the slug before the pre-generation hook runs, and an empty name is the
# output folder itself, which exists, so cookiecutter would stop with `Error: "."
# directory already exists` before the hook could say why. Not an identifier, so the hook
# refuses it; cookiecutter removes the folder it made for it.
NO_SLUG = "(none)"
RESERVED = json.loads((TEMPLATE / "hooks" / "reserved_names.json").read_text("utf-8"))
DEFAULT_APP = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["app_name"]
# The names hooks/pre_gen_project.py refuses for the package, whatever the reason. The
# name comes before the Django series and database are asked, so the modules of every
# requirement set count.
TAKEN = set(sys.stdlib_module_names).union(
    keyword.kwlist, [DEFAULT_APP], RESERVED["app_labels"], RESERVED["project_names"],
    RESERVED["convox_apps"], *RESERVED["modules"].values())


@simple_filter
def package_name(project_name):
    """The slug a project name suggests, shaped to pass the pre-generation hook's rules.

    Its letters and digits in lowercase ASCII ("Café Shop" gives cafeshop), at most
    MAX_NAME of them, with "project" in front of a leading digit ("2048 Game" gives
    project2048game) and after a name the project already uses ("Django" gives
    djangoproject, "Email" emailproject). A name with no letter or digit gives NO_SLUG,
    which the hook refuses, naming the project name.
    """
    slug = slugify(str(project_name), separator="")
    if not slug:
        return NO_SLUG
    if slug[:1].isdigit():
        slug = SUFFIX + slug
    slug = slug[:MAX_NAME]
    if slug in TAKEN:
        slug = slug[:MAX_NAME - len(SUFFIX)] + SUFFIX
    return slug


@simple_filter
def template_path(relative):
    """The absolute path of a file in this template, for the hooks to read data files.

    cookiecutter's context has it as `_repo_dir`, but cruft renders without it.
    """
    return str(TEMPLATE / relative)


class HookAlreadySaidWhy(logging.Filter):
    """cookiecutter (2.7) logs a failed hook with the traceback of its own hook runner.

    Our hooks print one line a problem before they exit non-zero; the traceback would
    bury them, so that record is dropped. cookiecutter still ends with its own one-line
    "Hook script failed (exit status: 1)". Loaded with the filters above, into the
    process that renders this template only.
    """

    def filter(self, record):
        return not (record.exc_info and isinstance(record.exc_info[1], FailedHookException))


logging.getLogger("cookiecutter.hooks").addFilter(HookAlreadySaidWhy())
