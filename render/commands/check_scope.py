"""`dataplane check-scope`: the paths a change touches, checked against who may change them.

- `check-scope TENANT [--release] [--since REV]`: a deploy's staged (or committed) paths
  must lie within one tenant's scope; anything else is refused (exit 2).
- `check-scope --rollout [TENANT...] [--since REV]`: a rollout step may change only the
  moved tenants' release.yaml and output, and rollout/state.yaml.
- `check-scope --base REV`: a pull request's changed paths, sorted by owner from
  registry/ownership.yaml; exits 1 naming the rule when it carries generated or
  automation-owned files, or mixes a tenant's files with another's or the platform's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from render import exitcodes, git, output, ownership
from render.problems import Problem, ProblemsError
from render.workflows import events, pr_scope, scope
from render.workflows.actions import add_summary, markdown_text

HEADINGS = {
    ownership.PLATFORM: "Platform-owned changes: need platform review",
    ownership.AUTOMATION: "Automation-owned files changed by hand: need platform review",
    ownership.TENANT: "Tenant-owned (self-service)",
    ownership.GENERATED: "Generated output (checked by `dataplane render --check`)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-scope", help="check changed paths against who may change them",
                       description="With TENANT: check that the staged changes (or the commits since --since) touch "
                                   "only rendered/TENANT/, argocd/tenants/TENANT/, control-plane/routing/TENANT/ and, "
                                   "with --release, tenants/TENANT/release.yaml; exits 2 naming every other path. "
                                   "With --rollout: the same for a rollout step. With --base REV: list a pull "
                                   "request's changes by owner (registry/ownership.yaml); exits 1 when it carries generated "
                                   "or automation-owned files, or mixes a tenant's files with others.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="the tenant (with --rollout: the tenants moved, if any)")
    p.add_argument("--release", action="store_true", help="also allow tenants/TENANT/release.yaml (a fork deploy)")
    p.add_argument("--rollout", action="store_true",
                   help="a rollout step: the TENANTs' release.yaml and output, and rollout/state.yaml")
    p.add_argument("--since", metavar="REV", help="check the commits from REV to HEAD instead of the staged changes")
    p.add_argument("--base", metavar="REV", help="a pull request's base: list its changes by owner")
    p.add_argument("--summary", type=Path, help="append the list as markdown here (in a workflow: $GITHUB_STEP_SUMMARY)")
    output.add(p)
    p.set_defaults(run=_run)


def _run(a: argparse.Namespace) -> int:
    if a.rollout:
        return check_rollout(root=a.repo, tenants=a.tenants, since=a.since)
    if a.base is not None:
        return by_owner(root=a.repo, base=a.base, summary=a.summary, fmt=output.chosen(a))
    if len(a.tenants) != 1:
        raise ProblemsError([Problem(events.INPUTS, 1, 1, "tenant", "name exactly one TENANT",
                                     "or list a pull request's changes with --base REV, or check a rollout step "
                                     "with --rollout [TENANT...]")])
    return check_scope(root=a.repo, tenant=a.tenants[0], release=a.release, since=a.since)


def check_scope(*, root: Path, tenant: str, release: bool = False, since: str | None = None) -> int:
    name = events.tenant_name(tenant)
    paths = git.changed_since(root, events.git_ref(since, "since")) if since else git.staged(root)
    problems = scope.check_paths(name, paths, release=release)
    if problems:
        raise ProblemsError(problems)
    print(f"{len(paths)} changed path(s), all within {name}'s scope")
    return 0


def check_rollout(*, root: Path, tenants: list[str], since: str | None = None) -> int:
    """A rollout step may change only the moved tenants' release.yaml and output, and the state."""
    names = [events.tenant_name(t) for t in tenants]
    paths = git.changed_since(root, events.git_ref(since, "since")) if since else git.staged(root)
    problems = scope.check_rollout_paths(names, paths)
    if problems:
        raise ProblemsError(problems)
    print(f"{len(paths)} changed path(s), all within the rollout step's scope")
    return 0


def by_owner(*, root: Path, base: str, summary: Path | None = None, fmt: str = "text") -> int:
    """Exit 1 when the pull request carries what no pull request may (pr_scope's rules).
    json/yaml: {"base", "changes": [{path, owner, tenant}], "platform_review": bool, "refused": [line]}."""
    own = ownership.load_ownership(root)
    rev = events.git_ref(base, "base")
    paths = git.changed_since(root, rev)
    groups: dict[str, list[str]] = {kind: [] for kind in HEADINGS}
    changes = []
    for path in paths:
        owner = ownership.owner_of(path, own)
        groups[owner.kind].append(path + (f" ({owner.tenant})" if owner.tenant and owner.kind != ownership.GENERATED
                                          else ""))
        changes.append({"path": path, "owner": owner.kind, "tenant": owner.tenant or None})
    findings = pr_scope.pull_request_findings(paths, own, frozenset(git.added_since(root, rev)),
                                              frozenset(git.removed_since(root, rev)))
    if output.structured(fmt):
        review = any(c["owner"] in (ownership.PLATFORM, ownership.AUTOMATION) for c in changes)
        output.emit({"base": base, "changes": changes, "platform_review": review,
                     "refused": [f.line() for f in findings]}, fmt)
        return exitcodes.FAILED if findings else exitcodes.OK
    lines, markdown = [], ["## Changes by owner", ""]
    for kind, heading in HEADINGS.items():
        if groups[kind]:
            lines += [f"{heading}:"] + [f"  - {_shown(p)}" for p in groups[kind]]
            markdown += [f"{heading}:"] + [f"- {markdown_text(p)}" for p in groups[kind]]
    print("\n".join(lines) if lines else "no changed paths")
    for finding in findings:
        print(f"dataplane: {_shown(finding.line())}", file=sys.stderr)
    if findings:
        markdown += ["", "**Refused**:"] + [f"- {markdown_text(f.line())}" for f in findings]
    if summary is not None:
        add_summary(summary, "\n".join(markdown))
    return exitcodes.FAILED if findings else exitcodes.OK


def _shown(text: str) -> str:
    """One terminal line: control and invisible characters as escapes."""
    return text if text.isprintable() else ascii(text)[1:-1]
