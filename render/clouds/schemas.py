"""The schemas' cloud lists, written from the registered clouds (render/generated.py;
`dataplane render` writes them, `render --check` names a stale schema).

Each `cloud` enum lists `CLOUDS` in registration order; each per-cloud mapping holds every
cloud's own block (its `schema_blocks`) and, where the hand-written schema requires the
clouds' entries, requires each. The rest of every schema is written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from render import prerequisites
from render.clouds import CLOUDS
from render.clouds.base import SchemaBlocks

Path_ = tuple[str, ...]
P = "properties"

# (schema, key path) of each `cloud` enum.
ENUMS: tuple[tuple[str, Path_], ...] = (
    ("tenant", (P, "cloud")),
    ("routing", (P, "data_plane", P, "cloud")),
    ("platform", (P, "clusters", "additionalProperties", P, "cloud")),
)
# (schema, key path of the object keyed by cloud, the cloud's block there).
BLOCKS: tuple[tuple[str, Path_, Callable[[SchemaBlocks], dict[str, Any]]], ...] = (
    ("platform", (P, "datastores", P, "storage_provisioners"), lambda b: b.storage_provisioner),
    ("platform", (P, "datastores", P, "storage_class"), lambda b: b.storage_class),
    ("platform", (P, "offboarding", P, "retention_bucket"), lambda b: b.retention_bucket),
    ("platform", (P, "network", P, "identity_endpoints"), lambda b: b.identity_endpoints),
    ("platform", (P, "nodes", P, "daemonset_budget"), lambda b: b.daemonset_budget),
    ("platform", (P, "nodes", P, "pools", "additionalProperties", P, "machine"), lambda b: b.pool_machine),
    ("platform", (P, "nodes", P, "pools", "additionalProperties", P, "labels"), lambda b: b.pool_labels),
    ("prices", (P, "clouds"), lambda b: b.prices),
)
# A prerequisite's clusters: a cloud (its data-plane clusters) or the management cluster.
PREREQUISITE_CLUSTERS: Path_ = (P, "cluster_prerequisites", "additionalProperties", P, "clusters")


def fill(name: str, schema: dict[str, Any]) -> None:
    """Write the cloud lists of render/schemas/<name>.schema.json into `schema`, in place."""
    for file, path in ENUMS:
        if file == name:
            _at(schema, path)["enum"] = list(CLOUDS)
    for file, path, block in BLOCKS:
        if file == name:
            node = _at(schema, path)
            node[P] = {cloud: block(c.schema_blocks) for cloud, c in CLOUDS.items()}
            if "required" in node:
                node["required"] = list(CLOUDS)
    if name == "platform":
        clusters = _at(schema, PREREQUISITE_CLUSTERS)
        clusters["items"]["enum"] = [*CLOUDS, prerequisites.MANAGEMENT]
        clusters["items"]["description"] = (f"{' or '.join(CLOUDS)} (that cloud's data-plane clusters), "
                                            f"or {prerequisites.MANAGEMENT}.")
        clusters["description"] = (f"{', '.join(CLOUDS)} (data-plane clusters of that cloud) "
                                   f"or {prerequisites.MANAGEMENT} (ArgoCD's).")


def _at(schema: dict[str, Any], path: Path_) -> dict[str, Any]:
    node = schema
    for key in path:
        node = node[key]
    return node
