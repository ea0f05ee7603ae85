"""Offboarding a tenant: export, stop compute, keep the data, delete only later.

`dataplane offboard TENANT` writes tenant.yaml `lifecycle` (phase offboarding, the request
date, the grace date). While it is there the tenant renders:

- one-shot Jobs `offboard-export-<datastore>`: the backup Job spec of render/backups.py
  (`backups.job_spec`), writing to `<backup bucket>/offboarding/<requested_on>/` as the
  create-only backup identity;
- a Job `offboard-copy-bucket`, in the next sync wave (after the exports completed),
  copying both of the tenant's buckets, as the read-only restore identity, to the platform's
  retention location (`offboarding.retention_bucket` of registry/platform.yaml) under the
  tenant's name: `data-bucket/` and `backup-bucket/` (COPIES);
- no compute: Ray worker groups at zero (and every Serve extractor's min_replicas, so the
  RayService stays healthy with no replica), the Celery workers and beat at zero replicas,
  the KEDA-scaled worker paused at zero; the routing entry suspended (the control plane
  refuses the organization's requests, and its billing stops);
- the datastores and volumes unchanged, so an export can be re-run during the grace period.

`dataplane offboard TENANT --delete` (after grace_until, with `deletion_approved_by`
recorded) removes the tenant's files and appends its tombstone (render/tombstones.py).
Pure but for nothing: dates come in as arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from render import backups, clouds, security
from render.context_types import BaseContext, Offboarding

PHASE = "offboarding"
TEMPLATE = "base/offboarding.yaml.j2"  # a pinned platform revision without it cannot offboard
EXPORT_PREFIX = "offboarding"
COPY_JOB = "offboard-copy-bucket"
# ArgoCD sync waves: it starts a wave once every Job of the one before has completed, so
# the bucket copy holds the exports.
EXPORT_WAVE = "3"
COPY_WAVE = "4"
# What the copy takes (a `names` key of the bucket's URL) and the folder it lands in: apart,
# so nothing the engine writes to its data bucket can pass for an export.
COPIES = (("bucket_url", "data-bucket/"), ("backup_bucket_url", "backup-bucket/"))


def export_job(datastore: str) -> str:
    return f"offboard-export-{datastore}"


def phase(tenant: Mapping[str, Any]) -> str | None:
    life = tenant.get("lifecycle")
    return str(life.get("phase")) if isinstance(life, dict) else None


def offboarding(tenant: Mapping[str, Any]) -> bool:
    return phase(tenant) == PHASE


def grace_until(requested: dt.date, days: int) -> dt.date:
    return requested + dt.timedelta(days=days)


def retention_url(platform: dict[str, Any], cloud: str, name: str, requested_on: str) -> str:
    return f"{platform['offboarding']['retention_bucket'][cloud].rstrip('/')}/{name}/{requested_on}/"


def context(ctx: BaseContext, platform: dict[str, Any]) -> Offboarding | None:
    """Template values of base/offboarding.yaml.j2, or None when the tenant is not offboarding."""
    t = ctx["tenant"]
    if not offboarding(t):
        return None
    requested = str(t["lifecycle"]["requested_on"])
    to = f"{EXPORT_PREFIX}/{requested}/"
    exports = [{"name": export_job(ds), "wave": EXPORT_WAVE, "spec": backups.job_spec(ctx, ds, to=to, app=export_job(ds))}
               for ds in backups.datastores(ctx)]
    cloud = clouds.get(ctx["cloud"])  # its sync command runs in its backup CLI's image
    dst = retention_url(platform, ctx["cloud"], ctx["name"], requested)
    urls = {"bucket_url": ctx["names"]["bucket_url"], "backup_bucket_url": ctx["names"]["backup_bucket_url"]}
    script = "set -eu\n" + "".join(cloud.sync_command(f"{urls[src]}/", f"{dst}{folder}") + "\n" for src, folder in COPIES)
    copy = backups.job_spec(ctx, "redis", app=COPY_JOB)  # the same pod shape: restricted
    container = {**copy["template"]["spec"]["containers"][0], "name": "copy", "command": ["sh", "-c", script],
                 "image": ctx["images"][cloud.backup_tool.image]}
    # It reads both buckets: the restore identity (read-only on them; the retention location
    # grants it its writes, docs/operations.md#offboarding-a-tenant).
    copy["template"]["spec"] = {**copy["template"]["spec"], "initContainers": [], "containers": [container],
                                "serviceAccountName": security.SERVICE_ACCOUNTS["restore"]}
    return {"jobs": [*exports, {"name": COPY_JOB, "wave": COPY_WAVE, "spec": copy}], "grace_until": str(t["lifecycle"]["grace_until"])}


def stop_compute(ctx: BaseContext) -> None:
    """Ray and Celery at zero replicas (in place, on a context being built)."""
    for group in ctx["worker_groups"]:
        group["min_replicas"] = group["max_replicas"] = group["replicas"] = 0
    celery = ctx["celery"]
    celery["worker"] = {**celery["worker"], "replicas": 0}
    celery["beat_replicas"] = 0
    celery["paused"] = True
