"""The next deploy resets manual scaling (the product's promise), through ArgoCD and KubeRay.

A tenant scales a worker group by hand on the running RayCluster (here through the stand-in
API server of the ops tests). KubeRay ignores worker replicas when it compares a RayService
with its running cluster, so re-applying the same RayService resets nothing. Each config
deploy therefore bumps `config_deploy` in release.yaml, rendered as an annotation on the Ray
pod templates: the next ArgoCD sync changes the cluster spec, KubeRay starts a new RayCluster
seeded with the overrides' worker-group values, and moves Serve traffic to it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import cli, layout
from tests.flow_repo import clone, dataplane, git, make_origin, origin_head, touched
from tests.system.test_ops_kube import api, kubeconfig  # noqa: F401 - the stand-in API server fixture

RAYSERVICE = "rendered/acme/rayservice-engine.yaml"


def _muted(spec: dict[str, Any]) -> str:
    """KubeRay's generateHashWithoutReplicasAndWorkersToDelete (rayservice_controller.go): the
    cluster spec without the fields the autoscaler (or a manual scale) moves."""
    spec = copy.deepcopy(spec)
    spec.pop("upgradeStrategy", None)
    for group in spec.get("workerGroupSpecs", []):
        for key in ("replicas", "minReplicas", "maxReplicas"):
            group.pop(key, None)
        group.get("scaleStrategy", {}).pop("workersToDelete", None)
    return json.dumps(spec, sort_keys=True)


def kuberay_action(running: dict[str, Any], wanted: dict[str, Any]) -> str:
    """What KubeRay does when the RayService's cluster config changes (no worker group added)."""
    return "DoNothing" if _muted(running) == _muted(wanted) else "RolloutNew"


def _cluster_config(work: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((work / RAYSERVICE).read_text())["spec"]["rayClusterConfig"])


def _apply_json_patch(obj: dict[str, Any], patch: list[dict[str, Any]]) -> None:
    for op in patch:
        *parents, last = [int(p) if p.isdigit() else p for p in op["path"].strip("/").split("/")]
        target: Any = obj
        for part in parents:
            target = target[part]
        if op["op"] == "test":
            assert target[last] == op["value"]
        else:
            target[last] = op["value"]


def _replicas(spec: dict[str, Any], group: str) -> int:
    return int(next(g["replicas"] for g in spec["workerGroupSpecs"] if g["groupName"] == group))


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = make_origin(tmp_path)
    return origin, clone(origin, tmp_path / "work")


def test_a_config_deploy_with_no_input_change_resets_a_manual_scale(api, repo, tmp_path):  # noqa: F811
    fake, port = api
    origin, work = repo
    deployed = _cluster_config(work)
    fake.cluster["spec"] = copy.deepcopy(deployed)  # the running cluster, as KubeRay created it

    assert cli.main(["scale", "acme", "cpu-workers", "--replicas", "2", "--kubeconfig", kubeconfig(tmp_path, port)]) == 0
    (_, patch), = fake.patches
    _apply_json_patch(fake.cluster, patch)
    assert _replicas(fake.cluster["spec"], "cpu-workers") == 2
    # Re-applying the same RayService (a sync of unchanged output) leaves the manual scale.
    assert kuberay_action(fake.cluster["spec"], deployed) == "DoNothing"

    start = origin_head(origin)
    assert dataplane(work, "config-deploy", "acme", "--push") == 0

    assert origin_head(origin) == git(work, "rev-parse", "HEAD") != start
    assert touched(work, f"{start}..HEAD") == ["rendered/acme/rayservice-engine.yaml", "tenants/acme/release.yaml"]
    assert "config_deploy: 1" in (work / "tenants/acme/release.yaml").read_text()
    wanted = _cluster_config(work)
    assert wanted["headGroupSpec"]["template"]["metadata"]["annotations"] == {layout.ANNOTATION_CONFIG_DEPLOY: "1"}
    assert kuberay_action(fake.cluster["spec"], wanted) == "RolloutNew"
    assert _replicas(wanted, "cpu-workers") == 1  # the new cluster starts from the overrides (platform default)

    # The next one resets again: every config deploy starts a new RayCluster.
    fake.cluster["spec"] = copy.deepcopy(wanted)
    assert dataplane(work, "config-deploy", "acme", "--push") == 0
    assert kuberay_action(fake.cluster["spec"], _cluster_config(work)) == "RolloutNew"
    assert "config_deploy: 2" in (work / "tenants/acme/release.yaml").read_text()
    assert dataplane(work, "render", "--check") == 0  # the commit holds what its inputs render


def test_a_tenant_never_config_deployed_renders_no_marker(repo):
    _, work = repo
    assert layout.ANNOTATION_CONFIG_DEPLOY not in (work / RAYSERVICE).read_text()
