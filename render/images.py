"""Image references: platform releases and fork builds, by digest. Pure.

Every image a tenant runs is named `<repository>:<tag>@sha256:<digest>` and pulled by the
digest. Platform releases live in the engine repository (registry/platform.yaml
`engine.repository`) and are recorded in registry/releases.yaml; a tenant's fork builds
live in a package of its own, `<engine repository>-tenant-<name>`, and are recorded in
its release.yaml `fork_builds`. Only recorded digests are admitted (render/admission/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from render import layout

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A platform release's version, which is also its image tag: YYYY.M.N.
VERSION = re.compile(r"(?P<year>[0-9]{4})\.(?P<minor>[0-9]{1,2})\.(?P<patch>[0-9]+)")
# Fork build tags: tenant-<name>-<sha> (the full 40-hex commit, or an abbreviation of it).
FORK_TAG = re.compile(r"tenant-(?P<owner>[a-z0-9]([-a-z0-9]*[a-z0-9])?)-(?P<sha>[0-9a-f]{7,40})")
FORK_SHA = re.compile(r"[0-9a-f]{7,40}")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# How many fork builds a release.yaml keeps (newest last): enough to roll back a few deploys.
FORK_BUILDS_KEPT = 20


@dataclass(frozen=True)
class Reference:
    """An image reference split into repository, tag ('' if none) and digest ('' if none)."""

    repository: str
    tag: str
    digest: str

    def __str__(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse(image: str) -> Reference:
    """`image` split; the tag is what follows the last ':' after the last '/'."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
    else:
        repository, tag = name, ""
    return Reference(repository, tag, digest)


def version_key(version: str) -> tuple[int, int, int] | None:
    """(year, minor, patch) of a release version, or None when it is not version-shaped."""
    m = VERSION.fullmatch(version)
    return (int(m["year"]), int(m["minor"]), int(m["patch"])) if m else None


def fork_repository(engine_repository: str, tenant: str) -> str:
    """The package a tenant's fork builds are pushed to: one per tenant, apart from releases."""
    return f"{engine_repository}-tenant-{tenant}"


def release_image(engine_repository: str, version: str, digest: str) -> str:
    return f"{engine_repository}:{version}@{digest}"


def fork_image(engine_repository: str, tenant: str, sha: str, digest: str | None = None) -> str:
    """<engine>-tenant-<name>:tenant-<name>-<sha>[@digest]."""
    image = f"{fork_repository(engine_repository, tenant)}:{layout.fork_tag_prefix(tenant)}{sha}"
    return f"{image}@{digest}" if digest else image


def releases(data: Any) -> list[dict[str, Any]]:
    """The well-formed entries of registry/releases.yaml (the schema reports the others)."""
    items = data.get("releases") if isinstance(data, dict) else None
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def release_digests(data: Any) -> dict[str, str]:
    """version -> digest of every recorded platform release."""
    return {str(r["version"]): str(r["digest"]) for r in releases(data)
            if isinstance(r.get("version"), str) and isinstance(r.get("digest"), str)}


def fork_builds(release: Any) -> list[dict[str, str]]:
    """The well-formed `fork_builds` entries of a tenant's release.yaml data."""
    items = release.get("fork_builds") if isinstance(release, dict) else None
    return [{"sha": str(b["sha"]), "digest": str(b["digest"])} for b in (items if isinstance(items, list) else [])
            if isinstance(b, dict) and isinstance(b.get("sha"), str) and isinstance(b.get("digest"), str)]


def with_fork_build(release: dict[str, Any], sha: str, digest: str) -> dict[str, Any]:
    """`release` with {sha, digest} recorded as its newest fork build (an older record of
    the same sha or digest is replaced); the oldest beyond FORK_BUILDS_KEPT are dropped."""
    kept = [b for b in fork_builds(release) if b["sha"] != sha and b["digest"] != digest]
    return {**release, "fork_builds": (kept + [{"sha": sha, "digest": digest}])[-FORK_BUILDS_KEPT:]}


def component_images(platform: Any) -> dict[str, str]:
    """registry/platform.yaml `images`: component key -> image reference."""
    images = platform.get("images") if isinstance(platform, dict) else None
    return {str(k): v for k, v in images.items() if isinstance(v, str)} if isinstance(images, dict) else {}
