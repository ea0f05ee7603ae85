"""`dataplane repository-audit`: the GitHub settings the controls rely on, read through the API.

Rulesets on main (pull requests, code owners, the App's required checks, no bypass but the
App) and on platform/* tags, environments restricted to main (with reviewers where a person
approves), Actions' default token read-only and unable to approve, and no team but the
platform's with write access. Each finding is one line naming the setting; exit 1 when any.
Needs a token that may read the repository's administration settings ($GITHUB_TOKEN) and
$GITHUB_REPOSITORY.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from render import exitcodes, ownership
from render.load import list_tenants
from render.workflows import github_api
from render.workflows import repository_audit as audit


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("repository-audit", help="audit the GitHub settings the controls rely on (rulesets, "
                                                "environments, Actions, team access)",
                       description="Read the repository's rulesets, environments, Actions permissions and teams "
                                   "through the GitHub API and list every setting docs/security.md requires that does "
                                   "not hold. Exit 1 when any. Needs $GITHUB_TOKEN (administration: read) and "
                                   "$GITHUB_REPOSITORY.")
    p.set_defaults(run=lambda a: repository_audit(root=a.repo))


def repository_audit(*, root: Path, env: Mapping[str, str] | None = None) -> int:
    own = ownership.load_ownership(root)
    gh = github_api.session(os.environ if env is None else env)
    findings = audit.audit_rulesets([gh.get(f"/rulesets/{int(r['id'])}") for r in gh.pages("/rulesets")
                                     if isinstance(r, dict) and str(r.get("id", "")).isdigit()], own)
    found = {str(e.get("name")): e for e in gh.pages("/environments", "environments") if isinstance(e, dict)}
    for name, reviewers in audit.environments_wanted(list_tenants(root)).items():
        env_data = found.get(name)
        branches = gh.pages(f"/environments/{quote(name, safe='')}/deployment-branch-policies", "branch_policies") \
            if env_data and (env_data.get("deployment_branch_policy") or {}).get("custom_branch_policies") else []
        findings += audit.audit_environment(name, reviewers, env_data, branches)
    findings += audit.audit_actions(gh.get("/actions/permissions/workflow") or {})
    findings += audit.audit_teams(gh.pages("/teams"), own)
    for f in sorted(findings):
        print(f"dataplane repository-audit: {f.line()}")
    if not findings:
        print(f"{gh.repository}: every setting docs/security.md lists holds")
    return exitcodes.FAILED if findings else exitcodes.OK
