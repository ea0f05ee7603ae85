"""The StorageClasses every datastore volume is provisioned from (argocd/storage/).

The engine renders them, one per cloud, named as registry/platform.yaml
`datastores.storage_class` names them, and one ArgoCD Application per data-plane cluster
syncs its cloud's class there. Two settings are the engine's own, never the registry's:

- `reclaimPolicy: Retain`: a disk outlives its claim, so deleting a tenant's namespace
  (or a claim) releases the volume instead of deleting it;
- `allowVolumeExpansion: true`: a larger `datastores.mongodb.storage` grows the disk in
  place (render/volumes.py).

Both are immutable once a class exists, and a cluster's own class of the same name
(GKE creates `premium-rwo` with reclaimPolicy Delete) must be replaced once when the
cluster is bootstrapped (docs/operations.md). Pure: platform.yaml in, objects out.
"""

from __future__ import annotations

from typing import Any

from render import ENGINE_VERSION, emit, layout
from render.argocd.platform_apps import ARGOCD_API, ROOT_RETRY, Settings, app_labels, generate_paths, settings
from render.load import Repo

RECLAIM_POLICY = "Retain"
ALLOW_VOLUME_EXPANSION = True
# Provision a disk where its pod is scheduled (a zonal disk in the pod's zone).
VOLUME_BINDING_MODE = "WaitForFirstConsumer"
PROJECT = "dataplane-storage"
APP_PREFIX = "dataplane-storage-"


def storage_class(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "labels": app_labels("storage", {}),
                     "annotations": {layout.ANNOTATION_ENGINE: ENGINE_VERSION}},
        "provisioner": spec["provisioner"],
        "parameters": dict(sorted(spec.get("parameters", {}).items())),
        "reclaimPolicy": RECLAIM_POLICY,
        "allowVolumeExpansion": ALLOW_VOLUME_EXPANSION,
        "volumeBindingMode": VOLUME_BINDING_MODE,
    }


def classes(platform: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """cloud -> its StorageClass."""
    d = platform["datastores"]
    return {cloud: storage_class(name, d["storage_provisioners"][cloud]) for cloud, name in sorted(d["storage_class"].items())}


def class_file(obj: dict[str, Any]) -> str:
    return layout.object_file(obj["kind"], obj["metadata"]["name"])


def applications(s: Settings, platform: dict[str, Any]) -> list[dict[str, Any]]:
    """The project (StorageClass only, every data-plane cluster) and one Application per
    cluster, each syncing the class of the cluster's cloud."""
    by_cloud = classes(platform)
    clusters = sorted(platform.get("clusters", {}).items())
    def meta(name: str, wave: str, paths: dict[str, str] | None = None) -> dict[str, Any]:
        annotations = {layout.ANNOTATION_SYNC_WAVE: wave, layout.ANNOTATION_ENGINE: ENGINE_VERSION, **(paths or {})}
        return {"name": name, "namespace": s.namespace, "labels": app_labels("platform", {}),
                "annotations": dict(sorted(annotations.items()))}

    project = {"apiVersion": ARGOCD_API, "kind": "AppProject", "metadata": meta(PROJECT, "-1"),
               "spec": {"description": "Platform-owned: the storage classes of the tenants' volumes (Retain, expandable); "
                                       "no tenant role",
                        "sourceRepos": [s.repo_url],
                        "destinations": [{"name": name, "namespace": s.namespace} for name, _ in clusters],
                        "clusterResourceWhitelist": [{"group": "storage.k8s.io", "kind": "StorageClass"}]}}
    # Each app's output is its one class file (manifest-generate-paths: that file only).
    apps = [{"apiVersion": ARGOCD_API, "kind": "Application",
             "metadata": meta(APP_PREFIX + name, "0",
                              generate_paths(f"{layout.STORAGE_DIR}/{class_file(by_cloud[c['cloud']])}")),
             "spec": {"project": PROJECT,
                      "source": {"repoURL": s.repo_url, "targetRevision": s.revision, "path": layout.STORAGE_DIR,
                                 "directory": {"recurse": False, "include": class_file(by_cloud[c["cloud"]])}},
                      "destination": {"name": name, "namespace": s.namespace},
                      # Never prune or delete a class: volumes name it for as long as they exist.
                      "syncPolicy": {"automated": {"prune": False, "selfHeal": True},
                                     "syncOptions": ["CreateNamespace=false"], "retry": ROOT_RETRY},
                      "revisionHistoryLimit": 10}}
            for name, c in clusters]
    return [project, *apps]


def build(repo: Repo) -> emit.Outputs:
    """Fleet builder: argocd/storage/ (a function of registry/platform.yaml only)."""
    settings(repo.current.platform)  # the same checks as every platform builder
    objs = classes(repo.current.platform.data).values()
    scope = layout.STORAGE_DIR
    return {scope: {f"{scope}/{class_file(o)}": emit.dump(o) for o in objs}}
