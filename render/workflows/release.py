"""Releases: which platform a tenant runs, and how a platform update or a deploy moves it.

A tenant's release.yaml pins three things: `platform_version` (a label), `image` (the
engine image) and `platform_revision` (the commit of this repository whose `base/` and
`registry/` it renders from). Pure: release data in, release data or text out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from render import images
from render.load import Document, PlatformInputs, Repo, TenantFiles, parse_yaml
from render.merge import DEFAULT_AUTO_DEPLOY
from render.problems import Problem, ProblemsError

RELEASE_HEADER = (
    "# yaml-language-server: $schema=../../render/schemas/release.schema.json\n"
    "# Automation-owned: the engine image this tenant runs and the platform revision\n"
    "# (base/ + registry/) it renders from. Written by the release workflows and\n"
    "# `dataplane promote`; see docs/workflows.md.\n"
)
KEY_ORDER = ("platform_version", "image", "platform_revision", "fork", "fork_builds")
FORK_KEY_ORDER = ("repository", "ref", "commit", "sha", "digest")


@dataclass(frozen=True)
class Target:
    """The platform a tenant moves to: a version label, an engine image and a revision."""

    platform_version: str
    image: str
    revision: str


def target_of(platform: dict[str, Any], revision: str) -> Target:
    """The current platform, as registry/platform.yaml at `revision` describes it: its
    engine image pinned by digest."""
    engine = platform["engine"]
    pinned = f"@{engine['digest']}" if engine.get("digest") else ""  # a revision before digests: validate says so
    return Target(str(platform["platform_version"]), f"{engine['repository']}:{engine['tag']}{pinned}", revision)


def image_tag(image: str) -> str:
    return images.parse(image).tag


def is_fork(release: dict[str, Any]) -> bool:
    """True when the tenant runs an image built from its own fork."""
    return "fork" in release or image_tag(str(release.get("image", ""))).startswith("tenant-")


def fork_image(repository: str, tenant: str, commit: str) -> str:
    """The tenant's own package, tag tenant-<name>-<full 40-hex commit> (short ids can
    collide); `repository` is the engine's (registry/platform.yaml engine.repository)."""
    return images.fork_image(repository, tenant, commit)


def moved(release: dict[str, Any], target: Target, *, keep_image: bool = False) -> dict[str, Any]:
    """`release` moved to `target`. A fork image is kept only when asked to."""
    out = {**release, "platform_version": target.platform_version, "platform_revision": target.revision}
    if not keep_image:
        out["image"] = target.image
        out.pop("fork", None)
    return out


def release_text(release: dict[str, Any]) -> str:
    """release.yaml bytes for `release`: fixed key order, JSON-quoted scalars, a header."""
    lines = [RELEASE_HEADER]
    for key in sorted(release, key=lambda k: (KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER), k)):
        value = release[key]
        if isinstance(value, dict):
            lines.append(f"{key}:\n")
            lines += [f"  {line}\n" for line in _fields(value)]
        elif isinstance(value, list):
            lines.append(f"{key}:\n" if value else f"{key}: []\n")
            lines += [f"  {'- ' if i == 0 else '  '}{line}\n" for item in value for i, line in enumerate(_fields(item))]
        else:
            lines.append(f"{key}: {json.dumps(value)}\n")
    return "".join(lines)


def _fields(value: dict[str, Any]) -> list[str]:
    """`key: "value"` lines of a flat mapping, in FORK_KEY_ORDER."""
    return [f"{k}: {json.dumps(value[k])}" for k in sorted(value, key=lambda k: FORK_KEY_ORDER.index(k)
                                                           if k in FORK_KEY_ORDER else 9)]


@dataclass(frozen=True)
class Pending:
    name: str
    platform_version: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What a platform update does: new releases for some tenants, and who waits."""

    target: Target
    bumped: dict[str, dict[str, Any]] = field(default_factory=dict)
    pinned: dict[str, dict[str, Any]] = field(default_factory=dict)  # given the revision they already ran
    pending: list[Pending] = field(default_factory=list)

    @property
    def releases(self) -> dict[str, dict[str, Any]]:
        return {**self.pinned, **self.bumped}


def plan_update(tenants: dict[str, tuple[bool, dict[str, Any]]], target: Target, previous: str | None,
                equivalent: frozenset[str] = frozenset(), hold: dict[str, str] | None = None) -> Plan:
    """Bump every auto_deploy tenant to `target`; hold the others where they are.

    `tenants` maps a name to (auto_deploy, release data). A held tenant that pins no
    revision yet rendered from the working tree until now: it is pinned to `previous`
    (the commit before the update), so its rendered files do not change. A tenant
    pinned to a revision in `equivalent` (same base/ and registry/ as the target) keeps
    it, so running an update twice changes nothing the second time. `hold` names
    auto_deploy tenants that stay too, with the reason (a later wave of a rollout).
    """
    plan = Plan(target)
    hold = hold or {}
    for name, (auto_deploy, release) in sorted(tenants.items()):
        if auto_deploy and not is_fork(release) and name not in hold:
            new = moved(release, target)
            if release.get("platform_revision") in equivalent:
                new["platform_revision"] = release["platform_revision"]
            if new != release:
                plan.bumped[name] = new
            continue
        reason = ("auto_deploy is false" if not auto_deploy
                  else f"runs its fork image (rebase the fork, fork-deploy, then `dataplane promote {name} --keep-image`)"
                  if is_fork(release) else hold[name])
        plan.pending.append(Pending(name, str(release.get("platform_version", "")), reason))
        if "platform_revision" not in release and previous:
            plan.pinned[name] = {**release, "platform_revision": previous}
    return plan


def auto_deploy(files: TenantFiles) -> bool:
    data = files.overrides.data if isinstance(files.overrides.data, dict) else {}
    return bool(data.get("auto_deploy", DEFAULT_AUTO_DEPLOY))


def release_data(files: TenantFiles) -> dict[str, Any]:
    return dict(files.release.data) if isinstance(files.release.data, dict) else {}


def preview_update(repo: Repo) -> tuple[Repo, list[str]]:
    """`repo` as the next platform update will leave it once every wave has moved: each
    auto_deploy tenant not on a fork renders from the working tree's platform (its pin
    dropped). Returns the repo and the tenants whose platform that changes. For the gate:
    a platform change is checked against the output it will produce, not only the pull
    request's own (in which pinned tenants do not move)."""
    target = target_of(repo.current.platform.data, "")
    tenants, moved_names = dict(repo.tenants), []
    for name, files in repo.tenants.items():
        release = release_data(files)
        if auto_deploy(files) and not is_fork(release) and _platform(repo.inputs_for(name)) != _platform(repo.current):
            new = moved(release, target)
            new.pop("platform_revision")
            moved_names.append(name)
            tenants[name] = replace(files, release=Document(files.release.file, new, files.release.marks))
    return replace(repo, tenants=tenants), sorted(moved_names)


def _platform(inputs: PlatformInputs) -> tuple[Any, ...]:
    return inputs.templates, inputs.platform.data, inputs.extractors.data


def set_scalars(text: str, doc: Document, values: dict[tuple[str, ...], str]) -> str:
    """`text` with the scalar at each key path replaced, comments and layout kept."""
    lines = text.splitlines(keepends=True)
    for path, value in values.items():
        if path not in doc.marks:
            raise ProblemsError([Problem(doc.file, 1, 1, ".".join(path), "key is missing", "add it")])
        i = doc.marks[path][0] - 1
        pattern = re.compile(r"^(\s*" + re.escape(path[-1]) + r":[ \t]*)(\"[^\"]*\"|'[^']*'|[^\s#]+)(.*)$", re.S)
        match = pattern.match(lines[i])
        if not match:
            raise ProblemsError([doc.problem(path, "cannot edit this value in place", "write it on one line after its key")])
        lines[i] = match.group(1) + json.dumps(value) + match.group(3)
    out = "".join(lines)
    check = parse_yaml(out, doc.file).data
    for path, value in values.items():
        got: Any = check
        for key in path:
            got = got[key]
        if got != value:  # pragma: no cover - the pattern above guarantees it
            raise ProblemsError([doc.problem(path, "in-place edit did not take", "")])
    return out
