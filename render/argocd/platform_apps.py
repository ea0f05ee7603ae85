"""ArgoCD objects owned by the platform (argocd/platform/): a function of platform.yaml only.

- AppProject `dataplane-platform`: this repository only; into ArgoCD's own namespace
  (AppProjects, Applications, the argocd-cm fragment) and the control-plane namespace
  (the gateway's routing ConfigMaps); no cluster-scoped kind.
- Application `dataplane-root` (app of apps): everything under argocd/, recursively,
  itself included, so a merged change to argocd/ reaches ArgoCD without a manual step.
- Application `dataplane-control-plane`: control-plane/ into the gateway's namespace.
- Applications `dataplane-admission-<cluster>`: the admission policies on every registered
  cluster (platform.yaml `clusters`), where the tenant namespaces they guard live.
- the argocd-cm fragment with the health checks (render.argocd.health), and ArgoCD's own
  settings sized for the fleet (render.argocd.install, render.argocd.sizing).
Every Application names the paths its output depends on (MANIFEST_PATHS), retries a failed
sync with backoff, and ends with the controller's sync timeout (sizing.sync_timeout_s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from render import ENGINE_VERSION, layout
from render.argocd import install, sizing
from render.argocd.health import argocd_cm
from render.load import Document
from render.problems import Problem, ProblemsError

ARGOCD_API = "argoproj.io/v1alpha1"
PLATFORM_PROJECT = "dataplane-platform"
ROOT_APP = "dataplane-root"
CONTROL_PLANE_APP = "dataplane-control-plane"
# The cluster-scoped admission policies (render.admission): their own project and app, so the
# platform project keeps no cluster-scoped kind.
ADMISSION_APP = "dataplane-admission"
ADMISSION_APP_PREFIX = ADMISSION_APP + "-"
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
# Per-tenant routing ConfigMaps of the shared gateway, rendered beside argocd/.
# control_plane keys in registry/platform.yaml this module needs.
SETTINGS_KEYS = ("repo_url", "repo_revision", "argocd_namespace", "argocd_cluster", "grafana_url", "gateway_namespace",
                 "monitoring_namespace")
# What the control plane's monitoring adds in monitoring_namespace (render/monitoring/control_plane.py):
# the gateway alerts, and each tenant's label proxy.
MONITORING_KINDS = ({"group": "monitoring.coreos.com", "kind": "PrometheusRule"}, {"group": "apps", "kind": "Deployment"},
                    {"group": "", "kind": "Service"})
# Characters ArgoCD reads as a pattern in project sources, destinations and policies
# (and the policy CSV separator): none may reach a rendered project.
PATTERN_CHARS = frozenset("*?[]{}!,\\ \t\n")
# Folders of cluster-scoped platform objects, each synced by an Application of its own.
ROOT_EXCLUDED = (layout.ADMISSION_DIR, layout.STORAGE_DIR)
ROOT_RETRY = sizing.PLATFORM_RETRY
# The folders under argocd/ the root app syncs (every other one is in ROOT_EXCLUDED).
ROOT_PATHS = (layout.ARGOCD_PLATFORM_DIR, layout.ARGOCD_TENANTS_DIR)
# argocd.argoproj.io/manifest-generate-paths (high_availability.md, "Manifest Paths
# Annotation"): a commit that changes none of these paths reuses the cached manifests, so a
# one-tenant change regenerates that tenant's two Applications only, not the whole fleet.
# ';'-separated; '.' is the Application's own source path; '/x' is x in the repository.
MANIFEST_PATHS = "argocd.argoproj.io/manifest-generate-paths"


@dataclass(frozen=True)
class Settings:
    repo_url: str
    revision: str
    namespace: str  # where ArgoCD runs and every Application/AppProject lives
    cluster: str  # ArgoCD's name of the cluster ArgoCD runs in
    grafana_url: str
    gateway_namespace: str
    monitoring_namespace: str


def settings(platform: Document) -> Settings:
    """Read control_plane.* of platform.yaml; every key required, none a pattern."""
    cp = platform.data.get("control_plane") if isinstance(platform.data, dict) else None
    cp = cp if isinstance(cp, dict) else {}
    problems = []
    for key in SETTINGS_KEYS:
        value = cp.get(key)
        if not isinstance(value, str) or not value:
            problems.append(platform.problem(("control_plane", key), "missing: needed by the ArgoCD objects",
                                             f"set control_plane.{key} in {layout.PLATFORM_FILE}"))
        elif key != "grafana_url" and PATTERN_CHARS & set(value):
            problems.append(_pattern_problem(platform, ("control_plane", key), value))
    if problems:
        raise ProblemsError(problems)
    return Settings(cp["repo_url"], cp["repo_revision"], cp["argocd_namespace"], cp["argocd_cluster"],
                    cp["grafana_url"].rstrip("/"), cp["gateway_namespace"],
                    cp["monitoring_namespace"])


def plain_name_problems(doc: Document, path: tuple[str, ...]) -> list[Problem]:
    """A value that lands in an AppProject must be a plain name, never a pattern."""
    value = doc.data.get(path[0]) if isinstance(doc.data, dict) else None
    if isinstance(value, str) and PATTERN_CHARS & set(value):
        return [_pattern_problem(doc, path, value)]
    return []


def _pattern_problem(doc: Document, path: tuple[str, ...], value: str) -> Problem:
    bad = "".join(sorted(PATTERN_CHARS & set(value)))
    return doc.problem(path, f"{value!r} contains {bad!r}, which ArgoCD would read as a pattern or separator",
                       "use the plain name; an AppProject must never match more than one repository, cluster or group")


def app_labels(component: str, extra: dict[str, str]) -> dict[str, str]:
    labels = {layout.LABEL_PART_OF: layout.PART_OF, layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
              layout.LABEL_COMPONENT: component, **extra}
    return dict(sorted(labels.items()))


def _meta(name: str, s: Settings, wave: int, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": s.namespace, "labels": app_labels(component, {}),
            "annotations": {layout.ANNOTATION_SYNC_WAVE: str(wave), layout.ANNOTATION_ENGINE: ENGINE_VERSION}}


def generate_paths(*paths: str) -> dict[str, str]:
    """The manifest-generate-paths annotation: '.' or repository paths ('/' + path)."""
    return {MANIFEST_PATHS: ";".join(p if p == "." else "/" + p for p in paths)}


def _project(name: str, s: Settings, description: str, destinations: list[dict[str, str]],
             **whitelists: list[dict[str, str]]) -> dict[str, Any]:
    """A platform AppProject: this repository only, the given destinations and kinds."""
    return {"apiVersion": ARGOCD_API, "kind": "AppProject", "metadata": _meta(name, s, -1, "platform"),
            "spec": {"description": description, "sourceRepos": [s.repo_url], "destinations": destinations,
                     **whitelists}}


def platform_project(s: Settings) -> dict[str, Any]:
    return _project(PLATFORM_PROJECT, s,
                    "Platform-owned: ArgoCD's own objects, the control plane's routing and monitoring; no tenant role",
                    [{"name": s.cluster, "namespace": s.namespace}, {"name": s.cluster, "namespace": s.gateway_namespace},
                     {"name": s.cluster, "namespace": s.monitoring_namespace}],
                    namespaceResourceWhitelist=[{"group": "argoproj.io", "kind": "AppProject"},
                                                {"group": "argoproj.io", "kind": "Application"},
                                                {"group": "", "kind": "ConfigMap"}, *MONITORING_KINDS,
                                                # ArgoCD's own controller (replicas only; the repo-server is a
                                                # Deployment, already in MONITORING_KINDS).
                                                {"group": "apps", "kind": "StatefulSet"}])


def admission_project(s: Settings, clusters: list[str]) -> dict[str, Any]:
    return _project(ADMISSION_APP, s,
                    "Platform-owned: the admission policies every tenant namespace is held to; no tenant role",
                    [{"name": c, "namespace": s.namespace} for c in clusters],
                    clusterResourceWhitelist=[{"group": "admissionregistration.k8s.io", "kind": k} for k in ADMISSION_KINDS])


def _app(name: str, s: Settings, path: str, namespace: str, options: list[str], project: str = PLATFORM_PROJECT,
         recurse: dict[str, Any] | None = None, paths: tuple[str, ...] = (".",),
         cluster: str | None = None) -> dict[str, Any]:
    meta = _meta(name, s, 0, "platform")
    meta["annotations"] = dict(sorted({**meta["annotations"], **generate_paths(*paths)}.items()))
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": project,
            "source": {"repoURL": s.repo_url, "targetRevision": s.revision, "path": path,
                       "directory": {"recurse": True, **(recurse or {})}},
            "destination": {"name": cluster or s.cluster, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                           "syncOptions": ["CreateNamespace=false", "PruneLast=true", *options], "retry": ROOT_RETRY},
            "revisionHistoryLimit": 10,
        },
    }


def registered_clusters(platform: dict[str, Any]) -> list[str]:
    """Every data-plane cluster of platform.yaml `clusters`, sorted."""
    clusters = platform.get("clusters")
    return sorted(clusters) if isinstance(clusters, dict) else []


def platform_objects(s: Settings, platform: dict[str, Any]) -> list[dict[str, Any]]:
    z = sizing.from_platform(platform)
    clusters = registered_clusters(platform)
    return [
        platform_project(s),
        admission_project(s, clusters),
        # A fleet's root holds thousands of objects: apply only what changed. The admission
        # folder is the admission apps' (cluster-scoped kinds the platform project refuses).
        _app(ROOT_APP, s, layout.ARGOCD_DIR, s.namespace, ["ApplyOutOfSyncOnly=true"],
             recurse={"exclude": "{" + ",".join(d.split("/", 1)[1] + "/*" for d in ROOT_EXCLUDED) + "}"},
             paths=ROOT_PATHS),
        _app(CONTROL_PLANE_APP, s, layout.CONTROL_PLANE_DIR, s.gateway_namespace, []),
        # The policies guard tenant namespaces: on every cluster a tenant may be placed on.
        *(_app(ADMISSION_APP_PREFIX + c, s, layout.ADMISSION_DIR, s.namespace, [], project=ADMISSION_APP, cluster=c)
          for c in clusters),
        argocd_cm(s.namespace, install.cm_settings(z)),
        *install.objects(z, s.namespace),
    ]
