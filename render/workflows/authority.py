"""Who may dispatch what: one check, called at the top of every command a workflow runs.

Inside GitHub Actions (`GITHUB_ACTIONS=true`) the run is described by GitHub's own
variables, never by the event payload: `GITHUB_EVENT_NAME`, `GITHUB_REF` and the people
who started it, `GITHUB_TRIGGERING_ACTOR` (who started this attempt, a re-run included)
and `GITHUB_ACTOR`. Every one of them must hold the right: a re-run by a member of a
non-member's dispatch is refused, and so is a member's re-run of it.

Rules, by name (docs/security.md, "Who may do what", cites them):

- `main-only`: a command that writes main runs from a workflow on `refs/heads/main`.
- `platform-dispatch`: platform-update, rollout advance/rollback (and so the superseding
  of a rollout) by hand are dispatched by an active member of the platform team.
- `tenant-dispatch`: a config deploy of TENANT by a member of TENANT's team or the
  platform team; a fork deploy of TENANT by a member of TENANT's team.
- `automatic-event`: the events that start a command without a person (a push to main,
  the schedule) are the only ones accepted without a membership check, and only for the
  commands that run on them; the merge gate, the pull-request check and the rendering of
  main decide from the repository and the API alone, so anyone's dispatch starts them.
- `membership-unverifiable`: no token to ask GitHub, or GitHub did not answer: refused.

Outside GitHub Actions the command is run by a person with their own credentials; what
they can push is bounded by the repository's rulesets (docs/security.md), so no check here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from render import ownership
from render.problems import UserError
from render.workflows import github_api

PLATFORM_UPDATE, ROLLOUT_ADVANCE, ROLLOUT_ROLLBACK = "platform-update", "rollout advance", "rollout rollback"
CONFIG_DEPLOY, FORK_DEPLOY = "config-deploy", "fork-deploy"
MERGE_GATE, VERIFY_PR, GENERATE = "merge-gate", "verify-pr", "generate"
MAIN = "refs/heads/main"
TEAMS_TOKEN_ENV = "DATAPLANE_TEAMS_TOKEN"  # reads the organization's teams; GITHUB_TOKEN cannot
# The events by which a person requests each action (issue_comment: a tenant, who has no
# write access and so cannot dispatch a workflow, asks in a comment).
DISPATCH_EVENTS: dict[str, tuple[str, ...]] = {
    PLATFORM_UPDATE: ("workflow_dispatch", "repository_dispatch"), ROLLOUT_ADVANCE: ("workflow_dispatch",),
    ROLLOUT_ROLLBACK: ("workflow_dispatch",), CONFIG_DEPLOY: ("workflow_dispatch", "issue_comment"),
    FORK_DEPLOY: ("workflow_dispatch", "issue_comment"),
}
# The events each command may run on without a person's dispatch.
AUTOMATIC: dict[str, tuple[str, ...]] = {
    PLATFORM_UPDATE: ("push",), ROLLOUT_ADVANCE: ("schedule",), ROLLOUT_ROLLBACK: (),
    CONFIG_DEPLOY: (), FORK_DEPLOY: (),
    # Whoever starts them, these decide from the repository and the API alone.
    MERGE_GATE: ("schedule", "workflow_dispatch", "pull_request_target"),
    VERIFY_PR: ("workflow_dispatch", "pull_request_target"),
    GENERATE: ("push", "workflow_dispatch"),
}
COMMIT = re.compile(r"[0-9a-f]{40}")
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?")
DOC = "docs/security.md, Who may do what"


class Refused(UserError):
    """A request the rules refuse: one line naming the rule; nothing is written."""

    file = ".github/workflows"

    def __init__(self, rule: str, message: str, hint: str = "") -> None:
        super().__init__(f"refused by rule {rule}: {message}")
        self.rule = rule
        self.hint = hint or f"see {DOC}"


@dataclass(frozen=True)
class Run:
    """The workflow run a command executes in, as GitHub describes it."""

    event: str
    ref: str
    actors: tuple[str, ...]  # the triggering actor first, then the actor when another login
    api: str
    token: str


def current_run(env: Mapping[str, str]) -> Run | None:
    """The run from GitHub's variables; None outside GitHub Actions."""
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    triggering, actor = env.get("GITHUB_TRIGGERING_ACTOR") or env.get("GITHUB_ACTOR", ""), env.get("GITHUB_ACTOR", "")
    actors = tuple(dict.fromkeys(a for a in (triggering, actor) if a))
    return Run(env.get("GITHUB_EVENT_NAME", ""), env.get("GITHUB_REF", ""), actors,
               env.get("GITHUB_API_URL", "https://api.github.com"), env.get(TEAMS_TOKEN_ENV, ""))


def teams_for(action: str, platform_team: str, tenant_team: str | None) -> tuple[str, ...]:
    """The teams whose members may dispatch `action` (of a tenant, for the deploys)."""
    if action == FORK_DEPLOY:
        return (tenant_team,) if tenant_team else ()
    if action == CONFIG_DEPLOY:
        return tuple(t for t in (tenant_team, platform_team) if t)
    return (platform_team,)


def authorize(run: Run | None, action: str, *, platform_team: str, tenant_team: str | None = None) -> None:
    """Return when `run` may perform `action`; raise Refused (naming the rule) otherwise."""
    if run is None:
        return
    if run.ref != MAIN:
        raise Refused("main-only", f"{action} runs only from a workflow on main, not {run.ref or 'an unknown ref'}")
    if run.event in AUTOMATIC[action]:
        return
    if run.event not in DISPATCH_EVENTS.get(action, ()):
        raise Refused("automatic-event", f"{action} does not run on the event {run.event or 'unknown'}",
                      f"it runs on {', '.join(AUTOMATIC[action] + DISPATCH_EVENTS.get(action, ()))}")
    teams = teams_for(action, platform_team, tenant_team)
    rule = "platform-dispatch" if teams == (platform_team,) else "tenant-dispatch"
    if not run.actors:
        raise Refused(rule, f"{action}: the run names no triggering actor")
    for login in run.actors:
        if not LOGIN.fullmatch(login):
            raise Refused(rule, f"{login!r} is not a GitHub login")
        if not any(_member(run, team, login) for team in teams):
            raise Refused(rule, f"{login} is not an active member of {' or '.join(teams)}, who may dispatch {action}")


def _member(run: Run, team: str, login: str) -> bool:
    if not run.token:
        raise Refused("membership-unverifiable", f"cannot check {login}'s membership of {team}: ${TEAMS_TOKEN_ENV} "
                                                 "is not set", f"the job's environment holds it; see {DOC}")
    try:
        return github_api.team_member(run.api, run.token, team, login)
    except github_api.ApiError as e:
        raise Refused("membership-unverifiable", f"cannot check {login}'s membership of {team}: {e}") from None


def require(root: Path, action: str, tenant: str | None = None, env: Mapping[str, str] | None = None) -> None:
    """The check every dispatched command makes first: the run from the environment, the
    teams from registry/ownership.yaml (main's: the workflows check out main)."""
    run = current_run(os.environ if env is None else env)
    if run is None:
        return
    own = ownership.load_ownership(root)
    authorize(run, action, platform_team=own.platform_team, tenant_team=own.team_of(tenant) if tenant else None)


def bind_fork_ref(run: Run | None, repository: str, ref: str) -> str | None:
    """The commit that branch or tag `ref` of `repository` names now, read from GitHub, so
    the build checks out exactly that (rule fork-ref). None outside GitHub Actions."""
    if run is None:
        return None
    repo, name = repository, ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    kinds = [k for k in ("heads", "tags") if not ref.startswith("refs/") or ref.startswith(f"refs/{k}/")]
    for kind in kinds:
        try:
            found = github_api.get(run.api, run.token, f"/repos/{repo}/git/ref/{kind}/{quote(name, safe='/')}")
        except github_api.ApiError as e:
            if "HTTP 404" in str(e):
                continue
            raise Refused("fork-ref", f"cannot read {ref} of {repository}: {e}") from None
        obj = found.get("object") if isinstance(found, dict) else None
        if isinstance(obj, dict) and obj.get("type") == "tag":  # an annotated tag: its commit
            obj = (github_api.get(run.api, run.token, f"/repos/{repo}/git/tags/{obj.get('sha')}") or {}).get("object")
        sha = obj.get("sha") if isinstance(obj, dict) else None
        if isinstance(sha, str) and COMMIT.fullmatch(sha):
            return sha
    raise Refused("fork-ref", f"{ref} is neither a branch nor a tag of {repository}",
                  "push the branch or tag to the declared fork, then dispatch again")
