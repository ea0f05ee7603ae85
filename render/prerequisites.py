"""What a cluster must run before ArgoCD syncs to it (registry/platform.yaml
`cluster_prerequisites`): the custom kinds each operator brings, per cluster. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MANAGEMENT = "management"


def kind_key(api_version: str, kind: str) -> str:
    """`<group>/<Kind>` of an object's apiVersion and kind ('' group for core)."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return f"{group}/{kind}"


def is_custom(key: str) -> bool:
    """A kind from a CRD: its group has a dot and is not one of Kubernetes' own (*.k8s.io)."""
    group = key.split("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def provided(platform: dict[str, Any], cluster: str) -> set[str]:
    """The custom kinds the prerequisites bring to a `cluster` (a cloud, or management)."""
    return {k for p in (platform.get("cluster_prerequisites") or {}).values() if cluster in p["clusters"]
            for k in p["kinds"]}


def missing(platform: dict[str, Any], cluster: str, objects: Iterable[dict[str, Any]]) -> list[str]:
    """Custom kinds `objects` use that no prerequisite of `cluster` provides."""
    used = {kind_key(str(o.get("apiVersion", "")), str(o.get("kind", ""))) for o in objects}
    return sorted(k for k in used if is_custom(k) and k not in provided(platform, cluster))
