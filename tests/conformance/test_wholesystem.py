"""The whole-system checks of `validate --deep` (reachability, capacity, references, metric
sources):
each passes over the examples (test_deep.py runs them over a generated fleet too) and
catches its broken fixture, alone among the validators."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from render import capacity as node_model
from render.conformance import deep, metric_sources, reachability, references
from render.conformance.manifests import Manifest, collect
from render.load import parse_yaml
from tests.support import ROOT, crds_dir, need_deep_engines

need_deep_engines()

FIXTURES = ROOT / "tests" / "fixtures" / "wholesystem"

# fixture -> (validator, pointer, words the message must contain)
CASES = {
    "reachability-no-operator-ingress.yaml": (
        "reachability", "NetworkPolicy/default-deny",
        "required flow kuberay-operator -> ray-head TCP/8265 is denied in tenant-acme"),
    "capacity-gpu-pod-too-big.yaml": (
        "capacity", "RayService/engine: spec.rayClusterConfig.workerGroupSpecs[2].template",
        "pod engine-raycluster-gpu-workers-worker requests 7 CPU, 30.0Gi memory, 1 GPU: more than one node of the gpu-workers pool holds "
        "(g2-standard-8 allocatable 7510m CPU, 26.4Gi memory, 1 GPU)"),
    "references-service-selects-nothing.yaml": (
        "references", "Service/redis: spec.selector", "selects no pod of the rendered workloads"),
    "metric-sources-gateway-alert-in-data-plane.yaml": (
        "metric", "PrometheusRule/dataplane-alerts: spec.groups[0].rules[0].expr",
        "metric dataplane_gateway_requests_total: produced by the API gateway in the management cluster, but "
        "evaluated in dp-gke-us-central1"),
}


def repo_with(tmp_path: Path, fixture: str) -> Path:
    """The registry, acme's tenant.yaml and rendered objects, with the fixture's objects in
    place of the rendered ones of the same kind and name (for the reachability fixture: of
    every NetworkPolicy, since it leaves one out)."""
    (tmp_path / "registry").mkdir()
    shutil.copy(ROOT / "registry" / "platform.yaml", tmp_path / "registry" / "platform.yaml")
    shutil.copy(ROOT / ".yamllint.yaml", tmp_path / ".yamllint.yaml")
    (tmp_path / "tenants" / "acme").mkdir(parents=True)
    shutil.copy(ROOT / "tenants" / "acme" / "tenant.yaml", tmp_path / "tenants" / "acme" / "tenant.yaml")
    shutil.copytree(ROOT / "rendered" / "acme", tmp_path / "rendered" / "acme")
    replaced = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all((FIXTURES / fixture).read_text()) if d}
    kinds = {k for k, _ in replaced}
    for path in (tmp_path / "rendered" / "acme").glob("*.yaml"):
        obj = next(d for d in yaml.safe_load_all(path.read_text()) if d)
        if (obj["kind"], obj["metadata"]["name"]) in replaced or (obj["kind"] == "NetworkPolicy" and "NetworkPolicy" in kinds):
            path.unlink()
    shutil.copy(FIXTURES / fixture, tmp_path / "rendered" / "acme" / fixture)
    return tmp_path


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_each_broken_fixture_is_caught_by_its_check_only(tmp_path: Path, fixture: str) -> None:
    validator, pointer, words = CASES[fixture]
    outcomes = deep.run(repo_with(tmp_path, fixture), crds=crds_dir())
    failing = [o for o in outcomes if o.failed]
    assert [o.name.split(" ")[0] for o in failing] == [validator], [o.line() for o in failing]
    problems = failing[0].failures
    assert any(p.file == f"rendered/acme/{fixture}" and p.pointer == pointer and words in p.message for p in problems), \
        "\n".join(p.format() for p in problems)


def test_the_examples_pass_the_whole_system_checks() -> None:
    outcomes = {o.name.split(" ")[0]: o for o in deep.run(ROOT, crds=crds_dir())}
    for name in ("reachability", "capacity", "references", "metric"):
        assert not outcomes[name].failed, [p.format() for p in outcomes[name].failures]
    tenants = len([p for p in (ROOT / "tenants").iterdir() if p.is_dir()])
    assert outcomes["reachability"].note == f"{tenants} tenants" and outcomes["reachability"].checked > 30 * tenants


def test_reachability_reports_every_flow_the_old_policies_got_wrong(tmp_path: Path) -> None:
    """The policies before whole-system checks: the operator, KEDA, the gateway's path, the
    GKE identity endpoint and the vector store were unreachable; every pod reached the API."""
    root = repo_with(tmp_path, "reachability-no-operator-ingress.yaml")
    old = (FIXTURES / "old-network-policies.yaml").read_text(encoding="utf-8")
    target = root / "rendered" / "acme" / "reachability-no-operator-ingress.yaml"
    target.write_text(old, encoding="utf-8")
    manifests, _ = collect(root)
    platform = yaml.safe_load((ROOT / "registry" / "platform.yaml").read_text(encoding="utf-8"))
    tenant = yaml.safe_load((ROOT / "tenants" / "acme" / "tenant.yaml").read_text(encoding="utf-8"))
    outcome = reachability.check(manifests, platform, {"tenant-acme": tenant})
    messages = "\n".join(p.message for p in outcome.failures)
    for flow in ("kuberay-operator -> ray-head TCP/8265 is denied", "gateway -> ray-worker TCP/8000 is denied",
                 "keda -> redis TCP/6379 is denied", "ray-worker -> identity-endpoint", "ray-worker -> vector-store TCP/6333 is denied",
                 "ray-worker -> node-local-dns UDP/53 is denied"):
        assert flow in messages, messages


def test_the_analyzer_answers_ports_protocols_and_ranges() -> None:
    conns = [("tenant-a/head[Pod]", "10.0.0.0-10.0.0.255", "{protocols:TCP, UDP,dst_ports:53,6333-6334}"),
             ("x/y[Pod]", "tenant-a/head[Pod]", "All connections")]
    assert reachability.allowed(conns, "tenant-a/head[Pod]", "10.0.0.7", 6334, "TCP")
    assert reachability.allowed(conns, "tenant-a/head[Pod]", "10.0.0.7", 53, "UDP")
    assert not reachability.allowed(conns, "tenant-a/head[Pod]", "10.0.1.7", 53, "UDP")
    assert not reachability.allowed(conns, "tenant-a/head[Pod]", "10.0.0.7", 443, "TCP")
    assert reachability.allowed(conns, "x/y[Pod]", "tenant-a/head[Pod]", 1, "SCTP")


def test_every_flow_has_a_reason_and_known_endpoints() -> None:
    flows = reachability.load_flows()
    assert flows["required"] and flows["forbidden"]
    for f in flows["required"] + flows["forbidden"]:
        assert len(f.reason) > 10 and f.protocol in ("TCP", "UDP")


def test_the_node_model_follows_the_documented_reservations() -> None:
    platform = yaml.safe_load((ROOT / "registry" / "platform.yaml").read_text(encoding="utf-8"))
    gke = node_model.node("g2-standard-8", "gcp", platform["nodes"])
    # 31Gi: 25% of 4 + 20% of 4 + 10% of 8 + 6% of 15 = 3.5Gi, + 100Mi eviction, + 1Gi DaemonSets.
    assert gke is not None and gke.memory == 31 * node_model.GI - (node_model.GI * 7 // 2) - 100 * node_model.MI - node_model.GI
    # 8 cores: 60m + 10m + 2 x 5m + 4 x 2.5m = 90m, + 400m DaemonSets.
    assert str(gke.cpu) == "7.5100"
    eks = node_model.node("m6i.2xlarge", "aws", platform["nodes"])
    assert eks is not None and eks.memory == 31 * node_model.GI - (255 + 11 * 58 + 100) * node_model.MI - node_model.GI
    assert node_model.node("no-such-machine", "gcp", platform["nodes"]) is None


def _manifests(text: str) -> list[Manifest]:
    return [Manifest(parse_yaml(doc, "rendered/acme/x.yaml")) for doc in text.split("---\n") if doc.strip()]


def test_a_metric_without_a_rendered_scraped_exporter_is_reported() -> None:
    rule = """apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: dataplane-alerts, namespace: tenant-acme}
spec:
  groups:
    - name: g
      rules:
        - {alert: A, expr: 'redis_up{namespace="tenant-acme"} == 0'}
        - {alert: B, expr: 'kube_pod_status_ready{namespace="tenant-acme"} == 0'}
        - {alert: C, expr: 'made_up_total{namespace="tenant-acme"} > 0'}
"""
    outcome = metric_sources.check(_manifests(rule), {"tenant-acme": {"cluster": "dp-gke-us-central1"}})
    messages = sorted(p.message for p in outcome.failures)
    assert messages == ["metric made_up_total: no exporter exports it",
                        "metric redis_up: its exporter Deployment/redis-exporter is not rendered in tenant-acme"]


def test_a_missing_secret_key_and_a_misnamed_probe_port_are_reported() -> None:
    pod = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: tenant-acme}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:1
          ports: [{name: http, containerPort: 80}]
          env:
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: creds, key: pasword}}
          readinessProbe: {tcpSocket: {port: htpp}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: tenant-acme}
stringData: {password: x}
"""
    messages = sorted(p.message for p in references.check(_manifests(pod)).failures)
    assert messages == ["Secret 'creds' has no key 'pasword' (it has: password)",
                        "probe port 'htpp' is not a port of the container"]


def test_the_architecture_doc_shows_every_flow() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for f in reachability.load_flows()["required"] + reachability.load_flows()["forbidden"]:
        assert f"| {f.src} | {f.dst} |" in doc and f.reason in doc, f
