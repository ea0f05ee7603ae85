"""`dataplane merge-gate PR`: the automation merges a tenant's pull request, or says why not.

Run by the merge workflow as the platform's automation identity (its App token in
$GITHUB_TOKEN). Everything is read from the GitHub API at merge time, nothing from the
pull request's checkout: the files it changes, the reviews, the team membership of the
approver and the App's check runs on the exact head commit. The merge names that head
commit (`sha`), so a push after the decision makes GitHub refuse it. A refusal is one line
naming the rule (render/workflows/merge_gate.py) and merges nothing: exit 1.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from render import exitcodes, ownership
from render.load import load_repo
from render.problems import ProblemsError
from render.validate import validate_repo
from render.workflows import authority, github_api
from render.workflows.merge_gate import Decision, decide

MERGE_METHOD = "squash"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("merge-gate", help="merge a tenant's pull request when its scope, approval and checks allow",
                       description="Through the GitHub API: the pull request must change only one tenant's "
                                   "tenant-owned files (registry/ownership.yaml), carry an approval of its exact head "
                                   "commit by a member of that tenant's team, and the App's required check runs must "
                                   "have passed on that commit; then it is merged with the head commit as a guard. "
                                   "Otherwise one line names the rule and nothing is merged (exit 1). Needs "
                                   "$GITHUB_TOKEN (the App's token) and $GITHUB_REPOSITORY.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("number", type=int, nargs="?", metavar="PR", help="the pull request's number")
    which.add_argument("--open", action="store_true", help="every open pull request against main (the schedule): "
                                                           "one line each; exit 0")
    p.set_defaults(run=lambda a: merge_gate(root=a.repo, number=a.number, every_open=a.open))


def merge_gate(*, root: Path, number: int | None, every_open: bool = False, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    authority.require(root, authority.MERGE_GATE, env=env)
    own = ownership.load_ownership(root)
    gh = github_api.session(env)
    if every_open:
        numbers = sorted(int(pr["number"]) for pr in gh.pages("/pulls?state=open&base=main")
                         if isinstance(pr, dict) and isinstance(pr.get("number"), int))
        for n in numbers:
            _gate_one(root, gh, own, n)
        return exitcodes.OK
    assert number is not None
    return _gate_one(root, gh, own, number)


def _gate_one(root: Path, gh: github_api.Session, own: ownership.Ownership, number: int) -> int:
    decision = evaluate(gh, own, number)
    if decision.merge:
        decision = valid_on_main(root, gh, decision, number)
    if decision.merge:
        try:
            gh.call("PUT", f"/pulls/{number}/merge", {"sha": decision.head, "merge_method": MERGE_METHOD})
        except github_api.ApiError as e:
            decision = Decision(False, "head-unchanged", f"GitHub refused the merge of {decision.head[:12]} ({e}): "
                                                         "the head moved or it does not merge cleanly; the gate "
                                                         "decides again on its next run", decision.tenant)
    print(f"dataplane merge-gate: {decision.line(number)}", file=sys.stdout if decision.merge else sys.stderr)
    return exitcodes.OK if decision.merge else exitcodes.FAILED


def evaluate(gh: github_api.Session, own: ownership.Ownership, number: int) -> Decision:
    pr = gh.get(f"/pulls/{number}")
    if not isinstance(pr, dict):
        raise github_api.ApiError(f"pull request #{number}: unexpected answer")
    head = str((pr.get("head") or {}).get("sha") or "")
    files = gh.pages(f"/pulls/{number}/files")
    reviews = gh.pages(f"/pulls/{number}/reviews")
    runs = gh.pages(f"/commits/{head}/check-runs?app_id={own.app_id}", "check_runs") if head.isalnum() else []
    return decide(pr, files, reviews, runs, own, gh.member)


def valid_on_main(root: Path, gh: github_api.Session, decision: Decision, number: int) -> Decision:
    """Main may have moved since the check ran: the tenant's files at the head commit, read
    through the API as data, must still validate against main as checked out here (rule
    `valid-on-main`). The checkout is restored either way."""
    assert decision.tenant is not None
    files = [str(f.get("filename")) for f in gh.pages(f"/pulls/{number}/files")]
    saved = {rel: (root / rel).read_bytes() if (root / rel).is_file() else None for rel in files}
    try:
        for rel in files:
            found = gh.get(f"/contents/{quote(rel)}?ref={decision.head}")
            if not isinstance(found, dict) or found.get("type") != "file" or found.get("encoding") != "base64":
                return Decision(False, "valid-on-main", f"{rel} at {decision.head[:12]} is not a file", decision.tenant)
            (root / rel).write_bytes(base64.b64decode(str(found.get("content") or "")))
        problems = validate_repo(load_repo(root, [decision.tenant]))
    except ProblemsError as e:
        problems = e.problems
    finally:
        for rel, data in saved.items():
            if data is None:
                (root / rel).unlink(missing_ok=True)
            else:
                (root / rel).write_bytes(data)
    if problems:
        return Decision(False, "valid-on-main", f"{problems[0].format().splitlines()[0]} (on main as it is now)",
                        decision.tenant)
    return decision
