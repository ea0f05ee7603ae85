"""The merge gate's decision: may the automation merge this tenant's pull request now?

Pure: what the GitHub API said (the pull request, its files, reviews and check runs) and a
membership question in; a decision out. Rules, by name (docs/security.md cites them), in
the order they are checked:

- `open-against-main`: the pull request is open, not a draft, and targets main.
- `all-files-listed`: GitHub listed every changed file (it stops at 3000).
- pr_scope's rules (`plain-path`, `generated-by-automation`, `one-tenant`,
  `tenant-files-only`): it changes the tenant-owned files of one tenant and nothing else.
- `tenant-approval`: someone other than the author, an active member of that tenant's
  team (asked at merge time), approved the exact head commit, and has not since
  withdrawn it (their latest review counts).
- `required-checks`: every required check ran on the exact head commit as a check run of
  the automation's App, completed, with conclusion success.
- `valid-on-main` (render/commands/merge_gate.py): main may have moved since the check ran,
  so the tenant's files at the head commit must still validate against main as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from render import ownership
from render.workflows import pr_scope

SHA = re.compile(r"[0-9a-f]{40}")
MAX_FILES = 3000  # GitHub lists at most this many files of a pull request
VERDICTS = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")  # COMMENTED and PENDING change nothing


@dataclass(frozen=True)
class Decision:
    merge: bool
    rule: str
    message: str
    tenant: str | None = None
    head: str = ""

    def line(self, number: int) -> str:
        if self.merge:
            return f"#{number}: merging {self.head[:12]} of tenant {self.tenant}: {self.message}"
        return f"#{number}: not merged: refused by rule {self.rule}: {self.message}"


def _no(rule: str, message: str, tenant: str | None = None, head: str = "") -> Decision:
    return Decision(False, rule, message, tenant, head)


def changed_paths(files: list[dict[str, Any]]) -> list[str]:
    """Every path a pull request touches: a rename's old name too."""
    paths = []
    for f in files:
        paths += [str(f.get(k)) for k in ("filename", "previous_filename") if f.get(k) is not None]
    return paths


def latest_verdicts(reviews: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each reviewer's latest review that approves, requests changes or was dismissed."""
    out: dict[str, dict[str, Any]] = {}
    for r in reviews:  # GitHub lists reviews oldest first
        login = (r.get("user") or {}).get("login")
        if isinstance(login, str) and r.get("state") in VERDICTS:
            out[login] = r
    return out


def decide(pr: dict[str, Any], files: list[dict[str, Any]], reviews: list[dict[str, Any]],
           runs: list[dict[str, Any]], own: ownership.Ownership, is_member: Callable[[str, str], bool]) -> Decision:
    head = str((pr.get("head") or {}).get("sha") or "")
    if pr.get("state") != "open" or pr.get("draft") or (pr.get("base") or {}).get("ref") != "main" \
            or not SHA.fullmatch(head):
        return _no("open-against-main", "the pull request is not an open, ready pull request against main")
    if len(files) >= MAX_FILES or len(files) != pr.get("changed_files"):
        return _no("all-files-listed", f"GitHub listed {len(files)} of {pr.get('changed_files')} changed files")
    tenant, findings = pr_scope.tenant_pull_request(changed_paths(files), own)
    if findings or tenant is None:
        return _no(findings[0].rule, findings[0].line().split(": ", 1)[1], head=head)
    team = own.team_of(tenant)
    author = (pr.get("user") or {}).get("login")
    approvers = sorted(login for login, r in latest_verdicts(reviews).items()
                       if r.get("state") == "APPROVED" and r.get("commit_id") == head and login != author)
    approver = next((login for login in approvers if is_member(team, login)), None)
    if approver is None:
        return _no("tenant-approval", f"no approval of {head[:12]} by a member of {team} other than the author",
                   tenant, head)
    missing = [name for name in own.required_checks if not _passed(runs, name, head, own.app_id)]
    if missing:
        return _no("required-checks", f"{', '.join(missing)} did not pass on {head[:12]} as a check run of "
                                      f"App {own.app_id}", tenant, head)
    return Decision(True, "", f"approved by {approver} ({team}); {', '.join(own.required_checks)} passed", tenant, head)


def _passed(runs: list[dict[str, Any]], name: str, head: str, app_id: int) -> bool:
    """The latest check run `name` of the App on `head` completed with success."""
    mine = [r for r in runs if r.get("name") == name and r.get("head_sha") == head
            and (r.get("app") or {}).get("id") == app_id]
    if not mine:
        return False
    latest = max(mine, key=lambda r: int(r.get("id") or 0))
    return bool(latest.get("status") == "completed" and latest.get("conclusion") == "success")
