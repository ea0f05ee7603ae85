"""`dataplane authorize ACTION`: the first job of a dispatched workflow asks whether this run
may do ACTION (render/workflows/authority.py), before any approval is requested, image
built or token minted for writing; its validated inputs become the job's outputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from render import layout
from render.problems import Problem, ProblemsError
from render.workflows import authority, events
from render.workflows.actions import read_event, set_output

ACTIONS = (authority.PLATFORM_UPDATE, authority.CONFIG_DEPLOY, authority.ROLLOUT_ADVANCE, authority.ROLLOUT_ROLLBACK)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("authorize", help="may this workflow run do ACTION? (team membership of the triggering actor)",
                       description="Check the run (GitHub's variables: event, ref, triggering actor) against the rule "
                                   "for ACTION; with --event also validate the dispatch's inputs (tenant, version) and "
                                   "write them to --output. Exit 2 naming the rule when refused.")
    p.add_argument("action", choices=ACTIONS, metavar="ACTION", help=", ".join(ACTIONS))
    p.add_argument("--event", type=Path, help="the workflow_dispatch payload ($GITHUB_EVENT_PATH)")
    p.add_argument("--output", dest="github_output", type=Path, help="append tenant= / version= here ($GITHUB_OUTPUT)")
    p.set_defaults(run=lambda a: authorize(root=a.repo, action=a.action, event=a.event, output=a.github_output))


def authorize(*, root: Path, action: str, event: Path | None = None, output: Path | None = None) -> int:
    payload = read_event(event) if event else {}
    inputs = payload.get("inputs") or {}
    tenant = None
    if action == authority.CONFIG_DEPLOY:
        tenant = events.config_deploy(payload)
        if not (root / layout.tenant_dir(tenant)).is_dir():
            raise ProblemsError([Problem(events.INPUTS, 1, 1, "tenant", f"no tenant named {tenant!r}",
                                         f"tenants are folders under {layout.TENANTS_DIR}/")])
    version = events.version(inputs.get("version")) if action == authority.PLATFORM_UPDATE and event else None
    authority.require(root, action, tenant)
    for key, value in (("tenant", tenant), ("version", version)):
        if value is not None:
            set_output(output, key, value)
    print(f"{action} allowed" + (f" for {tenant}" if tenant else "") + (f" ({version})" if version else ""))
    return 0
