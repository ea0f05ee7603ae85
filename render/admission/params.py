"""What the admission policies know of one tenant namespace: its parameter object.

A ConfigMap `dataplane-admission` in tenant-<name>, rendered with the tenant's other
objects (rendered/<name>/) and read by the ValidatingAdmissionPolicies with a `paramKind`
through their bindings' `paramRef` (render/admission/policies.py, secret_policy.py):
- the images the namespace may run: each key `sha256.<64 hex>` is a digest, its value the
  repositories that may serve it, space-separated: the platform releases recorded in
  registry/releases.yaml up to the one the tenant runs (so recording a new release leaves
  every other tenant's object byte for byte, and a rollback restores it) in the engine
  repository, the tenant's own recorded fork builds
  (release.yaml `fork_builds`) in its own package, and the component images of the platform
  it renders from. A pod whose image is not one of these digests, from one of these
  repositories, is refused, whatever its tag;
- what the tenant's cloud's SecretStore rule reads (render/clouds/ `secret_store_params`:
  `secret-store.gcp-project`, the GCP project a GCP tenant's SecretStore must name).

Built in Python for every tenant, whatever platform revision it pins, so an older pinned
revision (whose templates predate it) still gets its parameters. Pure.
"""

from __future__ import annotations

from typing import Any

from render import clouds, images, layout, tenant_secrets
from render.load import PlatformInputs, TenantFiles

NAME = "dataplane-admission"
KEY_PREFIX = "sha256."  # ConfigMap keys allow [-._a-zA-Z0-9]: the digest with '.' for ':'
COMPONENT = "admission"
# A wave before anything the policies reading it admit: the SecretStore (the secret chain's
# store wave) and every pod. In the same wave, ArgoCD applies them together, and the API
# server's admission may not see the new params yet: the store is refused
# (tests/cluster/test_cluster_upgrade.py found it on an upgrade).
SYNC_WAVE = str(tenant_secrets.WAVES["store"] - 1)


def key(digest: str) -> str:
    """The data key of `digest` (sha256:<hex> -> sha256.<hex>)."""
    return KEY_PREFIX + digest.removeprefix("sha256:")


def allowed(files: TenantFiles, shared: PlatformInputs) -> dict[str, list[str]]:
    """digest -> sorted repositories that may serve it, for tenant `files.name`."""
    platform = shared.platform.data if isinstance(shared.platform.data, dict) else {}
    engine = str((platform.get("engine") or {}).get("repository", ""))
    out: dict[str, set[str]] = {}
    for digest in _releases_up_to(files, shared).values():
        out.setdefault(digest, set()).add(engine)
    for build in images.fork_builds(files.release.data):
        out.setdefault(build["digest"], set()).add(images.fork_repository(engine, files.name))
    for image in images.component_images(platform).values():
        ref = images.parse(image)
        if ref.digest:
            out.setdefault(ref.digest, set()).add(ref.repository)
    return {digest: sorted(repos) for digest, repos in sorted(out.items()) if images.DIGEST.fullmatch(digest)}


def _releases_up_to(files: TenantFiles, shared: PlatformInputs) -> dict[str, str]:
    """version -> digest of the recorded releases up to the one the tenant runs (all of them
    when its version is not one): recording a newer release changes no other tenant's
    object, and a tenant moved back (a rollback) admits exactly what it admitted before."""
    release = files.release.data if isinstance(files.release.data, dict) else {}
    own = images.version_key(str(release.get("platform_version", "")))
    recorded = images.release_digests(shared.releases.data)
    return {v: d for v, d in recorded.items() if own is None or (images.version_key(v) or own) <= own}


def configmap(files: TenantFiles, shared: PlatformInputs) -> dict[str, Any]:
    """The parameter object (labels and namespace are added by build.with_object)."""
    data = {key(d): " ".join(repos) for d, repos in allowed(files, shared).items()}
    tenant = files.tenant.data if isinstance(files.tenant.data, dict) else {}
    if clouds.known(tenant.get("cloud")):
        data.update(clouds.get(tenant["cloud"]).secret_store_params(tenant))
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "labels": {layout.LABEL_COMPONENT: COMPONENT},
                         "annotations": {layout.ANNOTATION_SYNC_WAVE: SYNC_WAVE}},
            "data": dict(sorted(data.items()))}
