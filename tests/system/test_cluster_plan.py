"""The pure parts of `dataplane cluster` (no control plane): which files each committed
Application syncs and in what order (render/cluster/waves.py), the simulated nodes
(render/cluster/nodes.py), ArgoCD's built-in health rules (render/cluster/health.py) and
the components' cache key (render/cluster/components.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from render import capacity, pools, quantity
from render.cluster import apply, components, health, nodes, waves
from tests.support import ROOT, need

PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())


def test_every_rendered_file_is_synced_by_one_application_per_cluster() -> None:
    tree = apply.load_tree(ROOT)
    owners: dict[str, list[tuple[str, str]]] = {}
    for app in apply.applications(tree):
        for f in waves.app_files(app, sorted(tree)):
            owners.setdefault(f, []).append((app["spec"]["destination"]["name"], app["metadata"]["name"]))
    shared = {f: o for f, o in owners.items() if len({cluster for cluster, _ in o}) != len(o)}
    assert shared == {}, "two Applications sync one file into one cluster"
    rendered = [f for f in tree if f.startswith(("rendered/", "control-plane/", "argocd/"))]
    assert sorted(set(rendered) - set(owners)) == []


def test_guardrails_before_workloads_and_platform_first() -> None:
    order = [a["metadata"]["name"] for a in apply.selected(apply.applications(apply.load_tree(ROOT)), ["acme"])]
    assert order[0] == "dataplane-root"
    assert order[-2:] == ["tenant-acme-guardrails", "tenant-acme"]
    assert all(not name.startswith("tenant-") for name in order[:-2])


def _item(kind: str, name: str, wave: int, hook: str = "") -> waves.Item:
    annotations = {"argocd.argoproj.io/sync-wave": str(wave)}
    if hook:
        annotations[waves.HOOK] = hook
    return waves.Item(f"{name}.yaml", {"kind": kind, "metadata": {"name": name, "annotations": annotations}})


def test_plan_orders_by_phase_wave_kind_and_name() -> None:
    items = [_item("Deployment", "b", 0), _item("ServiceAccount", "z", 0), _item("Job", "pre", 5, "PreSync"),
             _item("Namespace", "ns", -1), _item("Service", "a", 0)]
    plan = waves.plan("app", items)
    assert [(w.phase, w.wave, [i.obj["metadata"]["name"] for i in w.items]) for w in plan] == [
        ("PreSync", 5, ["pre"]), ("Sync", -1, ["ns"]), ("Sync", 0, ["z", "a", "b"])]


def test_include_and_exclude_globs_with_braces() -> None:
    app = {"spec": {"source": {"path": "rendered/x", "directory": {"include": "{a.yaml,b.yaml}"}}}}
    files = ["rendered/x/a.yaml", "rendered/x/b.yaml", "rendered/x/c.yaml", "rendered/xy/a.yaml", "rendered/x/d/a.yaml"]
    assert waves.app_files(app, files) == ["rendered/x/a.yaml", "rendered/x/b.yaml"]
    app["spec"]["source"]["directory"] = {"exclude": "{a.yaml,b.yaml}"}
    assert waves.app_files(app, files) == ["rendered/x/c.yaml"]


def test_nodes_follow_the_node_model() -> None:
    pool = nodes.nodes(PLATFORM, ["gcp"], 1)
    assert len(pool) == sum(nodes.pool_sizes(PLATFORM, 1).values())
    assert {nodes.pool_of(n) for n in pool} == set(PLATFORM["nodes"]["pools"])
    gpu = next(n for n in pool if nodes.pool_of(n) == "gpu-workers")
    model = capacity.node("g2-standard-8", "gcp", PLATFORM["nodes"])
    assert model is not None
    assert quantity.parse(gpu["status"]["allocatable"]["cpu"]) == model.cpu
    assert int(gpu["status"]["allocatable"]["memory"]) == int(model.memory)
    assert gpu["status"]["allocatable"][nodes.GPU_RESOURCE] == "1"
    assert gpu["spec"]["taints"] == [{"key": "dataplane.io/pool", "value": "gpu-workers", "effect": "NoSchedule"},
                                     {"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    assert gpu["metadata"]["labels"]["cloud.google.com/gke-accelerator"] == "nvidia-l4"
    batch = next(n for n in pool if nodes.pool_of(n) == "batch-workers")
    assert batch["spec"]["taints"] == [{"key": "dataplane.io/pool", "value": "batch-workers", "effect": "NoSchedule"}]
    general = next(n for n in pool if nodes.pool_of(n) == "general")
    assert nodes.GPU_RESOURCE not in general["status"]["allocatable"] and "taints" not in general["spec"]


def test_every_rendered_pod_fits_the_nodes_of_exactly_its_pool() -> None:
    """The simulated nodes and the rendered pods come from one mapping (nodes.placement):
    for every pod of the committed output, the nodes the scheduler's NodeAffinity and
    TaintToleration filters would accept are all of the component's pool, and hold its requests."""
    from render.conformance import capacity as conformance_capacity
    from render.conformance.manifests import collect
    from render.conformance.pods import pods

    clouds = {f"tenant-{t}": c for t, c in session_clouds().items()}
    manifests, problems = collect(ROOT)
    assert problems == []
    checked = set()
    for pod in (p for p in pods(manifests) if p.namespace in clouds):  # tenant clusters' pods
        cloud = clouds[pod.namespace]
        sim = nodes.nodes(PLATFORM, [cloud], 1)
        accepting = {nodes.pool_of(n) for n in sim if pools.accepts(pod.spec, n["metadata"]["labels"], n["spec"].get("taints") or [])}
        component = pools.component_of(pod.labels)
        assert accepting == {pools.pool_of(PLATFORM, component)}, (pod.namespace, pod.name, component, accepting)
        cpu, mem, gpu = conformance_capacity.requests(pod.containers)
        node = next(n for n in sim if nodes.pool_of(n) in accepting)
        alloc = node["status"]["allocatable"]
        assert cpu <= quantity.parse(alloc["cpu"]) and mem <= quantity.parse(alloc["memory"])
        assert gpu <= int(alloc.get(nodes.GPU_RESOURCE, 0))
        checked.add(component)
    assert checked >= {"ray-head", "cpu-workers", "batch-workers", "gpu-workers", "redis", "mongodb", "celery",
                       "monitoring", "backup"}


def session_clouds() -> dict[str, str]:
    from render.cluster import session
    return session.tenant_clouds(ROOT)


def _deployment(replicas: int, updated: int, available: int, generation: int = 1, seen: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": seen, "updatedReplicas": updated, "availableReplicas": available}}


def test_builtin_health_rules() -> None:
    assert health.judge(_deployment(2, 2, 2))[0] == health.HEALTHY
    assert health.judge(_deployment(2, 1, 1))[0] == health.PROGRESSING
    assert health.judge(_deployment(2, 2, 2, generation=2))[0] == health.PROGRESSING
    assert health.judge(None)[0] == health.MISSING
    es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "e"},
          "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError", "message": "x"}]}}
    assert health.judge(es) == (health.DEGRADED, "SecretSyncedError: x")
    assert health.judge({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})[0] == health.HEALTHY


def test_ray_kinds_are_judged_by_the_projects_lua() -> None:
    need("lupa.lua51")
    rc = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "r", "generation": 1}}
    assert health.judge(rc)[0] == health.PROGRESSING


def test_the_cache_key_follows_every_pin(tmp_path: Path) -> None:
    for module in components.MODULES:
        (tmp_path / components.TOOLS_DIR / module).mkdir(parents=True)
        (tmp_path / components.TOOLS_DIR / module / "go.mod").write_text(f"module {module}\n")
    key = components.cache_key(tmp_path, "go1.26.8")
    assert components.cache_key(tmp_path, "go1.26.9") != key
    (tmp_path / components.TOOLS_DIR / "kuberay" / "go.sum").write_text("x\n")
    assert components.cache_key(tmp_path, "go1.26.8") != key
    assert components.pinned_version(ROOT, "kubernetes", "k8s.io/kubernetes").startswith("v1.33.")


def test_a_busy_port_fails_with_one_line(tmp_path: Path) -> None:
    import socket

    import pytest

    from render.cluster import control_plane

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(control_plane.ClusterError) as e:
            control_plane.create(ROOT, tmp_path / "bin", control_plane.Paths(tmp_path / "state"), lambda _: None, port)
    assert str(e.value) == f"port 127.0.0.1:{port} is in use; pass another --port or stop what holds it"
    assert control_plane.running_pids(control_plane.Paths(tmp_path / "state")) == {}


def test_a_failed_build_fails_with_one_line(tmp_path: Path, monkeypatch: Any) -> None:
    """No traceback and no network: a module that provides none of its packages."""
    import pytest

    from tests.support import need_binary

    need_binary("go", "install Go")
    monkeypatch.setenv(components.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("GOPROXY", "off")
    for module in components.MODULES:
        folder = tmp_path / components.TOOLS_DIR / module
        folder.mkdir(parents=True)
        (folder / "go.mod").write_text(f"module example.com/{module}\n\ngo 1.24\n")
    said: list[str] = []
    with pytest.raises(components.BuildError) as e:
        components.ensure_built(tmp_path, said.append)
    assert str(e.value).startswith("go build of kube-apiserver, kube-controller-manager, kube-scheduler failed (kubernetes): ")
    assert "\n" not in str(e.value) and said[0].startswith("building kube-apiserver")
