"""The datastores' volumes: sized once by the StatefulSet, grown by volume expansion.

A StatefulSet's `volumeClaimTemplates` are immutable (the API server refuses any change),
and the StatefulSet controller creates each claim from them once, as
`<template>-<statefulset>-<ordinal>`. So the template keeps the size every volume was
created with (`claim_template_storage` in registry/platform.yaml), and a larger `storage`
is rendered as the claim object itself at the new size: applying it asks the storage
class to expand the disk in place (`allowVolumeExpansion: true`, render/storage_classes.py).
A claim can never shrink; validate refuses a `storage` below the template's.

Volumes outlive everything that refers to them: StatefulSets retain their claims when
deleted or scaled down, ArgoCD never prunes or deletes a rendered claim, and the storage
classes keep a disk whose claim is deleted (reclaimPolicy Retain), so deleting the
namespace no longer deletes the data. Pure.
"""

from __future__ import annotations

from typing import Any

from render import layout, quantity

# StatefulSet spec.persistentVolumeClaimRetentionPolicy: claims stay when the StatefulSet is
# deleted or scaled down (the Kubernetes default, written out so it is stated and checked).
RETENTION = {"whenDeleted": "Retain", "whenScaled": "Retain"}
# The one claim template of each datastore StatefulSet (mounted at its data path).
CLAIM_TEMPLATE = "data"
# On a rendered claim: ArgoCD neither prunes it when it leaves Git nor deletes it with the Application.
CLAIM_SYNC_OPTIONS = "Prune=false,Delete=false"
ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ACCESS_MODES = ["ReadWriteOnce"]


def volume(statefulset: str, storage: str, created_with: str | None) -> dict[str, Any]:
    """Template values of one datastore's volume: the claim template's size, and the claim
    to render when `storage` grew past it (None otherwise: existing output stays as it was)."""
    template = created_with if created_with is not None else storage
    grown = quantity.parse(storage) > quantity.parse(template)
    return {"statefulset": statefulset, "template_storage": template, "storage": storage,
            "claim": layout.claim_name(CLAIM_TEMPLATE, statefulset, 0) if grown else None}


def shrinks(storage: str, created_with: str) -> bool:
    return quantity.parse(storage) < quantity.parse(created_with)
