"""The whole-system checks of `validate --deep` (reachability, capacity, references):
each passes over the examples (test_deep.py runs them over a generated fleet too) and
catches its broken fixture, alone among the validators."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from render import capacity as node_model
from render.conformance import deep, reachability
from render.conformance.manifests import collect
from tests.conftest import REPO, crds_dir

FIXTURES = REPO / "tests" / "fixtures" / "wholesystem"

# fixture -> (validator, pointer, words the message must contain)
CASES = {
    "reachability-no-operator-ingress.yaml": (
        "reachability", "NetworkPolicy/default-deny",
        "required flow kuberay-operator -> ray-head TCP/8265 is denied in tenant-acme"),
    "capacity-gpu-pod-too-big.yaml": (
        "capacity", "RayService/engine: spec.rayClusterConfig.workerGroupSpecs[2].template",
        "pod engine-raycluster-gpu-workers-worker requests 7 CPU, 30.0Gi memory, 1 GPU: more than one node holds "
        "(g2-standard-8 allocatable 7510m CPU, 26.4Gi memory, 1 GPU)"),
}


def repo_with(tmp_path: Path, fixture: str) -> Path:
    """The registry, acme's tenant.yaml (its cloud and cluster) and one rendered file: the fixture."""
    (tmp_path / "registry").mkdir()
    shutil.copy(REPO / "registry" / "platform.yaml", tmp_path / "registry" / "platform.yaml")
    shutil.copy(REPO / ".yamllint.yaml", tmp_path / ".yamllint.yaml")
    (tmp_path / "tenants" / "acme").mkdir(parents=True)
    shutil.copy(REPO / "tenants" / "acme" / "tenant.yaml", tmp_path / "tenants" / "acme" / "tenant.yaml")
    (tmp_path / "rendered" / "acme").mkdir(parents=True)
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
    outcomes = {o.name.split(" ")[0]: o for o in deep.run(REPO, crds=crds_dir())}
    for name in ("reachability", "capacity"):
        assert not outcomes[name].failed, [p.format() for p in outcomes[name].failures]
    tenants = len([p for p in (REPO / "tenants").iterdir() if p.is_dir()])
    assert outcomes["reachability"].note == f"{tenants} tenants" and outcomes["reachability"].checked > 30 * tenants


def test_reachability_reports_every_flow_the_old_policies_got_wrong(tmp_path: Path) -> None:
    """The policies before whole-system checks: the operator, KEDA, the gateway's path, the
    GKE identity endpoint and the vector store were unreachable; every pod reached the API."""
    root = repo_with(tmp_path, "reachability-no-operator-ingress.yaml")
    old = (FIXTURES / "old-network-policies.yaml").read_text(encoding="utf-8")
    target = root / "rendered" / "acme" / "reachability-no-operator-ingress.yaml"
    ray_and_redis = [d for d in target.read_text(encoding="utf-8").split("\n---\n") if "kind: NetworkPolicy" not in d]
    target.write_text("\n---\n".join(ray_and_redis) + "\n---\n" + old, encoding="utf-8")
    manifests, _ = collect(root)
    platform = yaml.safe_load((REPO / "registry" / "platform.yaml").read_text(encoding="utf-8"))
    tenant = yaml.safe_load((REPO / "tenants" / "acme" / "tenant.yaml").read_text(encoding="utf-8"))
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
    platform = yaml.safe_load((REPO / "registry" / "platform.yaml").read_text(encoding="utf-8"))
    gke = node_model.node("g2-standard-8", "gcp", platform["nodes"])
    # 31Gi: 25% of 4 + 20% of 4 + 10% of 8 + 6% of 15 = 3.5Gi, + 100Mi eviction, + 1Gi DaemonSets.
    assert gke is not None and gke.memory == 31 * node_model.GI - (node_model.GI * 7 // 2) - 100 * node_model.MI - node_model.GI
    # 8 cores: 60m + 10m + 2 x 5m + 4 x 2.5m = 90m, + 400m DaemonSets.
    assert str(gke.cpu) == "7.5100"
    eks = node_model.node("m6i.2xlarge", "aws", platform["nodes"])
    assert eks is not None and eks.memory == 31 * node_model.GI - (255 + 11 * 58 + 100) * node_model.MI - node_model.GI
    assert node_model.node("no-such-machine", "gcp", platform["nodes"]) is None
