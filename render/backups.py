"""Backups of a tenant's dedicated datastores to its own bucket, and their restore.

Every datastore of a tenant (the dedicated MongoDB, Redis) gets a CronJob
`backup-<datastore>` (base/backups.yaml.j2) on the schedule of registry/platform.yaml
`backups`. Its pod dumps with the datastore's own tool into an emptyDir (init container
`dump`: `mongodump --archive --gzip`, `redis-cli --rdb`), then copies the file to
`<backup bucket>/backups/<datastore>/<datastore>-<UTC timestamp><suffix>` with the cloud's
own CLI (container `upload`) as the create-only backup identity. The backup bucket is not
the engine's (render/backup_storage.py): its retention lock keeps every backup, and its
lifecycle rules delete a backup `retention_days` after it was written (`retention_folders`).

A restore (tenant.yaml `restore`, written by `dataplane restore`) renders one Job
`restore-<datastore>-<timestamp>` that downloads the backup as the read-only restore
identity and loads it with the same tool. Per-cloud facts are the tenant's cloud's
(render/clouds/: `backup_tool`, `backup_*`), per-datastore facts in DATASTORES. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from render import backup_storage, clouds, cron, layout, quantity, security, tenant_secrets
from render.context_types import Backups, BackupStorage, BaseContext

# Where the pod keeps the file between its two containers (an emptyDir).
BACKUP_DIR = "/backup"
# The timestamp in a backup's name: UTC, second precision; `date -u +...` writes it.
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
NAME_PATTERN = re.compile(r"^(?P<datastore>[a-z]+)-(?P<stamp>[0-9]{8}T[0-9]{6}Z)$")
PREFIX_ROOT = "backups"
COMPONENT = "backup"
# Each container of a backup or restore pod; equal sizes, so the pod's effective request
# (the larger of the init container and the main one) is one of them.
RESOURCES = {"cpu": "500m", "memory": "1Gi"}
DEADLINE_S = 3 * 3600
# The restore Job's private Redis (127.0.0.1 inside its own pod).
RESTORE_REDIS_PORT = 6390


@dataclass(frozen=True)
class Datastore:
    """How one datastore is dumped and loaded; `image` is a registry/platform.yaml images key."""

    image: str
    file: str  # in BACKUP_DIR
    suffix: str  # of the bucket object
    dump: Callable[[BaseContext], str]
    load: Callable[[BaseContext], str]
    env: Callable[[BaseContext], list[dict[str, Any]]]
    present: Callable[[bool], bool]  # given whether the tenant's MongoDB is its own instance


def _mongo_dump(ctx: BaseContext) -> str:
    db = ctx["names"]["database"]
    return f'mongodump --uri="$MONGO_URI" --db={db} --archive="$BACKUP_DIR/mongodb.archive.gz" --gzip --quiet'


def _mongo_load(ctx: BaseContext) -> str:
    db = ctx["names"]["database"]
    return (f'mongorestore --uri="$MONGO_URI" --nsInclude=\'{db}.*\' --archive="$BACKUP_DIR/mongodb.archive.gz" '
            "--gzip --drop --quiet")


def _redis_dump(ctx: BaseContext) -> str:
    return 'redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning --rdb "$BACKUP_DIR/redis.rdb"'


def _redis_load(ctx: BaseContext) -> str:
    # Redis loads an RDB at start only, and with appendonly on it reads its append-only
    # files and ignores dump.rdb. So the Job starts a private Redis on the stopped
    # Redis's volume with appendonly off (it loads the RDB), turns appendonly on (Redis
    # writes new append-only files from the loaded data) and shuts it down; the old
    # append-only files are kept aside (docs/operations.md#restore); the RDB is removed.
    port = RESTORE_REDIS_PORT
    cli = f"redis-cli -h 127.0.0.1 -p {port}"
    return (f'aside="$DATA_DIR/restored-aside/$(date -u +{TIMESTAMP_FORMAT})"\n'
            'mkdir -p "$aside"\n'
            'if [ -d "$DATA_DIR/appendonlydir" ]; then mv "$DATA_DIR/appendonlydir" "$aside/"; fi\n'
            'cp "$BACKUP_DIR/redis.rdb" "$DATA_DIR/dump.rdb"\n'
            f'redis-server --bind 127.0.0.1 --port {port} --dir "$DATA_DIR" --appendonly no --save "" &\n'
            f'until [ "$({cli} ping 2>/dev/null)" = PONG ]; do sleep 1; done\n'
            f"{cli} config set appendonly yes >/dev/null\n"
            f'until {cli} info persistence | grep -q "^aof_rewrite_in_progress:0" \\\n'
            f'    && {cli} info persistence | grep -q "^aof_rewrite_scheduled:0" \\\n'
            f'    && [ -d "$DATA_DIR/appendonlydir" ]; do sleep 1; done\n'
            f'{cli} info keyspace\n'
            f"{cli} shutdown\n"
            "wait\n"
            # Redis starts from the append-only files; a stale RDB beside them would only mislead.
            'rm "$DATA_DIR/dump.rdb"')


def _mongo_env(ctx: BaseContext) -> list[dict[str, Any]]:
    return [tenant_secrets.env_from_secret("MONGO_URI", "mongodb_uri")]


def _redis_env(ctx: BaseContext) -> list[dict[str, Any]]:
    return [{"name": "REDIS_HOST", "value": ctx["names"]["redis_host"]},
            {"name": "REDIS_PORT", "value": str(ctx["ports"]["redis"])},
            tenant_secrets.env_from_secret("REDISCLI_AUTH", "redis_password")]


DATASTORES: dict[str, Datastore] = {
    "mongodb": Datastore("mongodb_tools", "mongodb.archive.gz", ".archive.gz", _mongo_dump, _mongo_load, _mongo_env,
                         lambda mongodb_dedicated: mongodb_dedicated),
    "redis": Datastore("redis", "redis.rdb", ".rdb", _redis_dump, _redis_load, _redis_env, lambda mongodb_dedicated: True),
}


def prefix(datastore: str) -> str:
    """The folder of a datastore's backups in the tenant's backup bucket."""
    return f"{PREFIX_ROOT}/{datastore}/"


def object_key(name: str) -> str:
    """The bucket key of backup `name` (`<datastore>-<timestamp>`)."""
    datastore = name.split("-", 1)[0]
    return f"{prefix(datastore)}{name}{DATASTORES[datastore].suffix}"


def parse_name(name: str) -> tuple[str, dt.datetime] | None:
    """(datastore, time) of a backup name, or None when it is not one."""
    m = NAME_PATTERN.match(name)
    if not m or m["datastore"] not in DATASTORES:
        return None
    try:
        when = dt.datetime.strptime(m["stamp"], TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return m["datastore"], when


def dump_script(ctx: BaseContext, datastore: str) -> str:
    """The dump container's shell script: the start time, then the datastore's own tool."""
    return ("set -eu\n"
            f'date -u +{TIMESTAMP_FORMAT} > "$BACKUP_DIR/started-at"\n'
            f"{DATASTORES[datastore].dump(ctx)}\n")


def upload_script(ctx: BaseContext, datastore: str, to: str | None = None) -> str:
    """Copy the dump to `<backup bucket>/<to>` (default backups/<datastore>/), named by its start time."""
    d, tool = DATASTORES[datastore], clouds.get(ctx["cloud"]).backup_tool
    url = f"{ctx['names']['backup_bucket_url']}/{to or prefix(datastore)}"
    return ("set -eu\n"
            f'name="{datastore}-$(cat "$BACKUP_DIR/started-at")"\n'
            f'{tool.copy} "$BACKUP_DIR/{d.file}" "{url}$name{d.suffix}"\n'
            'echo "backup $name"\n')


def _container(name: str, image: str, script: str, env: list[dict[str, Any]], extra_mounts: list[dict[str, Any]],
               resources: dict[str, str] = RESOURCES) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["sh", "-c", script],
        "env": [{"name": "BACKUP_DIR", "value": BACKUP_DIR}, *env],
        "resources": {"requests": dict(resources), "limits": dict(resources)},
        "securityContext": dict(security.CONTAINER),
        "volumeMounts": [{"name": "backup", "mountPath": BACKUP_DIR}, {"name": "tmp", "mountPath": "/tmp"}, *extra_mounts],
    }


def _pod(ctx: BaseContext, app: str, datastore: str, init: dict[str, Any], main: dict[str, Any],
         volumes: list[dict[str, Any]], account: str = "backup") -> dict[str, Any]:
    return {
        "metadata": {"labels": {layout.LABEL_NAME: app, layout.LABEL_COMPONENT: COMPONENT, layout.LABEL_TENANT: ctx["name"]}},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": security.SERVICE_ACCOUNTS[account],
            "automountServiceAccountToken": False,
            "securityContext": security.pod(DATASTORES[datastore].image),
            "initContainers": [init],
            "containers": [main],
            "volumes": [{"name": "backup", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}, *volumes],
            **ctx["scheduling"][COMPONENT],  # its node pool (registry/platform.yaml nodes.placement)
        },
    }


def job_spec(ctx: BaseContext, datastore: str, to: str | None = None, app: str | None = None) -> dict[str, Any]:
    """The spec of a Job that dumps `datastore` and copies it to the tenant's backup bucket under
    `to` (default `backups/<datastore>/`) as the backup identity (create only); the pod is
    labelled `app` (default backup-<datastore>).
    The backup CronJobs' jobTemplate, and any one-shot export (offboarding) reuses it."""
    d, tool = DATASTORES[datastore], clouds.get(ctx["cloud"]).backup_tool
    images = ctx["images"]
    dump = _container("dump", images[d.image], dump_script(ctx, datastore), d.env(ctx), [])
    upload = _container("upload", images[tool.image], upload_script(ctx, datastore, to), tool.env(ctx["tenant"]), [])
    return {"backoffLimit": 2, "activeDeadlineSeconds": DEADLINE_S,
            "template": _pod(ctx, app or f"backup-{datastore}", datastore, dump, upload, [])}


def restore_job(ctx: BaseContext, backup: str) -> dict[str, Any]:
    """name and spec of the Job that restores backup `backup` into the tenant's own datastore."""
    datastore, _ = parse_name(backup) or ("", None)
    d, tool = DATASTORES[datastore], clouds.get(ctx["cloud"]).backup_tool
    url = f"{ctx['names']['backup_bucket_url']}/{object_key(backup)}"
    fetch = _container("download", ctx["images"][tool.image], f'set -eu\n{tool.copy} "{url}" "$BACKUP_DIR/{d.file}"\n',
                       tool.env(ctx["tenant"]), [])
    mounts, volumes, env = [], [], d.env(ctx)
    if datastore == "redis":
        # The stopped Redis's own volume (docs/operations.md, restore runbook).
        mounts = [{"name": "redis-data", "mountPath": "/data"}]
        volumes = [{"name": "redis-data", "persistentVolumeClaim": {"claimName": "data-redis-0"}}]
        env = [{"name": "DATA_DIR", "value": "/data"}]
    # The Redis restore loads the whole dataset into a private Redis: as large as the real one.
    size = ctx["datastores"]["redis"] if datastore == "redis" else RESOURCES
    fetch["resources"] = {"requests": dict(size), "limits": dict(size)}
    load = _container("restore", ctx["images"][d.image], f"set -eu\n{d.load(ctx)}\necho \"restored {backup}\"\n", env, mounts,
                      size)
    name = restore_job_name(backup)
    return {"name": name, "resources": size, "spec": {"backoffLimit": 0, "activeDeadlineSeconds": DEADLINE_S,
                                   "template": _pod(ctx, name, datastore, fetch, load, volumes, "restore")}}


def restore_job_name(backup: str) -> str:
    return f"restore-{backup.lower()}"


def retention_folders(ctx: BaseContext, platform: dict[str, Any]) -> dict[str, int]:
    """Each backup folder of the backup bucket and the days its backups are kept."""
    return {prefix(ds): int(platform["backups"][ds]["retention_days"]) for ds in backed_up(ctx, platform)}


def storage_context(ctx: BaseContext, platform: dict[str, Any]) -> BackupStorage:
    """Template values of base/backup-storage.yaml.j2 (render/backup_storage.py)."""
    stores = backed_up(ctx, platform)
    return backup_storage.context(ctx, retention_folders(ctx, platform),
                                  backup_storage.lock_days(platform, stores) if stores else None)


def datastores(ctx: BaseContext) -> list[str]:
    """The datastores this tenant has, in DATASTORES order."""
    return datastores_of(ctx["datastores"]["mongodb_dedicated"])


def datastores_of(mongodb_dedicated: bool) -> list[str]:
    """The datastores of a tenant whose MongoDB is (or is not) its own instance, in DATASTORES order."""
    return [name for name, d in DATASTORES.items() if d.present(mongodb_dedicated)]


def backed_up(ctx: BaseContext, platform: dict[str, Any]) -> list[str]:
    """The datastores backed up: all of the tenant's, on a platform release that has backups
    (a tenant pinned to an older release renders that release's templates, without them)."""
    return datastores(ctx) if "backups" in platform else []


def context(ctx: BaseContext, platform: dict[str, Any]) -> Backups:
    """Template values of base/backups.yaml.j2."""
    cronjobs = [{"name": f"backup-{ds}", "schedule": platform["backups"][ds]["schedule"], "job": job_spec(ctx, ds)}
                for ds in backed_up(ctx, platform)]
    restore = ctx["tenant"].get("restore")
    return {
        "cronjobs": cronjobs,
        "restore": restore_job(ctx, restore["backup"]) if isinstance(restore, dict) else None,
        "resources": RESOURCES,
    }


# One backup's size, estimated for the footprint: a gzip'd mongodump is taken as a quarter of
# the MongoDB volume (indexes are not dumped, documents compress); an RDB as Redis's maxmemory.
MONGODB_DUMP_OF_VOLUME = Decimal("0.25")


def storage_gib(ctx: BaseContext) -> Decimal:
    """Backup bucket GiB the retained backups of the tenant take (copies kept x one copy's size;
    kept: the retention, plus the days the cloud still stores an expired one), rounded up to a
    whole GiB."""
    platform, ds = ctx["platform"], ctx["datastores"]
    one = {"mongodb": quantity.parse(ds["mongodb_storage"]) * MONGODB_DUMP_OF_VOLUME,
           "redis": Decimal(ds["redis_maxmemory"])}
    total = Decimal(0)
    for name in backed_up(ctx, platform):
        b = platform["backups"][name]
        kept = int(b["retention_days"]) + clouds.get(ctx["cloud"]).backup_kept_after_expiry_days
        total += one[name] * cron.runs_a_day(str(b["schedule"])) * kept
    return (total / quantity.GI).to_integral_value(rounding=ROUND_CEILING)
