"""`dataplane offboard TENANT [--delete]`: the two changes that take a tenant off the platform.

The first writes tenant.yaml `lifecycle` (phase offboarding, requested_on, grace_until),
which renders the final exports, the bucket copy and compute stopped
(render/offboarding.py). The second, `--delete`, is refused before grace_until and
without `lifecycle.deletion_approved_by` (recorded by a reviewed change); it removes the
tenant's files and appends its tombstone to registry/tombstones.yaml. Both leave input
files for a pull request (the automation renders the output after the merge), and only
once the whole repository still validates and renders with them; bad input is one line,
exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import yaml

from render import layout, offboarding, tombstones
from render.commands._lifecycle import iso_date, still_renders
from render.load import list_tenants, load_repo, read_yaml
from render.problems import Problem, ProblemsError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("offboard", help="offboard a tenant: export, stop compute, keep data; --delete after the grace period",
                       description="Without --delete: record lifecycle.phase offboarding in tenants/TENANT/tenant.yaml "
                                   "(grace period from registry/platform.yaml offboarding.grace_days) and re-render: "
                                   "final export Jobs, a bucket copy to the retention location, Ray and Celery at zero. "
                                   "With --delete (after grace_until, with lifecycle.deletion_approved_by recorded): "
                                   "remove the tenant and append its tombstone. See docs/operations.md.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--delete", action="store_true", help="the second, later change: remove the tenant for good")
    p.add_argument("--on", type=iso_date, default=None, metavar="YYYY-MM-DD", help="today's date (default: today, UTC)")
    p.set_defaults(run=lambda a: offboard(root=a.repo, tenant=a.tenant, delete=a.delete, on=a.on))



def _refuse(file: str, message: str, hint: str) -> ProblemsError:
    return ProblemsError([Problem(file, 1, 1, "", message, hint)])


def offboard(*, root: Path, tenant: str, delete: bool = False, on: dt.date | None = None) -> int:
    today = on or dt.datetime.now(dt.UTC).date()
    rel = layout.tenant_file(tenant, layout.TENANT_FILE)
    if tenant in tombstones.names(tombstones.load(root)):
        raise _refuse(layout.TOMBSTONES_FILE, f"tenant {tenant!r} is already offboarded and deleted", "nothing to do")
    if tenant not in list_tenants(root):
        raise _refuse(layout.tenant_dir(tenant), f"unknown tenant {tenant!r}", "dataplane migration lists the tenants")
    doc = read_yaml(root, rel)
    life = doc.data.get("lifecycle") if isinstance(doc.data, dict) else None
    if not delete:
        if life is not None:
            raise ProblemsError([doc.problem(("lifecycle",), f"tenant {tenant} is already offboarding since "
                                             f"{life.get('requested_on')}", "after its grace period: dataplane offboard "
                                             f"{tenant} --delete")])
        if offboarding.TEMPLATE not in load_repo(root, [tenant]).inputs_for(tenant).templates:
            raise ProblemsError([doc.problem(("name",), f"tenant {tenant} renders from a pinned platform revision "
                                             "that cannot offboard (it has no offboarding exports)",
                                             f"dataplane promote {tenant} first, merge it, then offboard")])
        return _start(root, tenant, rel, today)
    if not isinstance(life, dict) or life.get("phase") != offboarding.PHASE:
        raise ProblemsError([doc.problem(("name",), f"tenant {tenant} is not offboarding",
                                         f"first run dataplane offboard {tenant} and merge it")])
    grace = dt.date.fromisoformat(str(life["grace_until"]))
    if today < grace:
        raise ProblemsError([doc.problem(("lifecycle", "grace_until"), f"the data of {tenant} is kept until {grace}; "
                                         f"deleting it on {today} is refused", "run it again on or after that date",
                                         at_value=True)])
    if not life.get("deletion_approved_by"):
        raise ProblemsError([doc.problem(("lifecycle",), "no platform approval recorded for the deletion",
                                         "a platform engineer records lifecycle.deletion_approved_by in a reviewed change")])
    return _delete(root, tenant, doc.data, str(life["deletion_approved_by"]), today)


def _start(root: Path, tenant: str, rel: str, today: dt.date) -> int:
    days = int(read_yaml(root, layout.PLATFORM_FILE).data["offboarding"]["grace_days"])
    grace = offboarding.grace_until(today, days)
    block = (f"\n# Offboarding (dataplane offboard): exported, compute stopped, data kept until grace_until.\n"
             f"lifecycle:\n  phase: {offboarding.PHASE}\n  requested_on: \"{today}\"\n  grace_until: \"{grace}\"\n")
    path = root / rel
    original = path.read_text(encoding="utf-8")
    path.write_text(original.rstrip("\n") + "\n" + block, encoding="utf-8")
    try:
        still_renders(root)
    except BaseException:
        path.write_text(original, encoding="utf-8")  # nothing written when the change would not render
        raise
    print(f"{tenant}: offboarding until {grace}. Open a pull request with {rel}; after the merge the automation "
          f"renders it, then check the Jobs {', '.join(offboarding.export_job(d) for d in ('mongodb', 'redis'))} and "
          f"{offboarding.COPY_JOB} (docs/operations.md). Delete on or after {grace}: dataplane offboard {tenant} --delete")
    return 0



def _delete(root: Path, tenant: str, data: dict[str, object], approved_by: str, today: dt.date) -> int:
    """Remove the tenant's files and append its tombstone; undone when anything still names
    the tenant (registry/rollout.yaml, say) or the render refuses."""
    platform = read_yaml(root, layout.PLATFORM_FILE).data
    entry = tombstones.entry(tenant, data, platform["control_plane"]["bucket_prefix"], str(today), approved_by)
    path = root / layout.TOMBSTONES_FILE
    original = path.read_text(encoding="utf-8") if path.is_file() else None
    header = "".join(line for line in (original or "").splitlines(keepends=True) if line.startswith("#"))
    entries = [*tombstones.entries(tombstones.load(root)), entry]
    with tempfile.TemporaryDirectory() as aside:
        shutil.move(root / layout.tenant_dir(tenant), Path(aside) / tenant)
        path.write_text(header + yaml.safe_dump({"tombstones": entries}, sort_keys=False), encoding="utf-8")
        try:
            still_renders(root)
        except BaseException:
            shutil.move(Path(aside) / tenant, root / layout.tenant_dir(tenant))
            if original is None:
                path.unlink()
            else:
                path.write_text(original, encoding="utf-8")
            raise
    print(f"{tenant}: deleted; tombstone in {layout.TOMBSTONES_FILE}. Open a pull request with both; after the merge "
          "the automation removes the tenant's output and ArgoCD its Applications; its namespace, volumes (reclaimPolicy "
          "Retain) and bucket stay until the platform deletes them (docs/operations.md)")
    return 0
