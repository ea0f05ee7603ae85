"""The bootstrap list (registry/platform.yaml cluster_prerequisites) names every custom
kind the committed output uses, per cluster: a kind without its CRD fails the whole sync."""

from __future__ import annotations

from typing import Any

import yaml

from render import prerequisites
from tests.support import ROOT

PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())


def objects(folder: str) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for f in sorted((ROOT / folder).rglob("*.yaml")) for d in yaml.load_all(f.read_text(), Loader=loader)
            if isinstance(d, dict)]


def test_every_tenant_kind_is_brought_by_a_prerequisite_of_its_cloud() -> None:
    for tenant in sorted(p.name for p in (ROOT / "rendered").iterdir()):
        cloud = yaml.safe_load((ROOT / "tenants" / tenant / "tenant.yaml").read_text())["cloud"]
        assert prerequisites.missing(PLATFORM, cloud, objects(f"rendered/{tenant}")) == [], tenant


def test_every_argocd_kind_is_brought_by_a_management_prerequisite() -> None:
    assert prerequisites.missing(PLATFORM, prerequisites.MANAGEMENT, objects("argocd")) == []


def test_the_monitoring_kinds_are_listed() -> None:
    """They were missing from the bootstrap list once; a cluster without them refuses the sync."""
    for cloud in ("gcp", "aws"):
        assert {"monitoring.coreos.com/PodMonitor", "monitoring.coreos.com/PrometheusRule"} <= \
            prerequisites.provided(PLATFORM, cloud)


def test_a_kind_missing_from_the_list_is_reported() -> None:
    platform = {"cluster_prerequisites": {"kuberay": {"clusters": ["gcp"], "kinds": ["ray.io/RayService"]}}}
    used = [{"apiVersion": "ray.io/v1", "kind": "RayService"}, {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor"},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}, {"apiVersion": "v1", "kind": "ConfigMap"}]
    assert prerequisites.missing(platform, "gcp", used) == ["monitoring.coreos.com/PodMonitor"]
    assert prerequisites.missing(platform, "aws", used) == ["monitoring.coreos.com/PodMonitor", "ray.io/RayService"]
