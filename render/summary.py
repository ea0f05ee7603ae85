"""What a change does to one tenant, in plain words, from two effective configurations.

Used by the pull-request comment and by `dataplane promote`. Pure: two `Effective`
values (None for a tenant that does not exist on that side) in, sentences out.
"""

from __future__ import annotations

from typing import Any

from render.merge import Effective

RESOURCE_KEYS = (("num_cpus", "CPU"), ("num_gpus", "GPU"), ("memory", "memory"))
NODE_KEYS = (("cpu", "CPU"), ("memory", "memory"), ("gpus", "GPUs"))


def tenant_changes(before: Effective | None, after: Effective | None) -> list[str]:
    """One sentence per change; [] when nothing the tenant would notice changed."""
    if before is None and after is None:
        return []
    if before is None:
        return ["New tenant: its data plane is created."]
    if after is None:
        return ["Tenant removed: its rendered files and ArgoCD application are deleted."]
    b, a = before.values, after.values
    out = _release(b["release"], a["release"])
    if b["auto_deploy"] != a["auto_deploy"]:
        out.append("Platform updates now deploy automatically." if a["auto_deploy"]
                   else "Platform updates no longer deploy automatically (auto_deploy: false).")
    out += _extractors(b["extractors"], a["extractors"])
    out += _groups(b["cluster"], a["cluster"])
    out += _pairs("Head node", b["head"], a["head"], (("cpu", "CPU"), ("memory", "memory")))
    out += _env(b["env"], a["env"])
    return out


def _release(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    out = []
    if b.get("image") != a.get("image"):
        out.append(f"Engine image changes from `{b.get('image')}` to `{a.get('image')}`.")
    if b.get("platform_version") != a.get("platform_version"):
        out.append(f"Platform version {b.get('platform_version')} → {a.get('platform_version')}.")
    rev = a.get("platform_revision")
    if rev and b.get("platform_revision") != rev:
        out.append(f"Renders from platform revision `{rev[:12]}` (its base/ and registry/).")
    return out


def _extractors(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    out = []
    for ext_id in sorted(set(b) | set(a)):
        old, new = b.get(ext_id), a.get(ext_id)
        if new is None:
            if old and old["enabled"]:
                out.append(f"Extractor {ext_id} is removed from the registry.")
            continue
        if old is None:
            state = "enabled" if new["enabled"] else "available but off"
            out.append(f"New extractor {ext_id} from the registry ({state}).")
            continue
        if old["enabled"] != new["enabled"]:
            out.append(f"Extractor {ext_id} is {'enabled' if new['enabled'] else 'disabled'}.")
            continue
        if not new["enabled"]:
            continue
        if (old["min_replicas"], old["max_replicas"]) != (new["min_replicas"], new["max_replicas"]):
            out.append(f"{ext_id} replicas {old['min_replicas']}–{old['max_replicas']} → "
                       f"{new['min_replicas']}–{new['max_replicas']}.")
        out += _pairs(f"{ext_id} per replica", old, new, RESOURCE_KEYS)
    return out


def _groups(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    out = []
    for group in sorted(set(b) | set(a)):
        old, new = b.get(group) or {}, a.get(group) or {}
        if (old.get("min_replicas"), old.get("max_replicas")) != (new.get("min_replicas"), new.get("max_replicas")):
            out.append(f"{group} node range {old.get('min_replicas')}–{old.get('max_replicas')} → "
                       f"{new.get('min_replicas')}–{new.get('max_replicas')}.")
        if old.get("replicas") != new.get("replicas"):
            out.append(f"{group} starts with {new.get('replicas')} nodes (was {old.get('replicas')}).")
        out += _pairs(f"{group} per node", old, new, NODE_KEYS)
    return out


def _pairs(what: str, old: dict[str, Any], new: dict[str, Any], keys: tuple[tuple[str, str], ...]) -> list[str]:
    changes = [f"{label} {old.get(k)} → {new.get(k)}" for k, label in keys if str(old.get(k)) != str(new.get(k))]
    return [f"{what}: {', '.join(changes)}."] if changes else []


def _env(b: dict[str, Any], a: dict[str, Any]) -> list[str]:
    keys = sorted(k for k in set(b) | set(a) if str(b.get(k)) != str(a.get(k)))
    return [f"Environment changes: {', '.join(keys)}."] if keys else []
