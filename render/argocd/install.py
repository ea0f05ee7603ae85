"""ArgoCD's own settings, sized for the fleet (argocd/platform/): a function of platform.yaml `argocd`.

Applied by the root app server-side, like the argocd-cm fragment, so only these fields are
ours and the installation (Helm, manifests) keeps everything else. The documented ways
(argoproj/argo-cd docs/operator-manual):

- `argocd-cmd-params-cm` (argocd-cmd-params-cm.yaml): controller.status.processors,
  controller.operation.processors, controller.sharding.algorithm, controller.sync.timeout.seconds,
  reposerver.parallelism.limit. Read as environment variables when the pods start.
- `argocd-cm` (argocd-cm.yaml): timeout.reconciliation and its jitter, webhook.refresh.jitter
  (render/argocd/health.py renders the ConfigMap).
- the application controller's StatefulSet replicas and the same number in
  ARGOCD_CONTROLLER_REPLICAS (high_availability.md, "sharding"), and the repo-server's
  replicas, as partial objects applied server-side (user-guide/sync-options.md: "patch
  existing resources by providing a partial yaml").

The pods read these settings only at start: a pod-template annotation holding their hash
restarts the controller and the repo-server when, and only when, a setting changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from render import ENGINE_VERSION, layout
from render.argocd.sizing import WEBHOOK_JITTER_S, Sizing

CMD_PARAMS_CM = "argocd-cmd-params-cm"
CONTROLLER = "argocd-application-controller"  # StatefulSet and container, as upstream's manifests name them
REPO_SERVER = "argocd-repo-server"  # Deployment and container
REPLICAS_ENV = "ARGOCD_CONTROLLER_REPLICAS"
ANNOTATION_SETTINGS = "dataplane.io/argocd-settings"
SYNC_OPTIONS = "ServerSideApply=true,Prune=false,Delete=false"


def cmd_params(z: Sizing) -> dict[str, str]:
    return {
        "controller.status.processors": str(z.status_processors),
        "controller.operation.processors": str(z.operation_processors),
        "controller.sharding.algorithm": z.sharding_algorithm,
        # "0" (the default) means no timeout: an operation waiting on a RayService that never
        # gets ready would run for ever, and auto-sync skips an app while its operation runs.
        "controller.sync.timeout.seconds": str(z.sync_timeout_s),
        "reposerver.parallelism.limit": str(z.repo_server_parallelism),
    }


def cm_settings(z: Sizing) -> dict[str, str]:
    """The argocd-cm keys of the sizing (merged into the health-check fragment)."""
    return {
        "timeout.reconciliation": f"{z.reconciliation_s}s",
        "timeout.reconciliation.jitter": f"{z.reconciliation_jitter_s}s",
        "webhook.refresh.jitter": f"{WEBHOOK_JITTER_S}s",
    }


def settings_hash(z: Sizing) -> str:
    text = json.dumps({"params": cmd_params(z), "cm": cm_settings(z), "replicas": z.controller_replicas}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _meta(name: str, namespace: str, wave: str, partial: bool) -> dict[str, Any]:
    annotations = {layout.ANNOTATION_SYNC_WAVE: wave, "argocd.argoproj.io/sync-options": SYNC_OPTIONS,
                   layout.ANNOTATION_ENGINE: ENGINE_VERSION}
    if partial:
        annotations[layout.ANNOTATION_PARTIAL] = layout.PARTIAL_SERVER_SIDE
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd",
              layout.LABEL_MANAGED_BY: layout.MANAGED_BY}
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": dict(sorted(annotations.items()))}


def _template(z: Sizing, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"annotations": {ANNOTATION_SETTINGS: settings_hash(z)}}, **({"spec": spec} if spec else {})}


def objects(z: Sizing, namespace: str) -> list[dict[str, Any]]:
    """argocd-cmd-params-cm and the two partial workloads."""
    params = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(CMD_PARAMS_CM, namespace, "-2", False),
              "data": dict(sorted(cmd_params(z).items()))}
    controller = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(CONTROLLER, namespace, "-2", True),
                  "spec": {"replicas": z.controller_replicas,
                           "template": _template(z, {"containers": [{"name": CONTROLLER, "env": [
                               {"name": REPLICAS_ENV, "value": str(z.controller_replicas)}]}]})}}
    repo = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(REPO_SERVER, namespace, "-2", True),
            "spec": {"replicas": z.repo_server_replicas, "template": _template(z)}}
    return [params, controller, repo]
