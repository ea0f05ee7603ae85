"""Moving an organization from the shared platform into its dedicated data plane.

tenant.yaml holds `routing` (where the control plane sends the organization) and, while
a migration is under way, `migration`: a state, an attempt number and the evidence of
each completed step. The states and what each one renders:

    copying     routing shared, writes paused   copy Job
    verifying   routing shared, writes paused   verification Job
    cut_over    routing dedicated               nothing
    rolled_back routing shared, writes resumed  nothing

A state is legal only with the evidence of every step before it, recorded for the same
attempt (Job names carry the attempt), so a file alone shows whether a transition was
legal: `verifying` needs `copied`, `cut_over` needs `copied` and `verified` with equal
document counts. `check_transition` also compares with the previous committed version.
Pure: plain data in, Problems or template values out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from render import layout, tenant_secrets
from render.context_types import BaseContext, Migration
from render.load import Document
from render.problems import Problem

STATES = ("copying", "verifying", "cut_over", "rolled_back")
# Evidence each state requires, and the evidence it may carry.
REQUIRED = {"copying": (), "verifying": ("copied",), "cut_over": ("copied", "verified"), "rolled_back": ("rolled_back",)}
ALLOWED = {"copying": (), "verifying": ("copied",), "cut_over": ("copied", "verified"),
           "rolled_back": ("copied", "verified", "rolled_back")}
ROUTING = {"copying": "shared", "verifying": "shared", "cut_over": "dedicated", "rolled_back": "shared"}
WRITES_PAUSED = ("copying", "verifying")
NEXT_STEP = {
    "copying": "when the copy Job succeeds, record `copied` and set state: verifying",
    "verifying": "paste the verification Job's output as `verified`, set state: cut_over and routing: dedicated",
    "cut_over": "watch the tenant; to undo, set state: rolled_back and routing: shared (or git revert the cut-over commit)",
    "rolled_back": "fix the cause, then start attempt N+1 with state: copying",
}
# Legal moves between two committed versions (state before -> states after). A revert
# of the cut-over commit is cut_over -> verifying, which routes back to shared.
TRANSITIONS: dict[str | None, tuple[str | None, ...]] = {
    None: (None, "copying"),
    "copying": ("copying", "verifying", "rolled_back"),
    "verifying": ("verifying", "cut_over", "rolled_back", "copying"),
    "cut_over": ("cut_over", "rolled_back", "verifying", None),
    "rolled_back": ("rolled_back", "copying", None),
}
JOB_RESOURCES = {"cpu": "1", "memory": "2Gi"}
JOB_DEADLINE_S = 6 * 3600


def routing_of(tenant: Mapping[str, Any]) -> str:
    return str(tenant.get("routing", "dedicated"))


def state_of(tenant: Mapping[str, Any]) -> str | None:
    migration = tenant.get("migration")
    return str(migration["state"]) if isinstance(migration, dict) and "state" in migration else None


def writes_paused(tenant: Mapping[str, Any]) -> bool:
    return state_of(tenant) in WRITES_PAUSED


def check(doc: Document, shared_platform: dict[str, Any] | None) -> list[Problem]:
    """Problems of one tenant.yaml's routing and migration, from the file alone.

    Assumes the schema passed for the fields it reads (it checks their types itself only
    as far as needed not to crash on a file the schema rejects).
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    migration = data.get("migration")
    out: list[Problem] = []
    if (routing_of(data) == "shared" or migration is not None) and shared_platform is None:
        out.append(doc.problem(("routing",) if "routing" in data else ("migration",),
                               "routing to or migrating from the shared platform needs `shared_platform` in registry/platform.yaml",
                               "add the shared_platform section (see docs/migration.md)"))
    if not isinstance(migration, dict) or migration.get("state") not in STATES or not isinstance(migration.get("attempt"), int):
        return out
    state, attempt = migration["state"], migration["attempt"]
    if routing_of(data) != ROUTING[state]:
        where = ("routing",) if "routing" in data else ("migration", "state")
        out.append(doc.problem(where, f"migration state {state} needs routing: {ROUTING[state]}, not {routing_of(data)}",
                               f"set routing: {ROUTING[state]} in the same commit as state: {state}"))
    for step in REQUIRED[state]:
        if step not in migration:
            out.append(doc.problem(("migration", "state"), f"state {state} needs the `{step}` step recorded first",
                                   _missing_hint(step, attempt)))
    for step in migration:
        if step in ("copied", "verified", "rolled_back") and step not in ALLOWED[state]:
            out.append(doc.problem(("migration", step), f"`{step}` cannot be recorded in state {state}",
                                   "a later step is recorded when the migration moves past it; remove it or fix the state"))
    out += _check_evidence(doc, migration, attempt)
    return out


def _missing_hint(step: str, attempt: int) -> str:
    return {
        "copied": f"run the copy Job ({layout.migration_copy_job(attempt)}) in state copying, then record `copied: {{job: {layout.migration_copy_job(attempt)}}}`",
        "verified": f"set state: verifying and paste the output of {layout.migration_verify_job(attempt)} as `verified`",
        "rolled_back": "record `rolled_back: {reason: ...}` saying why",
    }[step]


def _check_evidence(doc: Document, migration: dict[str, Any], attempt: int) -> list[Problem]:
    out = []
    expected = {"copied": layout.migration_copy_job(attempt), "verified": layout.migration_verify_job(attempt)}
    for step, job in expected.items():
        record = migration.get(step)
        if isinstance(record, dict) and record.get("job") != job:
            out.append(doc.problem(("migration", step, "job"), f"evidence is from {record.get('job')!r}, not from attempt {attempt}'s Job {job!r}",
                                   "evidence must come from this attempt's Job; re-run the step"))
    verified = migration.get("verified")
    collections = verified.get("collections") if isinstance(verified, dict) else None
    for name, counts in (collections.items() if isinstance(collections, dict) else ()):
        if isinstance(counts, dict) and counts.get("source") != counts.get("target"):
            out.append(doc.problem(("migration", "verified", "collections", name),
                                   f"collection {name!r} has {counts.get('source')} documents in the source but {counts.get('target')} in the target",
                                   "the copy is incomplete: set state: copying with attempt + 1 to copy again"))
    return out


def check_transition(before: dict[str, Any] | None, after: Document) -> list[Problem]:
    """Problems of the move from the previous committed tenant.yaml (`before`) to `after`."""
    data = after.data if isinstance(after.data, dict) else {}
    old = state_of(before or {})
    new = state_of(data)
    old_attempt = (before or {}).get("migration", {}).get("attempt", 0) if old else 0
    new_attempt = data.get("migration", {}).get("attempt", 0) if new else 0
    where = ("migration", "state") if new else ("routing",)
    if new not in TRANSITIONS.get(old, ()):
        return [after.problem(where, f"migration cannot go from {old or 'no migration'} to {new or 'no migration'}",
                              f"from {old or 'no migration'} the next states are: "
                              + ", ".join(s or "no migration" for s in TRANSITIONS.get(old, ())))]
    if new is None:
        # Without a migration record routing cannot move: it keeps what the last state set.
        if before is not None and routing_of(data) != routing_of(before):
            return [after.problem(("routing",), f"routing cannot change from {routing_of(before)} to {routing_of(data)} "
                                  "without a migration", "routing changes only through the states of docs/migration.md")]
        return []
    restart = (old, new) in (("rolled_back", "copying"), ("verifying", "copying"))
    if restart and new_attempt != old_attempt + 1:
        return [after.problem(("migration", "attempt"), f"a new copy must be attempt {old_attempt + 1}, not {new_attempt}",
                              "each attempt runs new Jobs; increase attempt by one")]
    if old and new and not restart and new_attempt != old_attempt:
        return [after.problem(("migration", "attempt"), f"attempt changed from {old_attempt} to {new_attempt} without a new copy",
                              "keep the attempt number until the migration copies again")]
    return []


def context(ctx: BaseContext) -> Migration | None:
    """Template values of base/migration.yaml.j2, or None when no Job is due."""
    t = ctx["tenant"]
    state = state_of(t)
    if state not in WRITES_PAUSED:
        return None
    shared = ctx["platform"]["shared_platform"]
    attempt = int(t["migration"]["attempt"])
    source_db = layout.shared_org_database(t["organization_id"])
    target_db = ctx["names"]["database"]
    verify_job = layout.migration_verify_job(attempt)
    # The copy runs in state copying only: a revert to verifying must never copy over
    # writes the dedicated database took after the cut-over.
    job = ({"name": layout.migration_copy_job(attempt), "container": "copy",
            "command": ["/bin/bash", "-c", copy_script(source_db, target_db)]} if state == "copying" else
           {"name": verify_job, "container": "verify",
            "command": ["mongosh", "--quiet", "--nodb", "--eval", verify_script(source_db, target_db, verify_job)]})
    return {
        "state": state,
        "attempt": attempt,
        "jobs": [job],
        "source_namespace": shared["namespace"],
        "source_secret_key": tenant_secrets.organization_key(t["cloud"], shared["secret_prefix"], t["organization_id"], "mongodb"),
        "resources": JOB_RESOURCES,
        "deadline_s": JOB_DEADLINE_S,
    }


def copy_script(source_db: str, target_db: str) -> str:
    """mongodump of the organization's database only, streamed into the tenant's database.

    --drop makes a retried Job start from a clean target; --nsFrom/--nsTo rename the
    namespaces <source_db>.* to <target_db>.*.
    """
    return (
        "set -euo pipefail\n"
        f"mongodump --uri=\"$SOURCE_URI\" --db={source_db} --archive --quiet \\\n"
        f"  | mongorestore --uri=\"$TARGET_URI\" --archive --drop --quiet \\\n"
        f"      --nsInclude='{source_db}.*' --nsFrom='{source_db}.*' --nsTo='{target_db}.*'\n"
        f"echo \"copied {source_db}.* to {target_db}.*\"\n"
    )


def verify_script(source_db: str, target_db: str, job: str) -> str:
    """mongosh: count documents per collection on both sides; print the `verified` block
    to paste into tenant.yaml; fail when any count differs."""
    return (
        f"const source = new Mongo(process.env.SOURCE_URI).getDB({json.dumps(source_db)});\n"
        f"const target = new Mongo(process.env.TARGET_URI).getDB({json.dumps(target_db)});\n"
        "const user = (n) => !n.startsWith('system.');\n"
        "const names = [...new Set([...source.getCollectionNames(), ...target.getCollectionNames()])].filter(user).sort();\n"
        "let same = true;\n"
        f"print('verified:');\nprint('  job: {job}');\nprint('  collections:' + (names.length ? '' : ' {{}}'));\n"
        "for (const n of names) {\n"
        "  const s = source.getCollection(n).countDocuments({});\n"
        "  const t = target.getCollection(n).countDocuments({});\n"
        "  if (s !== t) same = false;\n"
        "  print('    ' + JSON.stringify(n) + ': {source: ' + s + ', target: ' + t + '}');\n"
        "}\n"
        "if (!same) { print('document counts differ'); quit(1); }\n"
    )
