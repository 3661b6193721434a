"""The rules Convox applies to its two manifests, written as tables.

`check_compose` takes a parsed docker-compose.yml (generation 1, settings in `convox.*`
labels); `check_convox_yml` takes a parsed convox.yml (today's racks). Both return one
line per problem, starting with where it is; an empty list means the manifest passes.

Both also refuse a PostgreSQL older than the pinned Django accepts: pass
`minimum_postgres=minimum_postgres(pyproject_text)`.

`load_convox_yml(text, env)` reads convox.yml the way both racks' `manifest.Load` does
with the app's environment: `${NAME}` interpolated, required variables checked, and each
service's domains as the router gets them (`service_domains`).
"""

import math
import re
from collections.abc import Callable
from typing import NamedTuple

import yaml

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PORTS = range(1, 65536)

# The oldest PostgreSQL each Django series accepts (its release notes; from 4.2 on, the
# backend's DatabaseFeatures.minimum_database_version, which raises NotSupportedError).
DJANGO_MINIMUM_POSTGRES = {
    (4, 2): 12,
    (5, 0): 12,
    (5, 1): 13,
    (5, 2): 14,
    (6, 0): 14,
    (6, 1): 15,
}

# A `Django==X.Y.Z` line of a requirements file, or an entry of pyproject.toml's dependencies.
DJANGO_PIN = re.compile(r'^\s*"?Django==(\d+)\.(\d+)(?:\.\d+)*"?,?\s*$', re.MULTILINE | re.IGNORECASE)


def pinned_django_series(requirements_text: str) -> tuple[int, int]:
    """(major, minor) of the `Django==X.Y.Z` pin in pyproject.toml (or a requirements file)."""
    match = DJANGO_PIN.search(requirements_text)
    if not match:
        raise ValueError("no Django==X.Y.Z pin")
    return int(match[1]), int(match[2])


def minimum_postgres(requirements_text: str) -> int:
    """The oldest PostgreSQL major version the pinned Django accepts."""
    series = pinned_django_series(requirements_text)
    if series not in DJANGO_MINIMUM_POSTGRES:
        raise ValueError(
            f"Django {series[0]}.{series[1]} is not in DJANGO_MINIMUM_POSTGRES: add its minimum"
            " PostgreSQL (django/db/backends/postgresql/features.py, minimum_database_version)"
        )
    return DJANGO_MINIMUM_POSTGRES[series]


def _major(version) -> int | None:
    match = re.match(r"(\d+)", str(version))
    return int(match[1]) if match else None


def _is_int(value) -> bool:
    # YAML reads `true` as a bool, and Python counts a bool as an int.
    return isinstance(value, int) and not isinstance(value, bool)


def _environment(where: str, env, mapping_ok: bool) -> list[str]:
    """Entries are `NAME` (required) or `NAME=default`; compose also takes a mapping."""
    if mapping_ok and isinstance(env, dict):
        names = {f"{where}.{name}": name for name in env}
    elif isinstance(env, list):
        names = {
            f"{where}[{i}]": entry.split("=", 1)[0] if isinstance(entry, str) else entry
            for i, entry in enumerate(env)
        }
    else:
        shape = "a list or a mapping" if mapping_ok else "a list"
        return [f"{where}: must be {shape} of NAME or NAME=value entries"]
    return [
        f"{at}: {name!r} is not a valid variable name (want NAME or NAME=value)"
        for at, name in names.items()
        if not (isinstance(name, str) and ENV_NAME.fullmatch(name))
    ]


def _mapping(where: str, value) -> tuple[dict, list[str]]:
    """A section that maps names to settings; absent counts as empty."""
    if value is None:
        return {}, []
    if isinstance(value, dict):
        return value, []
    return {}, [f"{where}: must be a mapping"]


# ---------------------------------------------------------------------------
# Generation 1: docker-compose.yml with convox.* labels
# ---------------------------------------------------------------------------

COMPOSE_VERSIONS = ("2", "2.0", "2.1", "2.2")

# "HOST:CONTAINER" or a bare container port, with the optional protocol Docker allows.
PORT_MAPPING = re.compile(r"(?:(?P<host>\d+):)?(?P<container>\d+)(?:/(?:tcp|udp))?")

CRON_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{3,29}")


class Ports(NamedTuple):
    balancer: set[int]  # the host side: what the service's load balancer listens on
    container: set[int]


# A label check gets the value as text and the service's ports; it returns a complaint.
LabelCheck = Callable[[str, Ports], str | None]


def one_of(*choices: str) -> LabelCheck:
    def check(value, _ports):
        return None if value in choices else f"is not one of {', '.join(choices)}"

    return check


def integer(lo: float = -math.inf, hi: float = math.inf) -> LabelCheck:
    def check(value, _ports):
        if not re.fullmatch(r"-?\d+", value):
            return "is not an integer"
        return None if lo <= int(value) <= hi else f"is out of range {lo}..{hi}"

    return check


BOOLEAN = one_of("true", "false")


def _url_path(value, _ports):
    return None if value.startswith("/") else "must start with '/'"


def _declared_container_port(value, ports):
    if value.isdigit() and int(value) in ports.container:
        return None
    return f"is not a container port in ports {sorted(ports.container)}"


def aws_day_fields_agree(fields: list[str]) -> bool:
    """AWS cron: "?" in exactly one of day-of-month (3rd field) and day-of-week (5th)."""
    return (fields[2] == "?") != (fields[4] == "?")


def _cron_entry(value, _ports):
    fields = value.split(maxsplit=5)
    if len(fields) < 6:
        return "must be five cron fields followed by a command"
    if not aws_day_fields_agree(fields):
        return "must have '?' in exactly one of day-of-month and day-of-week"
    return None


# Every convox.* label generation 1 reads: key pattern -> check of its value.
# In a key, (?P<port>) must be a balancer port of the service and (?P<cron>) a task name.
LABEL_RULES: dict[str, LabelCheck] = {
    r"convox\.port\.(?P<port>\d+)\.protocol": one_of("tcp", "tls", "http", "https"),
    r"convox\.port\.(?P<port>\d+)\.(proxy|secure)": BOOLEAN,
    r"convox\.health\.path": _url_path,
    r"convox\.health\.port": _declared_container_port,
    r"convox\.health\.timeout": integer(0, 60),
    r"convox\.health\.interval": integer(5, 300),
    r"convox\.health\.threshold\.(healthy|unhealthy)": integer(2, 10),
    r"convox\.cron\.(?P<cron>.*)": _cron_entry,
    r"convox\.draining\.timeout": integer(1, 3600),
    r"convox\.idle\.timeout": integer(1, 3600),
    # The same bounds today's racks enforce; the ECS defaults (50, 200) sit inside them.
    r"convox\.deployment\.minimum": integer(0, 100),
    r"convox\.deployment\.maximum": integer(100, 200),
    r"convox\.start\.shift": integer(),
    r"convox\.(environment\.secure|agent|balancer)": BOOLEAN,
}


def _label_key_problem(match: re.Match, ports: Ports) -> str | None:
    parts = match.groupdict()
    if parts.get("port") and int(parts["port"]) not in ports.balancer:
        return f"names a port that is not a balancer (host) port in ports {sorted(ports.balancer)}"
    if "cron" in parts and not CRON_NAME.fullmatch(parts["cron"]):
        return f"has a task name that does not match {CRON_NAME.pattern}"
    return None


def _compose_ports(where: str, entries) -> tuple[Ports, list[str]]:
    ports, problems = Ports(set(), set()), []
    if not isinstance(entries, list):
        return ports, [f"{where}: must be a list"]
    for i, entry in enumerate(entries):
        plain = isinstance(entry, str) or _is_int(entry)
        match = PORT_MAPPING.fullmatch(str(entry)) if plain else None
        if not match:
            problems.append(
                f'{where}[{i}]: {entry!r} must be "HOST:CONTAINER" or a container port'
            )
            continue
        container = int(match["container"])
        host = int(match["host"] or container)  # a bare port listens on the same number
        if host not in PORTS or container not in PORTS:
            problems.append(f"{where}[{i}]: {entry!r} is out of range 1..65535")
        ports.balancer.add(host)
        ports.container.add(container)
    return ports, problems


def _label_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _compose_labels(where: str, labels) -> tuple[dict[str, str], list[str]]:
    if isinstance(labels, dict):
        return {str(k): _label_text(v) for k, v in labels.items()}, []
    if not isinstance(labels, list):
        return {}, [f"{where}: must be a list of key=value entries or a mapping"]
    found, problems = {}, []
    for i, entry in enumerate(labels):
        key, equals, value = entry.partition("=") if isinstance(entry, str) else ("", "", "")
        if not equals:
            problems.append(f'{where}[{i}]: {entry!r} must be "key=value"')
        elif key in found:
            # Convox refuses a list that sets a key twice instead of keeping the last one.
            problems.append(f"{where}[{i}]: {key} is set twice")
        else:
            found[key] = value
    return found, problems


def _label_rule(key: str) -> tuple[re.Match | None, LabelCheck | None]:
    for pattern, check in LABEL_RULES.items():
        if match := re.fullmatch(pattern, key):
            return match, check
    return None, None


def _convox_labels(where: str, labels: dict[str, str], ports: Ports) -> list[str]:
    problems = []
    for key, value in labels.items():
        if not key.startswith("convox."):
            continue
        match, check = _label_rule(key)
        if match is None:
            problems.append(f"{where}: {key} is not a known convox label")
            continue
        if complaint := _label_key_problem(match, ports):
            problems.append(f"{where}: {key} {complaint}")
        if complaint := check(value, ports):
            problems.append(f"{where}: {key}={value} {complaint}")
    return problems


def _links(where: str, links, services: dict) -> list[str]:
    if not isinstance(links, list):
        return [f"{where}: must be a list of service names"]
    problems = []
    for link in links:
        name = str(link).split(":", 1)[0]  # "service:alias" links to service
        if name not in services:
            problems.append(f"{where}: {name} is not a service in this file")
        elif not (services[name] or {}).get("ports"):
            # Convox builds LINK_URL from the linked service's port.
            problems.append(f"{where}: {name} declares no ports, so it cannot be linked")
    return problems


# The first generation interpolates $$, $NAME and ${NAME} only (rack pkg/manifest1/
# interpolate.go): ${NAME:-default}, ${NAME-default} and ${NAME:?error} stay literal.
COMPOSE_ONLY_INTERPOLATION = re.compile(r"(?<!\$)\$\{[A-Za-z0-9_]*[^A-Za-z0-9_}][^}]*\}")

# What a linked service must declare for the rack to build NAME_URL with a scheme, user,
# password and database (rack pkg/manifest1/service.go, linkArgs; provider/aws/releases.go).
LINK_VARIABLES = ("LINK_SCHEME", "LINK_USERNAME", "LINK_PASSWORD", "LINK_PATH", "LINK_PORT")

# convox/postgres, the image older Convox examples link, is PostgreSQL 9.6 (2018).
OLD_POSTGRES_IMAGES = {"convox/postgres": 9}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _interpolation(where: str, service) -> list[str]:
    return [
        f"{where}: {found!r} stays literal on the first generation, which reads only"
        " ${NAME}: put the local value in .env"
        for text in _strings(service)
        for found in COMPOSE_ONLY_INTERPOLATION.findall(text)
    ]


def _environment_names(env) -> set[str]:
    if isinstance(env, dict):
        return set(map(str, env))
    if isinstance(env, list):
        return {str(entry).split("=", 1)[0] for entry in env}
    return set()


def _postgres_image(where: str, service: dict, minimum: int | None) -> list[str]:
    image = str(service.get("image") or "")
    name, _, tag = image.partition(":")
    if not image:
        return []
    if minimum is not None and name in OLD_POSTGRES_IMAGES:
        version = OLD_POSTGRES_IMAGES[name]
        return [
            f"{where}.image: {image} runs PostgreSQL {version}; Django needs {minimum} or later"
        ]
    if name.rsplit("/", 1)[-1] not in ("postgres", "postgis"):
        return []
    problems = []
    major = _major(tag)
    if major is None:
        problems.append(f"{where}.image: {image} pins no PostgreSQL major version"
                        " (e.g. postgres:17)")
    elif minimum is not None and major < minimum:
        problems.append(f"{where}.image: {image} is PostgreSQL {major}; Django needs {minimum}"
                        " or later")
    declared = _environment_names(service.get("environment"))
    missing = [variable for variable in LINK_VARIABLES if variable not in declared]
    if missing:
        problems.append(f"{where}.environment: lacks {', '.join(missing)}, so a link builds"
                        " no usable DATABASE_URL")
    return problems


def _compose_service(name: str, service, services: dict, minimum: int | None) -> list[str]:
    where = f"services.{name}"
    if not isinstance(service, dict):
        return [f"{where}: must be a mapping"]
    problems = [f"{where}: service names may not contain '_'"] if "_" in name else []
    ports, found = _compose_ports(f"{where}.ports", service.get("ports") or [])
    problems += found
    labels, found = _compose_labels(f"{where}.labels", service.get("labels") or {})
    problems += found
    problems += _convox_labels(f"{where}.labels", labels, ports)
    problems += _links(f"{where}.links", service.get("links") or [], services)
    if "environment" in service:
        problems += _environment(f"{where}.environment", service["environment"], True)
    problems += _interpolation(where, service)
    problems += _postgres_image(where, service, minimum)
    return problems


def check_compose(doc: dict, minimum_postgres: int | None = None) -> list[str]:
    """Problems in a parsed docker-compose.yml, as generation 1 Convox reads it."""
    problems = []
    if doc.get("version") not in COMPOSE_VERSIONS:
        quoted = ", ".join(f'"{v}"' for v in COMPOSE_VERSIONS)
        problems.append(
            f"version: {doc.get('version')!r} must be one of {quoted},"
            " quoted so YAML reads a string"
        )
    services, found = _mapping("services", doc.get("services"))
    problems += found
    if "services" not in doc:
        # Without it Convox reads the file as version 1 and docker compose refuses it.
        problems.append("services: is missing")
    for name, service in services.items():
        problems += _compose_service(str(name), service, services, minimum_postgres)
    return problems


# ---------------------------------------------------------------------------
# Today's racks: convox.yml
# ---------------------------------------------------------------------------

TOP_LEVEL_KEYS = {
    "environment", "resources", "services", "timers", "balancers",
    "params", "labels", "configs", "appSettings", "budget",
}

NAME = re.compile(r"^[a-z][a-z0-9-]*$")

RESOURCE_TYPES = (
    "postgres", "mysql", "mariadb", "redis", "memcached", "postgis",
    "rds-postgres", "rds-mysql", "rds-mariadb", "elasticache-redis", "elasticache-memcached",
)

SCHEMES = ("http", "https")
SCHEME_PORT = re.compile(r"(?:(?:http|https):)?(?P<number>\d+)")
COUNT_RANGE = re.compile(r"(?P<low>\d+)-(?P<high>\d+)")
CONCURRENCY = ("Allow", "Forbid", "Replace")

# A service key check gets the location, the value and the whole document.
KeyCheck = Callable[[str, object, dict], list[str]]


def _whole(where: str, value, lo: int, hi: float = math.inf) -> list[str]:
    if _is_int(value) and lo <= value <= hi:
        return []
    bound = f">= {lo}" if hi == math.inf else f"in {lo}..{hi}"
    return [f"{where}: {value!r} must be an integer {bound}"]


def int_fields(**bounds: tuple[int, float]) -> KeyCheck:
    """A mapping whose listed keys, when present, are integers within bounds."""

    def check(where, value, _doc):
        if not isinstance(value, dict):
            return [f"{where}: must be a mapping with {', '.join(bounds)}"]
        return [
            problem
            for key, (lo, hi) in bounds.items()
            if key in value
            for problem in _whole(f"{where}.{key}", value[key], lo, hi)
        ]

    return check


def _path(where: str, value) -> list[str]:
    if isinstance(value, str) and value.startswith("/"):
        return []
    return [f"{where}: {value!r} must be a path starting with '/'"]


def _port_value(where: str, value) -> list[str]:
    if isinstance(value, str) and (match := SCHEME_PORT.fullmatch(value)):
        value = int(match["number"])
    if _is_int(value):
        return [] if value in PORTS else [f"{where}: {value} is out of range 1..65535"]
    return [f'{where}: {value!r} must be a port number, "http:N" or "https:N"']


def _port(where, value, _doc):
    if not isinstance(value, dict):
        return _port_value(where, value)
    scheme = value.get("scheme", "http")
    problems = [] if scheme in SCHEMES else [f"{where}.scheme: {scheme!r} is not http or https"]
    return problems + _port_value(f"{where}.port", value.get("port"))


def _health(where, value, _doc):
    if not isinstance(value, dict):
        return _path(where, value)
    # Path may be left out: the rack then checks "/".
    problems = _path(f"{where}.path", value["path"]) if "path" in value else []
    for key in ("grace", "interval", "timeout"):
        if key in value:
            problems += _whole(f"{where}.{key}", value[key], 0)
    interval, timeout = value.get("interval"), value.get("timeout")
    if _is_int(interval) and _is_int(timeout) and timeout >= interval:
        problems.append(f"{where}.timeout: {timeout} must be less than interval ({interval})")
    return problems


def _probe(where, value, _doc):
    """liveness and startupProbe: an HTTP path (or a TCP port) and Kubernetes' timings."""
    if not isinstance(value, dict):
        return [f"{where}: must be a mapping with path, grace, interval, timeout, ..."]
    problems = _path(f"{where}.path", value.get("path")) if "tcpSocketPort" not in value else []
    for key in ("grace", "interval", "timeout"):
        if key in value:
            problems += _whole(f"{where}.{key}", value[key], 0)
    for key in ("successThreshold", "failureThreshold"):
        if key in value:
            problems += _whole(f"{where}.{key}", value[key], 1)
    return problems


def _count(where: str, count) -> list[str]:
    if (_is_int(count) and count >= 0) or (isinstance(count, str) and count.isdigit()):
        return []
    match = COUNT_RANGE.fullmatch(count) if isinstance(count, str) else None
    if match and int(match["low"]) <= int(match["high"]):
        return []
    return [f'{where}: {count!r} must be an integer >= 0 or a "min-max" range']


def _scale(where, value, _doc):
    # The rack also reads a bare count in place of the mapping.
    if isinstance(value, dict):
        return _count(f"{where}.count", value["count"]) if "count" in value else []
    return _count(where, value)


def _service_resources(where, value, doc):
    if not isinstance(value, list):
        return [f"{where}: must be a list of resource names"]
    declared = doc.get("resources") or {}
    return [
        f"{where}: {name} is not under top-level resources"
        for name in value
        if name not in declared
    ]


def _service_environment(where, value, _doc):
    return _environment(where, value, mapping_ok=False)


def _domain(where, value, _doc):
    """Text, or a list of it (rack and convox pkg/manifest/yaml.go, ServiceDomains: any
    other YAML value, such as the number YAML makes of 123.456, fails the load with
    "unknown type for service domain"). Each comma-separated name, once interpolated,
    goes into a Kubernetes Ingress host on v3 racks, which takes lowercase names only."""
    if value is None:
        return []  # YAML's null: yaml.v2 leaves the field empty
    entries = value if isinstance(value, list) else [value]
    if not all(isinstance(entry, str) for entry in entries):
        return [(f"{where}: {value!r} must be text or a list of text (quote it), or the rack"
                 " refuses the manifest (unknown type for service domain)")]
    return [f"{where}: {name!r} must be a lowercase host name (Kubernetes Ingress hosts are)"
            for entry in entries for name in _domain_names(entry)
            if not (INTERPOLATION.fullmatch(name) or HOST_NAME.fullmatch(name))]


# Every key a service may have -> its check (None: accepted as the rack reads it).
SERVICE_KEYS: dict[str, KeyCheck | None] = {
    "build": None,
    "command": None,
    "domain": _domain,
    "environment": _service_environment,
    "health": _health,
    "image": None,
    "internal": None,
    "port": _port,
    "ports": None,
    "resources": _service_resources,
    "scale": _scale,
    "termination": int_fields(grace=(1, math.inf)),
    "timeout": lambda where, value, _doc: _whole(where, value, 1),
    "initContainer": None,
    "liveness": _probe,
    "startupProbe": _probe,
    "deployment": int_fields(minimum=(0, 100), maximum=(100, 200)),
    **dict.fromkeys(
        [
            "labels", "agent", "drain", "sticky", "tls", "volumeOptions", "whitelist",
            "certificate", "singleton", "test", "privileged", "nodeSelectorLabels",
            "accessControl", "annotations", "grpcHealthEnabled", "lifecycle",
            "ingressAnnotations", "volumes", "links",
        ]
    ),
}


def _names(section: str, entries: dict) -> list[str]:
    return [
        f"{section}.{name}: name must match {NAME.pattern}"
        for name in entries
        if not (isinstance(name, str) and NAME.fullmatch(name))
    ]


def _service(where: str, service, doc: dict) -> list[str]:
    if not isinstance(service, dict):
        return [f"{where}: must be a mapping"]
    problems = []
    for key, value in service.items():
        if key not in SERVICE_KEYS:
            problems.append(f"{where}.{key}: is not a known service key")
        elif check := SERVICE_KEYS[key]:
            problems += check(f"{where}.{key}", value, doc)
    return problems


# What each PostgreSQL resource runs without options.version: v3 racks use the image
# postgres:10.5 (convox provider/k8s/template/resource/postgres.yml.tmpl), v2 racks RDS 12
# (rack provider/aws/formation/resource/postgres.json.tmpl); rds-postgres has no default.
POSTGRES_DEFAULTS = {"postgres": "10.5 on v3 racks, 12 on v2", "rds-postgres": None}

# Options a managed database must have (convox provider/aws/provisioner/rds/metadata.go).
REQUIRED_OPTIONS = {"rds-postgres": ("class", "version")}


def _resource(where: str, resource, minimum: int | None) -> list[str]:
    kind = resource.get("type") if isinstance(resource, dict) else None
    if kind not in RESOURCE_TYPES:
        return [f"{where}.type: {kind!r} is not one of {', '.join(RESOURCE_TYPES)}"]
    options = resource.get("options") or {}
    if not isinstance(options, dict):
        return [f"{where}.options: must be a mapping"]
    problems = [f"{where}.options.{key}: is missing ({kind} requires it)"
                for key in REQUIRED_OPTIONS.get(kind, ()) if key not in options]
    if kind not in POSTGRES_DEFAULTS or minimum is None:
        return problems
    if "version" not in options:
        if POSTGRES_DEFAULTS[kind]:
            problems.append(f"{where}.options.version: is missing, so the rack runs PostgreSQL"
                            f" {POSTGRES_DEFAULTS[kind]}; Django needs {minimum} or later")
        return problems
    major = _major(options["version"])
    if not isinstance(options["version"], str):
        problems.append(f"{where}.options.version: {options['version']!r} must be quoted text"
                        ' (e.g. "17")')
    elif major is None or major < minimum:
        problems.append(f"{where}.options.version: {options['version']!r} is older than"
                        f" PostgreSQL {minimum}, the oldest Django accepts")
    return problems


def _timer(where: str, timer, services: dict) -> list[str]:
    if not isinstance(timer, dict):
        return [f"{where}: must be a mapping"]
    problems = [
        f"{where}.{key}: is missing"
        for key in ("schedule", "command", "service")
        if key not in timer
    ]
    # Five cron fields. v2 racks append " *" (the year) and hand it to AWS, which wants "?"
    # in exactly one of day-of-month and day-of-week; v3 racks turn "?" into "*".
    schedule = timer.get("schedule")
    fields = schedule.split() if isinstance(schedule, str) else []
    if schedule is not None and len(fields) != 5:
        problems.append(f"{where}.schedule: {schedule!r} must be five cron fields")
    elif schedule is not None and not aws_day_fields_agree(fields):
        problems.append(f"{where}.schedule: {schedule!r} must have '?' in exactly one of"
                        " day-of-month and day-of-week, or v2 racks make an AWS cron that"
                        " AWS refuses (e.g. '0 3 * * ?')")
    if "service" in timer and timer["service"] not in services:
        problems.append(f"{where}.service: {timer['service']} is not under services")
    concurrency = timer.get("concurrency", "Allow")
    if concurrency not in CONCURRENCY:
        problems.append(
            f"{where}.concurrency: {concurrency!r} is not one of {', '.join(CONCURRENCY)}"
        )
    return problems


# Both racks replace ${NAME} (and nothing else) with the app's value, "" when unset
# (rack and convox pkg/manifest/helpers.go, interpolate), before YAML reads the file.
INTERPOLATION = re.compile(r"\$\{([^}]*?)\}")
HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"{HOST_LABEL}(?:\.{HOST_LABEL})+")


def _domain_names(text: str) -> list[str]:
    """ServiceDomains of one YAML string: split at commas, trimmed, empty ones dropped."""
    return [name.strip() for name in text.split(",") if name.strip()]


class ManifestRefused(Exception):
    """What `convox build` or `convox deploy` would stop with."""


def load_convox_yml(text: str, env: dict[str, str]) -> dict:
    """convox.yml as Load reads it with the app's environment `env`: interpolated, then
    each service's variables checked (ServiceEnvironment: a `- NAME` with no value must
    be in env, or the whole load fails with "required env: NAME, ...")."""
    doc = yaml.safe_load(INTERPOLATION.sub(lambda match: env.get(match[1], ""), text))
    for service in (doc.get("services") or {}).values():
        entries = [*(doc.get("environment") or []), *((service or {}).get("environment") or [])]
        missing = sorted(entry for entry in entries if "=" not in entry and entry != "*"
                         and entry not in env)
        if missing:
            raise ManifestRefused(f"required env: {', '.join(missing)}")
    return doc


def service_domains(doc: dict, service: str) -> list[str]:
    """The names a loaded manifest routes to a service besides the rack's own host name:
    none makes v2 racks create no certificate (rack provider/aws/formation/app.json.tmpl,
    `if .Domain`) and v3 racks no Ingress rule or certificate for one (convox
    provider/k8s/template/app/ingress.yml.tmpl, `with .Service.Domains`)."""
    value = doc["services"][service].get("domain") or []
    return [name for entry in (value if isinstance(value, list) else [value])
            for name in _domain_names(entry)]


def check_convox_yml(doc: dict, minimum_postgres: int | None = None) -> list[str]:
    """Problems in a parsed convox.yml, as today's racks read it."""
    problems = [
        f"{key}: is not a convox.yml top-level key" for key in doc if key not in TOP_LEVEL_KEYS
    ]
    if "environment" in doc:
        problems += _environment("environment", doc["environment"], mapping_ok=False)
    sections = {}
    for section in ("resources", "services", "timers"):
        sections[section], found = _mapping(section, doc.get(section))
        problems += found + _names(section, sections[section])
    for name, resource in sections["resources"].items():
        problems += _resource(f"resources.{name}", resource, minimum_postgres)
    for name, service in sections["services"].items():
        problems += _service(f"services.{name}", service, doc)
    for name, timer in sections["timers"].items():
        problems += _timer(f"timers.{name}", timer, sections["services"])
    return problems


# ---------------------------------------------------------------------------
# Database versions: the server a manifest asks for must be one Django accepts
# ---------------------------------------------------------------------------

# The engine behind each resource type and Compose image, as Django names its minimums.
MYSQL_ENGINES = {"mariadb": "mariadb", "rds-mariadb": "mariadb", "mysql": "mysql",
                 "rds-mysql": "mysql"}
# What a rack runs when options.version is left out: v3's image tag (convox/convox
# provider/k8s/template/resource/mariadb.yml.tmpl) and v2's RDS version (convox/rack
# provider/aws/formation/resource/mariadb.json.tmpl). The rds-* types require a version.
MYSQL_DEFAULT_VERSIONS = {"mariadb": ("10.6.0", "10.4")}


def _version_tuple(text) -> tuple[int, ...] | None:
    match = re.match(r"(\d+(?:\.\d+)*)", str(text))
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _too_old(where: str, version, engine: str, minimum: tuple) -> list[str]:
    found = _version_tuple(version)
    wanted = ".".join(map(str, minimum))
    if found is None:
        return [f"{where}: {version!r} is not a version number (want {engine} {wanted} or later)"]
    if found < minimum:
        return [f"{where}: {engine} {version} is older than Django accepts ({wanted} or later)"]
    return []


def check_mysql_versions(convox: dict, compose: dict, minimums: dict) -> list[str]:
    """MariaDB or MySQL servers in the two manifests older than Django's minimums, which
    are {"mariadb": (10, 11), "mysql": (8, 4)} as the pinned Django's backend states them."""
    problems = []
    for name, resource in ((convox or {}).get("resources") or {}).items():
        kind = resource.get("type") if isinstance(resource, dict) else None
        if kind not in MYSQL_ENGINES:
            continue
        engine, where = MYSQL_ENGINES[kind], f"resources.{name}.options.version"
        written = (resource.get("options") or {}).get("version")
        if written is None and kind not in MYSQL_DEFAULT_VERSIONS:
            problems.append(f"{where}: is missing; {kind} requires it")
        if written is not None:
            problems += _too_old(where, written, engine, minimums[engine])
        elif kind in MYSQL_DEFAULT_VERSIONS:
            oldest = min(MYSQL_DEFAULT_VERSIONS[kind], key=_version_tuple)
            problems += [f"{where}: is missing, and the rack's default {problem.split(': ', 1)[1]}"
                         for problem in _too_old(where, oldest, engine, minimums[engine])]
    for name, service in ((compose or {}).get("services") or {}).items():
        image = str((service or {}).get("image", ""))
        repository, _, tag = image.rpartition("/")[2].partition(":")
        if repository in ("mariadb", "mysql"):
            where = f"services.{name}.image"
            if not tag or tag == "latest":
                problems.append(f"{where}: {image!r} must name a version, not the latest")
            else:
                problems += _too_old(where, tag, repository, minimums[repository])
    return problems
