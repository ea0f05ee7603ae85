"""The GitHub API calls the workflows need: the pull-request comment, team membership,
and what the merge gate and the repository audit read (pages of a listing).

Plain urllib against $GITHUB_API_URL, so tests run it against a local HTTP server.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from render.problems import UserError

BOT_LOGIN = "github-actions[bot]"


class ApiError(UserError):
    pass


def _call(api: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        api.rstrip("/") + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                 "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json"})
    try:
        # The URL is the runner's GitHub API (https), never one read from the checkout.
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        raise ApiError(f"{method} {path}: HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise ApiError(f"{method} {path}: {e.reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise ApiError(f"{method} {path}: {e}") from None


def get(api: str, token: str, path: str) -> Any:
    return _call(api, token, "GET", path)


def call(api: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return _call(api, token, method, path, body)


def pages(api: str, token: str, path: str, key: str | None = None, limit: int = 30) -> list[Any]:
    """Every item of a paged listing (`key`: the answer's list under that key, as check runs
    come), at most `limit` pages of 100."""
    items: list[Any] = []
    sep = "&" if "?" in path else "?"
    for page in range(1, limit + 1):
        answer = _call(api, token, "GET", f"{path}{sep}per_page=100&page={page}")
        batch = answer.get(key) if key and isinstance(answer, dict) else answer
        if not isinstance(batch, list):
            raise ApiError(f"GET {path}: expected a list")
        items += batch
        if len(batch) < 100:
            break
    return items


def upsert_comment(api: str, token: str, repository: str, number: int, body: str, marker: str) -> str:
    """Update our comment carrying `marker` on pull request `number`, or create it.
    Only a comment written by the workflow's own bot is ever edited."""
    page = 1
    while True:
        comments = _call(api, token, "GET", f"/repos/{repository}/issues/{number}/comments?per_page=100&page={page}")
        for c in comments or []:
            if marker in (c.get("body") or "") and (c.get("user") or {}).get("login") == BOT_LOGIN:
                _call(api, token, "PATCH", f"/repos/{repository}/issues/comments/{c['id']}", {"body": body})
                return "updated"
        if not comments or len(comments) < 100:
            break
        page += 1
    _call(api, token, "POST", f"/repos/{repository}/issues/{number}/comments", {"body": body})
    return "created"


def team_member(api: str, token: str, team: str, login: str) -> bool:
    """True when `login` is an active member of `team` (@org/slug). A 404 means no.
    The token needs read access to the organization's teams (GITHUB_TOKEN has none)."""
    org, slug = team.removeprefix("@").split("/", 1)
    try:
        found = _call(api, token, "GET", f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/memberships/{quote(login, safe='')}")
    except ApiError as e:
        if "HTTP 404" in str(e):
            return False
        raise
    return isinstance(found, dict) and found.get("state") == "active"


def set_status(api: str, token: str, repository: str, sha: str, state: str, context: str, description: str,
               target_url: str = "") -> None:
    """A commit status (pending, success, failure or error) on `sha`, under `context`."""
    body = {"state": state, "context": context, "description": description[:140]}
    if target_url:
        body["target_url"] = target_url
    _call(api, token, "POST", f"/repos/{repository}/statuses/{sha}", body)


@dataclass(frozen=True)
class Session:
    """Where and as whom the automation talks to GitHub: $GITHUB_API_URL, $GITHUB_TOKEN (in the
    workflows, the App's installation token) and $GITHUB_REPOSITORY (owner/name)."""

    api: str
    token: str
    repository: str
    teams_token: str  # $DATAPLANE_TEAMS_TOKEN, else the App's token (which may read members)

    def get(self, path: str) -> Any:
        return _call(self.api, self.token, "GET", f"/repos/{self.repository}{path}")

    def pages(self, path: str, key: str | None = None) -> list[Any]:
        return pages(self.api, self.token, f"/repos/{self.repository}{path}", key)

    def call(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return _call(self.api, self.token, method, f"/repos/{self.repository}{path}", body)

    def member(self, team: str, login: str) -> bool:
        return team_member(self.api, self.teams_token, team, login)


REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")


def session(env: Mapping[str, str]) -> Session:
    token, repository = env.get("GITHUB_TOKEN", ""), env.get("GITHUB_REPOSITORY", "")
    if not token:
        raise ApiError("$GITHUB_TOKEN is not set (in the workflows: the automation App's installation token)")
    if not REPOSITORY.fullmatch(repository) or repository.split("/")[1] in (".", ".."):
        raise ApiError(f"$GITHUB_REPOSITORY is {repository!r}, not owner/name")
    return Session(env.get("GITHUB_API_URL", "https://api.github.com"), token, repository,
                   env.get("DATAPLANE_TEAMS_TOKEN") or token)
