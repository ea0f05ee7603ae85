"""Compare the base revision's rendered objects with a pull request's: refuse what the API
server would refuse (immutable fields) and what would strand data (a data-holding object
removed or renamed). Pure: two {path: object} maps in, Problems out.
"""

from __future__ import annotations

from typing import Any

from render import layout, quantity
from render.gate.rules import DATA_KINDS, IMMUTABLE_DATA, LOCK_HINT, LOCKED_RETENTION, RULES, Rule
from render.problems import Problem

Objects = dict[str, dict[str, Any]]  # repo-relative file -> the object in it
Key = tuple[str, str, str, str, str]  # folder, group, kind, namespace, name

EXPANSION_HINT = ("to grow a volume, raise datastores.<datastore>.storage in registry/platform.yaml and keep "
                  "claim_template_storage: the engine renders the claim itself at the new size (volume expansion, "
                  "docs/operations.md); any other change to a volume is a migration (docs/migration.md)")
REMOVAL_HINT = ("a tenant's data leaves only through `dataplane offboard TENANT` (docs/operations.md) or the "
                "migration flow (`dataplane migration`, docs/migration.md; `dataplane move` for a cluster, region or "
                "database mode, docs/operations.md#moving-a-tenant); keep the object and its name")


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api = str(obj.get("apiVersion", ""))
    return (api.rsplit("/", 1)[0] if "/" in api else "", str(obj.get("kind", "")))


def key(path: str, obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (path.rsplit("/", 1)[0], *group_kind(obj), str(meta.get("namespace", "")), str(meta.get("name", "")))


def owner(folder: str) -> str:
    """'rendered/acme' -> 'tenant acme'; a platform folder -> 'the platform'."""
    parent, _, name = folder.rpartition("/")
    return f"tenant {name}" if parent in layout.TENANT_SCOPE_PARENTS else "the platform"


def get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def changed_fields(gk: tuple[str, str], old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The immutable fields of `old` that `new` changes (dotted paths)."""
    rule = RULES.get(gk)
    if gk in (("", "ConfigMap"), ("", "Secret")) and old.get("immutable") is True:
        rule = IMMUTABLE_DATA
    if rule is None:
        return []
    out = [f for f in rule.fields if get(old, f) != get(new, f)]
    if rule.mutable_spec is not None:
        spec_old, spec_new = old.get("spec") or {}, new.get("spec") or {}
        out += [f"spec.{k}" for k in sorted(set(spec_old) | set(spec_new))
                if k not in rule.mutable_spec and spec_old.get(k) != spec_new.get(k)]
    if gk == ("", "Service") and "ExternalName" in (get(old, "spec.type"), get(new, "spec.type")):
        out = [f for f in out if not f.startswith("spec.clusterIP")]
    if gk == ("", "PersistentVolumeClaim"):
        out += _shrink(old, new)
    if gk in LOCKED_RETENTION:
        out += _unlock(LOCKED_RETENTION[gk], old, new)
    return out


def _unlock(fields: tuple[str, str], old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """A locked retention policy that this change unlocks, removes or shortens."""
    locked, period = fields
    if get(old, locked) is not True:
        return []
    if get(new, locked) is not True:
        return [locked]
    before, after = get(old, period), get(new, period)
    return [period] if isinstance(before, int) and (not isinstance(after, int) or after < before) else []


def _shrink(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    path = "spec.resources.requests.storage"
    before, after = get(old, path), get(new, path)
    if before is None or after is None:
        return []
    try:
        return [path] if quantity.parse(after) < quantity.parse(before) else []
    except ValueError:
        return []


def _hint(gk: tuple[str, str], field: str, rule: Rule | None) -> str:
    if field.startswith("spec.volumeClaimTemplates") or field == "spec.resources.requests.storage":
        return EXPANSION_HINT
    if field in LOCKED_RETENTION.get(gk, ()):
        return LOCK_HINT
    return rule.hint if rule else IMMUTABLE_DATA.hint


def compare(base: Objects, head: Objects, removable: frozenset[str] = frozenset()) -> list[Problem]:
    """Problems of moving the cluster from `base` to `head`. `removable`: folders whose
    objects may go (a tenant deleted by `dataplane offboard --delete`)."""
    before = {key(p, o): (p, o) for p, o in base.items()}
    after = {key(p, o): (p, o) for p, o in head.items()}
    out = []
    for k in sorted(before.keys() & after.keys()):
        path, old = before[k]
        new = after[k][1]
        gk = (k[1], k[2])
        for field in changed_fields(gk, old, new):
            what = "shrinks" if field in ("spec.resources.requests.storage", *LOCKED_RETENTION.get(gk, ())[1:]) else "changes"
            out.append(Problem(path, 1, 1, field,
                               f"{owner(k[0])}: {k[2]} {k[4]}: {field} {what}, which the API server refuses on an "
                               "existing object (immutable): the sync would fail and the data stay behind",
                               _hint(gk, field, RULES.get(gk))))
    for k in sorted(before.keys() - after.keys()):
        if (k[1], k[2]) in DATA_KINDS and k[0] not in removable:
            path = before[k][0]
            out.append(Problem(path, 1, 1, "metadata.name",
                               f"{owner(k[0])}: {k[2]} {k[4]} holds data and this change removes it (or renames it): "
                               "the data would be left behind or deleted", REMOVAL_HINT))
    return out
