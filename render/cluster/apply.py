"""Apply the committed output to the local control plane as ArgoCD syncs it: every
Application's files (render/cluster/waves.py), wave after wave, server-side, as the deploy
identity; each wave must become Healthy (render/cluster/health.py) within its time limit
before the next starts, with the stand-in controllers (render/cluster/standins.py)
reconciling meanwhile. No retry: a refusal or a wave that does not converge fails the
apply, naming the objects and the conditions that held it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.cluster import api, health, standins, waves
from render.problems import UserError

WAVE_TIMEOUT_S = 90
POLL_S = 0.5
RAY_CLUSTER = ("ray.io/v1", "RayCluster")
# What simulated pods cannot show: Serve runs inside Ray, and no Ray process runs in a
# kwok pod. A RayService is judged by the RayCluster the operator made for it (its Lua
# health and its pods'), never by Serve application statuses.
SIMULATION_LIMITS = {"RayService": "judged by its RayCluster: Serve runs inside Ray, which simulated pods do not run"}


class ApplyError(UserError):
    pass


@dataclass
class Report:
    waves: int = 0
    objects: int = 0
    seconds: float = 0.0
    apps: list[str] = field(default_factory=list)


def load_tree(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every YAML document of the output folders, by repo-relative path."""
    out: dict[str, list[dict[str, Any]]] = {}
    for folder in layout.OUTPUT_DIRS:
        for f in sorted((root / folder).rglob("*.yaml")):
            docs = [d for d in yaml.load_all(f.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                    if isinstance(d, dict)]
            out[f.relative_to(root).as_posix()] = docs
    return out


def applications(tree: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [d for path, docs in tree.items() if layout.is_inside(path, layout.ARGOCD_DIR) for d in docs
            if d.get("kind") == "Application"]


def selected(apps: list[dict[str, Any]], tenants: list[str] | None) -> list[dict[str, Any]]:
    """Platform Applications, and those of `tenants` (all when None), in ArgoCD's order."""
    def wanted(app: dict[str, Any]) -> bool:
        tenant = app["metadata"].get("labels", {}).get(layout.LABEL_TENANT)
        return tenant is None or tenants is None or tenant in tenants
    return waves.app_order([a for a in apps if wanted(a)])


def run(root: Path, admin: api.Api, deploy: api.Api, tenants: list[str] | None, say: Callable[[str], None],
        wave_timeout_s: float = WAVE_TIMEOUT_S) -> Report:
    started = time.monotonic()
    tree = load_tree(root)
    files = sorted(tree)
    world = standins.World()
    report = Report()
    for app in selected(applications(tree), tenants):
        name = app["metadata"]["name"]
        namespace = app["spec"]["destination"].get("namespace", "")
        if namespace and layout.LABEL_TENANT not in app["metadata"].get("labels", {}):
            # A platform Application's namespace (argocd, control-plane) is made when the
            # management cluster is installed (docs/argocd.md), not by a sync.
            api.apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, "bootstrap")
        # A partial object patches ArgoCD's own installation, which this stand-in for ArgoCD
        # does not run: there is nothing to patch.
        items = [waves.Item(f, d) for f in waves.app_files(app, files) for d in tree[f] if not layout.is_partial(d)]
        if layout.LABEL_TENANT not in app["metadata"].get("labels", {}):
            # Likewise every namespace a platform Application's objects name (monitoring).
            for other in sorted({str(i.obj["metadata"]["namespace"]) for i in items if i.obj["metadata"].get("namespace")}):
                api.apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}}, "bootstrap")
        for item in items:
            if namespace and "namespace" not in item.obj["metadata"] and item.obj["kind"] not in CLUSTER_KINDS:
                item.obj["metadata"]["namespace"] = namespace
        plan = waves.plan(name, items)
        for wave in plan:
            _sync_wave(admin, deploy, wave, world, wave_timeout_s)
            report.waves += 1
            report.objects += len(wave.items)
        report.apps.append(name)
        say(f"  {name}: {len(items)} objects in {len(plan)} waves, healthy")
    report.seconds = time.monotonic() - started
    return report


CLUSTER_KINDS = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ClusterRole",
                 "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass", "PersistentVolume"}


def _sync_wave(admin: api.Api, deploy: api.Api, wave: waves.Wave, world: standins.World, timeout_s: float) -> None:
    for item in wave.items:
        try:
            api.apply(deploy, item.obj)
        except api.Refused as e:
            raise ApplyError(f"{wave.app} wave {wave.wave}: the API server refused {item.describe()} "
                             f"({item.path}): {e.message}") from None
    namespaces = sorted({str(i.obj["metadata"].get("namespace")) for i in wave.items if i.obj["metadata"].get("namespace")})
    end = time.monotonic() + timeout_s
    while True:
        standins.reconcile(admin, namespaces, world)
        waiting = [(i, verdict) for i in wave.items if (verdict := judge(admin, i.obj))[0] != health.HEALTHY]
        if not waiting:
            world.settled.update(standins.key(i.obj) for i in wave.items)
            return
        if time.monotonic() > end:
            held = "; ".join(f"{i.describe()}: {s} {m}".strip() for i, (s, m) in waiting[:8])
            raise ApplyError(f"{wave.app} wave {wave.wave} not healthy after {timeout_s:.0f} s: {held}")
        time.sleep(POLL_S)


def judge(admin: api.Api, obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    live = api.get(admin, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
    if live is None or obj["kind"] not in SIMULATION_LIMITS:
        return health.judge(live)
    verdict = health.judge(live)
    if verdict[0] == health.DEGRADED:
        return verdict
    status = live.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(live["metadata"].get("generation") or 0):
        return health.PROGRESSING, "KubeRay has not yet observed the latest spec"
    cluster = ((status.get("pendingServiceStatus") or {}).get("rayClusterName")
               or (status.get("activeServiceStatus") or {}).get("rayClusterName"))
    if not cluster:
        return health.PROGRESSING, "waiting for KubeRay to create the RayCluster"
    return health.judge(api.get(admin, *RAY_CLUSTER, cluster, meta.get("namespace")))
