"""ArgoCD settings the data planes need: Lua health checks and resource tracking.

ArgoCD judges Deployments, StatefulSets, KEDA ScaledObjects, ExternalSecrets and Config
Connector objects itself, but has no health check for KubeRay or ACK kinds: without one a
RayService shows Healthy while Serve applications fail. The scripts ship in the package
(render/argocd/lua/*.lua) and are rendered into an argocd-cm fragment that the root
Application applies server-side, so only these keys are owned by it.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from render import ENGINE_VERSION, layout

LUA_DIR = "lua"
# (API group, kind) -> Lua files under render/argocd/lua/, joined into one script in order.
KUBERAY = "kuberay.lua"  # helpers of the KubeRay scripts
HEALTH_SCRIPTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ray.io", "RayService"): (KUBERAY, "rayservice.lua"),
    ("ray.io", "RayCluster"): (KUBERAY, "raycluster.lua"),
    ("s3.services.k8s.aws", "Bucket"): ("ack.lua",),
    ("iam.services.k8s.aws", "Role"): ("ack.lua",),
}
ARGOCD_CM = "argocd-cm"
# Annotation tracking keeps our own app.kubernetes.io/instance labels meaningful and lets
# two Applications (workloads, guardrails) share one namespace without fighting.
TRACKING_METHOD = "annotation"
# Applied server-side: the root Application owns only these keys of argocd-cm, and never
# prunes or deletes the ConfigMap ArgoCD itself needs.
CM_SYNC_OPTIONS = "ServerSideApply=true,Prune=false,Delete=false"


def script(files: tuple[str, ...]) -> str:
    """One health script: the text of its Lua files shipped with the package, in order."""
    folder = resources.files("render.argocd").joinpath(LUA_DIR)
    return "".join(folder.joinpath(file).read_text(encoding="utf-8") for file in files)


def health_key(group: str, kind: str) -> str:
    """argocd-cm key of one health customization (the per-kind form, ArgoCD >= 2.x)."""
    return f"resource.customizations.health.{group}_{kind}"


def argocd_cm(argocd_namespace: str, settings: dict[str, str] | None = None) -> dict[str, Any]:
    """The argocd-cm fragment: health checks, the tracking method and the fleet's sizing
    settings (render/argocd/install.py), nothing else."""
    data = {"application.resourceTrackingMethod": TRACKING_METHOD, **(settings or {})}
    for (group, kind), files in sorted(HEALTH_SCRIPTS.items()):
        data[health_key(group, kind)] = script(files)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ARGOCD_CM,
            "namespace": argocd_namespace,
            # ArgoCD only watches ConfigMaps carrying this label.
            "labels": {"app.kubernetes.io/name": ARGOCD_CM, "app.kubernetes.io/part-of": "argocd",
                       layout.LABEL_MANAGED_BY: layout.MANAGED_BY},
            "annotations": {layout.ANNOTATION_SYNC_WAVE: "-2", "argocd.argoproj.io/sync-options": CM_SYNC_OPTIONS,
                            layout.ANNOTATION_ENGINE: ENGINE_VERSION},
        },
        "data": dict(sorted(data.items())),
    }
