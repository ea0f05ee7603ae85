"""`dataplane move prepare|copy|retry|cutover|retire|finish|abandon TENANT`: each step of
moving a tenant's data to another cluster, region or database mode (render/move/), written
to tenants/<name>/tenant.yaml `move` for a pull request.

Each step checks the state it starts from, writes the file, and keeps it only when the
whole repository still validates and renders; bad input is one line, exit 2, nothing
written. docs/operations.md#moving-a-tenant is the runbook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path
from typing import Any

from render import layout
from render.commands._lifecycle import iso_date, still_renders
from render.load import list_tenants, load_repo, read_yaml
from render.move import apps, jobs, record, target
from render.problems import Problem, ProblemsError

STEPS = ("prepare", "copy", "retry", "cutover", "retire", "finish", "abandon")
# The state each step starts from, and the one it writes (None: the record removed).
FROM = {"prepare": None, "copy": "prepare", "retry": "copy", "cutover": "copy", "retire": "cutover",
        "finish": "retire", "abandon": "prepare"}
TO = {"prepare": "prepare", "copy": "copy", "retry": "prepare", "cutover": "cutover", "retire": "retire",
      "finish": None, "abandon": None}
GRACE_DAYS = 14  # the old placement is kept (compute at zero, volumes) at least this long after the cutover
MODES = ("dedicated_instance", "shared_instance")
TEMPLATE = "base/move.yaml.j2"  # a pinned platform revision without it cannot render the copy


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("move", help="move a tenant's data to another cluster, region or database mode, one step a pull request",
                       description="Steps, each a pull request, in order: prepare (the target's datastores beside the old "
                                   "placement), copy (write freeze, final backup, restore on the target, verification), "
                                   "cutover (the engine runs on the target; the old placement kept until grace_until), "
                                   "retire (after grace_until, approved: the old placement removed), finish (the record "
                                   "removed). retry takes the copy again (a new attempt); abandon drops a prepared move. "
                                   "See docs/operations.md#moving-a-tenant.")
    p.add_argument("step", choices=STEPS)
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--cluster", help="prepare: the target cluster (registry/platform.yaml clusters; its region comes with it)")
    p.add_argument("--database-mode", choices=MODES, help="prepare: the target database mode (default: the tenant's)")
    p.add_argument("--verified-by", metavar="NAME", help="cutover: who checked that the verification Job succeeded")
    p.add_argument("--approved-by", metavar="NAME", help="retire: the platform engineer who approved it")
    p.add_argument("--on", type=iso_date, default=None, metavar="YYYY-MM-DD", help="today's date (default: today, UTC)")
    p.set_defaults(run=lambda a: move(root=a.repo, step=a.step, tenant=a.tenant, cluster=a.cluster,
                                      database_mode=a.database_mode, verified_by=a.verified_by,
                                      approved_by=a.approved_by, on=a.on))


def _refuse(file: str, message: str, hint: str) -> ProblemsError:
    return ProblemsError([Problem(file, 1, 1, "", message, hint)])


def move(*, root: Path, step: str, tenant: str, cluster: str | None = None, database_mode: str | None = None,
         verified_by: str | None = None, approved_by: str | None = None, on: dt.date | None = None) -> int:
    today = on or dt.datetime.now(dt.UTC).date()
    if tenant not in list_tenants(root):
        raise _refuse(layout.tenant_dir(tenant), f"unknown tenant {tenant!r}", "dataplane migration lists the tenants")
    rel = layout.tenant_file(tenant, layout.TENANT_FILE)
    data = read_yaml(root, rel).data
    state = record.state_of(data)
    if state != FROM[step]:
        raise _refuse(rel, f"tenant {tenant} is {'in move state ' + state if state else 'not moving'}: "
                      f"`move {step}` starts from {FROM[step] or 'no move'}",
                      f"the next step is: {record.COMMAND} {record.NEXT_COMMAND[state]} {tenant}")
    current = dict(record.of(data) or {})
    new = _next(root, rel, step, tenant, data, current, cluster, database_mode, verified_by, approved_by, today)
    path = root / rel
    original = path.read_text(encoding="utf-8")
    text = with_move(original, new)
    if step == "retire" and new is not None:
        text = with_placement(text, new["to"])
        if new["to"]["region"] != data.get("region") and "bucket_region" not in data:
            text = re.sub(r"^region:.*\n", lambda m: m.group(0) + f"bucket_region: {data.get('region')}\n", text,
                          count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    try:
        still_renders(root)
    except BaseException:
        path.write_text(original, encoding="utf-8")
        raise
    print(summary(tenant, step, new))
    return 0


def _next(root: Path, rel: str, step: str, tenant: str, data: dict[str, Any], move: dict[str, Any],
          cluster: str | None, mode: str | None, verified_by: str | None, approved_by: str | None,
          today: dt.date) -> dict[str, Any] | None:
    if step == "prepare":
        return _prepare(root, rel, tenant, data, cluster, mode, today)
    if step in ("finish", "abandon"):
        return None
    out = {**move, "state": TO[step]}
    if step == "retry":
        out["attempt"] = int(move["attempt"]) + 1
    if step == "cutover":
        if not verified_by:
            raise _refuse("--verified-by", "cutover needs --verified-by NAME",
                          f"check that Job {record.verify_job(int(move['attempt']))} succeeded on the target, then name yourself")
        out["verified"] = {"job": record.verify_job(int(move["attempt"])), "by": verified_by}
        out["grace_until"] = str(today + dt.timedelta(days=GRACE_DAYS))
    if step == "retire":
        grace = record.date_of(move.get("grace_until"))
        if grace is None:
            raise _refuse(rel, f"move.grace_until of {tenant} is not a date", "the cutover step writes it as YYYY-MM-DD")
        if today < grace:
            raise _refuse(rel, f"the old placement of {tenant} is kept until {grace}; retiring it on {today} is refused",
                          "run it again on or after that date")
        if not approved_by:
            raise _refuse("--approved-by", "retire needs --approved-by NAME", "a platform engineer approves retiring the old placement")
        out["retire_approved_by"] = approved_by
    return out


def _prepare(root: Path, rel: str, tenant: str, data: dict[str, Any], cluster: str | None, mode: str | None,
             today: dt.date) -> dict[str, Any]:
    clusters = read_yaml(root, layout.PLATFORM_FILE).data.get("clusters") or {}
    target = cluster or str(data.get("cluster"))
    if target not in clusters:
        raise _refuse("--cluster", f"unknown cluster {target!r}", f"clusters: {', '.join(sorted(clusters))}")
    if clusters[target].get("cloud") != data.get("cloud"):
        raise _refuse("--cluster", f"cluster {target} runs on {clusters[target].get('cloud')}, not on {tenant}'s cloud "
                      f"{data.get('cloud')}", "a move stays on the tenant's cloud")
    if data.get("lifecycle") or data.get("migration"):
        raise _refuse(rel, f"tenant {tenant} is offboarding or migrating", "finish that first")
    if TEMPLATE not in load_repo(root, [tenant]).inputs_for(tenant).templates:
        raise _refuse(rel, f"tenant {tenant} renders from a pinned platform revision that cannot move (no {TEMPLATE})",
                      f"dataplane promote {tenant} first, merge it, then move")
    to: dict[str, Any] = {"cluster": target, "region": str(clusters[target]["region"]),
          "database": {"mode": mode or record.get(data, ("database", "mode"))}}
    here = record.placement(data)
    if record.same(here, to):
        raise _refuse("--cluster", f"{tenant} is already on cluster {target} with database mode {to['database']['mode']}",
                      "name another --cluster or --database-mode")
    out: dict[str, Any] = {"state": "prepare", "attempt": 1, "requested_on": str(today), "from": here, "to": to}
    return out


_SECTION = re.compile(r"^move:.*\n(?:(?:[ \t#].*)?\n)*", re.MULTILINE)


def _flow(value: dict[str, Any]) -> str:
    return (f"{{cluster: {value['cluster']}, region: {value['region']}, "
            f"database: {{mode: {value['database']['mode']}}}}}")


def with_move(text: str, move: dict[str, Any] | None) -> str:
    """tenant.yaml with its `move` section replaced by `move` (removed for None)."""
    kept = _SECTION.sub("", text if text.endswith("\n") else text + "\n")
    if move is None:
        return kept
    lines = ["move:\n", "  # dataplane move: one step a pull request (docs/operations.md#moving-a-tenant).\n",
             f"  state: {move['state']}\n", f"  attempt: {move['attempt']}\n", f"  requested_on: \"{move['requested_on']}\"\n",
             f"  from: {_flow(move['from'])}\n", f"  to: {_flow(move['to'])}\n"]
    if "verified" in move:
        v = move["verified"]
        lines.append("  verified: {" + ", ".join(f"{k}: {v[k]}" for k in ("job", "at", "by") if k in v) + "}\n")
    if "grace_until" in move:
        lines.append(f"  grace_until: \"{move['grace_until']}\"\n")
    if "retire_approved_by" in move:
        lines.append(f"  retire_approved_by: {move['retire_approved_by']}\n")
    return kept + "".join(lines)


def with_placement(text: str, to: dict[str, Any]) -> str:
    """tenant.yaml with top-level cluster, region and database.mode set to `to`'s."""
    text = re.sub(r"^cluster:[ \t]*\S+", f"cluster: {to['cluster']}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^region:[ \t]*\S+", f"region: {to['region']}", text, count=1, flags=re.MULTILINE)
    return re.sub(r"(^database:\n(?:[ \t]+.*\n|[ \t]*#.*\n)*?[ \t]+mode:[ \t]*)\S+", rf"\g<1>{to['database']['mode']}",
                  text, count=1, flags=re.MULTILINE)


def summary(tenant: str, step: str, move: dict[str, Any] | None) -> str:
    rel = layout.tenant_file(tenant, layout.TENANT_FILE)
    head = f"{tenant}: move {step} written to {rel}; open a pull request (the automation renders it after the merge)."
    if move is None:
        return head + " The move record is gone; nothing else changes."
    ns = layout.namespace(tenant)
    notes = {
        "prepare": "ArgoCD creates the target's datastores ("
                   + (f"beside the old ones, Application {ns}" if target.same_cluster(move) else
                      f"Application {apps.app_name(tenant)} on {move['to']['cluster']}")
                   + f"); when they are Healthy: {record.COMMAND} copy {tenant}",
        "copy": f"Writes stop now. Watch Job {record.verify_job(int(move['attempt']))} on the target: "
                f"`kubectl -n {ns} logs job/{record.verify_job(int(move['attempt']))} -c verify`; when it succeeded: "
                f"{record.COMMAND} cutover {tenant} --verified-by NAME (or {record.COMMAND} retry {tenant})",
        "cutover": f"The engine starts on the target. The old placement is kept until {move.get('grace_until')}; then: "
                   f"{record.COMMAND} retire {tenant} --approved-by NAME",
        "retire": f"The old placement is no longer rendered; its volumes stay (Retain). Then: {record.COMMAND} finish {tenant}",
    }
    jobs_note = f" Datastores copied: {', '.join(jobs.copied(move))}." if step == "copy" else ""
    return f"{head} {notes.get(TO[step] or '', '')}{jobs_note}"
