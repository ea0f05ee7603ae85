"""Scaling ownership (docs/argocd.md, "Who owns replicas"): the rendered objects match it.

ArgoCD owns every field it renders; no Application ignores a difference. That is only
safe because no field ArgoCD renders is written by another controller:
- KEDA owns celery-extract's replicas, so its Deployment renders none;
- the Ray autoscaler writes the child RayCluster, which is not rendered at all; the
  RayService's replicas only seed a new RayCluster;
- everything else with replicas is ArgoCD's alone (self-heal reverts a manual scale).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from render import layout
from render.argocd import tenant_apps
from render.load import load_repo
from render.pipeline import render_repo
from tests.support import ROOT


@pytest.fixture(scope="module")
def objects() -> dict[str, Any]:
    out = render_repo(load_repo(ROOT))
    return {path: yaml.safe_load(data) for files in out.values() for path, data in files.items()}


def tenants() -> list[str]:
    return sorted(p.name for p in (ROOT / layout.TENANTS_DIR).iterdir() if p.is_dir())


def rendered(objects: dict[str, Any], tenant: str, kind: str) -> dict[str, Any]:
    return {o["metadata"]["name"]: o for p, o in objects.items()
            if layout.is_inside(p, layout.rendered_dir(tenant)) and o["kind"] == kind}


def test_no_application_ignores_a_difference(objects: dict[str, Any]) -> None:
    apps = [o for p, o in objects.items() if o["kind"] == "Application"]
    assert apps
    for app in apps:
        assert "ignoreDifferences" not in app["spec"], app["metadata"]["name"]
        assert "RespectIgnoreDifferences=true" not in app["spec"]["syncPolicy"].get("syncOptions", [])


@pytest.mark.parametrize("tenant", tenants())
def test_keda_alone_owns_the_replicas_of_what_it_scales(objects: dict[str, Any], tenant: str) -> None:
    scaled = {so["spec"]["scaleTargetRef"]["name"]: so for so in rendered(objects, tenant, "ScaledObject").values()}
    workloads = {**rendered(objects, tenant, "Deployment"), **rendered(objects, tenant, "StatefulSet")}
    assert scaled, "the example tenants all run a KEDA-scaled Celery extract worker"
    for name, so in scaled.items():
        assert so["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert name in rendered(objects, tenant, "Deployment"), f"ScaledObject targets missing Deployment {name}"
    for name, obj in workloads.items():
        if name in scaled:
            assert "replicas" not in obj["spec"], f"{name}: ArgoCD would reset what KEDA scaled"
        else:
            assert isinstance(obj["spec"].get("replicas"), int), f"{name}: replicas must be explicit, ArgoCD owns them"
    assert not rendered(objects, tenant, "HorizontalPodAutoscaler"), "KEDA creates the HPA; a rendered one would fight it"


@pytest.mark.parametrize("tenant", tenants())
def test_the_ray_autoscaler_writes_only_what_argocd_does_not_track(objects: dict[str, Any], tenant: str) -> None:
    assert not rendered(objects, tenant, "RayCluster"), "the RayService's child RayCluster must stay untracked"
    for svc in rendered(objects, tenant, "RayService").values():
        cluster = svc["spec"]["rayClusterConfig"]
        assert cluster["enableInTreeAutoscaling"] is True
        for group in cluster["workerGroupSpecs"]:
            # Seeds a new RayCluster; within the range the autoscaler keeps.
            assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], group["groupName"]


def test_workload_apps_apply_server_side_and_self_heal(objects: dict[str, Any]) -> None:
    for tenant in tenants():
        [app] = [o for o in objects.values() if o["kind"] == "Application"
                 and o["metadata"]["name"] == layout.namespace(tenant)]
        assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
        assert app["spec"]["syncPolicy"]["automated"]["selfHeal"] is True
        assert app["spec"]["syncPolicy"]["syncOptions"] == tenant_apps.SYNC_OPTIONS
