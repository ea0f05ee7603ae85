"""render/footprint.py and `dataplane footprint`: arithmetic checked by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from render import layout, quantity
from render.commands.footprint import footprint, load_footprint, text_report
from render.footprint import Resources, _pack, as_dict, footprint_change_markdown, money
from render.load import list_tenants
from render.problems import ProblemsError
from tests.hyp import given, st
from tests.lifecycle_repo import make_repo
from tests.support import ROOT, tenant_yaml

# Round prices, so that every expected figure below can be worked out on paper.
PRICES = """\
hours_per_month: 730
billing: {currency: USD, platform_fee_month: 1000, management_markup_percent: 10, excluded: [taxes]}
machines:
  n2-standard-8: {vcpu: 8, memory_gib: 32, gpus: 0}
  n2-standard-16: {vcpu: 16, memory_gib: 64, gpus: 0}
  g2-standard-8: {vcpu: 8, memory_gib: 32, gpus: 1}
clouds:
  gcp:
    us-central1: {vcpu_hour: 0.04, gib_hour: 0.005, l4_gpu_hour: 0.5, storage_gib_month: 0.1, bucket_gib_month: 0.02,
                  egress_gib: 0.1}
"""


def repo(tmp_path: Path, overrides: str = "{}\n", name: str = "acme") -> Path:
    root = make_repo(tmp_path, {name: tenant_yaml(name, "org_a1")}, {name: overrides})
    (root / "registry/prices.yaml").write_text(PRICES, encoding="utf-8")
    return root


def test_platform_defaults_by_hand(tmp_path: Path) -> None:
    fp = load_footprint(repo(tmp_path), "acme")
    lines = {ln.component: (ln.min_count, ln.max_count, ln.unit) for ln in fp.lines}
    assert lines == {
        "ray-head": (1, 1, "pod"),  # with its autoscaler sidecar
        "cpu-workers": (1, 4, "node n2-standard-8"), "batch-workers": (0, 3, "node n2-standard-16"),
        "gpu-workers": (0, 3, "node g2-standard-8"), "redis": (1, 1, "pod"), "mongodb": (1, 1, "pod"),
        "celery-worker": (2, 2, "pod"), "celery-beat": (1, 1, "pod"), "celery-extract": (1, 4, "pod"),
        "redis-exporter": (1, 1, "pod"), "celery-exporter": (1, 1, "pod"), "mongodb-exporter": (1, 1, "pod"),
    }
    # always on: head 2 + autoscaler 0.5 + one n2-standard-8 8 + redis 1 + mongodb 2
    #            + 2 celery workers x 2 + beat 0.25 + one celery extract 1
    #            + 3 exporters x 0.1                                              = 19.05 vCPU
    # memory:    8 + 0.5 + 32 + 2 + 8 + 2 x 4 + 0.5 + 2 + 3 x 0.125               = 61.375 GiB
    assert fp.always_on == Resources(Decimal("19.05"), Decimal("61.375"), Decimal(0))
    # ceiling: 2.5 + 4 x 8 + 3 x 16 + 3 x 8 + 1 + 2 + 4 + 0.25 + 4 x 1 + 0.3      = 118.05 vCPU
    #          8.5 + 4 x 32 + 3 x 64 + 3 x 32 + 2 + 8 + 8 + 0.5 + 4 x 2 + 0.375   = 451.375 GiB, 3 L4
    assert fp.ceiling == Resources(Decimal("118.05"), Decimal("451.375"), Decimal(3))
    assert fp.storage_gib == Decimal(110)  # MongoDB 100Gi + Redis 10Gi
    low, high = fp.monthly("always_on"), fp.monthly("ceiling")
    # (19.05 x 0.04 + 61.375 x 0.005) x 730 = 1.068875 x 730 = 780.27875; disks 110 x 0.1 = 11
    assert (low["compute"], low["storage"]) == (Decimal("780.27875"), Decimal("11.0"))
    # Backups kept in the backup bucket, each for its retention plus GCS soft delete's 7 days:
    # MongoDB 4 a day x (14 + 7) days x 25 GiB (a quarter of 100Gi)
    # + Redis 4 a day x (7 + 7) days x 1.2 GiB (maxmemory) = 2167.2 -> 2168 GiB x 0.02 = 43.36
    assert fp.backup_gib == Decimal(2168) and low["backups"] == Decimal("43.36")
    # (780.27875 + 11 + 43.36) x 1.10 = 918.102625; + 1000 platform fee = 1918.102625 -> 1918.10
    assert money(low["passthrough"]) == Decimal("918.10") and money(low["total"]) == Decimal("1918.10")
    # (118.05 x 0.04 + 451.375 x 0.005 + 3 x 0.5) x 730 = 8.478875 x 730 = 6189.57875
    # (6189.57875 + 11 + 43.36) x 1.10 + 1000 = 7868.332625 -> 7868.33
    assert high["compute"] == Decimal("6189.57875") and money(high["total"]) == Decimal("7868.33")


def test_extractor_min_replicas_can_hold_nodes_up(tmp_path: Path) -> None:
    # image_extractor: 2 CPU, 6Gi, 0.5 GPU. A g2 worker pod is 7 CPU, 28Gi (19.6Gi for actors
    # after Ray's 30% object store), 1 GPU: two replicas per node, so 3 replicas need 2 nodes.
    fp = load_footprint(repo(tmp_path, "overrides:\n  image_extractor: {min_replicas: 3}\n"), "acme")
    gpu = next(ln for ln in fp.lines if ln.component == "gpu-workers")
    assert (gpu.min_count, gpu.max_count) == (2, 3)
    assert fp.always_on.gpus == 2
    # reserved by extractor min replicas: text 2 CPU/4Gi, multimodal v2 1/4Gi, passthrough 0.5/1Gi,
    # and image 3 x (2 CPU, 6Gi, 0.5 GPU)
    assert fp.extractor_reserved == Resources(Decimal("9.5"), Decimal(27), Decimal("1.5"))


def test_memory_bound_replicas_and_the_group_maximum(tmp_path: Path) -> None:
    # 12Gi replicas: one per 19.6Gi of actor memory, so 5 replicas need 5 nodes; max is 4.
    fp = load_footprint(repo(tmp_path, "overrides:\n  text_extractor: {min_replicas: 5, max_replicas: 6, memory: 12Gi}\n"),
                        "acme")
    cpu = next(ln for ln in fp.lines if ln.component == "cpu-workers")
    assert (cpu.min_count, cpu.max_count) == (4, 4)
    assert "cpu-workers: the extractors' min replicas need 5 nodes but max_replicas is 4" in fp.notes


def test_disabling_the_celery_extractor_frees_its_pod(tmp_path: Path) -> None:
    before = load_footprint(repo(tmp_path / "a"), "acme")
    after = load_footprint(repo(tmp_path / "b", "disabled: [universal_extractor]\n"), "acme")
    assert before.always_on.vcpu - after.always_on.vcpu == 1  # one celery-extract pod: 1 CPU, 2Gi
    assert before.always_on.memory_gib - after.always_on.memory_gib == 2
    md = footprint_change_markdown(before, after)
    # (1 x 0.04 + 2 x 0.005) x 730 = 36.50 at cost; x 1.10 = 40.15 billed
    assert "This change frees always-on 1 vCPU and 2 GiB, and saves about $40.15/month." in md
    assert "| vCPU | 19.05 | 18.05 | -1 | 118.05 | 114.05 | -4 |" in md
    assert "| monthly estimate (USD) | $1,918.10 | $1,877.95 | -$40.15 |" in md
    assert "- `celery-extract`: 1-4 x pod -> none" in md


def test_a_change_inside_the_nodes_says_so(tmp_path: Path) -> None:
    before = load_footprint(repo(tmp_path / "a"), "acme")
    after = load_footprint(repo(tmp_path / "b", "disabled: [text_extractor]\n"), "acme")
    md = footprint_change_markdown(before, after)
    assert "No change to the always-on footprint." in md
    assert "- extractor min replicas reserve 3.5 -> 1.5 vCPU, 9 -> 5 GiB inside the worker nodes" in md


def test_raising_a_group_minimum_adds_nodes(tmp_path: Path) -> None:
    before = load_footprint(repo(tmp_path / "a"), "acme")
    after = load_footprint(repo(tmp_path / "b", "cluster:\n  gpu-workers: {min_replicas: 1}\n"), "acme")
    md = footprint_change_markdown(before, after)
    # one g2-standard-8: (8 x 0.04 + 32 x 0.005 + 0.5) x 730 = 0.98 x 730 = 715.40; x 1.10 = 786.94
    assert "This change adds always-on 8 vCPU, 32 GiB and 1 GPU, and costs about $786.94/month." in md
    assert "- `gpu-workers`: 0-3 x node g2-standard-8 -> 1-3 x node g2-standard-8" in md


def test_new_and_removed_tenants() -> None:
    fp = load_footprint(ROOT, "acme")
    assert footprint_change_markdown(None, fp).splitlines()[2].startswith("New tenant: 19.05 vCPU and 61.375 GiB always on")
    assert "Tenant removed: frees 19.05 vCPU and 61.375 GiB" in footprint_change_markdown(fp, None)
    assert footprint_change_markdown(None, None) == ""


def test_a_region_without_prices_is_a_problem(tmp_path: Path) -> None:
    """A tenant on a declared cluster (its region is the cluster's) that this price table does not price."""
    root = repo(tmp_path)
    (root / "tenants/acme/tenant.yaml").write_text(tenant_yaml("acme", "org_a1").replace("region: us-central1", "region: us-east4")
                                                  .replace("cluster: dp-gke-us-central1", "cluster: dp-gke-us-east4"))
    with pytest.raises(ProblemsError) as e:
        load_footprint(root, "acme")
    (p,) = e.value.problems
    assert (p.file, p.message) == ("registry/prices.yaml", "no prices for gcp region us-east4")


def test_the_price_file_is_schema_checked(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "registry/prices.yaml").write_text(PRICES.replace("management_markup_percent: 10", "markup: 10"))
    with pytest.raises(ProblemsError) as e:
        load_footprint(root, "acme")
    assert {p.message for p in e.value.problems} >= {"unknown key 'markup'"}


@pytest.mark.parametrize("tenant", list_tenants(ROOT))
def test_every_example_tenant_has_a_footprint(tenant: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert footprint(root=ROOT, tenant=tenant, output="json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tenant"] == tenant
    assert data["monthly_usd"]["always_on"]["total"] <= data["monthly_usd"]["ceiling"]["total"]
    assert footprint(root=ROOT, tenant=tenant) == 0
    assert "monthly estimate" in capsys.readouterr().out


def test_every_machine_of_the_platform_has_a_shape_in_the_price_file() -> None:
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    prices = yaml.safe_load((ROOT / "registry/prices.yaml").read_text())
    machines = {m for g in platform["worker_groups"].values() for m in g["machine"].values()}
    assert machines <= set(prices["machines"])
    for tenant in list_tenants(ROOT):
        assert not [n for n in load_footprint(ROOT, tenant).notes if "has no shape" in n or "does not fit" in n]


def test_the_footprint_prices_what_the_templates_render() -> None:
    """The head with its autoscaler sidecar, and the volumes, come from the rendered objects."""
    fp = load_footprint(ROOT, "acme")
    ray = yaml.safe_load((ROOT / "rendered/acme/rayservice-engine.yaml").read_text())["spec"]["rayClusterConfig"]
    sidecar = ray["autoscalerOptions"]["resources"]["requests"]
    [head] = ray["headGroupSpec"]["template"]["spec"]["containers"]
    line = next(ln for ln in fp.lines if ln.component == "ray-head")
    assert line.each == Resources(quantity.parse(sidecar["cpu"]) + quantity.parse(head["resources"]["requests"]["cpu"]),
                                  (quantity.parse(sidecar["memory"]) + quantity.parse(head["resources"]["requests"]["memory"]))
                                  / quantity.GI)
    volumes = [yaml.safe_load((ROOT / f"rendered/acme/statefulset-{name}.yaml").read_text())["spec"]["volumeClaimTemplates"]
               for name in ("redis", "mongodb")]
    rendered = sum(quantity.parse(v["spec"]["resources"]["requests"]["storage"]) for claims in volumes for v in claims)
    assert fp.storage_gib == rendered / quantity.GI > 0


def test_text_report_and_json_agree(tmp_path: Path) -> None:
    fp = load_footprint(repo(tmp_path), "acme")
    text = "\n".join(text_report(fp))
    assert "always-on  19.05 vCPU, 61.375 GiB, 0 L4 GPU" in text
    assert "total                                 1,918.10    7,868.33" in text
    assert "management markup (10%)                  83.46      624.39" in text
    assert "backups at cost (~2168 GiB)              43.36       43.36" in text
    assert "excluded: taxes" in text and "give --bucket-gib and --egress-gib" in text
    assert as_dict(fp)["monthly_usd"]["always_on"]["total"] == 1918.10


def test_bucket_storage_and_egress_are_passed_through_with_the_markup(tmp_path: Path) -> None:
    """The product's passthrough covers nodes, storage and networking at cost plus the markup."""
    fp = load_footprint(repo(tmp_path), "acme", {"bucket_gib": Decimal(500), "egress_gib": Decimal(200)})
    low = fp.monthly("always_on")
    # bucket 500 GiB x 0.02 = 10; egress 200 GiB x 0.1 = 20
    assert (low["bucket"], low["egress"]) == (Decimal("10.00"), Decimal("20.0"))
    # at cost 780.27875 + 11 + 10 + 20 + backups 43.36 = 864.63875; markup 10% = 86.463875;
    # + 1000 fee = 1951.102625 -> 1951.10
    assert low["at_cost"] == Decimal("864.63875") and low["markup"] == Decimal("86.463875")
    assert money(low["total"]) == Decimal("1951.10")
    data = as_dict(fp)
    assert data["usage"] == {"bucket_gib": 500, "egress_gib": 200} and data["excluded"] == ["taxes"]
    text = "\n".join(text_report(fp))
    assert "bucket at cost (500 GiB)                 10.00       10.00" in text
    assert "egress at cost (200 GiB)                 20.00       20.00" in text
    assert "give --bucket-gib" not in text


def test_footprint_volumes_come_from_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from render import cli
    root = repo(tmp_path)
    assert cli.main(["--repo", str(root), "footprint", "acme", "--bucket-gib", "500", "--egress-gib", "200",
                     "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["monthly_usd"]["always_on"]["total"] == 1951.10
    with pytest.raises(SystemExit):
        cli.main(["--repo", str(root), "footprint", "acme", "--egress-gib", "-1"])


COST_LABELS = ("dataplane.io/tenant", "app.kubernetes.io/component")


def _pod_templates(obj: dict) -> list[tuple[str, dict]]:
    spec = obj.get("spec", {})
    out = [("pod", spec["template"])] if "template" in spec else []
    cluster = spec.get("rayClusterConfig")
    if cluster:
        out.append(("head", cluster["headGroupSpec"]["template"]))
        out += [(g["groupName"], g["template"]) for g in cluster["workerGroupSpecs"]]
    return out


def test_every_rendered_object_and_pod_carries_cost_allocation_labels() -> None:
    files = sorted((ROOT / "rendered").rglob("*.yaml")) + sorted((ROOT / "control-plane").rglob("*.yaml"))
    # control-plane/grafana/ holds the platform's own datasources (one per cluster), no tenant's.
    files = [f for f in files if not f.is_relative_to(ROOT / layout.GRAFANA_DIR)]
    assert files
    for path in files:
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
        tenant = path.parent.name
        assert obj["metadata"]["labels"]["dataplane.io/tenant"] == tenant, path
        assert obj["metadata"]["labels"]["app.kubernetes.io/component"], path
        for group, template in _pod_templates(obj):
            labels = template["metadata"]["labels"]
            assert all(labels.get(k) for k in COST_LABELS), (path, group)
            assert labels["dataplane.io/tenant"] == tenant
            if group.endswith("-workers"):
                assert labels["dataplane.io/worker-group"] == group


_replica = st.builds(Resources, st.decimals("0.25", "4", places=2), st.decimals("0.5", "12", places=1),
                     st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1)]))


@given(st.lists(_replica, max_size=12))
def test_packing_is_between_the_volume_bound_and_one_node_per_replica(replicas: list[Resources]) -> None:
    pod = Resources(Decimal(7), Decimal(28), Decimal(1))
    notes: list[str] = []
    nodes = _pack([(f"e{i}", r) for i, r in enumerate(replicas)], pod, "g", notes)
    placed = [r for r in replicas if r.memory_gib <= Decimal("19.6")]
    assert len(notes) == len(replicas) - len(placed)
    assert nodes <= len(placed)
    total = sum(placed, Resources())
    # No packing beats the volume bound of any one resource.
    assert nodes * 7 >= total.vcpu and nodes * Decimal("19.6") >= total.memory_gib and nodes >= total.gpus
