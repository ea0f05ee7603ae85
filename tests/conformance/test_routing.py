"""The routing table fleet builder (render/routing.py) and its place in the render."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from render import fleet, layout
from render.commands.new_tenant import new_tenant
from render.commands.render import render
from render.load import list_tenants, load_repo
from render.pipeline import render_repo
from render.problems import ProblemsError
from render.resolver import RoutingTable
from tests.lifecycle_repo import make_repo
from tests.support import ROOT, need, snapshot, tenant_yaml


def entry(root: Path, name: str) -> dict:
    (path,) = sorted((root / layout.routing_dir(name)).iterdir())
    cm = yaml.safe_load(path.read_text(encoding="utf-8"))
    (text,) = cm["data"].values()
    return dict(json.loads(text))


def test_the_committed_routing_table_covers_every_tenant() -> None:
    table = RoutingTable.from_folder(ROOT / layout.ROUTING_DIR)
    tenants = list_tenants(ROOT)
    orgs = {yaml.safe_load((ROOT / f"tenants/{t}/tenant.yaml").read_text())["organization_id"]: t for t in tenants}
    assert table.organizations() == sorted(orgs)
    assert {org: table._routes[org].tenant for org in orgs} == orgs


def test_configmap_is_valid_and_labelled_for_the_gateway(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1")})
    render(root=root, tenants=[])
    path = root / "control-plane/routing/acme/configmap-routing-acme.yaml"
    cm = yaml.safe_load(path.read_text(encoding="utf-8"))
    need("kubernetes_validate").validate(cm, "1.33.0", strict=True)
    assert cm["metadata"]["namespace"] == "control-plane"
    assert cm["metadata"]["labels"]["dataplane.io/routing"] == "true"
    assert cm["metadata"]["labels"]["dataplane.io/tenant"] == "acme"
    assert list(cm["data"]) == ["org_a1.json"]


def test_dedicated_entry_points_at_the_tenant_namespace_only(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1")})
    render(root=root, tenants=[])
    e = entry(root, "acme")
    assert (e["routing"], e["status"], e["writes_paused"], e["migration"]) == ("dedicated", "active", False, None)
    ep = e["endpoints"]
    assert ep["database"] == {"host": "mongodb-0.mongodb.tenant-acme.svc.cluster.local", "port": 27017, "database": "dp_acme",
                              "credentials": {"store": "tenant-secrets", "key": "dataplane_tenants_acme_mongodb", "property": "password"}}
    assert ep["cache"]["key_prefix"] == "acme:" and ep["queues"]["prefix"] == "acme."
    # The gateway runs on the management cluster: it reaches the tenant's internal Serve load
    # balancer by its name in the tenant cluster's internal zone, never a cluster.local name.
    assert ep["serve"]["url"] == "http://serve-acme.us-central1.dp.internal:8000"
    assert ep["bucket"]["url"] == "gs://dp-data-acme/"
    assert ep["vector_store"]["collection_prefix"] == "acme__"


def test_shared_entry_points_at_the_shared_platform_keyed_by_organization(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1", "routing: shared\n")})
    render(root=root, tenants=[])
    ep = entry(root, "acme")["endpoints"]
    assert ep["database"]["host"] == "mongodb.shared-platform.svc.cluster.local"
    assert ep["database"]["database"] == "org_a1"
    assert ep["bucket"]["url"] == "gs://dp-shared-data/org_a1/"
    assert ep["queues"]["prefix"] == "org_a1." and ep["vector_store"]["collection_prefix"] == "org_a1__"
    # GCP Secret Manager ids hold no '/': the path's separators become '_'.
    assert ep["database"]["credentials"] == {"store": "platform-secrets", "property": "uri",
                                             "key": "dataplane_shared_organizations_org_a1_mongodb"}


def test_entries_hold_secret_references_never_values() -> None:
    """Every `credentials` in every committed entry is exactly a (store, key, property) reference."""
    def walk(value: object) -> list[dict]:
        if isinstance(value, dict):
            found = [value["credentials"]] if "credentials" in value else []
            return found + [c for v in value.values() for c in walk(v)]
        return []

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        return set()

    for path in sorted((ROOT / layout.ROUTING_DIR).rglob("*.yaml")):
        cm = yaml.safe_load(path.read_text(encoding="utf-8"))
        for text in cm["data"].values():
            refs = walk(json.loads(text))
            assert len(refs) == 3
            assert all(set(r) == {"store", "key", "property"} for r in refs)
            # A value would sit under a key of its own; "password" may only name a property.
            assert not keys(json.loads(text)) & {"password", "secret", "token", "value", "api-key", "uri"}


def test_a_subset_render_writes_only_its_own_routing_scopes(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2")})
    scopes = render_repo(load_repo(root, ["bolt"]))
    assert sorted(s for s in scopes if s.startswith("control-plane/")) == [
        "control-plane/grafana", "control-plane/monitoring/bolt", "control-plane/routing/bolt"]


def test_a_deleted_tenant_loses_its_routing_entry(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2")})
    assert render(root=root, tenants=[]) == 0
    assert (root / "control-plane/routing/bolt").is_dir()
    shutil.rmtree(root / "tenants/bolt")
    assert render(root=root, tenants=[], check=True) == 1
    assert render(root=root, tenants=[]) == 0
    assert not (root / "control-plane/routing/bolt").exists()
    assert RoutingTable.from_folder(root / "control-plane").organizations() == ["org_a1"]


def test_two_tenants_cannot_claim_one_organization(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_a1")})
    with pytest.raises(ProblemsError) as e:
        render_repo(load_repo(root))
    # Validation reports the clash in both files, each naming the other.
    files = {p.file: p for p in e.value.problems if p.pointer == "organization_id"}
    assert set(files) == {"tenants/acme/tenant.yaml", "tenants/bolt/tenant.yaml"}
    assert "org_a1" in files["tenants/bolt/tenant.yaml"].message


def test_new_tenant_is_routed_once_rendered(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {})
    assert new_tenant(root=root, name="wayne", cloud="aws", region="us-east-1", organization_id="org_w4",
                      cloud_account="123456789012") == 0
    assert render(root=root, tenants=[]) == 0
    route = RoutingTable.from_folder(root / "control-plane").resolve("org_w4")
    assert (route.tenant, route.routing, route.namespace) == ("wayne", "dedicated", "tenant-wayne")
    assert route.endpoints.bucket_url == "s3://dp-data-wayne/"


def test_new_tenant_moving_from_the_shared_platform_starts_on_shared_routing(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {})
    assert new_tenant(root=root, name="wayne", cloud="gcp", region="us-east4", organization_id="org_w4", routing="shared") == 0
    assert render(root=root, tenants=[]) == 0
    route = RoutingTable.from_folder(root / "control-plane").resolve("org_w4")
    assert (route.routing, route.endpoints.database.database) == ("shared", "org_w4")


def test_committed_control_plane_output_is_current() -> None:
    """The committed control-plane/ is the golden output: render in memory and compare bytes."""
    import difflib

    outputs = render_repo(load_repo(ROOT))
    produced = {p: d for scope, files in outputs.items() if scope.startswith("control-plane/") for p, d in files.items()}
    committed = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / "control-plane").rglob("*") if p.is_file()}
    assert sorted(produced) == sorted(committed)
    for path, data in produced.items():
        if committed[path] != data:
            diff = difflib.unified_diff(committed[path].decode().splitlines(), data.decode().splitlines(), path, path, lineterm="")
            pytest.fail("stale: run `dataplane render`\n" + "\n".join(diff))


def test_every_entry_matches_the_published_routing_schema() -> None:
    import jsonschema

    from render.validate.schemas import schema

    validator = jsonschema.Draft202012Validator(schema("routing"))
    jsonschema.Draft202012Validator.check_schema(schema("routing"))
    for path in sorted((ROOT / layout.ROUTING_DIR).rglob("*.yaml")):
        for text in yaml.safe_load(path.read_text(encoding="utf-8"))["data"].values():
            assert [e.message for e in validator.iter_errors(json.loads(text))] == [], path


def test_routing_context_agrees_with_the_full_template_context() -> None:
    from render import context, routing
    from render.pipeline import effective

    repo = load_repo(ROOT)
    for _name, files in repo.tenants.items():
        eff = effective(files, repo.current)
        full = context.tenant_context(eff, repo.current.platform.data)
        assert routing.routing_entry(routing.routing_context(eff, repo.current.platform.data)) == routing.routing_entry(full)


def routing_files(root: Path) -> dict[str, bytes]:
    return snapshot(root, (layout.ROUTING_DIR,))


def test_routing_output_is_deterministic(tmp_path: Path) -> None:
    """The same inputs give the same bytes: twice in a row, and whatever the order of the
    keys in tenant.yaml or the order the tenants are rendered in."""
    tenants = {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2", "routing: shared\n")}
    first = make_repo(tmp_path / "a", tenants)
    fleet.render_to_disk(first, use_cache=False)
    once = routing_files(first)
    assert fleet.render_to_disk(first, use_cache=False).report.clean
    assert routing_files(first) == once
    reordered = {name: yaml.safe_dump(dict(reversed(yaml.safe_load(text).items())), sort_keys=False)
                 for name, text in tenants.items()}
    assert all(reordered[n] != tenants[n] for n in tenants)
    second = make_repo(tmp_path / "b", reordered)
    for name in ("bolt", "acme"):  # one at a time, the other way round
        fleet.render_to_disk(second, [name], use_cache=False)
    assert routing_files(second) == once
    assert sorted(p for p, data in once.items() if data != b"<dir>") == [
        "control-plane/routing/acme/configmap-routing-acme.yaml", "control-plane/routing/bolt/configmap-routing-bolt.yaml"]


def test_no_tenants_routing_names_another_tenant() -> None:
    """Each committed routing entry mentions its own tenant only: no other tenant's name,
    namespace or organization anywhere in its bytes."""
    tenants = list_tenants(ROOT)
    orgs = {t: yaml.safe_load((ROOT / layout.tenant_file(t, layout.TENANT_FILE)).read_text())["organization_id"]
            for t in tenants}
    assert len(tenants) >= 2
    for tenant in tenants:
        files = [p for p in (ROOT / layout.routing_dir(tenant)).rglob("*") if p.is_file()]
        assert files
        for path in files:
            text = path.read_text(encoding="utf-8")
            assert orgs[tenant] in text and layout.namespace(tenant) in text
            for other in (t for t in tenants if t != tenant):
                for word in (other, orgs[other], layout.namespace(other)):
                    assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w])", text), (path, word)


@pytest.mark.parametrize("use_cache", [False, True])
def test_a_fleet_render_removes_a_deleted_tenants_routing(tmp_path: Path, use_cache: bool) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2")})
    fleet.render_to_disk(root, use_cache=use_cache)
    fleet.render_to_disk(root, use_cache=use_cache)  # with the cache: bolt's scopes are now known fresh
    acme = {p: data for p, data in routing_files(root).items() if not layout.is_inside(p, layout.routing_dir("bolt"))}
    shutil.rmtree(root / "tenants/bolt")
    checked = fleet.render_to_disk(root, use_cache=use_cache, check=True).report  # as `render --check` sees it
    assert "control-plane/routing/bolt/configmap-routing-bolt.yaml" in checked.pruned
    assert (root / layout.routing_dir("bolt")).is_dir()  # a check writes nothing
    fleet.render_to_disk(root, use_cache=use_cache)
    assert not (root / layout.routing_dir("bolt")).exists()
    assert routing_files(root) == acme


def test_the_deploy_render_removes_a_deleted_tenants_routing(tmp_path: Path) -> None:
    from render.workflows import deploy

    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2")})
    deploy.render(root, None)
    shutil.rmtree(root / "tenants/bolt")
    deploy.render(root, None)
    assert not (root / layout.routing_dir("bolt")).exists()
    assert RoutingTable.from_folder(root / layout.CONTROL_PLANE_DIR).organizations() == ["org_a1"]


def test_one_tenants_change_rewrites_only_its_own_routing(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1"), "bolt": tenant_yaml("bolt", "org_b2")})
    fleet.render_to_disk(root, use_cache=False)
    before = routing_files(root)
    (root / "tenants/acme/tenant.yaml").write_text(tenant_yaml("acme", "org_a1", "display_name: Acme Corp\n"))
    fleet.render_to_disk(root, use_cache=False)
    after = routing_files(root)
    assert sorted(p for p in after if after[p] != before.get(p)) == ["control-plane/routing/acme/configmap-routing-acme.yaml"]
    assert entry(root, "acme")["display_name"] == "Acme Corp"


def test_a_suspended_tenant_is_routed_as_suspended(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1", "suspended: true\n")})
    fleet.render_to_disk(root, use_cache=False)
    assert entry(root, "acme")["status"] == "suspended"
    assert RoutingTable.from_folder(root / layout.CONTROL_PLANE_DIR).organizations() == ["org_a1"]
