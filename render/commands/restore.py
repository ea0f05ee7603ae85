"""`dataplane restore TENANT --from BACKUP --inventory FILE [--to-time T]`: the restore of one
backup into the tenant's own datastore, for a pull request.

Writes the `restore` section of tenants/<name>/tenant.yaml (which renders the Job
restore-<backup> in namespace tenant-<name> only), re-renders that tenant and prints the
runbook steps it cannot automate. Any mistake: one Problem, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

from render import backups, layout
from render import restore as planning
from render.context import tenant_names
from render.load import list_tenants
from render.problems import ProblemsError, UserError
from render.workflows import deploy, events

MAX_INVENTORY_BYTES = 8 * 1024 * 1024


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("restore", help="restore one tenant's datastore from a backup (for a pull request)",
                       description="Write tenants/TENANT/tenant.yaml `restore` for BACKUP (a name listed in the "
                                   "tenant's backup bucket under backups/<datastore>/), re-render the tenant (the Job "
                                   "restore-BACKUP in its own namespace) and print the runbook. Nothing is pushed.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--from", dest="backup", required=True, metavar="BACKUP",
                   help="backup name, e.g. mongodb-20261207T121700Z")
    p.add_argument("--inventory", required=True, type=Path, metavar="FILE",
                   help="listing of the tenant's backup bucket: `gcloud storage ls gs://BUCKET-backups/backups/**` or "
                        "`aws s3 ls --recursive s3://BUCKET-backups/backups/`, saved to a file")
    p.add_argument("--to-time", metavar="T", help="point in time, YYYY-MM-DDTHH:MM:SSZ: BACKUP must be the newest "
                                                  "listed backup at or before it")
    p.set_defaults(run=lambda a: restore(root=a.repo, tenant=a.tenant, backup=a.backup, inventory=a.inventory,
                                         to_time=a.to_time))


def restore(*, root: Path, tenant: str, backup: str, inventory: Path, to_time: str | None = None,
            now: dt.datetime | None = None) -> int:
    name = events.tenant_name(tenant)
    known = list_tenants(root)
    if name not in known:
        raise _error(f"unknown tenant {name!r}", f"tenants: {', '.join(known)}")
    text = _read_inventory(inventory)
    repo = deploy.load_valid(root, [name])
    t = repo.tenants[name].tenant.data
    platform = repo.inputs_for(name).platform.data
    if "backups" not in platform:
        raise _error(f"{name} is pinned to a platform release without backups", f"promote it first: dataplane promote {name}")
    result = planning.plan(backup=backup, to_time=to_time, inventory=text, inventory_file=str(inventory),
                           bucket=tenant_names(t, platform)["backup_bucket"], datastores=backups.datastores_of(t["database"]["mode"] == "dedicated_instance"),
                           retention_days={ds: int(b["retention_days"]) for ds, b in platform["backups"].items()},
                           now=now or dt.datetime.now(dt.UTC))
    if isinstance(result, list):
        raise ProblemsError(result)
    tenant_file = root / layout.tenant_file(name, layout.TENANT_FILE)
    tenant_file.write_text(with_restore(tenant_file.read_text(encoding="utf-8"), result), encoding="utf-8")
    deploy.render(root, [name])
    print(runbook(name, result))
    return 0


def _error(message: str, hint: str) -> UserError:
    e = UserError(message)
    e.hint = hint
    return e


def _read_inventory(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_INVENTORY_BYTES:
            raise _error(f"inventory {path} is larger than {MAX_INVENTORY_BYTES} bytes", "list backups/ only")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _error(f"cannot read inventory {path}: {e}", "save the bucket listing to a file") from None


_SECTION = re.compile(r"^restore:.*\n(?:(?:[ \t#].*)?\n)*", re.MULTILINE)


def with_restore(text: str, plan: planning.Plan) -> str:
    """tenant.yaml with its `restore` section replaced by this plan's (other lines kept)."""
    body = [f"restore:\n  # dataplane restore: renders Job {backups.restore_job_name(plan.backup)}; remove once done.\n",
            f"  backup: {plan.backup}\n"]
    if plan.to_time is not None:
        body.append(f'  to_time: "{planning.format_time(plan.to_time)}"\n')
    kept = _SECTION.sub("", text if text.endswith("\n") else text + "\n")
    return kept + "".join(body)


def runbook(name: str, plan: planning.Plan) -> str:
    ns, job = layout.namespace(name), backups.restore_job_name(plan.backup)
    steps = {
        "mongodb": [
            f"Stop writes if the tenant must not write during the restore: `suspended: true` in tenants/{name}/tenant.yaml.",
            f"Commit tenants/{name}/tenant.yaml and rendered/{name}/, open a pull request, merge: ArgoCD runs Job {job} "
            f"in {ns}; it replaces ({'--drop'}) every collection of the tenant's database with the backup's.",
            f"Watch it: `kubectl -n {ns} logs job/{job} -c restore -f` ends with `restored {plan.backup}`.",
            f"Check the data: `dataplane status {name}`; the engine's own checks.",
        ],
        "redis": [
            f"Pause the sync of the tenant's workloads (`argocd app set {ns} --sync-policy none`) and stop Redis: "
            f"`kubectl -n {ns} scale statefulset redis --replicas=0` (the Job mounts its volume, data-redis-0).",
            f"Commit tenants/{name}/tenant.yaml and rendered/{name}/, open a pull request, merge, then sync the Job alone "
            f"(`argocd app sync {ns} --resource batch:Job:{job}`; a full sync would start Redis beside it): it loads the "
            "RDB into the volume and writes new append-only files from it (the old ones are kept under restored-aside/).",
            f"Watch it: `kubectl -n {ns} logs job/{job} -c restore -f` ends with `restored {plan.backup}`.",
            "Resume the sync (Redis starts from the restored data) and check: `dataplane status " + name + "`.",
        ],
    }[plan.datastore]
    lost = f"Writes after {planning.format_time(plan.taken)} are not in the backup"
    lines = [f"{name}: restore of {plan.backup} rendered as Job {job} in {ns}. Runbook:"]
    lines += [f"  {i}. {s}" for i, s in enumerate(steps, 1)]
    lines += [f"  {len(steps) + 1}. Then remove `restore:` from tenants/{name}/tenant.yaml by a second pull request "
              "(the Job is pruned) and set `suspended: false` if you set it.",
              f"Note: {lost}" + (f" (asked for {planning.format_time(plan.to_time)})." if plan.to_time else ".")]
    return "\n".join(lines)
