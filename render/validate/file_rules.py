"""Semantic checks of single files and of the fleet, beyond what a JSON Schema can say.

Pure: documents in, problems out. Every check tolerates wrongly typed data (the schema
reports those), so all of them can run in one pass and report everything at once.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from render import clouds, cron, layout, quantity
from render.load import Document, TenantFiles
from render.problems import Problem, did_you_mean
from render.validate import extractor_names

Path_ = tuple[str | int, ...]
# Matched whole (fullmatch): "$" alone would accept a trailing newline.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MEBI = Decimal(2) ** 20
# Larger than any machine a cloud rents: surely a typo.
CPU_MAX = Decimal(1024)
MEMORY_MAX = Decimal(2) ** 45  # 32Ti


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_tenant_name(files: TenantFiles) -> list[Problem]:
    out = []
    name = files.name
    if not layout.DNS1123_LABEL.match(name) or len(name) > layout.TENANT_NAME_MAX:
        out.append(Problem(layout.tenant_dir(name), 1, 1, "", f"tenant folder name {name!r} is not a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters",
                           "use lower-case letters, digits and '-', starting and ending with a letter or digit"))
    declared = _mapping(files.tenant.data).get("name")
    if isinstance(declared, str) and declared != name:
        out.append(files.tenant.problem(("name",), f"name {declared!r} differs from the folder name {name!r}",
                                        f"set name: {name}, or rename the folder"))
    return out


# -- resource quantities ---------------------------------------------------------------

def quantity_places(doc: Document, kind: str) -> list[tuple[Path_, str, bool]]:
    """(path, 'cpu' or 'memory', is_pod_size) of every quantity in a file of `kind`."""
    data = _mapping(doc.data)
    places: list[tuple[Path_, str, bool]] = []
    if kind == "overrides":
        places += [(("overrides", ext, "memory"), "memory", False) for ext, e in _mapping(data.get("overrides")).items()
                   if "memory" in _mapping(e)]
        groups, head = _mapping(data.get("cluster")), _mapping(data.get("head"))
    elif kind == "extractors":
        return [(("extractors", ext, "memory"), "memory", False) for ext, e in _mapping(data.get("extractors")).items()
                if "memory" in _mapping(e)]
    else:
        groups, head = _mapping(data.get("worker_groups")), _mapping(data.get("head"))
        if "memory" in _mapping(data.get("extractor_defaults")):
            places.append((("extractor_defaults", "memory"), "memory", False))
        for section in (("datastores", "mongodb"), ("datastores", "redis"), ("celery", "worker"), ("celery", "beat")):
            entry = _mapping(_mapping(data.get(section[0])).get(section[1]))
            places += [(section + (k,), k, True) for k in ("cpu", "memory") if k in entry]
        # The node model: machines' capacity and the DaemonSets' share of every node.
        node_model = _mapping(data.get("nodes"))
        for part in ("daemonset_budget", "machines"):
            for name, entry in _mapping(node_model.get(part)).items():
                places += [(("nodes", part, name, k), k, False) for k in ("cpu", "memory") if k in _mapping(entry)]
    for group, entry in groups.items():
        places += [(("cluster" if kind == "overrides" else "worker_groups", group, k), k, True)
                   for k in ("cpu", "memory") if k in _mapping(entry)]
    places += [(("head", k), k, True) for k in ("cpu", "memory") if k in head]
    return places


def check_quantities(doc: Document, kind: str) -> list[Problem]:
    out = []
    for path, what, pod in quantity_places(doc, kind):
        value: Any = doc.data
        for key in path:
            value = value[key]
        problem = quantity_problem(value, what, pod)
        if problem:
            out.append(doc.problem(path, *problem, at_value=True))
    return out


def quantity_problem(value: Any, what: str, pod: bool) -> tuple[str, str] | None:
    """(message, hint) when `value` is not a sensible Kubernetes quantity of `what`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None  # the schema reports the type
    if not quantity.is_quantity(value):
        fix = quantity.suggest(str(value))
        return (f"{value!r} is not a Kubernetes quantity",
                f"write {fix!r}" if fix else ('use e.g. "8Gi" or "512Mi"' if what == "memory" else 'use e.g. "2" or "500m"'))
    amount = quantity.parse(value)
    text = str(value)
    if what == "memory" and text.endswith("m"):
        return (f"{text!r} means {text[:-1]} thousandths of a byte", f"write {text[:-1] + 'Mi'!r}")
    if amount == 0 and pod:
        return (f"{what} {text!r} leaves the pod with nothing", "use a size above zero")
    if what == "cpu" and 0 < amount < Decimal("0.001"):
        return (f"{text!r} is less than 1m, the smallest CPU amount", 'use e.g. "100m" (a tenth of a core)')
    if what == "memory" and 0 < amount < MEBI:
        return (f"{text!r} is only {amount.normalize()} bytes", f"add a unit, e.g. {text + 'Gi'!r}")
    if amount > (CPU_MAX if what == "cpu" else MEMORY_MAX):
        return (f"{text!r} is larger than any machine", "check the number and its unit")
    return None


# -- env -------------------------------------------------------------------------------

# Env keys the engine also reads itself, and the values both readers accept (Ray Serve's
# logging_config.log_level and Celery's --loglevel).
ENV_VALUES = {"LOG_LEVEL": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


def unsendable(value: str) -> str | None:
    """The first character of `value` that cannot reach a pod: a control character but tab
    and newline (the API server's YAML decoder refuses DEL and the C1 controls in the body
    ArgoCD sends; NUL cannot be in a process's environment), or a Unicode non-character."""
    for char in value:
        if (unicodedata.category(char) == "Cc" and char not in "\t\n") or char in "\ufffe\uffff":
            return char
    return None


def check_env(doc: Document, protected: list[str]) -> list[Problem]:
    out = []
    upper = {p.upper() for p in protected}
    env = _mapping(_mapping(doc.data).get("env"))
    for key, value in env.items():
        bad = unsendable(value) if isinstance(value, str) else None
        if bad is not None:
            out.append(doc.problem(("env", key), f"the value of {key} holds the control character U+{ord(bad):04X}, "
                                                 "which the API server refuses in the synced object",
                                   "write the value as plain text, without control characters", at_value=True))
            continue
        allowed = ENV_VALUES.get(key)
        if allowed and not (isinstance(value, str) and value.upper() in allowed):
            out.append(doc.problem(("env", key), f"{value!r} is not a {key} the engine understands",
                                   f"one of {', '.join(allowed)}", at_value=True))
    for key in env:
        if key.upper() in upper:
            out.append(doc.problem(("env", key), f"{key} is set by the platform and cannot be overridden",
                                   "it carries this tenant's isolation (datastores, queues, identity); remove it"))
        elif not ENV_NAME.fullmatch(key):
            fixed = re.sub(r"[^A-Za-z0-9_]", "_", key)
            fixed = "_" + fixed if fixed[:1].isdigit() or not fixed else fixed
            out.append(doc.problem(("env", key), f"{key!r} is not a valid environment variable name",
                                   f"use letters, digits and '_', not starting with a digit, e.g. {fixed}"))
    return out


def check_cluster(doc: Document, platform: Document) -> list[Problem]:
    """The tenant's cluster is one the platform declares (its OIDC issuer, API server and
    vector store addresses come from there), on the tenant's cloud."""
    data = _mapping(doc.data)
    cluster, cloud = data.get("cluster"), data.get("cloud")
    clusters = _mapping(_mapping(platform.data).get("clusters"))
    if not isinstance(cluster, str) or not layout.DNS1123_LABEL.match(cluster):
        return []  # not a name at all: the schema's pattern reports it
    if cluster not in clusters:
        return [doc.problem(("cluster",), f"cluster {cluster!r} is not declared in registry/platform.yaml `clusters`",
                            did_you_mean(cluster, sorted(clusters), "clusters") or "declare it there first (its OIDC issuer, "
                            "API server and vector store ranges)", at_value=True)]
    declared = _mapping(clusters[cluster]).get("cloud")
    if isinstance(cloud, str) and declared != cloud:
        return [doc.problem(("cloud",), f"cluster {cluster!r} runs on {declared}, not {cloud}",
                            "place the tenant on a cluster of its cloud", at_value=True)]
    return []


def check_backup_schedules(platform: Document) -> list[Problem]:
    """Each backup schedule is a daily cron line the staleness alert can read (render/backups.py)."""
    out = []
    for datastore, settings in _mapping(_mapping(platform.data).get("backups")).items():
        schedule = _mapping(settings).get("schedule")
        why = cron.schedule_problem(schedule) if isinstance(schedule, str) else None
        if why:
            out.append(platform.problem(("backups", datastore, "schedule"), why, "e.g. \"17 */6 * * *\": minute 17 of "
                                        "every sixth hour, UTC", at_value=True))
    return out


def check_restore(doc: Document) -> list[Problem]:
    """A restore names a datastore the tenant has (a shared-instance tenant has no MongoDB of its own)."""
    data = _mapping(doc.data)
    backup = _mapping(data.get("restore")).get("backup")
    dedicated = _mapping(data.get("database")).get("mode") == "dedicated_instance"
    if isinstance(backup, str) and backup.startswith("mongodb-") and not dedicated:
        return [doc.problem(("restore", "backup"), "a tenant on the shared MongoDB instance has no MongoDB backups to restore",
                            "restore its database on the shared instance through the platform's own runbook", at_value=True)]
    return []


# -- extractor names -------------------------------------------------------------------

def check_extractor_names(doc: Document, extractors: Document) -> list[Problem]:
    data = _mapping(doc.data)
    entries = _mapping(_mapping(extractors.data).get("extractors"))
    known = sorted(set(entries) | {str(e.get("name")) for e in entries.values() if isinstance(e, dict)})
    out = []
    disabled: list[Any] = data["disabled"] if isinstance(data.get("disabled"), list) else []
    for i, item in enumerate(disabled):
        if isinstance(item, str) and item not in known:
            out.append(doc.problem(("disabled", i), f"unknown extractor {item!r}", _suggest(item, extractors, known),
                                   at_value=True))
    for key in _mapping(data.get("overrides")):
        if key not in known:
            out.append(doc.problem(("overrides", key), f"unknown extractor {key!r}", _suggest(key, extractors, known)))
        elif _disabled_by(disabled, key, entries):
            line = doc.mark(("disabled", disabled.index(_disabled_by(disabled, key, entries))))[0]
            out.append(doc.problem(("overrides", key), f"{key!r} is disabled (line {line}), so these overrides would never apply",
                                   "remove it from `disabled`, or delete these overrides"))
    return out


def _suggest(word: str, extractors: Document, known: list[str]) -> str:
    return extractor_names.suggest(word, extractors.data) or did_you_mean(word, known, "extractors")


def _disabled_by(disabled: list[Any], key: str, entries: dict[str, Any]) -> str:
    """The `disabled` item that leaves overrides of `key` nothing to apply to ('' if none).

    An id is off when it or its name is listed; a name is off when it is listed, or when
    every one of its versions is (a name's overrides still reach any version left on).
    """
    listed = [d for d in disabled if isinstance(d, str)]
    if key in entries:
        return next((d for d in listed if d in (key, entries[key].get("name"))), "")
    if key in listed:
        return key
    versions = [i for i, e in entries.items() if isinstance(e, dict) and e.get("name") == key]
    return listed[max(listed.index(v) for v in versions)] if versions and all(v in listed for v in versions) else ""


# -- secret store ----------------------------------------------------------------------

def check_secret_store(tenant: Document, platform: Document) -> list[Problem]:
    """What the platform must record before the tenant's cloud can render its secret store
    (a GCP project's number: the secrets identity's IAM conditions name it)."""
    cloud = _mapping(tenant.data).get("cloud")
    return clouds.get(cloud).secret_store_problems(tenant, platform) if clouds.known(cloud) else []
