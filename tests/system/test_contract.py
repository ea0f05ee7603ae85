"""The tenant's contract: the quota comes from it (plus documented headroom), never from
the overrides, and validate refuses overrides whose peak exceeds it."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import yaml

from render import contract, pipeline, pods, quantity
from render.load import TenantFiles, load_repo
from render.merge import merge_tenant
from render.validate import effective_rules
from render.yamlstrict import parse_yaml
from tests.support import ROOT, copy_repo
from tests.validation_repo import run

REPO = load_repo(ROOT)
# Every group at 1,000 replicas (each pod still fits a node, so only the contract refuses it).
HOSTILE = "".join(f"  {g}:\n    max_replicas: 1000\n" for g in ("cpu-workers", "batch-workers", "gpu-workers"))


def files(name: str, overrides: str | None = None, tenant_extra: str = "") -> TenantFiles:
    f = REPO.tenants[name]
    t = parse_yaml(Path(ROOT / f.tenant.file).read_text() + tenant_extra, f.tenant.file) if tenant_extra else f.tenant
    o = parse_yaml(overrides, f.overrides.file) if overrides is not None else f.overrides
    return TenantFiles(name, t, o, f.release)


def pods_of(f: TenantFiles) -> list[pods.Pod]:
    """The tenant's pods, from the objects its files build."""
    return pipeline.pod_list(merge_tenant(REPO.current.platform, REPO.current.extractors, f), REPO.current)[1]


def contract_rules(f: TenantFiles) -> list:
    return effective_rules.contract_rules(f, REPO.current.platform, REPO.current.extractors, pods_of(f))


def quota_file(name: str) -> dict:
    return yaml.safe_load((ROOT / f"rendered/{name}/resourcequota-tenant-quota.yaml").read_text())["spec"]["hard"]


def test_the_rendered_quota_is_the_contract_plus_the_headroom() -> None:
    sold = yaml.safe_load((ROOT / "tenants/globex/tenant.yaml").read_text())["contract"]
    extra = contract.headroom(pods_of(REPO.tenants["globex"]))
    hard = quota_file("globex")
    assert Decimal(hard["requests.cpu"]) == math.ceil(Decimal(sold["vcpu"]) + extra.cpu)
    assert quantity.parse(hard["requests.memory"]) == math.ceil((quantity.parse(sold["memory"]) + extra.memory) / quantity.GI) * quantity.GI
    assert int(hard["requests.nvidia.com/gpu"]) == sold["gpus"] + extra.gpus
    assert int(hard["pods"]) == sold["pods"] + extra.pods


def test_the_quota_does_not_follow_the_overrides() -> None:
    """The hostile case of the issue: every group at 1,000 pods of 1,024 CPU. The quota stays
    within twice the contract (the headroom is capped by it) and validate refuses it."""
    hostile = files("globex", "cluster:\n" + HOSTILE)
    hard = contract.quota(hostile.tenant.data, pods_of(hostile), REPO.current.platform.data)
    assert Decimal(hard["cpu"]) <= 2 * 144 and int(hard["pods"]) <= 2 * 28 and int(hard["gpu"]) <= 2 * 6
    found = contract_rules(hostile)
    assert {p.file for p in found} == {"tenants/globex/overrides.yaml"} and len(found) == 4
    cpu = next(p for p in found if "vCPU" in p.message)
    assert "above its contract's 144 (contract.vcpu in tenants/globex/tenant.yaml:" in cpu.message
    assert "platform team changes it" in cpu.hint


def test_every_pod_of_every_example_fits_its_quota() -> None:
    for name, f in REPO.tenants.items():
        peak, hard = contract.peak(pods_of(f)), quota_file(name)
        assert peak.cpu <= Decimal(hard["requests.cpu"]) and peak.memory <= quantity.parse(hard["requests.memory"])
        assert peak.gpus <= int(hard["requests.nvidia.com/gpu"]) and peak.pods <= int(hard["pods"])
        assert contract_rules(f) == []


def test_without_a_contract_the_standard_is_the_platforms_own_sizes() -> None:
    f = files("acme")
    p = pods_of(f)
    assert contract.of_tenant(f.tenant.data) is None
    assert contract.contract(f.tenant.data, p, REPO.current.platform.data) == contract.peak(p)  # acme keeps the default sizes
    [problem, *_] = contract_rules(files("acme", "cluster:\n  cpu-workers:\n    max_replicas: 9\n"))
    assert (problem.file, problem.pointer) == ("tenants/acme/overrides.yaml", "cluster.cpu-workers.max_replicas")
    assert "the standard contract" in problem.message


def test_a_raised_contract_admits_the_same_overrides() -> None:
    raised = files("acme", "cluster:\n  cpu-workers:\n    max_replicas: 9\n",
                   "contract:\n  vcpu: 200\n  memory: 1Ti\n  gpus: 3\n  pods: 40\n")
    assert contract_rules(raised) == []


def test_validate_refuses_an_override_above_the_contract(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    (root / "tenants/globex/overrides.yaml").write_text("cluster:\n" + HOSTILE)
    code, out, err = run(root, "validate")
    assert code == 2
    assert "tenants/globex/overrides.yaml" in out + err and "above its contract's 144" in out + err


def test_the_limitrange_covers_every_container_we_render() -> None:
    for name in REPO.tenants:
        limits = yaml.safe_load((ROOT / f"rendered/{name}/limitrange-tenant-limits.yaml").read_text())
        top = limits["spec"]["limits"][0]["max"]
        for path in (ROOT / "rendered" / name).glob("*.yaml"):
            text = path.read_text()
            for obj in yaml.safe_load_all(text):
                for res in _container_limits(obj):
                    assert quantity.parse(res["cpu"]) <= quantity.parse(top["cpu"]), path
                    assert quantity.parse(res["memory"]) <= quantity.parse(top["memory"]), path


def _container_limits(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [node["limits"]] if "limits" in node and isinstance(node["limits"], dict) and "cpu" in node["limits"] else []
        return found + [r for v in node.values() for r in _container_limits(v)]
    if isinstance(node, list):
        return [r for v in node for r in _container_limits(v)]
    return []


def test_footprint_reports_the_same_contract_and_quota(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from render.commands.footprint import footprint

    assert footprint(root=ROOT, tenant="globex", output="json") == 0
    sold = json.loads(capsys.readouterr().out)["contract"]
    assert (sold["source"], sold["vcpu"], sold["memory_gib"], sold["gpus"], sold["pods"]) == ("tenant.yaml", 144, 512, 6, 28)
    hard = quota_file("globex")
    assert sold["quota"] == {"cpu": hard["requests.cpu"], "memory": hard["requests.memory"],
                             "gpu": hard["requests.nvidia.com/gpu"], "pods": hard["pods"]}


def test_validate_reports_the_contract_beside_another_tenants_problem(tmp_path: Path) -> None:
    """The contract rules run after build, yet in the same run as every other problem."""
    root = copy_repo(tmp_path, outputs=False)
    (root / "tenants/globex/overrides.yaml").write_text("cluster:\n" + HOSTILE)
    (root / "tenants/acme/overrides.yaml").write_text("auto_deploy: maybe\n")
    code, out, err = run(root, "validate")
    assert code == 2
    assert "above its contract's 144" in out + err and "tenants/acme/overrides.yaml" in out + err
