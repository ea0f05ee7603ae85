"""Images by digest: registry/releases.yaml, the platform's images and each tenant's image.

Pure: documents in, problems out. The rules (docs/security.md, "Images"):
- registry/releases.yaml lists each platform release once, versions rising, newest last;
- registry/platform.yaml's engine is the release of `platform_version` (tag = version,
  digest = the recorded one) and every component image is pinned by digest, never `latest`;
- a tenant's release.yaml image carries a digest, and it is the recorded digest of its
  platform_version in the engine repository, or one of the tenant's own recorded fork
  builds in the tenant's own package (`<engine repository>-tenant-<name>`).
"""

from __future__ import annotations

from typing import Any

from render import images, layout
from render.load import Document, TenantFiles
from render.problems import Problem
from render.validate.schemas import check_schema

DIGEST_HINT = "images are pinned by digest: repository:tag@sha256:<64 hex>"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check_releases(doc: Document) -> list[Problem]:
    """registry/releases.yaml: its schema, one entry per version, versions rising."""
    problems = check_schema(doc, "releases")
    if problems:
        return problems
    seen: dict[str, int] = {}
    previous: tuple[int, int, int] | None = None
    for i, entry in enumerate(images.releases(doc.data)):
        version = str(entry["version"])
        key = images.version_key(version)
        if version in seen:
            problems.append(doc.problem(("releases", i, "version"), f"release {version} is recorded twice",
                                        f"a release is recorded once (entry {seen[version]}); its digest never changes",
                                        at_value=True))
        elif previous is not None and key is not None and key < previous:
            problems.append(doc.problem(("releases", i, "version"), f"release {version} is older than the one before it",
                                        "releases are listed oldest first; a new one is appended", at_value=True))
        seen.setdefault(version, i)
        previous = max(previous, key) if previous is not None and key is not None else key or previous
    return problems


def check_platform_images(platform: Document, releases: Document) -> list[Problem]:
    """registry/platform.yaml: the engine is the recorded release of platform_version, and
    every component image is pinned by digest."""
    data = _mapping(platform.data)
    engine = _mapping(data.get("engine"))
    version, tag, digest = data.get("platform_version"), engine.get("tag"), engine.get("digest")
    out = []
    if isinstance(tag, str) and isinstance(version, str) and tag != version:
        out.append(platform.problem(("engine", "tag"), f"tag {tag!r} is not the platform version {version!r}",
                                    "a release's image tag is its version; platform-update sets both", at_value=True))
    recorded = images.release_digests(releases.data)
    if isinstance(version, str) and isinstance(digest, str) and recorded:
        if version not in recorded:
            out.append(platform.problem(("platform_version",), f"release {version} is not recorded in {layout.RELEASES_FILE}",
                                        "platform-update --version V --digest sha256:... records it", at_value=True))
        elif recorded[version] != digest:
            out.append(platform.problem(("engine", "digest"), f"digest is not the one {layout.RELEASES_FILE} records for "
                                        f"release {version}", f"use {recorded[version]}", at_value=True))
    for key, image in images.component_images(data).items():
        problem = pinned_problem(image)
        if problem:
            out.append(platform.problem(("images", key), problem, DIGEST_HINT, at_value=True))
    return out


def pinned_problem(image: str) -> str:
    """Why `image` is not pinned by digest ('' when it is)."""
    ref = images.parse(image)
    if ref.tag == "latest":
        return f"{image!r} names the tag latest, which moves"
    if not images.DIGEST.fullmatch(ref.digest):
        return f"{image!r} has no digest"
    return ""


def check_release_image(files: TenantFiles, platform: Document | None, releases: Document | None) -> list[Problem]:
    """The image is a recorded platform release or one of the tenant's own recorded fork
    builds, always with its digest. `platform`: the platform the tenant renders from;
    `releases`: registry/releases.yaml (None when either could not be read)."""
    release = _mapping(files.release.data)
    image = release.get("image")
    if not isinstance(image, str) or ":" not in image:
        return []
    ref = images.parse(image)
    engine = _mapping(_mapping(platform.data if platform else {}).get("engine")).get("repository")
    found = _fork_problem(files, ref, engine) if ref.tag.startswith("tenant-") else _release_problem(files, ref, engine)
    if found is None and (pin := pinned_problem(image)):
        found = pin, DIGEST_HINT
    if found is None and isinstance(engine, str) and releases is not None:
        found = (_recorded_fork(files, ref) if ref.tag.startswith("tenant-")
                 else _recorded_release(release.get("platform_version"), ref, engine, releases))
    if found is None:
        return []
    pointer = ("platform_version",) if found[0].startswith("release ") else ("image",)
    return [files.release.problem(pointer, *found, at_value=True)]


Found = tuple[str, str] | None  # (message, hint)


def _release_problem(files: TenantFiles, ref: images.Reference, engine: Any) -> Found:
    if isinstance(engine, str) and ref.repository != engine:
        return (f"{str(ref)!r} is not an image of the platform registry {engine}",
                f"run a platform release ({engine}:<version>@<digest>) or this tenant's fork build "
                f"({images.fork_repository(engine, files.name)}:tenant-{files.name}-<sha>@<digest>)")
    return None


def _recorded_release(version: Any, ref: images.Reference, engine: str, releases: Document) -> Found:
    recorded = images.release_digests(releases.data)
    if not isinstance(version, str):
        return None
    if ref.tag != version:
        return f"tag {ref.tag!r} is not the platform_version {version!r}", f"a platform release is {engine}:{version}@<its digest>"
    if version not in recorded:
        return f"release {version} is not recorded in {layout.RELEASES_FILE}", "run a recorded platform release"
    if ref.digest != recorded[version]:
        return (f"digest {ref.digest[:19]}... is not the digest {layout.RELEASES_FILE} records for release {version}",
                f"use {images.release_image(engine, version, recorded[version])}")
    return None


def _fork_problem(files: TenantFiles, ref: images.Reference, engine: Any) -> Found:
    name = files.name
    match = images.FORK_TAG.fullmatch(ref.tag)
    if not match:
        return (f"tag {ref.tag!r} looks like a fork build but is not tenant-<name>-<sha>",
                f"fork builds of this tenant are tagged tenant-{name}-<git sha>")
    if match["owner"] != name:
        return (f"image {str(ref)!r} is a fork build of tenant {match['owner']}",
                f"a fork image runs only in its own tenant; use tenant-{name}-<sha> or the platform image")
    own = images.fork_repository(engine, name) if isinstance(engine, str) else ref.repository
    if ref.repository != own:
        return (f"fork build {ref.tag} is not in this tenant's own package {own}",
                "fork builds are pushed to the tenant's package only (fork-deploy names it)")
    return None


def _recorded_fork(files: TenantFiles, ref: images.Reference) -> Found:
    match = images.FORK_TAG.fullmatch(ref.tag)
    if match and {"sha": match["sha"], "digest": ref.digest} not in images.fork_builds(_mapping(files.release.data)):
        return (f"fork build {ref.tag}@{ref.digest[:19]}... is not one of this tenant's recorded fork_builds",
                "fork-deploy --digest records the build it deploys")
    return None
