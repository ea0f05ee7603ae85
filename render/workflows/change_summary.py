"""What a change does to one tenant, in plain words, from two effective configurations.

Used by the pull-request comment and by `dataplane promote`. Pure: two `Effective`
values (None for a tenant that does not exist on that side) in, sentences out.

The list of what can change is not written here: every leaf the merge recorded a source
for (`Effective.provenance`) on either side is compared, so a key added to the platform
defaults, the registry or the overrides schema is reported without touching this module.
WORDS (the labels of render/tunables.py) only gives known keys friendlier wording; an
unknown key is still reported by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from render import tunables
from render.merge import Effective, Path_

_UNSET = object()

# Plain words for leaf keys (the key itself is always shown too, so it can be searched),
# from each tunable's label (render/tunables.py).
WORDS = tunables.labels()
# Top-level sections of the effective values: who owns them, and how a leaf is introduced.
OWNER = {"head": "Head node", "spec": "Health thresholds"}


@dataclass
class Changes:
    """Sentences about one tenant: what it configures, and what only the platform may change."""

    tenant: list[str] = field(default_factory=list)
    platform: list[str] = field(default_factory=list)


def tenant_changes(before: Effective | None, after: Effective | None) -> list[str]:
    """Every sentence, platform-owned first; [] when no effective value changed."""
    found = describe(before, after)
    return found.platform + found.tenant


def describe(before: Effective | None, after: Effective | None) -> Changes:
    """One sentence per changed effective value (grouped per extractor, group or section)."""
    out = Changes()
    if before is None and after is None:
        return out
    if before is None:
        out.platform.append("New tenant: its data plane is created.")
        return out
    if after is None:
        out.platform.append("Tenant removed: its rendered files and ArgoCD application are deleted.")
        return out
    b, a = before.values, after.values
    org = a.get("tenant", {}).get("organization_id") or b.get("tenant", {}).get("organization_id")
    out.platform += _release(b.get("release", {}), a.get("release", {}))
    leaves = list(dict.fromkeys([*after.provenance, *before.provenance]))  # the merge's order: defaults first
    # An empty mapping is a leaf too; when it fills, its new leaves say what changed.
    changed = [p for p in leaves if _at(b, p) != _at(a, p)
               and not isinstance(_at(b, p), dict) and not isinstance(_at(a, p), dict)]
    out.platform += [_tenant_file(p[1:], _at(b, p), _at(a, p), str(org))
                     for p in changed if p[0] == "tenant"]
    out.tenant += _extractors(b["extractors"], a["extractors"], [p for p in changed if p[0] == "extractors"])
    for section in dict.fromkeys(str(p[0]) for p in changed if p[0] not in ("tenant", "release", "extractors")):
        out.tenant += _section(str(section), [p for p in changed if p[0] == section], b, a)
    return out


def _at(values: Mapping[str, Any], path: Path_) -> Any:
    value: Any = values
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _UNSET
        value = value[key]
    return value


def _show(value: Any) -> str:
    if value is _UNSET:
        return "unset"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _one(key: str, old: Any, new: Any) -> str:
    words = WORDS.get(key.rsplit(".", 1)[-1], "")
    label = f"{words} (`{key}`)" if words else f"`{key}`"
    return f"{label} {_show(old)} → {_show(new)}"


def _release(b: Mapping[str, Any], a: Mapping[str, Any]) -> list[str]:
    out = []
    if b.get("image") != a.get("image"):
        out.append(f"Engine image changes from `{b.get('image')}` to `{a.get('image')}` (release.yaml).")
    if b.get("platform_version") != a.get("platform_version"):
        out.append(f"Platform version {b.get('platform_version')} → {a.get('platform_version')} (release.yaml).")
    if b.get("config_deploy") != a.get("config_deploy"):
        out.append(f"Config deploy {a.get('config_deploy')}: KubeRay starts a new RayCluster whose worker groups "
                   "start from the overrides (manual scaling is reset) (release.yaml).")
    rev = a.get("platform_revision")
    if b.get("platform_revision") != rev:
        out.append(f"Renders from platform revision `{rev[:12]}` (its base/ and registry/)." if rev
                   else "Follows the platform in the working tree again (platform_revision removed).")
    return out


def _tenant_file(path: Path_, old: Any, new: Any, org: str) -> str:
    """A tenant.yaml change, saying what it does where that is known."""
    key = ".".join(map(str, path))
    if key == "routing":
        return (f"Organization {org} moves from the shared platform to its dedicated data plane (routing: dedicated)."
                if new == "dedicated" else
                f"Organization {org} is routed to the shared platform (routing: {_show(new)}).")
    if key == "suspended":
        return (f"Organization {org} is suspended: the control plane refuses its requests (suspended: true)."
                if new is True else f"Organization {org} is served again (suspended: {_show(new)}).")
    if key == "migration.state":
        return f"Migration of organization {org} moves from {_show(old)} to {_show(new)} (see docs/migration.md)."
    if key == "lifecycle.phase" and new == "offboarding":
        return (f"Organization {org} is offboarded: final export, compute stopped, requests refused, data kept "
                "for the grace period (see docs/operations.md).")
    if key == "lifecycle.deletion_approved_by":
        return f"Deletion of the offboarded tenant approved by {_show(new)} (lifecycle.deletion_approved_by)."
    if key == "organization_id":
        return f"The data plane now serves organization {_show(new)} instead of {_show(old)}."
    return f"tenant.yaml {_one(key, old, new)}."


def _extractors(b: dict[str, Any], a: dict[str, Any], changed: list[Path_]) -> list[str]:
    out = []
    for ext_id in sorted({str(p[1]) for p in changed} | (set(a) ^ set(b))):
        old, new = b.get(ext_id), a.get(ext_id)
        if new is None:
            if old and old["enabled"]:
                out.append(f"Extractor {ext_id} is removed from the registry.")
            continue
        if old is None:
            state = "enabled" if new["enabled"] else "available but off"
            out.append(f"New extractor {ext_id} from the registry ({state}).")
            continue
        parts = [_one(".".join(map(str, p[2:])), _at(old, p[2:]), _at(new, p[2:]))
                 for p in changed if p[1] == ext_id and p[2:] != ("enabled",)]
        if old["enabled"] != new["enabled"]:
            out.append(f"Extractor {ext_id} is {'enabled' if new['enabled'] else 'disabled'}.")
        if parts:
            note = "" if new["enabled"] else " (it is disabled: this applies once it is enabled)"
            out.append(f"Extractor {ext_id}: {', '.join(parts)}{note}.")
    return out


def _section(section: str, changed: list[Path_], b: Mapping[str, Any], a: Mapping[str, Any]) -> list[str]:
    if section == "auto_deploy":
        return ["Platform updates now deploy automatically (`auto_deploy`: true)." if a.get("auto_deploy") else
                "Platform updates no longer deploy automatically (`auto_deploy`: false)."]
    if section == "env":  # names only: a value may be something the tenant would rather not publish
        verb = {True: "is set", False: "is removed"}
        return [f"Environment variable `{p[1]}` " + (verb[_at(b, p) is _UNSET] if _UNSET in (_at(b, p), _at(a, p))
                                                     else "changes") + "." for p in changed]
    if section == "cluster":  # one sentence per worker group
        groups = sorted({str(p[1]) for p in changed})
        return [f"Worker group {g}: " + ", ".join(_one(".".join(map(str, p[2:])), _at(b, p), _at(a, p))
                                                   for p in changed if p[1] == g) + "." for g in groups]
    owner = OWNER.get(section, f"`{section}`")
    return [f"{owner}: " + ", ".join(_one(".".join(map(str, p[1:])) or section, _at(b, p), _at(a, p))
                                     for p in changed) + "."]
