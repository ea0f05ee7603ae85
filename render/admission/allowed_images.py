"""The images one tenant namespace may run: the parameter object of the images policy.

A ConfigMap `dataplane-allowed-images` in tenant-<name>, rendered with the tenant's other
objects (rendered/<name>/) and read by the ValidatingAdmissionPolicy
`dataplane-tenant-images` through its binding's `paramRef` (render/admission/policies.py).
Each data key is a digest (`sha256.<64 hex>`), its value the repositories that may serve
it, space-separated: every recorded platform release (registry/releases.yaml) in the
engine repository, the tenant's own recorded fork builds (release.yaml `fork_builds`) in its
own package, and the component images of the platform it renders from. A pod whose image
is not one of these digests, from one of these repositories, is refused, whatever its tag.

Built in Python for every tenant, whatever platform revision it pins, so an older pinned
revision (whose templates predate it) still gets its parameters. Pure.
"""

from __future__ import annotations

from typing import Any

from render import images, layout
from render.load import PlatformInputs, TenantFiles

NAME = "dataplane-allowed-images"
KEY_PREFIX = "sha256."  # ConfigMap keys allow [-._a-zA-Z0-9]: the digest with '.' for ':'
COMPONENT = "admission"


def key(digest: str) -> str:
    """The data key of `digest` (sha256:<hex> -> sha256.<hex>)."""
    return KEY_PREFIX + digest.removeprefix("sha256:")


def allowed(files: TenantFiles, shared: PlatformInputs) -> dict[str, list[str]]:
    """digest -> sorted repositories that may serve it, for tenant `files.name`."""
    platform = shared.platform.data if isinstance(shared.platform.data, dict) else {}
    engine = str((platform.get("engine") or {}).get("repository", ""))
    out: dict[str, set[str]] = {}
    for digest in images.release_digests(shared.releases.data).values():
        out.setdefault(digest, set()).add(engine)
    for build in images.fork_builds(files.release.data):
        out.setdefault(build["digest"], set()).add(images.fork_repository(engine, files.name))
    for image in images.component_images(platform).values():
        ref = images.parse(image)
        if ref.digest:
            out.setdefault(ref.digest, set()).add(ref.repository)
    return {digest: sorted(repos) for digest, repos in sorted(out.items()) if images.DIGEST.fullmatch(digest)}


def configmap(files: TenantFiles, shared: PlatformInputs) -> dict[str, Any]:
    """The parameter object (labels, namespace and sync wave are added by build.decorate)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "labels": {layout.LABEL_COMPONENT: COMPONENT}},
            "data": {key(d): " ".join(repos) for d, repos in allowed(files, shared).items()}}
