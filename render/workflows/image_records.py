"""Recording image digests: a new platform release, and a tenant's fork build.

The only code that writes a digest into the repository. The release job calls
`dataplane platform-update --version V --digest sha256:...` with the digest of the image it
pushed (never one from the dispatch's payload); the fork build job calls `dataplane
fork-deploy ... --digest sha256:...` likewise. Who may dispatch either is checked before
these run. Each check refuses before anything is written: exit 2, one line naming the rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from render import git, images, layout
from render.load import Document, read_yaml
from render.problems import Problem, ProblemsError
from render.workflows.events import INPUTS
from render.workflows.release import set_scalars


def _refuse(pointer: str, message: str, hint: str) -> ProblemsError:
    return ProblemsError([Problem(INPUTS, 1, 1, pointer, message, hint)])


def check_release(platform: dict[str, Any], releases: dict[str, Any], version: str, tag: str,
                  digest: str | None) -> str:
    """The digest of a new (or the current) platform release `version`, checked against
    what is recorded. Refuses a version or tag that is not YYYY.M.N (`latest`, say), a
    tag other than the version, a missing or malformed digest, a version below the current
    release (a downgrade), and a recorded version with another digest (releases never change)."""
    key = images.version_key(version)
    if key is None:
        raise _refuse("version", f"{version!r} is not a platform release version", "YYYY.M.N, e.g. 2026.12.1")
    if tag != version:
        raise _refuse("tag", f"tag {tag!r} is not the release's version {version!r}",
                      "a platform release's image is tagged with its version; leave --tag out")
    if digest is None or not images.DIGEST.fullmatch(digest):
        what = "no digest" if digest is None else f"{digest!r} is not an image digest"
        raise _refuse("digest", f"release {version}: {what}",
                      "pass the pushed image's digest: --digest sha256:<64 hex>")
    recorded = images.release_digests(releases)
    if version in recorded:
        if recorded[version] != digest:
            raise _refuse("digest", f"release {version} is recorded with another digest ({recorded[version]})",
                          f"a release never changes; publish a new version instead ({layout.RELEASES_FILE})")
        return digest
    current = str(platform.get("platform_version", ""))
    newest = max([k for k in map(images.version_key, [current, *recorded]) if k is not None], default=None)
    if newest is not None and key < newest:
        raise _refuse("version", f"{version} is older than the current release {'.'.join(map(str, newest))}",
                      "a platform update never downgrades; move one tenant back with `dataplane promote`")
    return digest


def releases_text(text: str, version: str, digest: str, versions: dict[str, Any]) -> str:
    """registry/releases.yaml's `text` with the release appended (comments kept)."""
    entry = {"version": version, "digest": digest, "ray": str(versions.get("ray", "")),
             "kuberay": str(versions.get("kuberay", ""))}
    body = "".join(f"{'  - ' if i == 0 else '    '}{k}: {json.dumps(v)}\n" for i, (k, v) in enumerate(entry.items()))
    text += "" if text.endswith("\n") or not text else "\n"
    lines = text.splitlines(keepends=True)
    # The new entry ends `releases`: before the `revisions` list (`dataplane pin`) and its comment.
    end = next((i for i, line in enumerate(lines) if line.startswith("revisions:")), None)
    if end is None:
        return text + body
    while end > 0 and (lines[end - 1].startswith("#") or not lines[end - 1].strip()):
        end -= 1
    return "".join(lines[:end]) + body + "".join(lines[end:])


def record_platform_release(root: Path, version: str, digest: str) -> list[str]:
    """Write release `version` (its digest checked by `check_release`): registry/platform.yaml's
    platform_version, engine tag and digest, and an entry in registry/releases.yaml when it
    is new. Returns the files changed (staged)."""
    platform = read_yaml(root, layout.PLATFORM_FILE)
    releases = read_yaml(root, layout.RELEASES_FILE)
    changed = []
    old = (root / layout.PLATFORM_FILE).read_text(encoding="utf-8")
    new = set_scalars(old, platform, {("platform_version",): version, ("engine", "tag"): version,
                                      ("engine", "digest"): digest})
    if new != old:
        (root / layout.PLATFORM_FILE).write_text(new, encoding="utf-8")
        changed.append(layout.PLATFORM_FILE)
    if version not in images.release_digests(releases.data):
        text = (root / layout.RELEASES_FILE).read_text(encoding="utf-8")
        (root / layout.RELEASES_FILE).write_text(releases_text(text, version, digest, platform.data.get("versions") or {}),
                                                 encoding="utf-8")
        changed.append(layout.RELEASES_FILE)
    if changed:
        git.stage(root, changed)
    return changed


def read_records(root: Path) -> tuple[Document, Document]:
    """registry/platform.yaml and registry/releases.yaml, as check_release reads them."""
    return read_yaml(root, layout.PLATFORM_FILE), read_yaml(root, layout.RELEASES_FILE)


def fork_digest(digest: str | None) -> str:
    """The digest fork-deploy records; a deploy without one is refused."""
    if digest is None or not images.DIGEST.fullmatch(digest):
        what = "no digest" if digest is None else f"{digest!r} is not an image digest"
        raise _refuse("digest", f"fork build: {what}", "pass the pushed image's digest: --digest sha256:<64 hex>")
    return digest


def record_fork_build(release: dict[str, Any], engine_repository: str, tenant: str, sha: str,
                      digest: str) -> dict[str, Any]:
    """`release` running the fork build {sha, digest} from the tenant's own package, the
    build recorded in `fork_builds` (what the tenant's namespace admits)."""
    recorded = images.with_fork_build(release, sha, digest)
    return {**recorded, "image": images.fork_image(engine_repository, tenant, sha, digest)}
