"""ArgoCD's order, computed from the committed Applications: which files each Application
syncs (source.path, directory.recurse/include/exclude, as ArgoCD globs them), and within
one sync the phases (PreSync hooks, Sync, PostSync hooks), the sync waves, then kubectl's
kind order and the name (gitops-engine pkg/sync/sync_tasks.go). Pure.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from render import layout

HOOK = "argocd.argoproj.io/hook"
PHASES = ("PreSync", "Sync", "PostSync")
# gitops-engine's kind order (from kubectl's install order) inside one wave.
KIND_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
              "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
              "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
              "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
              "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
              "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService")
ROOT_APP = "dataplane-root"


@dataclass(frozen=True)
class Item:
    path: str  # repo-relative file
    obj: dict[str, Any]

    @property
    def phase(self) -> str:
        return str(self.obj["metadata"].get("annotations", {}).get(HOOK, "Sync"))

    @property
    def wave(self) -> int:
        return int(self.obj["metadata"].get("annotations", {}).get(layout.ANNOTATION_SYNC_WAVE, "0"))

    def describe(self) -> str:
        meta = self.obj["metadata"]
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{self.obj['kind']} {where}{meta['name']}"


@dataclass(frozen=True)
class Wave:
    app: str
    phase: str
    wave: int
    items: tuple[Item, ...]


def expand_braces(pattern: str) -> list[str]:
    """ArgoCD's include/exclude globs: `{a,b}` alternatives (one level), else one pattern."""
    if pattern.startswith("{") and pattern.endswith("}"):
        return [p.strip() for p in pattern[1:-1].split(",") if p.strip()]
    return [pattern]


def app_files(app: dict[str, Any], files: list[str]) -> list[str]:
    """The repo files an Application syncs, from its source directory settings. A Helm
    chart's Application (the KubeRay operator, render/argocd/operator_apps.py) syncs none
    of them: the local control plane runs the operator itself (render/cluster/bootstrap.py)."""
    source = app["spec"]["source"]
    if "chart" in source:
        return []
    base = source["path"].rstrip("/")
    directory = source.get("directory") or {}
    include = expand_braces(directory.get("include", "")) if directory.get("include") else []
    exclude = expand_braces(directory.get("exclude", "")) if directory.get("exclude") else []
    out = []
    for f in files:
        if not f.startswith(base + "/") or not f.endswith((".yaml", ".yml", ".json")):
            continue
        rel = f[len(base) + 1:]
        if "/" in rel and not directory.get("recurse"):
            continue
        if include and not any(fnmatch.fnmatchcase(rel, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(rel, p) for p in exclude):
            continue
        out.append(f)
    return sorted(out)


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def plan(app: str, items: list[Item]) -> list[Wave]:
    """One Application's sync, in ArgoCD's order: phase, wave, kind, name."""
    ordered = sorted(items, key=lambda i: (PHASES.index(i.phase) if i.phase in PHASES else 1, i.wave,
                                          _kind_rank(str(i.obj["kind"])), str(i.obj["metadata"]["name"])))
    waves: list[Wave] = []
    for item in ordered:
        if waves and (waves[-1].phase, waves[-1].wave) == (item.phase, item.wave):
            waves[-1] = Wave(app, item.phase, item.wave, (*waves[-1].items, item))
        else:
            waves.append(Wave(app, item.phase, item.wave, (item,)))
    return waves


def app_order(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Platform Applications first (the root, then the rest by wave and name), then each
    tenant's guardrails before its workloads (the namespace and quota come from the
    guardrails; ArgoCD retries the workloads until they exist)."""
    def key(app: dict[str, Any]) -> tuple[int, str, int, str]:
        meta = app["metadata"]
        tenant = meta.get("labels", {}).get(layout.LABEL_TENANT, "")
        component = meta.get("labels", {}).get(layout.LABEL_COMPONENT, "")
        return (0 if meta["name"] == ROOT_APP else 1 if not tenant else 2, tenant,
                0 if component == "guardrails" else 1, meta["name"])
    return sorted(apps, key=key)
