"""The backups are out of reach of the tenant's own code.

A tenant with a fork controls the engine's code, so whatever the engine's cloud identity (or
any identity a tenant workload runs as) may do, the tenant may do. Over the example tenants
and generated fleets (both clouds, restores and offboarding included) this checks, on the
rendered objects:

- no identity but the backup and the restore identity has any grant on a backup bucket;
- the backup identity's grants contain no permission that reads, deletes or overwrites
  (GCP: the predefined role's permissions, render/clouds/gcp.py GCS_ROLES, from
  cloud.google.com/storage/docs/access-control/iam-roles; AWS: the policy's actions);
- the restore identity only reads;
- each identity is bound to its own ServiceAccount only, and only the backup and restore
  Jobs (platform images, never the engine's) run as those ServiceAccounts;
- the bucket itself enforces the retention (locked policy / Object Lock COMPLIANCE).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from bench.fleet import generate_fleet
from render import backup_storage, clouds, layout
from render.clouds import gcp
from render.load import load_repo
from render.pipeline import render_repo
from tests.support import RELEASE_YAML, ROOT, memory_repo, tenant_yaml

PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
BACKUP_IMAGES = {PLATFORM["images"][k] for k in ("mongodb_tools", "redis", "gcloud_cli", "aws_cli")}
# A permission or action that removes or replaces stored data, or the rules that keep it.
DESTRUCTIVE_GCS = (".delete", ".update", ".setIamPolicy", ".setRetention", ".overrideUnlockedRetention", ".restore")
DESTRUCTIVE_S3 = ("s3:Delete", "s3:PutObjectRetention", "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold",
                  "s3:PutBucket", "s3:PutLifecycle", "s3:PutObjectLockConfiguration", "s3:PutObjectAcl",
                  "s3:PutObjectVersion", "s3:*", "*")
READ_S3 = ("s3:Get", "s3:List")


def _objects(outputs: dict[str, dict[str, str]]) -> dict[str, list[dict[str, Any]]]:
    return {scope.split("/", 1)[1]: [yaml.safe_load(b) for b in files.values()]
            for scope, files in outputs.items() if scope.startswith("rendered/")}


def _pods(obj: Any) -> Iterator[dict[str, Any]]:
    """Every pod spec inside an object (Deployments, Jobs, CronJobs, a RayService's groups)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("containers"), list):
            yield obj
        for v in obj.values():
            yield from _pods(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _pods(v)


def _annotated(objects: list[dict[str, Any]]) -> dict[str, str]:
    """ServiceAccount -> the cloud identity it acts as."""
    out = {}
    for o in objects:
        if o["kind"] == "ServiceAccount":
            keys = [v for k, v in (o["metadata"].get("annotations") or {}).items()
                    if k in {c.identity_annotation for c in clouds.CLOUDS.values()}]
            if keys:
                out[o["metadata"]["name"]] = keys[0]
    return out


def _gcp_grants(objects: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(member, role, resource kind, resource name) of every IAMPolicyMember."""
    return [(o["spec"]["member"], o["spec"]["role"], o["spec"]["resourceRef"]["kind"],
             o["spec"]["resourceRef"].get("name") or o["spec"]["resourceRef"].get("external", ""))
            for o in objects if o["kind"] == "IAMPolicyMember"]


def _aws_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for doc in role["spec"].get("inlinePolicies", {}).values():
        for st in json.loads(doc)["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out.append({"effect": st["Effect"], "actions": actions, "resources": resources})
    return out


def check_backups_isolated(name: str, objects: list[dict[str, Any]]) -> None:
    ns = layout.namespace(name)
    buckets = [o for o in objects if o["kind"] in ("StorageBucket", "Bucket")
               and o["metadata"]["name"].endswith(backup_storage.SUFFIX)]
    assert len(buckets) == 1, f"{name}: one backup bucket"
    bucket = buckets[0]
    backup_bucket = bucket["metadata"]["name"]
    sas = _annotated(objects)
    backup_id, restore_id = sas.get("backup"), sas.get("restore")
    assert backup_id and restore_id and backup_id != restore_id, f"{name}: backup and restore act as identities of their own"
    others = {sa: ident for sa, ident in sas.items() if sa not in ("backup", "restore")}
    assert backup_id not in others.values() and restore_id not in others.values(), f"{name}: {others}"

    if bucket["kind"] == "StorageBucket":
        spec = bucket["spec"]
        assert spec["retentionPolicy"]["isLocked"] is True and spec["retentionPolicy"]["retentionPeriod"] > 0
        assert spec["uniformBucketLevelAccess"] is True and spec["publicAccessPrevention"] == "enforced"
        assert spec["softDeletePolicy"]["retentionDurationSeconds"] > 0
        for member, role, kind, resource in _gcp_grants(objects):
            who = member.removeprefix("serviceAccount:")
            if kind == "StorageBucket" and resource == backup_bucket:
                assert who in (backup_id, restore_id), f"{name}: {who} has {role} on the backup bucket"
            if kind == "Project":
                assert not role.startswith("roles/storage."), f"{name}: a project-wide storage grant to {who}"
            if who == backup_id:
                assert kind == "StorageBucket" and resource == backup_bucket, f"{name}: backup identity granted on {resource}"
                perms = gcp.GCS_ROLES[role]  # KeyError: a role whose permissions are not listed
                assert not [p for p in perms if p.endswith(DESTRUCTIVE_GCS) or p.startswith("storage.objects.get")
                            or p == "storage.objects.list"], f"{name}: backup identity may {perms}"
            if who == restore_id:
                assert kind == "StorageBucket", f"{name}: restore identity granted on a {kind}"
                perms = gcp.GCS_ROLES[role]
                assert all(p.endswith((".get", ".list")) for p in perms), f"{name}: restore identity may {perms}"
        bindings = {(m, r) for m, r, kind, _ in _gcp_grants(objects) if r == "roles/iam.workloadIdentityUser"}
        for sa, ident in (("backup", backup_id), ("restore", restore_id)):
            account = ident.split("@", 1)[0]
            users = {m for m, r, kind, res in _gcp_grants(objects)
                     if r == "roles/iam.workloadIdentityUser" and kind == "IAMServiceAccount" and res == account}
            assert users == {m for m, _ in bindings if m.endswith(f"[{ns}/{sa}]")} and len(users) == 1, f"{name}: {users}"
    else:
        spec = bucket["spec"]
        assert spec["objectLockEnabledForBucket"] is True and spec["versioning"]["status"] == "Enabled"
        retention = spec["objectLockConfiguration"]["rule"]["defaultRetention"]
        assert retention["mode"] == "COMPLIANCE" and retention["days"] > 0
        assert all(spec["publicAccessBlock"].values())
        arn = f"arn:aws:s3:::{backup_bucket}"
        for role in (o for o in objects if o["kind"] == "Role" and o["apiVersion"].startswith("iam.services.k8s.aws")):
            ident = f"arn:aws:iam::{backup_id.split(':')[4]}:role/{role['spec']['name']}"
            statements = _aws_statements(role)
            for st in statements:
                assert st["effect"] == "Allow"
                wide = [r for r in st["resources"] if "*" in r.split(":::", 1)[-1].split("/", 1)[0] or r == "*"]
                assert not wide, f"{name}: {role['spec']['name']} is granted {wide}"
                touches = [r for r in st["resources"] if r == arn or r.startswith(arn + "/")]
                if touches:
                    assert ident in (backup_id, restore_id), f"{name}: {role['spec']['name']} is granted {touches}"
                if ident == backup_id:
                    assert st["actions"] == ["s3:PutObject"] and st["resources"] == [arn + "/*"], f"{name}: {st}"
                    assert not [a for a in st["actions"] if a.startswith(DESTRUCTIVE_S3)]
                if ident == restore_id:
                    assert all(a.startswith(READ_S3) for a in st["actions"]), f"{name}: restore may {st['actions']}"
            trust = json.loads(role["spec"]["assumeRolePolicyDocument"])["Statement"][0]["Condition"]["StringEquals"]
            sub = next(v for k, v in trust.items() if k.endswith(":sub"))
            subs = sub if isinstance(sub, list) else [sub]
            for sa, target in (("backup", backup_id), ("restore", restore_id)):
                if ident == target:
                    assert subs == [f"system:serviceaccount:{ns}:{sa}"], f"{name}: {ident} trusts {subs}"
                else:
                    assert f"system:serviceaccount:{ns}:{sa}" not in subs, f"{name}: {ident} trusts {sa}"

    for obj in objects:
        for pod in _pods(obj):
            sa = pod.get("serviceAccountName", "default")
            if sa in ("backup", "restore"):
                where = f"{name}: {obj['kind']}/{obj['metadata']['name']}"
                assert obj["kind"] in ("CronJob", "Job"), f"{where} runs as {sa}"
                assert obj["metadata"]["labels"][layout.LABEL_COMPONENT] in ("backup", "offboarding"), where
                images = {c["image"] for c in pod["containers"] + pod.get("initContainers", [])}
                assert images <= BACKUP_IMAGES, f"{where} runs {images - BACKUP_IMAGES} as {sa}"


@functools.cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    return _objects(render_repo(load_repo(ROOT)))


def test_example_tenants_backups_are_out_of_the_engines_reach() -> None:
    for name, objects in copy.deepcopy(_examples()).items():
        check_backups_isolated(name, objects)


OFFBOARDING = 'lifecycle:\n  phase: offboarding\n  requested_on: "2026-12-07"\n  grace_until: "2027-01-06"\n'


def _fleet() -> dict[str, list[dict[str, Any]]]:
    """Both clouds and database modes, a fork image, a restore of each datastore, offboarding."""
    fork = RELEASE_YAML.replace(":2026.11.3\n", ":tenant-forky-0123abcd\n")
    tenants = {
        "forky": (tenant_yaml("forky", extra="restore:\n  backup: mongodb-20261207T121700Z\n"), "{}\n", fork),
        "awsy": (tenant_yaml("awsy", cloud="aws", extra="restore:\n  backup: redis-20261207T124700Z\n"), "{}\n", RELEASE_YAML),
        "shared": (tenant_yaml("shared", cloud="aws", mode="shared_instance", extra=OFFBOARDING), "{}\n", RELEASE_YAML),
        "leaving": (tenant_yaml("leaving", extra=OFFBOARDING), "{}\n", RELEASE_YAML),
    }
    return _objects(render_repo(memory_repo(tenants)))


def test_a_generated_fleet_with_restores_and_offboarding_keeps_backups_out_of_reach() -> None:
    fleet = _fleet()
    kinds = {(n, o["kind"], o["metadata"]["name"]) for n, objs in fleet.items() for o in objs}
    assert ("forky", "Job", "restore-mongodb-20261207t121700z") in kinds and ("leaving", "Job", "offboard-copy-bucket") in kinds
    for name, objects in fleet.items():
        check_backups_isolated(name, objects)


def test_a_generated_bench_fleet_keeps_backups_out_of_reach(tmp_path) -> None:
    for name in generate_fleet(tmp_path, 6, seed=27):
        (tmp_path / "tenants" / name / "overrides.yaml").write_text("{}\n", encoding="utf-8")
    for name, objects in _objects(render_repo(load_repo(tmp_path))).items():
        check_backups_isolated(name, objects)


def _grant_engine(objects: list[dict[str, Any]]) -> None:
    engine = next(o for o in objects if o["kind"] == "IAMPolicyMember" and o["spec"]["role"] == "roles/storage.objectAdmin")
    bucket = next(o["metadata"]["name"] for o in objects if o["kind"] == "StorageBucket"
                  and o["metadata"]["name"].endswith(backup_storage.SUFFIX))
    objects.append({**copy.deepcopy(engine), "spec": {**engine["spec"], "resourceRef": {**engine["spec"]["resourceRef"], "name": bucket}}})


def _backup_may_delete(objects: list[dict[str, Any]]) -> None:
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("-backup"))
    doc = json.loads(role["spec"]["inlinePolicies"]["backup-access"])
    doc["Statement"][0]["Action"].append("s3:DeleteObjectVersion")
    role["spec"]["inlinePolicies"]["backup-access"] = json.dumps(doc)


def _engine_role_reaches_backups(objects: list[dict[str, Any]]) -> None:
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("-engine"))
    doc = json.loads(role["spec"]["inlinePolicies"]["bucket-access"])
    doc["Statement"][1]["Resource"] = "arn:aws:s3:::dp-data-*"
    role["spec"]["inlinePolicies"]["bucket-access"] = json.dumps(doc)


def _restore_may_write(objects: list[dict[str, Any]]) -> None:
    grant = next(o for o in objects if o["kind"] == "IAMPolicyMember" and o["metadata"]["name"] == "restore-backups-objectviewer")
    grant["spec"]["role"] = "roles/storage.objectCreator"


def _celery_runs_as_backup(objects: list[dict[str, Any]]) -> None:
    worker = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "celery-worker")
    worker["spec"]["template"]["spec"]["serviceAccountName"] = "backup"


def _engine_image_in_a_backup_job(objects: list[dict[str, Any]]) -> None:
    cron = next(o for o in objects if o["kind"] == "CronJob")
    ray = next(o for o in objects if o["kind"] == "RayService")
    engine = next(_pods(ray))["containers"][0]["image"]
    cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = engine


def _unlocked(objects: list[dict[str, Any]]) -> None:
    bucket = next(o for o in objects if o["kind"] == "StorageBucket" and o["metadata"]["name"].endswith(backup_storage.SUFFIX))
    bucket["spec"]["retentionPolicy"]["isLocked"] = False


def _governance(objects: list[dict[str, Any]]) -> None:
    bucket = next(o for o in objects if o["kind"] == "Bucket" and o["metadata"]["name"].endswith(backup_storage.SUFFIX))
    bucket["spec"]["objectLockConfiguration"]["rule"]["defaultRetention"]["mode"] = "GOVERNANCE"


@pytest.mark.parametrize(("tenant", "mutate"), [
    ("acme", _grant_engine), ("initech", _backup_may_delete), ("initech", _engine_role_reaches_backups),
    ("acme", _restore_may_write), ("acme", _celery_runs_as_backup), ("initech", _engine_image_in_a_backup_job),
    ("acme", _unlocked), ("initech", _governance),
])
def test_the_check_catches_each_way_out(tenant: str, mutate: Any) -> None:
    objects = copy.deepcopy(_examples()[tenant])
    check_backups_isolated(tenant, objects)
    mutate(objects)
    with pytest.raises(AssertionError):
        check_backups_isolated(tenant, objects)


def _rename(obj: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for p in parents:
        obj = obj[p]
    obj[last + "X"] = obj.pop(last)


# Every field the backup storage sets beyond the data bucket's, on each cloud's kind.
NEW_FIELDS = {
    "storagebucket-dp-data-acme-backups": ["spec.retentionPolicy.isLocked", "spec.retentionPolicy.retentionPeriod",
                                           "spec.softDeletePolicy.retentionDurationSeconds", "spec.lifecycleRule"],
    "bucket-dp-data-initech-backups": ["spec.objectLockEnabledForBucket",
                                       "spec.objectLockConfiguration.rule.defaultRetention.mode",
                                       "spec.objectLockConfiguration.rule.defaultRetention.days",
                                       "spec.ownershipControls", "spec.lifecycle.rules"],
    "role-dp-initech-backup": ["spec.assumeRolePolicyDocument", "spec.inlinePolicies"],
    "iampolicymember-backup-workload-identity-user": ["spec.resourceRef.kind", "spec.member"],
    "iamserviceaccount-dpb-acme": ["spec.displayName"],
}


@functools.cache
def _crds() -> Any:
    from render.conformance.crds import CrdSchemas
    from tests.support import crds_dir, need

    need("celpy")
    return CrdSchemas.from_folder(crds_dir())


@pytest.mark.parametrize("name", sorted(NEW_FIELDS))
def test_the_backup_storage_fields_are_the_upstream_crds(name: str) -> None:
    """validate --deep checks these objects against the upstream CRDs: each as rendered
    passes, and each of its fields misspelt is refused."""
    from render.conformance.manifests import Manifest
    from render.yamlstrict import parse_yaml

    crds = _crds()
    tenant = "acme" if "acme" in name or "iampolicymember" in name else "initech"
    path = f"rendered/{tenant}/{name}.yaml"
    obj = yaml.safe_load((ROOT / path).read_text().split("---", 1)[1])

    def problems(o: dict[str, Any]) -> list[Any]:
        return crds.check(Manifest(parse_yaml(yaml.safe_dump(o, sort_keys=False), path)))

    assert problems(obj) == []
    for field in NEW_FIELDS[name]:
        bad = copy.deepcopy(obj)
        _rename(bad, field)
        assert problems(bad), f"{field}X passed the {obj['kind']} CRD"
