"""`dataplane restore`: a listed backup inside the retained window renders one Job in the
tenant's own namespace and prints the runbook; every bad input is one Problem, exit 2,
and nothing written anywhere."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from render import layout
from render import restore as planning
from render.commands.restore import restore, with_restore
from tests.support import ROOT, copy_repo, snapshot

NOW = dt.datetime(2026, 12, 7, 13, 0, 0, tzinfo=dt.UTC)
LISTING = """\
gs://dp-data-acme-backups/backups/mongodb/mongodb-20261207T061700Z.archive.gz
gs://dp-data-acme-backups/backups/mongodb/mongodb-20261207T121700Z.archive.gz
gs://dp-data-acme-backups/backups/mongodb/mongodb-20261101T001700Z.archive.gz
gs://dp-data-acme-backups/backups/redis/redis-20261207T124700Z.rdb
gs://dp-data-acme-backups/offboarding/2026-12-01/mongodb-20261201T000000Z.archive.gz
"""


def _inputs_and_outputs(root: Path) -> dict[str, bytes]:
    return snapshot(root, layout.OUTPUT_DIRS + (layout.TENANTS_DIR,))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_repo(tmp_path / "repo")
    (tmp_path / "inventory.txt").write_text(LISTING)
    return root


def _run(root: Path, tenant: str, backup: str, to_time: str | None = None) -> int:
    return restore(root=root, tenant=tenant, backup=backup, inventory=root.parent / "inventory.txt", to_time=to_time, now=NOW)


def test_a_listed_backup_renders_one_restore_job_in_the_tenants_namespace(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _inputs_and_outputs(repo)
    assert _run(repo, "acme", "mongodb-20261207T121700Z", "2026-12-07T12:30:00Z") == 0
    after = _inputs_and_outputs(repo)
    changed = sorted(k for k in after if before.get(k) != after[k])
    # The Job, the quota's headroom that admits its pod, the input that asks for it.
    assert changed == ["rendered/acme/job-restore-mongodb-20261207t121700z.yaml",
                       "rendered/acme/resourcequota-tenant-quota.yaml", "tenants/acme/tenant.yaml"]
    tenant = yaml.safe_load((repo / "tenants/acme/tenant.yaml").read_text())
    assert tenant["restore"] == {"backup": "mongodb-20261207T121700Z", "to_time": "2026-12-07T12:30:00Z"}
    job = yaml.safe_load((repo / changed[0]).read_text().split("---", 1)[1])
    assert job["metadata"]["namespace"] == "tenant-acme"
    pod = job["spec"]["template"]["spec"]
    assert "gs://dp-data-acme-backups/backups/mongodb/mongodb-20261207T121700Z.archive.gz" in pod["initContainers"][0]["command"][2]
    assert "--drop" in pod["containers"][0]["command"][2] and "--nsInclude='dp_acme.*'" in pod["containers"][0]["command"][2]
    out = capsys.readouterr().out
    assert "Runbook:" in out and "kubectl -n tenant-acme logs job/restore-mongodb-20261207t121700z" in out
    assert "Writes after 2026-12-07T12:17:00Z are not in the backup" in out


def test_a_second_restore_replaces_the_first(repo: Path) -> None:
    assert _run(repo, "acme", "mongodb-20261207T061700Z") == 0
    assert _run(repo, "acme", "redis-20261207T124700Z") == 0
    text = (repo / "tenants/acme/tenant.yaml").read_text()
    assert len(re.findall(r"^restore:", text, re.MULTILINE)) == 1 and "redis-20261207T124700Z" in text
    files = sorted(p.name for p in (repo / "rendered/acme").glob("job-restore-*"))
    assert files == ["job-restore-redis-20261207t124700z.yaml"]


@pytest.mark.parametrize(("tenant", "backup", "to_time", "message"), [
    ("nobody", "mongodb-20261207T121700Z", None, "unknown tenant 'nobody'"),
    ("acme", "mongodb-20261207T111111Z", None, "backup mongodb-20261207T111111Z is not in the inventory (4 backups listed)"),
    ("acme", "mongodb-20261101T001700Z", None, "backup mongodb-20261101T001700Z is outside the retained window "
                                               "2026-11-23T13:00:00Z .. 2026-12-07T13:00:00Z"),
    ("acme", "mongodb-20261207T121700Z", "2026-11-01T00:00:00Z", "--to-time 2026-11-01T00:00:00Z is outside the retained window"),
    ("acme", "mongodb-20261207T061700Z", "2026-12-07T12:30:00Z", "the newest backup at or before 2026-12-07T12:30:00Z is "
                                                                 "mongodb-20261207T121700Z, not mongodb-20261207T061700Z"),
    ("acme", "mongodb-20261207T121700Z", "2026-12-07T12:00:00Z", "is mongodb-20261207T061700Z, not mongodb-20261207T121700Z"),
    ("acme", "mongodb-20261207T121700Z", "yesterday", "--to-time 'yesterday' is not a UTC time"),
    ("acme", "latest", None, "--from 'latest' is not a backup name"),
    ("initech", "mongodb-20261207T121700Z", None, "the tenant has no dedicated mongodb to restore"),
])
def test_bad_input_is_one_problem_and_nothing_is_written(repo: Path, capsys: pytest.CaptureFixture[str], tenant: str,
                                                         backup: str, to_time: str | None, message: str) -> None:
    before = _inputs_and_outputs(repo)
    code = _cli_at(repo, tenant, backup, to_time)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 3  # the problem, its hint, the summary
    assert _inputs_and_outputs(repo) == before


def _cli_at(repo: Path, tenant: str, backup: str, to_time: str | None) -> int:
    """The CLI's error path (Problems -> exit 2) with the clock at NOW."""
    from render.cli import print_problems
    from render.problems import UserError

    try:
        return _run(repo, tenant, backup, to_time)
    except UserError as e:
        print_problems(e, "text")
        return 2


# Another tenant's backups, and the tenant's own data bucket: the engine (a fork's code, too)
# writes there, so objects named like backups in it are not backups.
@pytest.mark.parametrize("other", ["dp-data-globex-backups/", "dp-data-acme/"])
def test_an_inventory_of_another_bucket_is_refused(tmp_path: Path, other: str) -> None:
    result = planning.plan(backup="mongodb-20261207T121700Z", to_time=None,
                           inventory=LISTING.replace("dp-data-acme-backups/", other),
                           inventory_file="inv", bucket="dp-data-acme-backups", datastores=["mongodb", "redis"],
                           retention_days={"mongodb": 14, "redis": 7}, now=NOW)
    assert isinstance(result, list) and "another bucket" in result[0].message and result[0].file == "inv"


def test_an_aws_listing_is_read_too() -> None:
    listing = "2026-12-07 12:17:05    1048576 backups/mongodb/mongodb-20261207T121700Z.archive.gz\n"
    found, foreign = planning.listed_backups(listing, "dp-data-initech")
    assert found == {"mongodb-20261207T121700Z": dt.datetime(2026, 12, 7, 12, 17, tzinfo=dt.UTC)} and foreign == []


def test_with_restore_keeps_every_other_line() -> None:
    text = (ROOT / "tenants/acme/tenant.yaml").read_text()
    plan = planning.Plan("redis-20261207T124700Z", "redis", NOW, None)
    out = with_restore(text, plan)
    assert out.startswith(text) and yaml.safe_load(out)["restore"] == {"backup": "redis-20261207T124700Z"}
    assert with_restore(out, plan) == out


@pytest.mark.parametrize("backup", ["mongodb-20261207T121700Z", "redis-20261207T124700Z"])
def test_the_restore_job_passes_validate_deep(repo: Path, backup: str) -> None:
    from tests.support import crds_dir, need_deep_engines

    need_deep_engines()
    from render.conformance import deep

    assert _run(repo, "acme", backup) == 0
    outcomes = deep.run(repo, tenants=["acme"], crds=crds_dir())
    failed = [(o.name, [p.format() for p in o.failures]) for o in outcomes if o.failures or o.skipped]
    assert failed == []


def test_a_mongodb_restore_of_a_shared_instance_tenant_is_refused_by_validate(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from render.cli import main

    path = repo / "tenants/initech/tenant.yaml"
    path.write_text(path.read_text() + "restore:\n  backup: mongodb-20261207T121700Z\n")
    before = _inputs_and_outputs(repo)
    assert main(["--repo", str(repo), "validate", "initech"]) == 2
    err = capsys.readouterr().err
    assert "tenants/initech/tenant.yaml:" in err and "restore.backup: a tenant on the shared MongoDB instance" in err
    assert _inputs_and_outputs(repo) == before


def test_a_restore_section_that_is_not_a_backup_name_is_a_schema_problem(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from render.cli import main

    path = repo / "tenants/acme/tenant.yaml"
    path.write_text(path.read_text() + "restore:\n  backup: latest\n")
    assert main(["--repo", str(repo), "validate", "acme"]) == 2
    assert "restore.backup" in capsys.readouterr().err
