"""Where a tenant's backups live, and the only identities that touch them.

A tenant with a fork controls the engine's code, so whatever the engine's cloud identity
may do, the tenant may do. Backups therefore never go to the tenant's data bucket: each
tenant has a bucket of its own for them, `<data bucket>-backups`, on which the engine
identity has no grant at all. Two identities of their own use it:

- the backup identity (ServiceAccount `backup`: the backup CronJobs and the offboarding
  exports) may create objects and nothing else: no read, no delete, no overwrite;
- the restore identity (ServiceAccount `restore`: restore Jobs and the offboarding bucket
  copy) may read and list objects of the backup bucket and of the data bucket, and nothing else.

The storage enforces the retention itself: no object can be deleted or replaced before
`lock_days` (the shortest `retention_days` of registry/platform.yaml `backups`), by anyone,
and the lifecycle deletes each datastore's backups after its own retention. The lock is
permanent (GCS `retentionPolicy.isLocked`, S3 Object Lock mode COMPLIANCE): an unlocked
policy is removed by whoever may update the bucket, i.e. by a wrong platform change, and
the platform's promise is that no tenant data is lost. Its cost: the period can only grow
(render/gate/rules.py refuses a shorter one), and the bucket is deleted only once every
object has aged past it (docs/operations.md#who-can-delete-a-backup).

Everything that differs per cloud is one entry of CLOUDS; nothing branches on a cloud's
name. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from render import layout, security

SUFFIX = "-backups"
DAY_S = 86400
# GCS soft delete: a deleted backup can be recovered this long (and is billed meanwhile).
SOFT_DELETE_DAYS = 7
# S3: an expired backup's noncurrent version (versioning, which Object Lock requires) is
# deleted this long after the lifecycle rule expired it; an unfinished upload likewise.
NONCURRENT_DAYS = 1
# The KSAs of the two backup identities, by role (security.SERVICE_ACCOUNTS keys).
ROLES = ("backup", "restore")

# GCP predefined roles (cloud.google.com/storage/docs/access-control/iam-roles, read
# 2026-12-07) and the permissions each contains, listed so the tests can prove none deletes
# or overwrites. objectCreator cannot replace an object: replacing needs storage.objects.delete.
GCS_ROLES: dict[str, tuple[str, ...]] = {
    "roles/storage.objectCreator": (
        "orgpolicy.policy.get", "resourcemanager.projects.get", "resourcemanager.projects.list",
        "storage.managedFolders.create", "storage.multipartUploads.abort", "storage.multipartUploads.create",
        "storage.multipartUploads.listParts", "storage.objects.create"),
    "roles/storage.objectViewer": (
        "resourcemanager.projects.get", "resourcemanager.projects.list", "storage.managedFolders.get",
        "storage.managedFolders.list", "storage.objects.get", "storage.objects.list"),
}
GRANTS = {"backup": "roles/storage.objectCreator", "restore": "roles/storage.objectViewer"}
# AWS: exactly the actions each role's inline policy allows (docs.aws.amazon.com/service-authorization,
# "Actions defined by Amazon S3"). s3:PutObject covers the multipart upload calls `aws s3 cp` makes;
# on a versioned bucket it adds a version and never replaces one, and Object Lock keeps each version.
S3_OBJECT_ACTIONS = {"backup": ("s3:PutObject",), "restore": ("s3:GetObject",)}
S3_BUCKET_ACTIONS = {"backup": (), "restore": ("s3:GetBucketLocation", "s3:ListBucket")}


def bucket_name(data_bucket: str) -> str:
    """The backup bucket of the tenant whose data bucket is `data_bucket`."""
    return f"{data_bucket}{SUFFIX}"


def bucket(ctx: dict[str, Any]) -> str:
    return str(ctx["names"]["backup_bucket"])


def lock_days(platform: dict[str, Any], datastores: list[str]) -> int:
    """Days no backup can be deleted or replaced: the shortest retention (the lifecycle deletes
    each datastore's backups at its own, which a longer lock would hold back)."""
    return min(int(platform["backups"][ds]["retention_days"]) for ds in datastores)


def _gcs_account(name: str, role: str) -> str:
    return f"dp{role[0]}-{name}"  # dpb-<name>, dpr-<name>: beside the engine's dp-<name> and secrets' dps-<name>


def _gcs_lifecycle(folder: str, days: int) -> dict[str, Any]:
    return {"action": {"type": "Delete"}, "condition": {"age": days, "matchesPrefix": [folder]}}


def _gcs_objects(ctx: dict[str, Any], rules: list[dict[str, Any]], lock: int) -> list[dict[str, Any]]:
    t, name, ns = ctx["tenant"], ctx["name"], ctx["namespace"]
    project = {"cnrm.cloud.google.com/project-id": t["cloud_account"]}
    bucket_ref = {"apiVersion": "storage.cnrm.cloud.google.com/v1beta1", "kind": "StorageBucket"}
    out: list[dict[str, Any]] = [{
        "apiVersion": "storage.cnrm.cloud.google.com/v1beta1", "kind": "StorageBucket",
        "metadata": {"name": bucket(ctx), "annotations": {**project, "cnrm.cloud.google.com/deletion-policy": "abandon"}},
        # No versioning: GCS refuses it beside a retention policy, which keeps the one version.
        "spec": {"location": ctx["bucket_region"], "storageClass": "STANDARD", "uniformBucketLevelAccess": True,
                 "publicAccessPrevention": "enforced",
                 "retentionPolicy": {"retentionPeriod": lock * DAY_S, "isLocked": True},
                 "softDeletePolicy": {"retentionDurationSeconds": SOFT_DELETE_DAYS * DAY_S},
                 "lifecycleRule": rules},
    }]
    for role in ROLES:
        account = _gcs_account(name, role)
        out.append({"apiVersion": "iam.cnrm.cloud.google.com/v1beta1", "kind": "IAMServiceAccount",
                    "metadata": {"name": account, "annotations": dict(project)},
                    "spec": {"displayName": f"{role.capitalize()}s of {name}: {GRANTS[role].rsplit('.', 1)[1]} on its backups"}})
        member = f"serviceAccount:{identity(ctx, role)}"
        targets = [bucket(ctx)] + ([ctx["names"]["bucket"]] if role == "restore" else [])
        for target in targets:
            what = "backups" if target == bucket(ctx) else "data"
            out.append({"apiVersion": "iam.cnrm.cloud.google.com/v1beta1", "kind": "IAMPolicyMember",
                        "metadata": {"name": f"{role}-{what}-{GRANTS[role].rsplit('.', 1)[1].lower()}"},
                        "spec": {"member": member, "role": GRANTS[role], "resourceRef": {**bucket_ref, "name": target}}})
        out.append({"apiVersion": "iam.cnrm.cloud.google.com/v1beta1", "kind": "IAMPolicyMember",
                    "metadata": {"name": f"{role}-workload-identity-user"},
                    "spec": {"member": security.gke_workload_member(t["cloud_account"], ns, security.SERVICE_ACCOUNTS[role]),
                             "role": "roles/iam.workloadIdentityUser",
                             "resourceRef": {"apiVersion": "iam.cnrm.cloud.google.com/v1beta1", "kind": "IAMServiceAccount",
                                             "name": account}}})
    return out


def _s3_lifecycle(folder: str, days: int) -> dict[str, Any]:
    return {"id": f"expire-{folder.strip('/').replace('/', '-')}", "status": "Enabled", "filter": {"prefix": folder},
            "expiration": {"days": days}, "noncurrentVersionExpiration": {"noncurrentDays": NONCURRENT_DAYS},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": NONCURRENT_DAYS}}


def _s3_policy(role: str, buckets: list[str]) -> str:
    statements = []
    if S3_BUCKET_ACTIONS[role]:
        statements.append({"Effect": "Allow", "Action": list(S3_BUCKET_ACTIONS[role]),
                           "Resource": [f"arn:aws:s3:::{b}" for b in buckets]})
    statements.append({"Effect": "Allow", "Action": list(S3_OBJECT_ACTIONS[role]),
                       "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _s3_objects(ctx: dict[str, Any], rules: list[dict[str, Any]], lock: int) -> list[dict[str, Any]]:
    t, name = ctx["tenant"], ctx["name"]
    spec: dict[str, Any] = {"name": bucket(ctx)}
    if ctx.get("bucket_location_constraint"):
        spec["createBucketConfiguration"] = {"locationConstraint": ctx["bucket_location_constraint"]}
    spec.update({
        "publicAccessBlock": {"blockPublicACLs": True, "blockPublicPolicy": True, "ignorePublicACLs": True,
                              "restrictPublicBuckets": True},
        "ownershipControls": {"rules": [{"objectOwnership": "BucketOwnerEnforced"}]},
        "encryption": {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        "versioning": {"status": "Enabled"},
        "objectLockEnabledForBucket": True,
        "objectLockConfiguration": {"rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": lock}}},
        "lifecycle": {"rules": rules},
    })
    out: list[dict[str, Any]] = [{"apiVersion": "s3.services.k8s.aws/v1alpha1", "kind": "Bucket",
                                  "metadata": {"name": bucket(ctx), "annotations": {"services.k8s.aws/deletion-policy": "retain",
                                                                                    **layout.ACK_ADOPTION}},
                                  "spec": spec}]
    for role in ROLES:
        buckets = [bucket(ctx)] + ([ctx["names"]["bucket"]] if role == "restore" else [])
        trust = security.irsa_trust_policy(t["cloud_account"], str(ctx["cluster"].get("oidc_issuer", "")), ctx["namespace"],
                                           [security.SERVICE_ACCOUNTS[role]])
        out.append({"apiVersion": "iam.services.k8s.aws/v1alpha1", "kind": "Role",
                    "metadata": {"name": _aws_role(name, role), "annotations": dict(layout.ACK_ADOPTION)},
                    "spec": {"name": _aws_role(name, role),
                             "description": f"{role.capitalize()}s of {name}: "
                                            + ("create-only on its backup bucket" if role == "backup"
                                               else "read-only on its backup and data buckets"),
                             "assumeRolePolicyDocument": trust,
                             "inlinePolicies": {f"{role}-access": _s3_policy(role, buckets)}}})
    return out


def _aws_role(name: str, role: str) -> str:
    return f"dp-{name}-{role}"


@dataclass(frozen=True)
class Cloud:
    scheme: str  # of a bucket URL
    annotation: str  # the ServiceAccount annotation naming the cloud identity it acts as
    identity: Callable[[dict[str, Any], str], str]  # (tenant, role) -> the cloud identity
    lifecycle: Callable[[str, int], dict[str, Any]]  # (folder, days) -> one lifecycle rule
    objects: Callable[[dict[str, Any], list[dict[str, Any]], int], list[dict[str, Any]]]
    kept_after_expiry_days: int  # days an expired backup is still stored (and billed)


CLOUDS: dict[str, Cloud] = {
    "gcp": Cloud("gs://", "iam.gke.io/gcp-service-account",
                 lambda t, role: f"{_gcs_account(t['name'], role)}@{t['cloud_account']}.iam.gserviceaccount.com",
                 _gcs_lifecycle, _gcs_objects, SOFT_DELETE_DAYS),
    "aws": Cloud("s3://", "eks.amazonaws.com/role-arn",
                 lambda t, role: f"arn:aws:iam::{t['cloud_account']}:role/{_aws_role(t['name'], role)}",
                 _s3_lifecycle, _s3_objects, NONCURRENT_DAYS),
}


def identity(ctx: dict[str, Any], role: str) -> str:
    return CLOUDS[ctx["cloud"]].identity(ctx["tenant"], role)


def url(cloud: str, data_bucket: str) -> str:
    """gs://<backup bucket> or s3://<backup bucket>."""
    return f"{CLOUDS[cloud].scheme}{bucket_name(data_bucket)}"


def service_account_annotations(ctx: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The cloud identity annotation of each ServiceAccount that has one: the engine's on the
    components that use the data bucket, each backup identity on its own account only."""
    key = CLOUDS[ctx["cloud"]].annotation
    out = {sa: {key: ctx["names"]["cloud_identity"]} for sa in ctx["security"]["bucket_users"]}
    out.update({security.SERVICE_ACCOUNTS[role]: {key: identity(ctx, role)} for role in ROLES})
    return out


def context(ctx: dict[str, Any], folders: dict[str, int], lock: int | None) -> dict[str, Any]:
    """Template values of base/backup-storage.yaml.j2: the bucket and identities, or none on a
    platform release without backups. `folders`: each backup folder and its retention days."""
    cloud = CLOUDS[ctx["cloud"]]
    rules = [cloud.lifecycle(folder, days) for folder, days in folders.items()]
    return {"objects": cloud.objects(ctx, rules, lock) if lock is not None else [], "lifecycle": rules}
