"""Every datastore volume in the committed output is retained and expandable: the claims by
their StatefulSets and ArgoCD, the disks by their StorageClasses."""

from __future__ import annotations

from typing import Any

import yaml

from render import layout, storage_classes, volumes
from tests.support import ROOT


def objects(folder: str) -> list[dict[str, Any]]:
    return [next(d for d in yaml.safe_load_all(p.read_text()) if d) for p in sorted((ROOT / folder).rglob("*.yaml"))]


def classes() -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects(layout.STORAGE_DIR) if o["kind"] == "StorageClass"}


def test_every_storage_class_retains_and_expands() -> None:
    found = classes()
    assert set(found) == {"premium-rwo", "gp3"}
    for cls in found.values():
        assert (cls["reclaimPolicy"], cls["allowVolumeExpansion"]) == (storage_classes.RECLAIM_POLICY, True) == ("Retain", True)


def test_every_statefulset_retains_its_claims_on_a_class_that_keeps_the_disk() -> None:
    found, seen = classes(), 0
    for obj in objects(layout.RENDERED_DIR):
        if obj["kind"] == "StatefulSet":
            seen += 1
            assert obj["spec"]["persistentVolumeClaimRetentionPolicy"] == volumes.RETENTION
            for claim in obj["spec"]["volumeClaimTemplates"]:
                assert found[claim["spec"]["storageClassName"]]["reclaimPolicy"] == "Retain"
        if obj["kind"] == "PersistentVolumeClaim":
            assert obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
            assert found[obj["spec"]["storageClassName"]]["allowVolumeExpansion"] is True
    assert seen >= 7  # a Redis per tenant, a MongoDB per dedicated one


def test_a_claim_is_rendered_only_when_the_volume_grew() -> None:
    assert volumes.volume("mongodb", "100Gi", "100Gi")["claim"] is None
    assert volumes.volume("mongodb", "200Gi", "100Gi")["claim"] == "data-mongodb-0"
    assert volumes.volume("mongodb", "200Gi", None) == {"statefulset": "mongodb", "template_storage": "200Gi",
                                                        "storage": "200Gi", "claim": None}
    assert volumes.shrinks("50Gi", "100Gi") and not volumes.shrinks("100Gi", "100Gi")
