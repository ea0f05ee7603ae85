"""A stand-in for the parts of GitHub's REST API the workflows call, served on 127.0.0.1
by tests/http_standin.py: team memberships, a fork's refs, pull requests (files, reviews,
check runs, merge), check runs created by the App, rulesets and environments.

State is plain data a test fills in; every request is recorded, so a test can assert
what was (and what was not) called, e.g. that no merge was attempted.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.http_standin import serve_json

ORG = "dataplane-platform"
REPO = "dataplane-platform/dataplane"
APP_ID = 424242


@dataclass
class GitHub:
    members: set[tuple[str, str]] = field(default_factory=set)  # (team slug, login)
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)  # "owner/name heads/main" -> object
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by commit sha
    rulesets: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by environment
    actions: dict[str, Any] = field(default_factory=dict)  # /actions/permissions/workflow
    teams: list[dict[str, Any]] = field(default_factory=list)  # the repository's teams and their access
    calls: list[tuple[str, str]] = field(default_factory=list)
    merged: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    moved_to: str | None = None  # a push lands between the gate's reads and its merge
    contents: dict[str, bytes] = field(default_factory=dict)  # path -> bytes at every ref

    def member(self, team: str, *logins: str) -> None:
        self.members |= {(team, login) for login in logins}

    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        self.calls.append((method, path))
        parts = path.split("?")[0].strip("/").split("/")
        data = json.loads(body) if body else None
        try:
            return self._route(method, parts, data)
        except (KeyError, IndexError, ValueError):
            return 404, {"message": "Not Found"}

    def _route(self, method: str, p: list[str], data: Any) -> tuple[int, Any]:
        if p[:1] == ["orgs"] and p[2] == "teams" and p[4] == "memberships":
            ok = (p[3], p[5]) in self.members
            return (200, {"state": "active", "role": "member"}) if ok else (404, {"message": "Not Found"})
        repo = "/".join(p[1:3])
        rest = p[3:]
        if rest[:1] == ["contents"]:
            data = self.contents["/".join(rest[1:])]
            return 200, {"type": "file", "encoding": "base64", "content": base64.b64encode(data).decode()}
        if rest[:2] == ["git", "ref"]:
            return 200, self.refs[f"{repo} {'/'.join(rest[2:])}"]
        if rest == ["pulls"] and repo == REPO:
            return 200, [pr for pr in self.pulls.values() if pr.get("state") == "open"]
        if rest[:1] == ["pulls"] and repo == REPO:
            return self._pull(method, int(rest[1]), rest[2:], data)
        if rest[:1] == ["commits"] and rest[2] == "check-runs":
            runs = self.check_runs.get(rest[1], [])
            return 200, {"total_count": len(runs), "check_runs": runs}
        if rest == ["check-runs"] and method == "POST":
            run = {**data, "id": len(self.calls), "app": {"id": APP_ID, "slug": "dataplane-automation"}}
            self.check_runs.setdefault(data["head_sha"], []).append(run)
            return 201, run
        if rest[:1] == ["rulesets"]:
            if len(rest) == 1:
                return 200, [{k: r[k] for k in ("id", "name", "target", "enforcement")} for r in self.rulesets]
            return 200, next(r for r in self.rulesets if r["id"] == int(rest[1]))
        if rest == ["environments"]:
            return 200, {"total_count": len(self.environments), "environments": self.environments}
        if rest[:1] == ["environments"] and rest[2:] == ["deployment-branch-policies"]:
            found = self.branch_policies.get(rest[1], [])
            return 200, {"total_count": len(found), "branch_policies": found}
        if rest == ["actions", "permissions", "workflow"]:
            return 200, self.actions
        if rest == ["teams"]:
            return 200, self.teams
        raise KeyError(rest)

    def _pull(self, method: str, number: int, rest: list[str], data: Any) -> tuple[int, Any]:
        pr = self.pulls[number]
        if not rest:
            return 200, pr
        if rest == ["files"]:
            return 200, self.files.get(number, [])
        if rest == ["reviews"]:
            return 200, self.reviews.get(number, [])
        if rest == ["merge"] and method == "PUT":
            if data.get("sha") != (self.moved_to or pr["head"]["sha"]):
                return 409, {"message": "Head branch was modified. Review and try the merge again."}
            self.merged.append((number, data))
            return 200, {"merged": True, "sha": "f" * 40}
        raise KeyError(rest)


@contextlib.contextmanager
def serve(github: GitHub, monkeypatch: pytest.MonkeyPatch, token: str = "t0ken") -> Iterator[str]:
    """Serve `github`; point the engine at it (GITHUB_API_URL) with a token."""
    with serve_json(github.answer) as url:
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("DATAPLANE_TEAMS_TOKEN", token)
        monkeypatch.setenv("GITHUB_TOKEN", token)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        yield url


def in_workflow(monkeypatch: pytest.MonkeyPatch, event: str, actor: str, *, triggering: str | None = None,
                ref: str = "refs/heads/main") -> None:
    """The variables GitHub Actions sets for a run of `event` started by `actor`."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    monkeypatch.setenv("GITHUB_REF", ref)
    monkeypatch.setenv("GITHUB_ACTOR", actor)
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", triggering or actor)
