"""`dataplane check-scope TENANT`: refuse staged (or committed) paths outside one tenant's scope."""

from __future__ import annotations

import argparse
from pathlib import Path

from render import events, gitops, scope
from render.problems import Problem, ProblemsError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-scope", help="fail if staged changes touch anything outside one tenant's files",
                       description="Check that the staged changes (or the commits since --since) touch only "
                                   "rendered/TENANT/, argocd/tenants/TENANT/ and, with --release, "
                                   "tenants/TENANT/release.yaml. Exits 2 and names every other path.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="the tenant (with --rollout: the tenants moved, if any)")
    p.add_argument("--release", action="store_true", help="also allow tenants/TENANT/release.yaml (a fork deploy)")
    p.add_argument("--rollout", action="store_true",
                   help="a rollout step: the TENANTs' release.yaml and output, and rollout/state.yaml")
    p.add_argument("--since", metavar="REV", help="check the commits from REV to HEAD instead of the staged changes")
    p.set_defaults(run=lambda a: check_rollout(root=a.repo, tenants=a.tenants, since=a.since) if a.rollout
                   else check_scope(root=a.repo, tenant=_one(a.tenants), release=a.release, since=a.since))


def _one(tenants: list[str]) -> str:
    if len(tenants) != 1:
        raise ProblemsError([Problem(events.INPUTS, 1, 1, "tenant", "name exactly one TENANT",
                                     "or check a rollout step with --rollout [TENANT...]")])
    return tenants[0]


def check_scope(*, root: Path, tenant: str, release: bool = False, since: str | None = None) -> int:
    name = events.tenant_name(tenant)
    paths = gitops.changed_since(root, events.git_ref(since, "since")) if since else gitops.staged(root)
    problems = scope.check_paths(name, paths, release=release)
    if problems:
        raise ProblemsError(problems)
    print(f"{len(paths)} changed path(s), all within {name}'s scope")
    return 0


def check_rollout(*, root: Path, tenants: list[str], since: str | None = None) -> int:
    """A rollout step may change only the moved tenants' release.yaml and output, and the state."""
    names = [events.tenant_name(t) for t in tenants]
    paths = gitops.changed_since(root, events.git_ref(since, "since")) if since else gitops.staged(root)
    problems = scope.check_rollout_paths(names, paths)
    if problems:
        raise ProblemsError(problems)
    print(f"{len(paths)} changed path(s), all within the rollout step's scope")
    return 0
