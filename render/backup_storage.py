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

Everything that differs per cloud (the bucket and identity objects, their grants, the
lifecycle rules) is the tenant's cloud's (render/clouds/, `backup_*`); nothing here branches
on a cloud's name. Pure.
"""

from __future__ import annotations

from typing import Any

from render import clouds, security
from render.context_types import BackupStorage, BaseContext

SUFFIX = "-backups"
# The KSAs of the two backup identities, by role (security.SERVICE_ACCOUNTS keys).
ROLES = ("backup", "restore")


def bucket_name(data_bucket: str) -> str:
    """The backup bucket of the tenant whose data bucket is `data_bucket`."""
    return f"{data_bucket}{SUFFIX}"


def bucket(ctx: BaseContext) -> str:
    return str(ctx["names"]["backup_bucket"])


def lock_days(platform: dict[str, Any], datastores: list[str]) -> int:
    """Days no backup can be deleted or replaced: the shortest retention (the lifecycle deletes
    each datastore's backups at its own, which a longer lock would hold back)."""
    return min(int(platform["backups"][ds]["retention_days"]) for ds in datastores)


def identity(ctx: BaseContext, role: str) -> str:
    return clouds.get(ctx["cloud"]).backup_identity(ctx["tenant"], role)


def url(cloud: str, data_bucket: str) -> str:
    """The backup bucket's URL (gs://<backup bucket>, s3://<backup bucket>)."""
    return f"{clouds.get(cloud).bucket_scheme}{bucket_name(data_bucket)}"


def service_account_annotations(ctx: BaseContext) -> dict[str, dict[str, str]]:
    """The cloud identity annotation of each ServiceAccount that has one: the engine's on the
    components that use the data bucket, each backup identity on its own account only."""
    key = clouds.get(ctx["cloud"]).identity_annotation
    out = {sa: {key: ctx["names"]["cloud_identity"]} for sa in ctx["security"]["bucket_users"]}
    out.update({security.SERVICE_ACCOUNTS[role]: {key: identity(ctx, role)} for role in ROLES})
    return out


def context(ctx: BaseContext, folders: dict[str, int], lock: int | None) -> BackupStorage:
    """Template values of base/backup-storage.yaml.j2: the bucket and identities, or none on a
    platform release without backups. `folders`: each backup folder and its retention days."""
    cloud = clouds.get(ctx["cloud"])
    rules = [cloud.backup_lifecycle(folder, days) for folder, days in folders.items()]
    return {"objects": cloud.backup_objects(ctx, rules, lock) if lock is not None else [], "lifecycle": rules}
