"""What the tests read from a baked project's files, once for every module: the
environment variables its code reads (with their defaults), what its manifests declare,
the Dockerfile's instructions, the URL a first-generation link builds, and .env.example's
entries."""

import ast
import re

import yaml
from convox_rules import minimum_postgres

# A default the code computes (say, from another variable): the manifest declares NAME=,
# which the code reads as unset.
COMPUTED = object()

# Set by the rack or the operating system, never by the app's environment.
# PORT from convox.yml's `port:`; RELEASE in every process (convox/convox
# provider/k8s/helpers.go; convox/rack provider/aws/formation/service.json.tmpl and, for
# the first generation, provider/aws/lambda/formation/handler/ecs.go). Resources add
# NAME_URL below.
SET_BY_THE_RACK = {"PORT", "RELEASE"}
SET_BY_THE_SYSTEM = {"TMPDIR", "PWD"}


def _literal(node):
    if isinstance(node, ast.Constant):
        return "" if node.value is None else str(node.value)
    return COMPUTED


def _python_reads(tree):
    """{NAME: default} for os.environ.get / os.getenv / os.environ[...] and env_list()."""
    found = {}
    for node in ast.walk(tree):
        default = None
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            # os.environ.get('NAME') or 'default'
            node, default = node.values[0], _literal(node.values[-1])
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "dj_database_url.config":
            key = ast.Constant("DATABASE_URL")  # dj-database-url's own default variable
        elif isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in (
                "os.environ.get", "os.getenv", "env_list"):
            key = node.args[0]
            if default is None and len(node.args) > 1:
                default = _literal(node.args[1])
        else:
            continue
        # A name passed in (env_list's own body) is counted where env_list is called.
        if isinstance(key, ast.Constant) and (default is not None or key.value not in found):
            found[key.value] = default
    return found


def variables_read(project):
    """Every environment variable the project reads, with the default the code gives it.

    From the Python the container runs (settings, gunicorn.conf.py, the project package)
    and from bin/web. The default is the text used when the variable is unset, None when
    there is none, COMPUTED when the code works it out.
    """
    package = project / project.name
    found = {}
    for path in [project / "gunicorn.conf.py", *sorted(package.glob("*.py"))]:
        for name, default in _python_reads(ast.parse(path.read_text())).items():
            if found.get(name) is None:
                found[name] = default
    script = (project / "bin" / "web").read_text()
    for name, default in re.findall(r"\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}", script):
        if found.get(name) is None:
            found[name] = default or None
    return found


def env_file(project):
    """{NAME: value} of the variables .env lists: its value where set, None where the line
    is commented out (`# NAME=example`, an example to uncomment)."""
    found = {}
    for line in (project / ".env").read_text().splitlines():
        match = re.match(r"^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match and not (match[1] and match[2] in found):
            found[match[2]] = None if match[1] else match[3]
    return found


def declared(manifest_web):
    """{NAME: default or None} from a convox.yml service's environment."""
    entries = (entry.split("=", 1) for entry in manifest_web.get("environment", []))
    return {entry[0]: entry[1] if len(entry) == 2 else None for entry in entries}


def dockerfile_steps(project):
    """The Dockerfile's (KEYWORD, arguments) pairs, continuation lines joined and comments
    dropped: for checks of what it says; test_image.py builds it."""
    logical, pending = [], ""
    for line in (project / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [tuple(line.split(None, 1)) for line in logical]


def load(project, name):
    return yaml.safe_load((project / name).read_text())


def link_url(name, service):
    """The NAME_URL a first-generation link builds (rack pkg/manifest1/service.go,
    linkArgs): a user and password only when the linked service sets one."""
    env = dict(entry.split("=", 1) for entry in service["environment"])
    user = env.get("LINK_USERNAME", ""), env.get("LINK_PASSWORD", "")
    userinfo = f"{user[0]}:{user[1]}@" if any(user) else ""
    return f"{env['LINK_SCHEME']}://{userinfo}{name}:{env['LINK_PORT']}{env.get('LINK_PATH', '')}"


def env_example_entries(text):
    """{name: (reason, value, commented_out)} from .env.example's entries."""
    entries = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line)
        if not match:
            continue
        above = lines[number - 1] if number else ""
        is_prose = above.startswith("# ") and not re.fullmatch(r"# [A-Z][A-Z0-9_]*=.*", above)
        reason = above[2:] if is_prose else ""
        entries[match.group(2)] = (reason, match.group(3), bool(match.group(1)))
    return entries


def assert_convox_yml_declares_every_variable_read(project):
    """Each variable the project reads is in web's environment, with the code's default."""
    manifest = load(project, "convox.yml")
    web = manifest["services"]["web"]
    given = SET_BY_THE_RACK | {f"{name.upper()}_URL" for name in web["resources"]}
    read = {name: default for name, default in variables_read(project).items()
            if name not in given | SET_BY_THE_SYSTEM}
    env = declared(web)
    assert sorted(env) == sorted(read)
    for name, default in read.items():
        if default is COMPUTED:
            assert env[name] == "", f"{name}: the code computes its default; declare {name}="
        elif default:
            assert env[name] == default, f"{name}: the code's default is {default!r}"
    assert env["SECRET_KEY"] is None  # required: no default in the manifest


def assert_readme_lists_every_variable_read(project):
    """docs/configuration.md, which the README links for every variable."""
    reference = (project / "docs" / "configuration.md").read_text()
    assert "(docs/configuration.md)" in (project / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", reference, re.MULTILINE))
    assert table == set(variables_read(project)) - SET_BY_THE_SYSTEM


def pinned_minimum_postgres(project):
    return minimum_postgres((project / "pyproject.toml").read_text())
