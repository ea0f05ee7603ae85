"""The move flow (render/move/, `dataplane move`) on temporary git repositories: the gate
refuses a cluster, region or database-mode change made outside it and accepts each step in
order; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.pod_security import pod_templates, violations
from tests.support import committed_copy, crds_dir, dataplane, edit, git, need_deep_engines, snapshot


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return committed_copy(tmp_path / "repo")


def gate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = dataplane(root, "--format", "text", "validate", "--against", "HEAD")
    return code, capsys.readouterr().err


def _routing(root: Path, name: str) -> dict:
    (cm,) = [d for d in yaml.safe_load_all((root / f"control-plane/routing/{name}/configmap-routing-{name}.yaml").read_text()) if d]
    (entry,) = cm["data"].values()
    return dict(json.loads(entry))


def step(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> None:
    """One step as its pull request: the command, the automation's render, the gate, the merge."""
    assert dataplane(root, "move", *args) == 0, capsys.readouterr().err
    assert dataplane(root, "render") == 0
    assert gate(root, capsys) == (0, "")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", " ".join(args))


@pytest.mark.parametrize(("old", "new", "key", "line"), [
    ("cluster: dp-gke-us-central1\n", "cluster: dp-gke-us-east4\n", "cluster", "cluster: dp-gke-us-east4"),
    ("region: us-central1\n", "region: us-east4\n", "region", "region: us-east4"),
    ("  mode: dedicated_instance\n", "  mode: shared_instance\n", "database.mode", "  mode: shared_instance"),
])
def test_a_placement_change_outside_the_flow_is_refused(repo: Path, capsys: pytest.CaptureFixture[str], old: str,
                                                        new: str, key: str, line: str) -> None:
    edit(repo, "tenants/acme/tenant.yaml", old, new)
    if key != "database.mode":  # a region is its cluster's (validate holds the two together)
        edit(repo, "tenants/acme/tenant.yaml", *(("region: us-central1\n", "region: us-east4\n") if key == "cluster" else
                                                 ("cluster: dp-gke-us-central1\n", "cluster: dp-gke-us-east4\n")))
    code, err = gate(repo, capsys)
    assert code == 2
    lines = (repo / "tenants/acme/tenant.yaml").read_text().splitlines()
    n = lines.index(line) + 1
    assert f"tenants/acme/tenant.yaml:{n}:" in err
    assert f"{key}: tenant acme: {key} changes from" in err and "outside the migration flow" in err
    assert "`dataplane move prepare acme`" in err


def test_a_cluster_move_passes_the_gate_step_by_step(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step(repo, capsys, "prepare", "acme", "--cluster", "dp-gke-us-east4", "--on", "2026-01-05")
    move_app = yaml.safe_load((repo / "argocd/tenants/acme/application-tenant-acme-move.yaml").read_text())
    assert move_app["spec"]["destination"] == {"name": "dp-gke-us-east4", "namespace": "tenant-acme"}
    assert move_app["spec"]["source"]["path"] == "rendered/acme/move"
    target = repo / "rendered/acme/move"
    assert (target / "statefulset-mongodb.yaml").is_file() and not (target / "storagebucket-dp-data-acme.yaml").exists()
    assert not (target / "cronjob-backup-mongodb.yaml").exists()  # no backup of an empty target
    ray = yaml.safe_load((target / "rayservice-engine.yaml").read_text())
    groups = ray["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert {g["maxReplicas"] for g in groups} == {0}
    member = yaml.safe_load((repo / "rendered/acme/iampolicymember-bucket-object-admin.yaml").read_text())
    assert member["metadata"]["annotations"]["cnrm.cloud.google.com/deletion-policy"] == "abandon"  # the old cluster's copy

    step(repo, capsys, "copy", "acme", "--on", "2026-01-06")
    backup = yaml.safe_load((repo / "rendered/acme/job-move-backup-mongodb-1.yaml").read_text())
    upload = backup["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "gs://dp-data-acme-backups/moves/2026-01-05-1/" in upload
    restore = yaml.safe_load((target / "job-move-restore-mongodb-1.yaml").read_text())
    fetch = restore["spec"]["template"]["spec"]["initContainers"][0]["command"][2]
    assert "gs://dp-data-acme-backups/moves/2026-01-05-1/" in fetch and "-eq 1" in fetch
    assert (target / "job-move-verify-1.yaml").is_file() and (repo / "rendered/acme/job-move-digest-1.yaml").is_file()
    worker = yaml.safe_load((repo / "rendered/acme/deployment-celery-worker.yaml").read_text())
    assert worker["spec"]["replicas"] == 0  # write freeze on the old placement
    assert _routing(repo, "acme")["writes_paused"] is True  # the gateway holds writes meanwhile

    step(repo, capsys, "cutover", "acme", "--verified-by", "jdoe", "--on", "2026-01-07")
    assert not (repo / "rendered/acme/cronjob-backup-mongodb.yaml").exists()
    assert (target / "cronjob-backup-mongodb.yaml").is_file()
    routing = _routing(repo, "acme")
    assert (routing["data_plane"]["cluster"], routing["writes_paused"]) == ("dp-gke-us-east4", False)
    assert "us-east4.dp.internal" in json.dumps(routing["endpoints"])  # the gateway follows the engine

    step(repo, capsys, "retire", "acme", "--approved-by", "boss", "--on", "2026-02-01")
    tenant = yaml.safe_load((repo / "tenants/acme/tenant.yaml").read_text())
    assert (tenant["cluster"], tenant["region"], tenant["bucket_region"]) == ("dp-gke-us-east4", "us-east4", "us-central1")
    assert not target.exists() and not (repo / "argocd/tenants/acme/application-tenant-acme-move.yaml").exists()
    app = yaml.safe_load((repo / "argocd/tenants/acme/application-tenant-acme.yaml").read_text())
    assert app["spec"]["destination"]["name"] == "dp-gke-us-east4"

    step(repo, capsys, "finish", "acme")
    assert "move" not in yaml.safe_load((repo / "tenants/acme/tenant.yaml").read_text())


def test_a_skipped_step_is_refused_by_the_gate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step(repo, capsys, "prepare", "acme", "--cluster", "dp-gke-us-east4", "--on", "2026-01-05")
    edit(repo, "tenants/acme/tenant.yaml", "  state: prepare\n",
         '  state: cutover\n  verified: {job: move-verify-1}\n  grace_until: "2026-01-20"\n')
    code, err = gate(repo, capsys)
    assert code == 2 and "tenant acme: move cannot go from prepare to cutover" in err
    assert "dataplane move copy acme" in err


def test_a_database_mode_switch_goes_through_the_same_states(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    step(repo, capsys, "prepare", "initech", "--database-mode", "dedicated_instance", "--on", "2026-01-05")
    assert (repo / "rendered/initech/statefulset-mongodb.yaml").is_file()  # the target's datastore, beside
    secret = yaml.safe_load((repo / "rendered/initech/externalsecret-move-mongodb-credentials.yaml").read_text())
    assert secret["spec"]["target"]["name"] == "move-mongodb-credentials"
    step(repo, capsys, "copy", "initech", "--on", "2026-01-06")
    restore = yaml.safe_load((repo / "rendered/initech/job-move-restore-mongodb-1.yaml").read_text())
    env = restore["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "move-mongodb-credentials", "key": "uri"} in [e.get("valueFrom", {}).get("secretKeyRef") for e in env]
    assert not (repo / "rendered/initech/job-move-restore-redis-1.yaml").exists()  # Redis stays where it is
    step(repo, capsys, "cutover", "initech", "--verified-by", "jdoe", "--on", "2026-01-07")
    step(repo, capsys, "retire", "initech", "--approved-by", "boss", "--on", "2026-02-01")
    assert yaml.safe_load((repo / "tenants/initech/tenant.yaml").read_text())["database"]["mode"] == "dedicated_instance"


@pytest.mark.parametrize(("args", "message"), [
    (("prepare", "nobody", "--cluster", "dp-gke-us-east4"), "unknown tenant 'nobody'"),
    (("prepare", "acme", "--cluster", "dp-gke-mars"), "unknown cluster 'dp-gke-mars'"),
    (("prepare", "acme", "--cluster", "dp-gke-us-central1"), "acme is already on cluster dp-gke-us-central1"),
    (("prepare", "acme", "--cluster", "dp-eks-us-east-1"), "runs on aws, not on acme's cloud gcp"),
    (("copy", "acme"), "tenant acme is not moving: `move copy` starts from prepare"),
    (("retire", "acme", "--approved-by", "x"), "`move retire` starts from cutover"),
])
def test_bad_input_is_one_line_and_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                                  message: str) -> None:
    before = snapshot(repo, ("tenants", "rendered", "argocd", "control-plane"))
    capsys.readouterr()
    assert dataplane(repo, "move", *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert snapshot(repo, ("tenants", "rendered", "argocd", "control-plane")) == before


def _placements(root: Path) -> dict[str, dict[str, list[dict]]]:
    """{'main'|'target': {tenant: objects}}: each cluster's objects of every tenant."""
    out: dict[str, dict[str, list[dict]]] = {"main": {}, "target": {}}
    for folder in sorted((root / "rendered").iterdir()):
        out["main"][folder.name] = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]
        if (folder / "move").is_dir():
            out["target"][folder.name] = [yaml.safe_load(p.read_text()) for p in sorted((folder / "move").glob("*.yaml"))]
    return out


def _admitted(root: Path, placements: dict[str, dict[str, list[dict]]]) -> list[str]:
    """Every image of every pod, through the images admission policy (real CEL) of its namespace."""
    from tests.admission_sim import Cluster, Request, admit_bound
    from tests.conformance.test_admission import BINDINGS, IMAGES, pod

    refused = []
    for side, tenants in placements.items():
        for name, objects in tenants.items():
            cluster = Cluster(namespaces={"kube-system": {}})
            for obj in objects:
                if obj["kind"] == "Namespace":
                    cluster.namespaces[obj["metadata"]["name"]] = obj["metadata"]["labels"]
                if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "dataplane-admission":
                    cluster.configmaps[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
            for obj in objects:
                for where, spec, _meta in pod_templates(obj):
                    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                        if "image" not in c:
                            continue
                        req = Request("CREATE", "pods", namespace=f"tenant-{name}", object=pod(c["image"]))
                        ok, why = admit_bound(IMAGES, BINDINGS["dataplane-tenant-images"], req, cluster)
                        if not ok:
                            refused.append(f"{side} {name} {where}: {why}")
    return refused


def test_every_state_passes_validate_deep_and_the_invariants(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cluster move (acme), a shared -> dedicated switch (initech) and a dedicated -> shared
    one (globex), state by state: every validator of `validate --deep` (strict schemas, CRDs,
    reachability, capacity and quota, references), the isolation invariants, Pod Security
    restricted on every pod, and every image admitted in its namespace."""
    need_deep_engines()
    from tests.conformance.test_invariants import check_invariants

    moves = {"acme": ("--cluster", "dp-gke-us-east4"), "initech": ("--database-mode", "dedicated_instance"),
             "globex": ("--database-mode", "shared_instance")}
    steps = [("prepare", "2026-01-05"), ("copy", "2026-01-06"), ("cutover", "2026-01-07"), ("retire", "2026-02-01")]
    for state, on in steps:
        for name, extra in moves.items():
            args = {"prepare": extra, "cutover": ("--verified-by", "jdoe"), "retire": ("--approved-by", "boss")}.get(state, ())
            step(repo, capsys, state, name, *args, "--on", on)
        placements = _placements(repo)
        assert set(placements["target"]) == ({"acme"} if state != "retire" else set())
        for objects in placements.values():
            check_invariants(objects)
        bad = [f"{name} {where}: {v}" for tenants in placements.values() for name, objects in tenants.items()
               for obj in objects for where, spec, meta in pod_templates(obj) for v in violations(spec, meta)]
        assert bad == [], (state, bad)
        assert _admitted(repo, placements) == [], state
        capsys.readouterr()
        assert dataplane(repo, "validate", "--deep", "--crds", str(crds_dir())) == 0, (state, capsys.readouterr())
        out = capsys.readouterr().out
        assert "FAIL" not in out and "reachability" in out, out


def test_an_aws_move_lets_the_targets_pods_assume_the_tenants_roles(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The IAM roles stay with the old placement until retire (they name one cloud resource);
    meanwhile they trust the target cluster's OIDC issuer too, so its pods reach the bucket."""
    step(repo, capsys, "prepare", "initech", "--cluster", "dp-eks-eu-west-1", "--on", "2026-01-05")
    issuers = {c: yaml.safe_load((repo / "registry/platform.yaml").read_text())["clusters"][c]["oidc_issuer"]
               for c in ("dp-eks-us-east-1", "dp-eks-eu-west-1")}
    for role in ("role-dp-initech-engine.yaml", "role-dp-initech-secrets.yaml"):
        doc = yaml.safe_load((repo / "rendered/initech" / role).read_text())["spec"]["assumeRolePolicyDocument"]
        principals = [s["Principal"]["Federated"] for s in yaml.safe_load(doc)["Statement"]]
        assert [p.rsplit("oidc-provider/", 1)[1] for p in principals] == [i.removeprefix("https://") for i in issuers.values()]
        assert not (repo / "rendered/initech/move" / role).exists()


@pytest.mark.parametrize(("old", "new", "where", "message"), [
    ("to: {cluster: dp-gke-us-east4,", "to: {cluster: dp-gke-mars,", "move.to.cluster",
     "cluster 'dp-gke-mars' is not declared in registry/platform.yaml `clusters`"),
    ("to: {cluster: dp-gke-us-east4, region: us-east4,", "to: {cluster: dp-gke-us-east4, region: us-west1,",
     "move.to.region", "cluster dp-gke-us-east4 is in us-east4, not us-west1"),
    ("  state: prepare\n", "  state: cutover\n", "move.state", "move state cutover needs move.verified recorded"),
    ("to: {cluster: dp-gke-us-east4, region: us-east4,", "to: {cluster: dp-gke-us-central1, region: us-central1,",
     "move.to", "move.to is the placement the tenant already has"),
])
def test_a_hand_written_move_is_checked_by_validate(repo: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                                    where: str, message: str) -> None:
    assert dataplane(repo, "move", "prepare", "acme", "--cluster", "dp-gke-us-east4", "--on", "2026-01-05") == 0
    edit(repo, "tenants/acme/tenant.yaml", old, new)
    capsys.readouterr()
    assert dataplane(repo, "validate", "acme") == 2
    err = capsys.readouterr().err
    lines = (repo / "tenants/acme/tenant.yaml").read_text().splitlines()
    key = where.split(".")[1]
    n = next(i for i, ln in enumerate(lines, 1) if ln.lstrip().startswith(f"{key}:"))
    assert f"tenants/acme/tenant.yaml:{n}:" in err and f"{where}: {message}" in err and "hint:" in err


@pytest.mark.parametrize(("name", "flag", "value"), [("acme", "--cluster", "dp-gke-us-east4"),
                                                     ("initech", "--database-mode", "dedicated_instance")])
def test_a_prepared_move_can_be_abandoned(repo: Path, capsys: pytest.CaptureFixture[str], name: str, flag: str,
                                          value: str) -> None:
    before = snapshot(repo, ("rendered", "argocd", "control-plane"))
    step(repo, capsys, "prepare", name, flag, value, "--on", "2026-01-05")
    assert snapshot(repo, ("rendered", "argocd", "control-plane")) != before
    step(repo, capsys, "abandon", name)  # the target's datastores go: they never held data
    assert snapshot(repo, ("rendered", "argocd", "control-plane")) == before


def test_the_copy_state_passes_checkov(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The richest state (both placements, every copy Job), all three kinds of move: 0 failed checks."""
    from tests.conformance.test_checkov import assert_clean

    for name, flag, value in (("acme", "--cluster", "dp-gke-us-east4"), ("initech", "--database-mode", "dedicated_instance"),
                              ("globex", "--database-mode", "shared_instance")):
        assert dataplane(repo, "move", "prepare", name, flag, value, "--on", "2026-01-05") == 0
        assert dataplane(repo, "move", "copy", name, "--on", "2026-01-06") == 0
    assert dataplane(repo, "render") == 0
    assert (repo / "rendered/acme/move/job-move-verify-1.yaml").is_file()
    assert_clean(repo / "rendered")
