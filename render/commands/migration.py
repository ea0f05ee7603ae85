"""`dataplane migration [TENANT...] [--against REF]`: routing and migration state, and the
check that each tenant.yaml moved legally since a previous commit."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from render import layout, migration, offboarding, output
from render.load import load_repo, parse_yaml
from render.move import record as move_record
from render.problems import Problem, ProblemsError
from render.validate import validate_repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("migration", help="show routing and migration state; check transitions since a commit",
                       description="Print each tenant's routing (shared or dedicated), its migration state and the "
                                   "next step of docs/migration.md. With --against REF, also compare every "
                                   "tenant.yaml with its version at REF (e.g. origin/main) and reject illegal "
                                   "migration transitions, such as skipping a state.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to show (default: all)")
    p.add_argument("--against", metavar="REF", help="a git revision holding the previous tenant.yaml files")
    output.add(p)
    p.set_defaults(run=lambda a: show(root=a.repo, tenants=a.tenants, against=a.against, fmt=output.chosen(a)))


def show(*, root: Path, tenants: list[str], against: str | None = None, fmt: str = "text") -> int:
    """json/yaml: {"tenants": [{tenant, routing, suspended, migration, attempt, writes_paused, next}]}."""
    repo = load_repo(root, tenants or None)
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    if against:
        problems = []
        for name, files in sorted(repo.tenants.items()):
            problems += migration.check_transition(_previous(root, against, name), files.tenant)
        if problems:
            raise ProblemsError(problems)
    if output.structured(fmt):
        output.emit({"tenants": [status_data(n, f.tenant.data) for n, f in sorted(repo.tenants.items())]}, fmt)
        return 0
    for name, files in sorted(repo.tenants.items()):
        print(status_line(name, files.tenant.data))
    return 0


def status_data(name: str, tenant: dict[str, Any]) -> dict[str, Any]:
    state = migration.state_of(tenant)
    move = move_record.of(tenant)
    moving = move_record.state_of(tenant)
    return {"tenant": name, "routing": migration.routing_of(tenant), "suspended": bool(tenant.get("suspended")),
            "migration": state, "attempt": tenant["migration"]["attempt"] if state else None,
            "writes_paused": bool(state) and migration.writes_paused(tenant),
            "next": migration.NEXT_STEP[state] if state else None,
            "move": {"state": moving, "attempt": move["attempt"], "to": move["to"], "next": _move_next(name, moving)}
            if move and moving else None}


def status_line(name: str, tenant: dict[str, Any]) -> str:
    state = migration.state_of(tenant)
    line = f"{name}: routing {migration.routing_of(tenant)}"
    if tenant.get("suspended"):
        line += ", suspended"
    if offboarding.offboarding(tenant):
        line += f", offboarding (data kept until {tenant['lifecycle']['grace_until']})"
    if state:
        line += f", migration {state} (attempt {tenant['migration']['attempt']})"
        line += ", writes paused" if migration.writes_paused(tenant) else ""
        line += f"\n    next: {migration.NEXT_STEP[state]}"
    move, moving = move_record.of(tenant), move_record.state_of(tenant)
    if move and moving:
        to = move["to"]
        line += (f", move {moving} (attempt {move['attempt']}) to {to['cluster']} ({to['region']}, "
                 f"{to['database']['mode']})\n    next: {_move_next(name, moving)}")
    return line


def _move_next(name: str, state: str) -> str:
    extra = {"copy": " --verified-by NAME (after the verification Job succeeded)", "cutover": " --approved-by NAME"}
    return f"{move_record.COMMAND} {move_record.NEXT_COMMAND[state]} {name}{extra.get(state, '')}"


def _previous(root: Path, ref: str, name: str) -> dict[str, Any] | None:
    """tenant.yaml of `name` at git revision `ref`, or None when it did not exist there."""
    rel = layout.tenant_file(name, layout.TENANT_FILE)
    try:
        out = subprocess.run(["git", "-C", str(root), "show", f"{ref}:{rel}"], capture_output=True, check=False)
    except OSError as e:
        raise ProblemsError([Problem(rel, 1, 1, "", f"cannot run git: {e.strerror}", "install git or leave out --against")]) from None
    if out.returncode != 0:
        if b"does not exist" in out.stderr or b"exists on disk, but not in" in out.stderr:
            return None
        raise ProblemsError([Problem(rel, 1, 1, "", f"git cannot read {ref}:{rel}: {out.stderr.decode(errors='replace').strip()}",
                                     "fetch the revision first, e.g. git fetch origin main")])
    data = parse_yaml(out.stdout.decode("utf-8", errors="replace"), f"{ref}:{rel}").data
    return data if isinstance(data, dict) else None
