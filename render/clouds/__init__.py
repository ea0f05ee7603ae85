"""The clouds a tenant may live on: one module each, registered here once.

Every decision that differs between clouds (the account and region formats, the data and
backup buckets, the workload identities and their trust, the secret store and its admission
rule, the backup CLI, the account quotas, the node model, the template context's cloud
blocks) is a member of `Cloud` (render/clouds/base.py), implemented by each module. Code
elsewhere looks a cloud up with `get` and never branches on its name
(tests/conformance/test_cloud_interface.py checks that); a cloud's own objects are its templates in
base/clouds/<name>/ and the CRDs of their kinds in render/crds/. The schemas' cloud enums
and per-cloud blocks are written from these clouds by `dataplane render`
(render/clouds/schemas.py), so a tenant may name no other.
Adding a cloud: docs/architecture.md, "Adding a cloud".
"""

from __future__ import annotations

from typing import TypeGuard

from render.clouds.aws import AWS
from render.clouds.base import Cloud, members
from render.clouds.gcp import GCP

__all__ = ["CLOUDS", "MANAGEMENT", "Cloud", "get", "names"]

# Registration order is the order the engine lists clouds in where order shows (the secret
# store's admission rule tries each provider in turn).
CLOUDS: dict[str, Cloud] = {"gcp": GCP(), "aws": AWS()}
# The cloud the management cluster (ArgoCD, the gateway, the tenants' label proxies) runs
# on: `validate --deep` checks its pods against this cloud's node model.
MANAGEMENT = "gcp"


def _check(registry: dict[str, Cloud]) -> None:
    """Refuse at import a registered cloud that leaves a member of `Cloud` out or is
    registered under another name (mypy proves the same of the types, statically)."""
    for key, cloud in registry.items():
        missing = [m for m in members() if not hasattr(cloud, m)]
        if missing or cloud.name != key:
            raise TypeError(f"cloud {key!r} ({type(cloud).__name__}) does not implement render.clouds.base.Cloud: "
                            f"{', '.join(missing) or f'its name is {cloud.name!r}'}")


_check(CLOUDS)


def get(name: str) -> Cloud:
    """The cloud of a validated tenant.yaml `cloud` (the schema refuses another)."""
    return CLOUDS[name]


def names() -> list[str]:
    return sorted(CLOUDS)


def known(value: object) -> TypeGuard[str]:
    """Whether a tenant.yaml `cloud` value (any YAML value, before the schema has passed on
    it: a list is not hashable) names a registered cloud."""
    return isinstance(value, str) and value in CLOUDS
