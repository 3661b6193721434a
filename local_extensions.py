"""Jinja filters for cookiecutter.json, loaded through its `_extensions` (cookiecutter puts
the template folder on sys.path while it renders)."""

import hashlib
import json
import keyword
import logging
import sys
from pathlib import Path

from cookiecutter.exceptions import FailedHookException
from cookiecutter.utils import simple_filter
from jinja2 import FileSystemBytecodeCache
from jinja2.ext import Extension
from slugify import slugify  # python-slugify, a dependency of cookiecutter

MAX_NAME = 40  # as hooks/pre_gen_project.py allows
SUFFIX = "project"
TEMPLATE = Path(__file__).resolve().parent
RESERVED = json.loads((TEMPLATE / "hooks" / "reserved_names.json").read_text("utf-8"))
DEFAULT_APP = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))["app_name"]
# The names hooks/pre_gen_project.py refuses for the package, whatever the reason. The
# name comes before the Django series and database are asked, so the modules of every
# requirement set count.
TAKEN = set(sys.stdlib_module_names).union(
    keyword.kwlist, [DEFAULT_APP], RESERVED["app_labels"], RESERVED["project_names"],
    *RESERVED["modules"].values())


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


@simple_filter
def template_path(relative):
    """The absolute path of a file in this template, for the hooks to read data files.

    cookiecutter's context has it as `_repo_dir`, but cruft renders without it.
    """
    return str(TEMPLATE / relative)


class CompiledTemplates(Extension):
    """Keep the Python code Jinja compiles each template file into, for the next bake.

    Jinja's own bytecode cache, in its default folder (private to the user, in the
    system's temporary directory); an entry is used only while the file's text is
    unchanged. It halves the time a repeated bake spends rendering.

    cookiecutter renders more than files: every file and folder name, the answers'
    defaults and the hook scripts, with `from_string`, which Jinja never caches. Those
    strings get the same cache here, keyed by their text: 90 compilations a bake
    otherwise.
    """

    def __init__(self, environment):
        super().__init__(environment)
        if environment.bytecode_cache is None:
            environment.bytecode_cache = FileSystemBytecodeCache()
        cache, compile_string = environment.bytecode_cache, environment.from_string

        def from_string(source, globals=None, template_class=None):
            try:
                text = str(source).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the hook refuses it, uncached
                return compile_string(source, globals, template_class)
            name = hashlib.sha256(text).hexdigest()
            bucket = cache.get_bucket(environment, name, None, source)
            if bucket.code is None:
                bucket.code = environment.compile(source)
                cache.set_bucket(bucket)
            template = template_class or environment.template_class
            return template.from_code(environment, bucket.code,
                                      environment.make_globals(globals), None)

        environment.from_string = from_string


class HookAlreadySaidWhy(logging.Filter):
    """cookiecutter (2.7) logs a failed hook with the traceback of its own hook runner.

    Our hooks print one line a problem before they exit non-zero; the traceback would
    bury them, so that record is dropped. cookiecutter still ends with its own one-line
    "Hook script failed (exit status: 1)". Loaded with the filter above, into the
    process that renders this template only.
    """

    def filter(self, record):
        return not (record.exc_info and isinstance(record.exc_info[1], FailedHookException))


logging.getLogger("cookiecutter.hooks").addFilter(HookAlreadySaidWhy())
