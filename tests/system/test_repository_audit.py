"""`dataplane repository-audit`: the settings docs/security.md lists, read from a stand-in
GitHub API. A repository configured as documented passes; each weakening an attacker
would need (a writer's bypass, a check any token can report, an environment reachable
from a branch, a tenant team with write access) is named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from render.load import list_tenants
from tests.flow_repo import dataplane
from tests.github_standin import APP_ID, GitHub, serve
from tests.support import ROOT, copy_repo

APP = {"actor_type": "Integration", "actor_id": APP_ID, "bypass_mode": "always"}


def _documented() -> GitHub:
    gh = GitHub()
    gh.rulesets = [
        {"id": 1, "name": "main", "target": "branch", "enforcement": "active", "bypass_actors": [APP],
         "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
         "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1,
                                                           "require_code_owner_review": True,
                                                           "dismiss_stale_reviews_on_push": True}},
                   {"type": "required_status_checks", "parameters": {"required_status_checks": [
                       {"context": "dataplane / verify", "integration_id": APP_ID}]}},
                   {"type": "non_fast_forward"}, {"type": "deletion"}]},
        {"id": 2, "name": "platform tags", "target": "tag", "enforcement": "active", "bypass_actors": [APP],
         "conditions": {"ref_name": {"include": ["refs/tags/platform/**/*"], "exclude": []}},
         "rules": [{"type": "creation"}, {"type": "update"}, {"type": "deletion"}]},
    ]
    names = {"automation": False, "platform": True, "release": True, "argocd": False,
             **{f"tenant-{t}": True for t in list_tenants(ROOT)}}
    gh.environments = [{"name": n, "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
                        "protection_rules": [{"type": "required_reviewers"}] if r else []} for n, r in names.items()]
    gh.branch_policies = {n: [{"name": "main", "type": "branch"}] for n in names}
    gh.actions = {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False}
    gh.teams = [{"slug": "platform", "permission": "maintain"}, {"slug": "tenant-acme", "permission": "triage"},
                {"slug": "tenant-globex", "permission": "pull"}]
    return gh


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def _audit(root: Path, gh: GitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with serve(gh, monkeypatch):
        capsys.readouterr()
        code = dataplane(root, "repository-audit")
    return code, capsys.readouterr().out


def test_the_documented_settings_pass(root: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _audit(root, _documented(), monkeypatch, capsys)
    assert code == 0 and "every setting docs/security.md lists holds" in out


def _ruleset(gh: GitHub, i: int) -> dict[str, Any]:
    return gh.rulesets[i]


def _env(gh: GitHub, name: str) -> dict[str, Any]:
    return next(e for e in gh.environments if e["name"] == name)


WEAKENINGS: list[tuple[str, Callable[[GitHub], None], str]] = [
    ("writers bypass main", lambda gh: _ruleset(gh, 0)["bypass_actors"].append(
        {"actor_type": "RepositoryRole", "actor_id": 4}), "bypass granted to RepositoryRole 4"),
    ("any token reports the check", lambda gh: _ruleset(gh, 0)["rules"][1]["parameters"]["required_status_checks"][0]
     .pop("integration_id"), "is not required from the App"),
    ("no code owner review", lambda gh: _ruleset(gh, 0)["rules"][0]["parameters"].update(require_code_owner_review=False),
     "code owners' review"),
    ("main ruleset only evaluated", lambda gh: _ruleset(gh, 0).update(enforcement="evaluate"),
     "no active branch ruleset covers main"),
    ("tags unprotected", lambda gh: gh.rulesets.pop(1), "no active tag ruleset covers refs/tags/platform/*"),
    ("writers create tags", lambda gh: _ruleset(gh, 1)["bypass_actors"].append({"actor_type": "Team", "actor_id": 9}),
     "bypass granted to Team 9"),
    ("argocd from any branch", lambda gh: _env(gh, "argocd").update(
        deployment_branch_policy=None), "environment argocd: not restricted to main"),
    ("automation from a branch", lambda gh: gh.branch_policies["automation"].append({"name": "dev/*", "type": "branch"}),
     "environment automation: not restricted to main"),
    ("release without reviewers", lambda gh: _env(gh, "release").update(protection_rules=[]),
     "environment release: no required reviewers"),
    ("a tenant environment missing", lambda gh: gh.environments.remove(_env(gh, "tenant-acme")),
     "environment tenant-acme: missing"),
    ("write token by default", lambda gh: gh.actions.update(default_workflow_permissions="write"),
     "the default GITHUB_TOKEN must be read-only"),
    ("GITHUB_TOKEN approves", lambda gh: gh.actions.update(can_approve_pull_request_reviews=True),
     "GITHUB_TOKEN may approve pull requests"),
    ("a tenant team writes", lambda gh: gh.teams[1].update(permission="push"), "team tenant-acme: has push access"),
]


@pytest.mark.parametrize("weaken, expected", [(w, e) for _, w, e in WEAKENINGS], ids=[n for n, _, _ in WEAKENINGS])
def test_each_weakening_is_named(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                 weaken: Callable[[GitHub], None], expected: str) -> None:
    gh = copy.deepcopy(_documented())
    weaken(gh)
    code, out = _audit(root, gh, monkeypatch, capsys)
    assert code == 1 and expected in out, out
    assert all(line.startswith("dataplane repository-audit: ") for line in out.strip().splitlines())

