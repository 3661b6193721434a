"""Jinja filters for cookiecutter.json, loaded through its `_extensions` (cookiecutter puts
the template folder on sys.path while it renders)."""

import json
import keyword
import sys
from pathlib import Path

from cookiecutter.utils import simple_filter
from slugify import slugify  # python-slugify, a dependency of cookiecutter

MAX_NAME = 40  # as hooks/pre_gen_project.py allows
SUFFIX = "project"
TEMPLATE = Path(__file__).resolve().parent
RESERVED = json.loads((TEMPLATE / "hooks" / "reserved_names.json").read_text("utf-8"))
DEFAULT_APP = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["app_name"]
# The names hooks/pre_gen_project.py refuses for the package, whatever the reason.
TAKEN = set(sys.stdlib_module_names).union(keyword.kwlist, [DEFAULT_APP], *RESERVED.values())


@simple_filter
def package_name(project_name):
    """The slug a project name suggests, shaped to pass the pre-generation hook's rules.

    Its letters and digits in lowercase ASCII ("Café Shop" gives cafeshop), at most
    MAX_NAME of them, with "project" in front of a leading digit ("2048 Game" gives
    project2048game) and after a name the project already uses ("Django" gives
    djangoproject, "Email" emailproject). A name with no letter or digit gives "", which
    the hook refuses.
    """
    slug = slugify(str(project_name), separator="")
    if slug[:1].isdigit():
        slug = SUFFIX + slug
    slug = slug[:MAX_NAME]
    if slug in TAKEN:
        slug = slug[:MAX_NAME - len(SUFFIX)] + SUFFIX
    return slug
