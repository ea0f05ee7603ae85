"""`dataplane validate --against REF` on a temporary git repository: what the API server
would refuse, data left behind, and placement moves outside the migration flow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from render.gate import immutable, rules
from tests.support import committed_copy, crds_dir, dataplane, edit, git, move_to_platform, snapshot


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return committed_copy(tmp_path / "repo")


def gate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = dataplane(root, "--format", "text", "validate", "--against", "main")
    return code, capsys.readouterr().err


def test_the_committed_output_passes_its_own_gate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate(repo, capsys) == (0, "")


def test_a_storage_increase_is_accepted_as_volume_expansion(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "registry/platform.yaml", "    storage: 100Gi\n", "    storage: 200Gi\n")
    assert gate(repo, capsys) == (0, "")  # checked as the release will move the tenants
    move_to_platform(repo)  # the release moves them
    assert dataplane(repo, "render") == 0
    claim = yaml.safe_load((repo / "rendered/acme/persistentvolumeclaim-data-mongodb-0.yaml").read_text())
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert claim["spec"]["storageClassName"] == "premium-rwo"
    assert claim["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"
    sts = yaml.safe_load((repo / "rendered/acme/statefulset-mongodb.yaml").read_text())
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    # the class the claim names expands in place and keeps its disk
    cls = yaml.safe_load((repo / "argocd/storage/storageclass-premium-rwo.yaml").read_text())
    assert (cls["allowVolumeExpansion"], cls["reclaimPolicy"]) == (True, "Retain")
    # committed, the next change passes the gate too: the claim stays
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "grow")
    assert gate(repo, capsys) == (0, "")


def test_a_volume_claim_template_edit_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "registry/platform.yaml", "    claim_template_storage: 100Gi\n", "    claim_template_storage: 200Gi\n")
    edit(repo, "registry/platform.yaml", "    storage: 100Gi\n", "    storage: 200Gi\n")
    before = snapshot(repo)
    code, err = gate(repo, capsys)
    assert code == 2
    line = next(i for i, ln in enumerate((repo / "rendered/acme/statefulset-mongodb.yaml").read_text().splitlines(), 1)
                if ln == "  volumeClaimTemplates:")
    assert (f"rendered/acme/statefulset-mongodb.yaml:{line}:3: spec.volumeClaimTemplates: tenant acme: StatefulSet mongodb: "
            "spec.volumeClaimTemplates changes, which the API server refuses") in err
    assert "raise datastores.<datastore>.storage in registry/platform.yaml and keep claim_template_storage" in err
    assert snapshot(repo) == before


def test_a_shrink_is_refused_by_validate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "registry/platform.yaml", "    storage: 100Gi\n", "    storage: 50Gi\n")
    assert dataplane(repo, "validate") == 2
    assert "a volume cannot shrink" in capsys.readouterr().err


@pytest.mark.parametrize(("old", "new", "key"), [
    ("cluster: dp-gke-us-central1\n", "cluster: dp-gke-us-east4\n", "cluster"),
    ("  mode: dedicated_instance\n", "  mode: shared_instance\n", "database.mode"),
])
def test_a_placement_move_outside_migration_is_refused(repo: Path, capsys: pytest.CaptureFixture[str],
                                                       old: str, new: str, key: str) -> None:
    edit(repo, "tenants/acme/tenant.yaml", old, new)
    if key == "cluster":
        edit(repo, "tenants/acme/tenant.yaml", "region: us-central1\n", "region: us-east4\n")
    code, err = gate(repo, capsys)
    assert code == 2
    assert f"tenant acme: {key} changes from" in err
    assert "outside the migration flow" in err and "`dataplane move prepare acme`" in err
    if key == "database.mode":  # the dedicated MongoDB would go, too
        assert "StatefulSet mongodb holds data and this change removes it" in err


def test_every_crd_immutable_field_of_a_rendered_kind_is_in_the_table() -> None:
    """Config Connector marks immutable fields 'Immutable.'; ACK and KCC guard them with
    CEL `self == oldSelf`: each such top-level spec field is in rules.RULES."""
    crds = crds_dir()
    for (group, kind), rule in rules.RULES.items():
        if not group.endswith((".cnrm.cloud.google.com", ".services.k8s.aws")):
            continue
        found = [p for p in crds.rglob("*.yaml") if f"kind: {kind}\n" in p.read_text() and group in p.read_text()]
        assert found, (group, kind)
        doc = yaml.safe_load(found[0].read_text())
        spec = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        immutable = {f"spec.{k}" for k, v in spec.items()
                     if str(v.get("description", "")).startswith("Immutable")
                     or any(r.get("rule") == "self == oldSelf" for r in v.get("x-kubernetes-validations", []))}
        assert immutable <= set(rule.fields), (kind, immutable - set(rule.fields))


def test_existing_tenants_change_no_immutable_field_since_the_baseline() -> None:
    """tests/fixtures/gate-baseline/ holds the objects main rendered before volumes were
    retained and expandable (revision in its REVISION file): today's engine, on today's
    inputs, changes none of their immutable fields and removes none of them."""
    from render.gate import against
    from render.load import load_repo
    from render.pipeline import render_repo
    from tests.support import ROOT

    base_dir = ROOT / "tests/fixtures/gate-baseline"
    base = against.objects({p.relative_to(base_dir).as_posix(): p.read_bytes() for p in base_dir.rglob("*.yaml")})
    assert len(base) > 50
    head = against.objects({p: b for files in render_repo(load_repo(ROOT)).values() for p, b in files.items()})
    assert immutable.compare(base, head) == []
    # and the comparison sees a change when there is one
    sts = "rendered/acme/statefulset-mongodb.yaml"
    edited = {**head, sts: {**head[sts], "spec": {**head[sts]["spec"], "serviceName": "mongo"}}}
    assert [p.pointer for p in immutable.compare(base, edited)] == ["spec.serviceName"]


@pytest.mark.parametrize(("kind", "old", "new", "field"), [
    ("v1/Service", {"spec": {"clusterIP": "None"}}, {"spec": {}}, "spec.clusterIP"),
    ("v1/Service", {"spec": {"type": "ClusterIP", "clusterIP": "None"}}, {"spec": {"type": "ExternalName"}}, None),
    ("batch/v1/Job", {"spec": {"template": {"a": 1}}}, {"spec": {"template": {"a": 2}}}, "spec.template"),
    ("v1/PersistentVolumeClaim", {"spec": {"resources": {"requests": {"storage": "200Gi"}}}},
     {"spec": {"resources": {"requests": {"storage": "150Gi"}}}}, "spec.resources.requests.storage"),
    ("v1/PersistentVolumeClaim", {"spec": {"resources": {"requests": {"storage": "200Gi"}}}},
     {"spec": {"resources": {"requests": {"storage": "300Gi"}}}}, None),
    ("storage.k8s.io/v1/StorageClass", {"reclaimPolicy": "Retain"}, {"reclaimPolicy": "Delete"}, "reclaimPolicy"),
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"location": "us-central1"}},
     {"spec": {"location": "us-east4"}}, "spec.location"),
    ("s3.services.k8s.aws/v1alpha1/Bucket", {"spec": {"name": "a"}}, {"spec": {"name": "b"}}, "spec.name"),
    ("s3.services.k8s.aws/v1alpha1/Bucket", {"spec": {"objectLockEnabledForBucket": True}}, {"spec": {}},
     "spec.objectLockEnabledForBucket"),
    # A locked retention policy: never unlocked, removed or shortened; lengthened freely.
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"retentionPolicy": {"retentionPeriod": 604800, "isLocked": True}}},
     {"spec": {"retentionPolicy": {"retentionPeriod": 302400, "isLocked": True}}}, "spec.retentionPolicy.retentionPeriod"),
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"retentionPolicy": {"retentionPeriod": 604800, "isLocked": True}}},
     {"spec": {"retentionPolicy": {"retentionPeriod": 604800, "isLocked": False}}}, "spec.retentionPolicy.isLocked"),
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"retentionPolicy": {"retentionPeriod": 604800, "isLocked": True}}},
     {"spec": {}}, "spec.retentionPolicy.isLocked"),
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"retentionPolicy": {"retentionPeriod": 604800, "isLocked": True}}},
     {"spec": {"retentionPolicy": {"retentionPeriod": 1209600, "isLocked": True}}}, None),
    ("storage.cnrm.cloud.google.com/v1beta1/StorageBucket", {"spec": {"retentionPolicy": {"retentionPeriod": 604800}}},
     {"spec": {"retentionPolicy": {"retentionPeriod": 86400}}}, None),
    ("apps/v1/StatefulSet", {"spec": {"podManagementPolicy": "OrderedReady", "replicas": 1}},
     {"spec": {"podManagementPolicy": "Parallel", "replicas": 2}}, "spec.podManagementPolicy"),
    ("apps/v1/Deployment", {"spec": {"selector": {"a": "b"}, "replicas": 1}}, {"spec": {"selector": {"a": "c"}}},
     "spec.selector"),
    ("v1/ConfigMap", {"immutable": True, "data": {"a": "1"}}, {"immutable": True, "data": {"a": "2"}}, "data"),
    ("v1/ConfigMap", {"data": {"a": "1"}}, {"data": {"a": "2"}}, None),
])
def test_each_rule_refuses_what_the_api_server_refuses(kind: str, old: dict, new: dict, field: str | None) -> None:
    api, _, k = kind.rpartition("/")
    meta = {"name": "x", "namespace": "tenant-acme"}
    path = "rendered/acme/x.yaml"
    found = immutable.compare({path: {"apiVersion": api, "kind": k, "metadata": meta, **old}},
                              {path: {"apiVersion": api, "kind": k, "metadata": meta, **new}})
    assert [p.pointer for p in found] == ([field] if field else [])
    assert all("tenant acme" in p.message and p.hint for p in found)


def test_a_shorter_backup_retention_is_refused_by_the_gate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The backup buckets' retention is locked at the shortest retention_days (7): 3 would
    shorten it, which GCS refuses; 14 for MongoDB and Redis lengthens it and passes."""
    edit(repo, "registry/platform.yaml", "redis: {schedule: \"47 */6 * * *\", retention_days: 7}",
         "redis: {schedule: \"47 */6 * * *\", retention_days: 3}")
    code, err = gate(repo, capsys)
    assert code == 2
    assert "tenant acme: StorageBucket dp-data-acme-backups: spec.retentionPolicy.retentionPeriod shrinks" in err
    assert "retention is locked: it can only grow" in err
    edit(repo, "registry/platform.yaml", "retention_days: 3}", "retention_days: 14}")
    code, err = gate(repo, capsys)
    assert code == 0, err


def test_renaming_every_bucket_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, "registry/platform.yaml", "  bucket_prefix: dp-data\n", "  bucket_prefix: dp-tenant-data\n")
    code, err = gate(repo, capsys)
    assert code == 2
    assert "tenant acme: StorageBucket dp-data-acme holds data and this change removes it (or renames it)" in err
    assert "tenant initech" not in err  # auto_deploy: false: only its promote moves it, gated in that pull request
    assert "`dataplane offboard TENANT`" in err


def test_a_placement_move_is_allowed_with_the_copy_of_a_shared_tenant(repo: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """umbrella is routed shared (verifying attempt 1): restarting the copy into another
    cluster is the flow; its bucket still cannot move (the location is immutable). acme,
    routed dedicated, has no copy Job that reads its data: starting one moves nothing."""
    rel = "tenants/umbrella/tenant.yaml"
    edit(repo, rel, "region: us-east4\ncluster: dp-gke-us-east4\n", "region: us-central1\ncluster: dp-gke-us-central1\n")
    edit(repo, rel, "  state: verifying\n  attempt: 1\n", "  state: copying\n  attempt: 2\n")
    text = (repo / rel).read_text()
    (repo / rel).write_text(text[:text.index("  copied:")] + text[text.index("# What Umbrella"):], encoding="utf-8")
    code, err = gate(repo, capsys)
    assert code == 2
    assert "outside the migration flow" not in err
    assert "tenant umbrella: StorageBucket dp-data-umbrella: spec.location changes" in err

    edit(repo, rel, "region: us-central1\ncluster: dp-gke-us-central1\n", "region: us-east4\ncluster: dp-gke-us-east4\n")
    edit(repo, "tenants/acme/tenant.yaml", "region: us-central1\ncluster: dp-gke-us-central1\n",
         "region: us-east4\ncluster: dp-gke-us-east4\n")
    with (repo / "tenants/acme/tenant.yaml").open("a") as f:
        f.write("routing: shared\nmigration:\n  state: copying\n  attempt: 1\n")
    code, err = gate(repo, capsys)
    assert code == 2
    assert "tenant acme: cluster changes from dp-gke-us-central1 to dp-gke-us-east4 outside the migration flow" in err


def test_mains_engine_runs_the_gate_on_a_pull_requests_inputs(tmp_path: Path) -> None:
    """verify-pr (main's engine, the pull request's inputs as data) refuses what strands data too."""
    from render.commands.verify_pr import check
    from tests.flow_repo import clone, commit_all, make_origin

    origin = make_origin(tmp_path)
    main, tree = clone(origin, tmp_path / "main"), clone(origin, tmp_path / "pr")
    edit(tree, "registry/platform.yaml", "    claim_template_storage: 100Gi\n", "    claim_template_storage: 150Gi\n")
    edit(tree, "registry/platform.yaml", "    storage: 100Gi\n", "    storage: 150Gi\n")
    commit_all(tree, "grow the claim template")
    found = check(main, tree, ["registry/platform.yaml"])
    assert {(p.file, p.pointer) for p in found} >= {("rendered/acme/statefulset-mongodb.yaml", "spec.volumeClaimTemplates")}
    edit(tree, "registry/platform.yaml", "    claim_template_storage: 150Gi\n", "    claim_template_storage: 100Gi\n")
    main2 = clone(origin, tmp_path / "main2")
    assert check(main2, tree, ["registry/platform.yaml"]) == []  # the same growth, as expansion
