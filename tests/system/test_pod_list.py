"""The pod list (render/pods.py) is the one list of a tenant's pods: the quota counts it,
the footprint prices it, Prometheus scrapes it and reachability checks it. They agree for
every example tenant and a generated fleet, and a component added as one template is in
all of them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.fleet import generate_fleet
from render import contract, footprint, pipeline, pods, quantity
from render.load import list_tenants, load_repo, read_yaml
from render.pipeline import built
from render.problems import ProblemsError
from tests.support import ROOT, copy_repo, write


def disagreements(pod_list: list[pods.Pod], fp: footprint.Footprint, objects: list[dict[str, Any]]) -> list[str]:
    """Where the quota, the footprint, the scrape targets and the rendered objects disagree
    about the tenant's pods (empty when they agree)."""
    out = []
    names = [p.name for p in pod_list]
    out += [f"two pods named {n}" for n in sorted({n for n in names if names.count(n) > 1})]
    quotad, priced = contract.peak_by_pod(pod_list), {ln.component: ln for ln in fp.lines}
    out += [f"{n} is counted by the quota but not priced" for n in sorted(set(quotad) - set(priced))]
    out += [f"{n} is priced but not counted by the quota" for n in sorted(set(priced) - set(quotad))]
    for p in pod_list:
        if p.name in priced and (priced[p.name].max_count != p.max_count or quotad[p.name].pods != p.max_count):
            out.append(f"{p.name}: priced at most {priced[p.name].max_count}, quota'd {quotad[p.name].pods}, runs {p.max_count}")
        if p.runs_to_completion and p.name not in contract.headroom_by_pod(pod_list):
            out.append(f"{p.name} runs to completion outside the quota's headroom")
    claims = sum((c.storage for p in pod_list for c in p.claims), Decimal(0))
    if fp.storage_gib != claims / quantity.GI:
        out.append(f"the footprint prices {fp.storage_gib} GiB of disks, the pods claim {claims / quantity.GI}")
    # Every workload object has pods in the list (read here without render/pods.py).
    workloads = {o["metadata"]["name"] for o in objects if o["kind"] in pods.WORKLOADS + ("RayService",)}
    out += [f"{w} has no pod in the list" for w in sorted(workloads - {p.workload for p in pod_list})]
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    network = next(o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "allow-monitoring")
    open_ports = {p["port"] for rule in network["spec"]["ingress"] for p in rule["ports"]}
    for p in pod_list:
        port = p.port("metrics")
        if port is None or p.runs_to_completion:
            continue
        if not any(m["spec"]["selector"]["matchLabels"].items() <= p.labels.items() for m in monitors):
            out.append(f"{p.name} serves metrics and no PodMonitor selects it")
        if port.port not in open_ports:
            out.append(f"{p.name}'s metrics port {port.port} is closed to Prometheus")
    for m in monitors:
        if not any(m["spec"]["selector"]["matchLabels"].items() <= p.labels.items() for p in pod_list):
            out.append(f"PodMonitor {m['metadata']['name']} selects no pod")
    quota = next(o for o in objects if o["kind"] == "ResourceQuota")["spec"]["hard"]
    limit = next(o for o in objects if o["kind"] == "LimitRange")["spec"]["limits"][0]["max"]
    for p in pod_list:
        for c in p.containers:
            if c.limits.cpu > quantity.parse(limit["cpu"]) or c.limits.memory > quantity.parse(limit["memory"]):
                out.append(f"{p.name}/{c.name} is above the LimitRange's max")
    peak = contract.peak(pod_list)
    if peak.cpu > quantity.parse(quota["requests.cpu"]) or peak.pods > int(quota["pods"]):
        out.append("the quota does not admit every pod at its maximum")
    return out


def _check(root: Path, names: list[str]) -> int:
    repo = load_repo(root, names)
    prices = read_yaml(root, "registry/prices.yaml").data
    checked = 0
    for name in names:
        eff, ctx, objects = built(repo.tenants[name], repo.inputs_for(name))
        pod_list = pods.of_objects(objects.values())
        fp = footprint.compute(footprint.Tenant.of(ctx), pod_list, eff.values["extractors"], prices)
        assert disagreements(pod_list, fp, list(objects.values())) == [], name
        assert contract.quota(ctx["tenant"], pod_list, repo.current.platform.data)["cpu"] == next(
            o for o in objects.values() if o["kind"] == "ResourceQuota")["spec"]["hard"]["requests.cpu"]
        checked += len(pod_list)
    return checked


def test_every_example_tenant_agrees() -> None:
    assert _check(ROOT, list_tenants(ROOT)) > 40


def test_a_generated_fleet_agrees(tmp_path: Path) -> None:
    """bench/fleet.py's tenants: both clouds, both database modes, sizes and extractors varied."""
    names = generate_fleet(tmp_path, 8, seed=26)
    assert _check(tmp_path, names) > 8 * 10


def test_an_exporter_counted_by_the_quota_but_not_priced_is_caught() -> None:
    """The defect this list removed: the exporters were in the quota, not in the footprint."""
    repo = load_repo(ROOT, ["acme"])
    eff, ctx, objects = built(repo.tenants["acme"], repo.current)
    pod_list = pods.of_objects(objects.values())
    fp = footprint.compute(footprint.Tenant.of(ctx), pod_list, eff.values["extractors"], read_yaml(ROOT, "registry/prices.yaml").data)
    without = footprint.Footprint(**{**fp.__dict__, "lines": tuple(ln for ln in fp.lines if ln.component != "redis-exporter")})
    assert disagreements(pod_list, without, list(objects.values())) == ["redis-exporter is counted by the quota but not priced"]
    extra = footprint.Line("vector-store", "pod", 1, 1, footprint.Resources(Decimal(1), Decimal(4)))
    more = footprint.Footprint(**{**fp.__dict__, "lines": (*fp.lines, extra)})
    assert disagreements(pod_list, more, list(objects.values())) == ["vector-store is priced but not counted by the quota"]


VECTOR_STORE = """\
{# A dedicated per-tenant vector store: one StatefulSet with its disk and a metrics port. #}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: vector-store
  labels:
    app.kubernetes.io/component: vector-store
spec:
  serviceName: vector-store
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: vector-store
  template:
    metadata:
      labels:
        app.kubernetes.io/name: vector-store
        app.kubernetes.io/component: vector-store
    spec:
      containers:
        - name: qdrant
          image: {{ images.redis | j }}
          ports:
            - {name: http, containerPort: 6333}
            - {name: metrics, containerPort: 6334}
          resources:
            requests: {cpu: "2", memory: 8Gi}
            limits: {cpu: "2", memory: 8Gi}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 50Gi
"""


def test_a_component_added_as_one_template_is_counted_priced_and_scraped(tmp_path: Path) -> None:
    """The issue's dedicated vector store: its template alone puts the pod in the quota, the
    footprint (with its disk) and the scrape targets."""
    root = copy_repo(tmp_path, outputs=False)
    before = _objects_and_footprint(root)
    write(root, {"base/vector-store.yaml.j2": VECTOR_STORE})
    after = _objects_and_footprint(root)
    line = next(ln for ln in after[1].lines if ln.component == "vector-store")
    assert (line.min_count, line.max_count, line.each.vcpu, line.each.memory_gib) == (1, 1, 2, 8)
    assert after[1].storage_gib - before[1].storage_gib == 50
    assert after[1].always_on.vcpu - before[1].always_on.vcpu == 2
    # acme has no contract: the standard contract (and so the quota) grows by the new pod.
    hard = [next(o for o in objs.values() if o["kind"] == "ResourceQuota")["spec"]["hard"] for objs, _ in (before, after)]
    assert int(hard[1]["pods"]) - int(hard[0]["pods"]) == 1
    assert Decimal(hard[1]["requests.cpu"]) - Decimal(hard[0]["requests.cpu"]) == 2
    monitor = next(o for o in after[0].values() if o["kind"] == "PodMonitor" and o["metadata"]["name"] == "vector-store")
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "vector-store"}
    # The metrics port is not open to Prometheus yet: the agreement says so.
    pod_list = pods.of_objects(after[0].values())
    assert disagreements(pod_list, after[1], list(after[0].values())) == ["vector-store's metrics port 6334 is closed to Prometheus"]


def _objects_and_footprint(root: Path) -> tuple[dict[str, dict[str, Any]], footprint.Footprint]:
    repo = load_repo(root, ["acme"])
    eff, ctx, objects = built(repo.tenants["acme"], repo.current)
    pod_list = pods.of_objects(objects.values())
    return objects, footprint.compute(footprint.Tenant.of(ctx), pod_list, eff.values["extractors"], read_yaml(root, "registry/prices.yaml").data)


def test_a_registry_key_the_build_reads_is_a_problem_at_its_file(tmp_path: Path) -> None:
    """Not an internal error: the schema leaves versions.kubernetes optional, the build reads it."""
    from tests.support import dataplane, edit

    root = copy_repo(tmp_path, outputs=False)
    edit(root, "registry/platform.yaml", '  kubernetes: "1.33"\n', "")
    repo = load_repo(root, ["acme"])
    with pytest.raises(ProblemsError) as e:
        built(repo.tenants["acme"], repo.current)
    with pytest.raises(ProblemsError) as from_pod_list:  # what the pull request's comment prices
        pipeline.pod_list(pipeline.effective(repo.tenants["acme"], repo.current), repo.current)
    assert from_pod_list.value.problems == e.value.problems
    [p] = e.value.problems
    assert (p.file, p.pointer, p.line) == ("registry/platform.yaml", "versions", 18)
    assert "versions has no key 'kubernetes', which the build reads" in p.message and "versions.kubernetes" in p.hint
    assert dataplane(root, "validate") == 2 and dataplane(root, "render") == 2
