"""The repository settings the controls rely on, as data, and their audit. Pure: what the
GitHub API said in, findings out (render/commands/repository_audit.py asks the API).

docs/security.md ("Repository settings") lists the same settings; each finding names the
setting it checks, so a finding is a line of that list that does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from render import ownership

# Environments: name -> whether required reviewers must approve each job. Every one is
# restricted to the branch main (a custom deployment branch policy naming main only).
ENVIRONMENTS = {"automation": False, "platform": True, "release": True, "argocd": False}
TENANT_ENVIRONMENT = "tenant-{tenant}"  # per tenant, reviewers required (its team and the platform)
BRANCH_RULES = ("pull_request", "required_status_checks", "non_fast_forward", "deletion")
TAG_RULES = ("creation", "update", "deletion")
TAG_PREFIX = "refs/tags/platform/"
WRITE = ("push", "maintain", "admin")


@dataclass(frozen=True, order=True)
class Finding:
    setting: str
    message: str

    def line(self) -> str:
        return f"{self.setting}: {self.message}"


def environments_wanted(tenants: list[str]) -> dict[str, bool]:
    return {**ENVIRONMENTS, **{TENANT_ENVIRONMENT.format(tenant=t): True for t in sorted(tenants)}}


def audit_environment(name: str, reviewers: bool, env: dict[str, Any] | None,
                      branches: list[dict[str, Any]]) -> list[Finding]:
    where = f"environment {name}"
    if env is None:
        return [Finding(where, "missing (GitHub would create it unprotected the first time a workflow names it)")]
    out = []
    policy = env.get("deployment_branch_policy") or {}
    names = sorted(str(b.get("name")) for b in branches if b.get("type", "branch") == "branch")
    if not policy.get("custom_branch_policies") or policy.get("protected_branches") or names != ["main"]:
        out.append(Finding(where, f"not restricted to main (deployment branches: {names or policy or 'any'})"))
    rules = [r.get("type") for r in env.get("protection_rules") or []]
    if reviewers and "required_reviewers" not in rules:
        out.append(Finding(where, "no required reviewers"))
    return out


def _bypass(ruleset: dict[str, Any], app_id: int, where: str) -> list[Finding]:
    return [Finding(where, f"bypass granted to {b.get('actor_type')} {b.get('actor_id')}: only the App "
                           f"(Integration {app_id}) may bypass")
            for b in ruleset.get("bypass_actors") or []
            if not (b.get("actor_type") == "Integration" and b.get("actor_id") == app_id)]


def _includes(ruleset: dict[str, Any]) -> list[str]:
    return [str(p) for p in ((ruleset.get("conditions") or {}).get("ref_name") or {}).get("include") or []]


def _rules(ruleset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(r.get("type")): (r.get("parameters") or {}) for r in ruleset.get("rules") or []}


def audit_rulesets(rulesets: list[dict[str, Any]], own: ownership.Ownership) -> list[Finding]:
    active = [r for r in rulesets if r.get("enforcement") == "active"]
    main = [r for r in active if r.get("target") == "branch"
            and {"~DEFAULT_BRANCH", "refs/heads/main", "~ALL"} & set(_includes(r))]
    tags = [r for r in active if r.get("target") == "tag" and any(p.startswith(TAG_PREFIX) or p == "~ALL"
                                                                    for p in _includes(r))]
    out = []
    if not main:
        out.append(Finding("ruleset on main", "no active branch ruleset covers main"))
    for r in main:
        where, rules = f"ruleset {r.get('name')!r} on main", _rules(r)
        out += [Finding(where, f"rule {t} missing") for t in BRANCH_RULES if t not in rules]
        pr = rules.get("pull_request", {})
        if "pull_request" in rules and not (pr.get("require_code_owner_review") and pr.get("dismiss_stale_reviews_on_push")
                                            and int(pr.get("required_approving_review_count") or 0) >= 1):
            out.append(Finding(where, "pull requests must need one approval, code owners' review, and lose "
                                      "approvals on a new push"))
        checks = {(c.get("context"), c.get("integration_id"))
                  for c in rules.get("required_status_checks", {}).get("required_status_checks") or []}
        out += [Finding(where, f"required check {name!r} is not required from the App (integration {own.app_id})")
                for name in own.required_checks if "required_status_checks" in rules and (name, own.app_id) not in checks]
        out += _bypass(r, own.app_id, where)
    if not tags:
        out.append(Finding("ruleset on platform tags", f"no active tag ruleset covers {TAG_PREFIX}*"))
    for r in tags:
        where, rules = f"ruleset {r.get('name')!r} on tags", _rules(r)
        out += [Finding(where, f"rule {t} missing") for t in TAG_RULES if t not in rules]
        out += _bypass(r, own.app_id, where)
    return out


def audit_actions(permissions: dict[str, Any]) -> list[Finding]:
    out = []
    if permissions.get("default_workflow_permissions") != "read":
        out.append(Finding("actions", "the default GITHUB_TOKEN must be read-only"))
    if permissions.get("can_approve_pull_request_reviews"):
        out.append(Finding("actions", "GITHUB_TOKEN may approve pull requests: a workflow could approve its own"))
    return out


def audit_teams(teams: list[dict[str, Any]], own: ownership.Ownership) -> list[Finding]:
    """No team but the platform's writes the repository: tenants open pull requests from forks."""
    platform = own.platform_team.split("/", 1)[1]
    return [Finding(f"team {t.get('slug')}", f"has {t.get('permission')} access: only {own.platform_team} may "
                                             "write; tenant teams need read (or triage)")
            for t in teams if t.get("slug") != platform and t.get("permission") in WRITE]
