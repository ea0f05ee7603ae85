"""Backups as rendered: one CronJob per datastore a tenant has, writing to its own bucket
under its own identity, expired by the bucket's lifecycle; the Job spec the offboarding
exports reuse; the alerts that watch them."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
import yaml

from render import backups, clouds, cron
from tests.conformance.test_backup_drill import _ctx
from tests.support import ROOT

TENANTS = {"acme": ("gcp", ["mongodb", "redis"]), "globex": ("gcp", ["mongodb", "redis"]),
           "initech": ("aws", ["redis"]), "umbrella": ("gcp", ["mongodb", "redis"])}


@functools.cache
def _objects(tenant: str) -> list[dict[str, Any]]:
    """The committed objects of a tenant (read-only)."""
    return [d for p in sorted((ROOT / "rendered" / tenant).glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_every_datastore_of_every_tenant_has_a_backup_cronjob_to_its_own_bucket(tenant: str) -> None:
    cloud, datastores = TENANTS[tenant]
    objs = _objects(tenant)
    crons = {o["metadata"]["name"]: o for o in objs if o["kind"] == "CronJob"}
    assert sorted(crons) == sorted(f"backup-{d}" for d in datastores)
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    scheme = {"gcp": "gs://", "aws": "s3://"}[cloud]
    for ds in datastores:
        cron = crons[f"backup-{ds}"]
        assert cron["metadata"]["labels"]["app.kubernetes.io/component"] == "backup"
        assert cron["spec"]["schedule"] == platform["backups"][ds]["schedule"]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "backup"
        upload = pod["containers"][0]["command"][2]
        assert f'"{scheme}dp-data-{tenant}-backups/backups/{ds}/$name' in upload
        assert all("@sha256:" in c["image"] for c in pod["initContainers"] + pod["containers"])
    # The backup ServiceAccount carries the tenant's backup identity, not the engine's.
    (sa,) = [o for o in objs if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "backup"]
    key = {"gcp": "iam.gke.io/gcp-service-account", "aws": "eks.amazonaws.com/role-arn"}[cloud]
    identity = sa["metadata"]["annotations"][key]
    account = yaml.safe_load((ROOT / f"tenants/{tenant}/tenant.yaml").read_text())["cloud_account"]
    assert identity == {"gcp": f"dpb-{tenant}@{account}.iam.gserviceaccount.com",
                        "aws": f"arn:aws:iam::{account}:role/dp-{tenant}-backup"}[cloud]
    assert sa["automountServiceAccountToken"] is False


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_the_bucket_expires_each_datastores_backups_after_its_retention(tenant: str) -> None:
    cloud, datastores = TENANTS[tenant]
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    (bucket,) = [o for o in _objects(tenant) if o["kind"] in ("StorageBucket", "Bucket")
                 and o["metadata"]["name"] == f"dp-data-{tenant}-backups"]
    rules = bucket["spec"]["lifecycleRule"] if cloud == "gcp" else bucket["spec"]["lifecycle"]["rules"]
    days = {ds: platform["backups"][ds]["retention_days"] for ds in datastores}
    if cloud == "gcp":
        got = {r["condition"]["matchesPrefix"][0]: r["condition"]["age"] for r in rules if r["action"]["type"] == "Delete"}
    else:
        got = {r["filter"]["prefix"]: r["expiration"]["days"] for r in rules if r["status"] == "Enabled"}
    assert got == {f"backups/{ds}/": d for ds, d in days.items()}


@pytest.mark.parametrize(("role", "accounts"), [("engine", ["ray-worker", "celery"]), ("backup", "backup"),
                                                ("restore", "restore")])
def test_each_irsa_trust_admits_its_own_accounts_only(role: str, accounts: Any) -> None:
    (obj,) = [o for o in _objects("initech") if o["kind"] == "Role" and o["metadata"]["name"] == f"dp-initech-{role}"]
    subjects = json.loads(obj["spec"]["assumeRolePolicyDocument"])["Statement"][0]["Condition"]["StringEquals"]
    sub = next(v for k, v in subjects.items() if k.endswith(":sub"))
    expected = [f"system:serviceaccount:tenant-initech:{a}" for a in ([accounts] if isinstance(accounts, str) else accounts)]
    assert (sub if isinstance(sub, list) else [sub]) == expected


def test_job_spec_is_the_cronjobs_and_exports_elsewhere() -> None:
    ctx = _ctx()
    cron = next(o for o in _objects("acme") if o["metadata"]["name"] == "backup-mongodb")
    assert backups.job_spec(ctx, "mongodb") == cron["spec"]["jobTemplate"]["spec"]
    export = backups.job_spec(ctx, "mongodb", to="offboarding/final/", app="offboard-export-mongodb")
    pod = export["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "offboard-export-mongodb"
    assert '"gs://dp-data-acme-backups/offboarding/final/$name.archive.gz"' in pod["spec"]["containers"][0]["command"][2]
    assert backups.job_spec(ctx, "mongodb") == cron["spec"]["jobTemplate"]["spec"]  # pure: nothing shared was changed


@pytest.mark.parametrize(("schedule", "gap"), [
    ("17 */6 * * *", 6 * 3600), ("47 */6 * * *", 6 * 3600), ("0 2 * * *", 86400), ("0,30 * * * *", 1800),
    ("0 1,2,20 * * *", 18 * 3600), ("*/15 9-17 * * *", (24 - 17 + 9) * 3600 - 45 * 60),
])
def test_longest_gap_between_runs(schedule: str, gap: int) -> None:
    assert cron.longest_gap_s(schedule) == gap


@pytest.mark.parametrize(("name", "parsed"), [
    ("mongodb-20261207T121700Z", True), ("redis-20261207T124700Z", True), ("mongodb-20261307T121700Z", False),
    ("postgres-20261207T121700Z", False), ("mongodb-20261207T1217Z", False), ("mongodb-20261207t121700z", False),
])
def test_backup_names(name: str, parsed: bool) -> None:
    assert (backups.parse_name(name) is not None) == parsed


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_the_data_alerts_watch_every_datastore_and_backup(tenant: str) -> None:
    _, datastores = TENANTS[tenant]
    (rule,) = [o for o in _objects(tenant) if o["kind"] == "PrometheusRule"]
    (group,) = [g for g in rule["spec"]["groups"] if g["name"] == "dataplane.data"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert sorted(alerts) == sorted(["DataplaneDatastoreDown", "DataplaneVolumeAlmostFull"]
                                    + [f"DataplaneBackupStale{d.capitalize()}" for d in datastores]
                                    # a dedicated MongoDB's exporter (render/monitoring/data_alerts.py)
                                    + (["DataplaneMongodbUnreachable"] if "mongodb" in datastores else []))
    assert f'statefulset=~"{"|".join(datastores)}"' in alerts["DataplaneDatastoreDown"]["expr"]
    assert "> 0.8" in alerts["DataplaneVolumeAlmostFull"]["expr"]
    for ds in datastores:
        stale = alerts[f"DataplaneBackupStale{ds.capitalize()}"]
        assert stale["expr"].endswith("> 43200") and f'cronjob="backup-{ds}"' in stale["expr"]
    for r in group["rules"]:
        assert "dataplane " in r["annotations"]["description"] and r["annotations"]["runbook_url"].startswith("docs/operations.md#")


@pytest.mark.parametrize(("schedule", "problem"), [
    ("17 */6 * * *", None), ("0,30 9-17/2 * * *", None), ("* * * * *", None),
    ("60 */6 * * *", "minute field '60' is outside 0-59"), ("0 24 * * *", "hour field '24' is outside 0-23"),
    ("0 */0 * * *", "hour field '*/0': write a number"), ("0 5-3 * * *", "hour field '5-3' is outside 0-23"),
    ("a */6 * * *", "minute field 'a': write a number"),
])
def test_schedule_problems(schedule: str, problem: str | None) -> None:
    got = cron.schedule_problem(schedule)
    assert got == problem if problem is None else (got or "").startswith(problem)


def test_a_bad_schedule_in_platform_yaml_is_a_problem_with_its_line(tmp_path) -> None:
    from render.cli import main
    from tests.support import copy_repo, snapshot

    root = copy_repo(tmp_path)
    path = root / "registry/platform.yaml"
    path.write_text(path.read_text().replace('mongodb: {schedule: "17 */6 * * *"', 'mongodb: {schedule: "17 */6,25 * * *"'))
    before = snapshot(root)
    assert main(["--repo", str(root), "validate"]) == 2
    assert snapshot(root) == before


@pytest.mark.parametrize("backup", ["mongodb-20261207T121700Z", "redis-20261207T124700Z"])
def test_restore_jobs_pass_pod_security_restricted(backup: str) -> None:
    from tests import pod_security as pss

    job = backups.restore_job(_ctx(), backup)
    pod = job["spec"]["template"]
    assert pss.violations(pod["spec"], pod["metadata"]) == []
    assert pod["spec"]["serviceAccountName"] == "restore" and pod["spec"]["automountServiceAccountToken"] is False


def test_every_backup_and_restore_image_is_a_pinned_platform_image() -> None:
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    pinned = set(platform["images"].values())
    ctx = _ctx()
    specs = [backups.job_spec(ctx, ds)["template"]["spec"] for ds in ("mongodb", "redis")]
    specs += [backups.restore_job(ctx, b)["spec"]["template"]["spec"] for b in ("mongodb-20261207T121700Z", "redis-20261207T124700Z")]
    for spec in specs:
        for c in spec["initContainers"] + spec["containers"]:
            assert c["image"] in pinned and "@sha256:" in c["image"], c["name"]
    assert {"gcloud_cli", "aws_cli"} == {tool.image for tool in (c.backup_tool for c in clouds.CLOUDS.values())}
