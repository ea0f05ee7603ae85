"""Node pools and the one component -> pool mapping (render/pools.py, registry/platform.yaml
`nodes.pools` and `nodes.placement`): every rendered pod carries its pool's nodeSelector and
tolerations, `validate --deep` predicts the pool the scheduler picks, and the registry
refuses a placement that lets small pods spread over a whole-node worker pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout, pools
from render.cluster import session
from render.conformance import capacity as conformance_capacity
from render.conformance.manifests import collect
from render.conformance.pods import pods
from render.load import load_repo
from render.validate import validate_repo
from tests.support import ROOT, copy_repo

PLATFORM = yaml.safe_load((ROOT / layout.PLATFORM_FILE).read_text(encoding="utf-8"))


def test_the_mapping_names_every_component_and_the_schema_requires_exactly_them() -> None:
    schema = yaml.safe_load((ROOT / "render/schemas/platform.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["nodes"]["properties"]["placement"]["required"] == list(pools.COMPONENTS)
    assert set(PLATFORM["nodes"]["placement"]) == set(pools.COMPONENTS)


def test_worker_pools_are_tainted_and_the_general_pool_is_not() -> None:
    for group in layout.WORKER_GROUPS:
        sched = pools.scheduling(PLATFORM, "gcp", group)
        assert sched["nodeSelector"][pools.LABEL_POOL] == group
        assert {"key": pools.LABEL_POOL, "operator": "Equal", "value": group, "effect": "NoSchedule"} in sched["tolerations"]
    assert pools.scheduling(PLATFORM, "aws", "redis") == {}  # the untainted pool: nothing else takes it
    gpu = pools.scheduling(PLATFORM, "aws", "gpu-workers")
    assert gpu["nodeSelector"]["karpenter.k8s.aws/instance-gpu-name"] == "l4"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["tolerations"]


@pytest.mark.parametrize(("spec", "pool", "ok"), [
    ({}, "general", True),
    ({}, "batch-workers", False),  # tainted
    ({"nodeSelector": {pools.LABEL_POOL: "batch-workers"}}, "batch-workers", False),  # selected, not tolerated
    ({"nodeSelector": {pools.LABEL_POOL: "batch-workers"},
      "tolerations": [{"key": pools.LABEL_POOL, "operator": "Equal", "value": "batch-workers", "effect": "NoSchedule"}]},
     "batch-workers", True),
    ({"tolerations": [{"key": pools.LABEL_POOL, "operator": "Equal", "value": "cpu-workers", "effect": "NoSchedule"}]},
     "batch-workers", False),  # another pool's toleration
    ({"tolerations": [{"operator": "Exists"}]}, "gpu-workers", True),  # tolerates everything
    ({"nodeSelector": {pools.LABEL_POOL: "general"}}, "cpu-workers", False),
])
def test_accepts_follows_the_schedulers_filters(spec: dict[str, Any], pool: str, ok: bool) -> None:
    assert pools.accepts(spec, pools.node_labels(PLATFORM, "gcp", pool), pools.node_taints(PLATFORM, pool)) is ok


def test_every_rendered_pod_has_the_scheduling_of_its_component() -> None:
    manifests, found = collect(ROOT)
    assert found == []
    clouds = {f"tenant-{t}": c for t, c in session.tenant_clouds(ROOT).items()}
    seen = set()
    for pod in (p for p in pods(manifests) if p.namespace in clouds):  # tenant clusters' pods
        component = pools.component_of(pod.labels)
        assert component, (pod.namespace, pod.name)
        want = pools.scheduling(PLATFORM, clouds[pod.namespace], component)
        assert {k: pod.spec.get(k) for k in want} == want and ("tolerations" in want or "tolerations" not in pod.spec)
        seen.add(component)
    assert seen >= {"ray-head", *layout.WORKER_GROUPS, "redis", "mongodb", "celery", "monitoring", "backup"}


def _deep_capacity(root: Path) -> list[str]:
    manifests, _ = collect(root)
    clouds = {f"tenant-{t}": c for t, c in session.tenant_clouds(root).items()}
    return [p.message for p in conformance_capacity.check(manifests, PLATFORM, clouds).failures]


def test_deep_validation_predicts_the_pool_and_fails_a_pod_no_pool_or_the_wrong_pool_takes(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    assert _deep_capacity(root) == []
    redis = root / "rendered/acme/statefulset-redis.yaml"
    text = redis.read_text(encoding="utf-8")
    assert "nodeSelector" not in text  # no selector: only the untainted general pool takes it, its own
    selected = text.replace("      containers:\n", "      nodeSelector:\n        dataplane.io/pool: batch-workers\n      containers:\n", 1)
    redis.write_text(selected, encoding="utf-8")
    assert any("pod redis fits no node pool on gcp" in m for m in _deep_capacity(root))
    worker = root / "rendered/acme/rayservice-engine.yaml"
    worker.write_text(worker.read_text(encoding="utf-8").replace("dataplane.io/pool: batch-workers", "dataplane.io/pool: general")
                      .replace("value: batch-workers", "value: general"), encoding="utf-8")
    assert any("(batch-workers) lands on the general pool, not batch-workers" in m for m in _deep_capacity(root))


def _registry_problems(root: Path) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in validate_repo(load_repo(root)) if p.file == layout.PLATFORM_FILE]


def _edit(root: Path, old: str, new: str) -> None:
    path = root / layout.PLATFORM_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_registry_refuses_a_worker_group_on_a_shared_or_untainted_pool(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    _edit(root, "    batch-workers: {dedicated: true}\n", "    batch-workers: {dedicated: false}\n")
    _edit(root, "    celery: general\n", "    celery: cpu-workers\n")
    found = _registry_problems(root)
    assert [p for p, _ in found] == ["nodes.pools.batch-workers.dedicated", "nodes.placement.celery"]
    assert "is not dedicated: smaller pods spread over its nodes" in found[0][1]
    assert "also holds celery" in found[1][1]


def test_the_registry_refuses_an_undeclared_pool_and_a_gpu_group_without_gpus(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    _edit(root, "    redis: general\n", "    redis: datastores\n")
    _edit(root, "    gpu-workers: gpu-workers\n", "    gpu-workers: batch-workers\n")
    found = dict(_registry_problems(root))
    assert "which `nodes.pools` does not declare" in found["nodes.placement.redis"]
    assert "needs 1 GPU per pod; the batch-workers pool's n2-standard-16 has 0" in found["nodes.placement.gpu-workers"]
