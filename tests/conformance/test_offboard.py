"""`dataplane offboard`: the offboarding change, the refusals, the later deletion and its
tombstone, which new-tenant and validate then hold every tenant to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.support import crds_dir, dataplane, move_to_platform, need_deep_engines, set_pin, snapshot
from tests.system.test_gate import edit, gate, git, repo  # noqa: F401  (the fixture)

INPUTS = ("tenants", "registry", "rendered", "argocd", "control-plane")


def changed(root: Path) -> list[str]:
    git(root, "add", "-A")
    return sorted(git(root, "diff", "--cached", "--name-only").splitlines())


def pull_request(root: Path, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The pull request's gate (against the base), its scope check, the merge, and the
    automation's render of the output on main."""
    capsys.readouterr()
    assert gate(root, capsys) == (0, "")
    base = git(root, "rev-parse", "HEAD")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    assert dataplane(root, "check-scope", "--base", base) == 0, capsys.readouterr().err
    assert dataplane(root, "render") == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", f"generate: {message}")


def test_offboarding_end_to_end(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert dataplane(repo, "offboard", "globex", "--on", "2026-12-07") == 0
    assert changed(repo) == ["tenants/globex/tenant.yaml"]  # inputs only: the automation renders
    life = yaml.safe_load((repo / "tenants/globex/tenant.yaml").read_text())["lifecycle"]
    assert life == {"phase": "offboarding", "requested_on": "2026-12-07", "grace_until": "2027-01-06"}
    pull_request(repo, "offboard globex", capsys)

    out = repo / "rendered/globex"
    export = yaml.safe_load((out / "job-offboard-export-mongodb.yaml").read_text())
    upload = export["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "/offboarding/2026-12-07/" in upload and "gs://dp-data-globex-backups/" in upload
    copy = yaml.safe_load((out / "job-offboard-copy-bucket.yaml").read_text())
    waves = {p.name: yaml.safe_load(p.read_text())["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
             for p in out.glob("job-offboard-*.yaml")}
    assert waves == {"job-offboard-export-mongodb.yaml": "3", "job-offboard-export-redis.yaml": "3",
                     "job-offboard-copy-bucket.yaml": "4"}  # the copy holds the exports
    script = copy["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert '"gs://dp-data-globex/" "gs://dp-offboarded/globex/2026-12-07/data-bucket/"' in script
    assert '"gs://dp-data-globex-backups/" "gs://dp-offboarded/globex/2026-12-07/backup-bucket/"' in script
    assert copy["spec"]["template"]["spec"]["serviceAccountName"] == "restore"  # read-only on both buckets
    ray = yaml.safe_load((out / "rayservice-engine.yaml").read_text())
    assert all(g["replicas"] == g["maxReplicas"] == 0 for g in ray["spec"]["rayClusterConfig"]["workerGroupSpecs"])
    serve = yaml.safe_load(ray["spec"]["serveConfigV2"])
    assert {d["autoscaling_config"]["min_replicas"] for a in serve["applications"] for d in a["deployments"]} == {0}
    for name in ("celery-worker", "celery-beat"):
        assert yaml.safe_load((out / f"deployment-{name}.yaml").read_text())["spec"]["replicas"] == 0
    assert (out / "statefulset-mongodb.yaml").exists()  # the data stays
    assert "suspended" in (repo / "control-plane/routing/globex/configmap-routing-globex.yaml").read_text()
    capsys.readouterr()
    assert dataplane(repo, "migration", "globex") == 0
    assert capsys.readouterr().out == "globex: routing dedicated, offboarding (data kept until 2027-01-06)\n"

    # refused: twice, before the grace date, without approval; nothing written
    before = snapshot(repo, INPUTS)
    for args in (["globex", "--on", "2026-12-08"], ["globex", "--delete", "--on", "2027-01-05"],
                 ["globex", "--delete", "--on", "2027-01-06"], ["nobody"]):
        assert dataplane(repo, "offboard", *args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 3, err  # the problem, its hint, the summary
    assert snapshot(repo, INPUTS) == before

    edit(repo, "tenants/globex/tenant.yaml", '  grace_until: "2027-01-06"\n',
         '  grace_until: "2027-01-06"\n  deletion_approved_by: jdoe\n')
    pull_request(repo, "approve the deletion of globex", capsys)
    assert dataplane(repo, "offboard", "globex", "--delete", "--on", "2027-01-06") == 0
    assert changed(repo) == ["registry/tombstones.yaml", "tenants/globex/overrides.yaml",
                             "tenants/globex/release.yaml", "tenants/globex/tenant.yaml"]
    [stone] = yaml.safe_load((repo / "registry/tombstones.yaml").read_text())["tombstones"]
    assert stone == {"name": "globex", "organization_id": stone["organization_id"], "bucket": "dp-data-globex",
                     "secret_prefix": "dataplane_tenants_globex_", "vector_prefix": "globex__",
                     "deleted_on": "2027-01-06", "approved_by": "jdoe"}
    # the deleted tenant's data objects may go (it is tombstoned); its files are the platform's to remove
    pull_request(repo, "delete globex", capsys)
    assert not (repo / "rendered/globex").exists()
    assert dataplane(repo, "offboard", "globex", "--delete") == 2  # already offboarded


def test_a_tombstoned_name_is_refused_by_new_tenant_and_validate(repo: Path,  # noqa: F811
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "registry/tombstones.yaml").write_text(
        "tombstones:\n- name: hooli\n  organization_id: org_0a0b0c0d\n  bucket: dp-data-hooli\n"
        "  secret_prefix: dataplane_tenants_hooli_\n  vector_prefix: hooli__\n  deleted_on: '2026-01-02'\n"
        "  approved_by: jdoe\n", encoding="utf-8")
    assert dataplane(repo, "new-tenant", "hooli", "--cloud", "gcp", "--region", "us-central1",
                     "--organization-id", "org_12345678") == 2
    err = capsys.readouterr().err
    assert ("registry/tombstones.yaml:2:3: tombstones.0.name: tenant hooli: tenant name 'hooli' belonged to the "
            "offboarded tenant hooli (registry/tombstones.yaml:2)") in err
    assert "a tombstoned one is never reused" in err
    assert not (repo / "tenants/hooli").exists()
    # a copied tenant with the tombstoned organization id, found by validate at its line
    shutil.copytree(repo / "tenants/initech", repo / "tenants/pied")
    edit(repo, "tenants/pied/tenant.yaml", "name: initech\n", "name: pied\n")
    text = (repo / "tenants/pied/tenant.yaml").read_text()
    org = yaml.safe_load(text)["organization_id"]
    (repo / "tenants/pied/tenant.yaml").write_text(text.replace(org, "org_0a0b0c0d"), encoding="utf-8")
    assert dataplane(repo, "validate", "pied") == 2
    err = capsys.readouterr().err
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("organization_id:"))
    assert f"tenants/pied/tenant.yaml:{line}:18: organization_id: organization id 'org_0a0b0c0d' belonged to the " \
           "offboarded tenant hooli (registry/tombstones.yaml:3)" in err


def test_every_new_object_passes_validate_deep(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """A grown volume's claim, the StorageClasses, the offboarding Jobs and the stopped
    compute, through every validator of `validate --deep` (Kubernetes strict schemas,
    upstream CRDs, reachability, capacity, references)."""
    need_deep_engines()
    edit(repo, "registry/platform.yaml", "    storage: 100Gi\n", "    storage: 200Gi\n")
    move_to_platform(repo, "acme")  # the release that grows acme's volume
    assert dataplane(repo, "offboard", "globex", "--on", "2026-12-07") == 0
    assert dataplane(repo, "render") == 0  # as the automation does after the merge
    new = ["rendered/acme/persistentvolumeclaim-data-mongodb-0.yaml", "argocd/storage/storageclass-premium-rwo.yaml",
           "argocd/storage/storageclass-gp3.yaml", "rendered/globex/job-offboard-export-mongodb.yaml",
           "rendered/globex/job-offboard-export-redis.yaml", "rendered/globex/job-offboard-copy-bucket.yaml",
           "argocd/platform/appproject-dataplane-storage.yaml"]
    assert all((repo / rel).is_file() for rel in new)
    capsys.readouterr()
    assert dataplane(repo, "validate", "--deep", "--crds", str(crds_dir())) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count("\nok ") + out.startswith("ok ") >= 8, out


def test_delete_is_undone_while_the_rollout_plan_still_names_the_tenant(repo: Path,  # noqa: F811
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert dataplane(repo, "offboard", "acme", "--on", "2026-12-07") == 0
    edit(repo, "tenants/acme/tenant.yaml", '  grace_until: "2027-01-06"\n',
         '  grace_until: "2027-01-06"\n  deletion_approved_by: jdoe\n')
    before = snapshot(repo, INPUTS)
    capsys.readouterr()
    assert dataplane(repo, "offboard", "acme", "--delete", "--on", "2027-02-01") == 2
    assert "registry/rollout.yaml:20:13: canary.tenants[0]: no tenant named 'acme'" in capsys.readouterr().err
    assert snapshot(repo, INPUTS) == before


def test_a_shortened_grace_period_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert dataplane(repo, "offboard", "globex", "--on", "2026-12-07") == 0
    edit(repo, "tenants/globex/tenant.yaml", '  grace_until: "2027-01-06"\n', '  grace_until: "2026-12-08"\n')
    capsys.readouterr()
    assert dataplane(repo, "validate") == 2
    assert ("lifecycle.grace_until: the data must be kept until at least 2027-01-06 (30 days after requested_on"
            in capsys.readouterr().err)


def test_the_tombstones_are_platform_owned() -> None:
    from render import layout
    from render.ownership import PLATFORM, load_ownership, owner_of
    from tests.support import ROOT

    assert owner_of(layout.TOMBSTONES_FILE, load_ownership(ROOT)).kind == PLATFORM


def test_a_tenant_pinned_to_a_revision_without_offboarding_is_refused(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.flow_repo import clone, commit_all, make_origin, tag_release
    from tests.flow_repo import git as flow_git

    work = clone(make_origin(tmp_path), tmp_path / "work")
    template = work / "base/offboarding.yaml.j2"
    text = template.read_text()
    template.unlink()
    old = tag_release(work, commit_all(work, "a platform without offboarding"), publish=False)
    template.write_text(text)
    set_pin(work, "initech", old)
    commit_all(work, "pin initech")
    assert flow_git(work, "status", "--porcelain") == ""
    capsys.readouterr()
    assert dataplane(work, "offboard", "initech") == 2
    assert "dataplane promote initech first" in capsys.readouterr().err
    assert flow_git(work, "status", "--porcelain") == ""  # nothing written


def test_only_a_whole_tenant_removed_is_the_platforms_change() -> None:
    """check-scope: removing a tenant's files is the platform's change (offboarding) only when
    its tenant.yaml goes too; a release.yaml or overrides.yaml removed alone stays refused."""
    from render.ownership import load_ownership
    from render.workflows import pr_scope
    from tests.support import ROOT

    own = load_ownership(ROOT)
    folder = ["tenants/globex/overrides.yaml", "tenants/globex/release.yaml", "tenants/globex/tenant.yaml"]
    assert pr_scope.pull_request_findings([*folder, "registry/tombstones.yaml"], own, removed=frozenset(folder)) == []
    alone = ["tenants/globex/release.yaml"]
    assert [f.rule for f in pr_scope.pull_request_findings(alone, own, removed=frozenset(alone))] == [
        pr_scope.GENERATED_RULE]
