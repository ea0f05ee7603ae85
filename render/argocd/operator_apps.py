"""The KubeRay operator on every data-plane cluster, installed and upgraded by ArgoCD.

- AppProject `kuberay-operator`: KubeRay's Helm repository only; the operator's namespace
  (registry/platform.yaml `network.peers.kuberay_operator`, which the tenants' NetworkPolicies
  admit) on every registered cluster; the kinds the chart renders, its CRDs included.
- Application `kuberay-operator-<cluster>` per registered cluster: chart `kuberay-operator`
  as the ServiceAccount the admission policies trust, at the version the cluster runs
  (render/versions.py `operator_version`: its `clusters` entry's `kuberay`, else
  registry/platform.yaml `versions.kuberay`), CRDs included (ArgoCD applies a chart's crds/
  on every sync, so they upgrade with it; server-side, since KubeRay's CRDs exceed a
  client-side apply's annotation).

A function of registry/platform.yaml only, like every platform builder. `dataplane validate`
refuses a version whose operator does not support a tenant on the cluster (render/versions.py).
"""

from __future__ import annotations

from typing import Any

from render import ENGINE_VERSION, layout, versions
from render.argocd.platform_apps import ARGOCD_API, ROOT_RETRY, Settings, app_labels

PROJECT = "kuberay-operator"
APP_PREFIX = PROJECT + "-"
CHART_REPOSITORY = "https://ray-project.github.io/kuberay-helm/"
CHART = "kuberay-operator"
RELEASE_NAME = "kuberay-operator"  # the chart names its objects after the release
# What the chart renders with its default values (admission webhooks and the ServiceMonitor off).
CLUSTER_KINDS = (("apiextensions.k8s.io", "CustomResourceDefinition"), ("rbac.authorization.k8s.io", "ClusterRole"),
                 ("rbac.authorization.k8s.io", "ClusterRoleBinding"), ("", "Namespace"))
NAMESPACED_KINDS = (("apps", "Deployment"), ("", "Service"), ("", "ServiceAccount"), ("", "ConfigMap"),
                    ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"))
# As every Application: after the AppProjects (-1). The operator moves ahead of its tenants
# by its own version (render/versions.py), not by a wave: ArgoCD does not wait for a child
# Application's health.
SYNC_WAVE = "0"


PEER = "kuberay_operator"


def namespace(platform: dict[str, Any]) -> str:
    return str(platform["network"]["peers"][PEER]["namespace"])


def service_account(platform: dict[str, Any]) -> str:
    """The ServiceAccount the operator runs as: the one the admission policies trust
    (registry/platform.yaml `admission.controllers`), so the chart is told its name."""
    controllers = (platform.get("admission") or {}).get("controllers") or []
    return next((str(c["service_account"]) for c in controllers if c.get("peer") == PEER), RELEASE_NAME)


def _meta(name: str, s: Settings, wave: str) -> dict[str, Any]:
    return {"name": name, "namespace": s.namespace, "labels": app_labels("platform", {}),
            "annotations": {layout.ANNOTATION_SYNC_WAVE: wave, layout.ANNOTATION_ENGINE: ENGINE_VERSION}}


def applications(s: Settings, platform: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator's AppProject and one Application per registered cluster."""
    clusters = sorted(platform.get("clusters") or {})
    ns = namespace(platform)
    project = {"apiVersion": ARGOCD_API, "kind": "AppProject", "metadata": _meta(PROJECT, s, "-1"),
               "spec": {"description": "Platform-owned: the KubeRay operator of every data-plane cluster, from KubeRay's "
                                       "Helm chart; no tenant role",
                        "sourceRepos": [CHART_REPOSITORY],
                        "destinations": [{"name": c, "namespace": ns} for c in clusters],
                        "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in CLUSTER_KINDS],
                        "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in NAMESPACED_KINDS]}}
    account = service_account(platform)
    apps = [{"apiVersion": ARGOCD_API, "kind": "Application", "metadata": _meta(APP_PREFIX + c, s, SYNC_WAVE),
             "spec": {"project": PROJECT,
                      "source": {"repoURL": CHART_REPOSITORY, "chart": CHART, "targetRevision": versions.operator_version(platform, c),
                                 "helm": {"releaseName": RELEASE_NAME, "skipCrds": False,
                                          "valuesObject": {"serviceAccount": {"create": True, "name": account}}}},
                      "destination": {"name": c, "namespace": ns},
                      # Never prune: the CRDs own every tenant's RayService; deleting one deletes them all.
                      "syncPolicy": {"automated": {"prune": False, "selfHeal": True},
                                     "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"], "retry": ROOT_RETRY},
                      "revisionHistoryLimit": 10}}
            for c in clusters]
    return [project, *apps]
