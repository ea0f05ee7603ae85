"""Workflow inputs and GitHub event payloads, validated before anything uses them.

Tenant names, fork repositories and refs come from people who may be hostile: each is
checked against a strict ASCII pattern here, and only a checked value reaches git, a
file path or a log line. Pure: a payload dict in, a frozen dataclass (or Problems) out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from render import layout
from render.problems import Problem, ProblemsError

INPUTS = "workflow inputs"
REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def _bad(pointer: str, message: str, hint: str) -> ProblemsError:
    return ProblemsError([Problem(INPUTS, 1, 1, pointer, message, hint)])


def _text(value: Any, pointer: str) -> str:
    if not isinstance(value, str):
        raise _bad(pointer, f"expected a string, got {type(value).__name__}", "")
    return value


def _matching(value: Any, pointer: str, pattern: re.Pattern[str], what: str, hint: str,
              refuse: Callable[[str], bool] = lambda _: False) -> str:
    """`value` itself when it is a string `pattern` matches whole and `refuse` accepts."""
    text = _text(value, pointer)
    if not pattern.fullmatch(text) or refuse(text):
        raise _bad(pointer, f"{text!r} is not {what}", hint)
    return text


def tenant_name(value: Any, pointer: str = "tenant") -> str:
    """A tenant name: a DNS-1123 label (ASCII only, so look-alike letters are refused)."""
    return _matching(value, pointer, layout.DNS1123_LABEL, "a tenant name",
                     f"a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters: a-z, 0-9 and '-'",
                     lambda name: len(name) > layout.TENANT_NAME_MAX)


def repository(value: Any, pointer: str = "repository") -> str:
    """owner/name of a GitHub repository."""
    return _matching(value, pointer, REPOSITORY, "a GitHub repository", "write owner/name, e.g. acme-corp/engine",
                     lambda repo: repo.split("/")[1] in (".", ".."))


DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def digest(value: Any, pointer: str = "digest") -> str:
    return _matching(value, pointer, DIGEST, "an image digest", "sha256: and 64 hexadecimal digits")


def _misread_ref(ref: str) -> bool:
    """What git or a shell could misread, though REF allows its characters."""
    return ".." in ref or "//" in ref or "/." in ref or "@{" in ref or ref.endswith((".lock", "/", "."))


def git_ref(value: Any, pointer: str = "ref") -> str:
    """A branch, tag or commit id; refuses what git or a shell could misread."""
    return _matching(value, pointer, REF, "a branch, tag or commit id", "e.g. main, v1.2.0 or a 40-character commit id",
                     _misread_ref)


def commit(value: Any, pointer: str = "commit") -> str:
    return _matching(value, pointer, COMMIT, "a full commit id", "40 lower-case hex characters")


def version(value: Any, pointer: str = "version") -> str:
    return _matching(value, pointer, VERSION, "a platform version", "e.g. 2026.12.1")


def image_tag(value: Any, pointer: str = "tag") -> str:
    return _matching(value, pointer, TAG, "a platform image tag",
                     "a Docker tag such as 2026.12.1; tenant-* tags are fork images",
                     lambda tag: tag.startswith("tenant-"))


@dataclass(frozen=True)
class PlatformUpdate:
    """A new engine image (version + tag), or a merge that changed base/ or registry/."""

    version: str | None
    tag: str | None


def platform_update(event_name: str, payload: dict[str, Any]) -> PlatformUpdate:
    if event_name == "push":
        return PlatformUpdate(None, None)
    if event_name == "repository_dispatch":
        values = payload.get("client_payload") or {}
    elif event_name == "workflow_dispatch":
        values = payload.get("inputs") or {}
    else:
        raise _bad("event", f"a platform update does not run on {event_name!r}", "push, repository_dispatch or workflow_dispatch")
    if not isinstance(values, dict):
        raise _bad("client_payload", "expected a mapping", "")
    v = version(values.get("version"))
    return PlatformUpdate(v, image_tag(values.get("tag") or v))


@dataclass(frozen=True)
class ForkDeploy:
    tenant: str
    repository: str
    ref: str  # a branch or tag of the fork (never a pull request's ref, never a bare commit id)


BARE_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


def fork_ref(value: Any, pointer: str = "ref") -> str:
    """A branch or tag name of the fork. A commit id names no branch of the fork (GitHub
    serves any commit of the fork network through any fork), and refs/pull/* is a pull
    request's code: both are refused (rule fork-ref)."""
    ref = git_ref(value, pointer)
    if BARE_SHA.fullmatch(ref) or (ref.startswith("refs/") and not ref.startswith(("refs/heads/", "refs/tags/"))):
        raise _bad(pointer, f"refused by rule fork-ref: {ref!r} is not a branch or tag of the fork",
                   "name a branch or tag of the declared fork (a commit id or refs/pull/* is refused)")
    return ref


# A deploy requested in a comment, by someone with read or triage access (tenants never need
# write access, which workflow_dispatch requires): the first line of an issue comment.
COMMANDS = {"/deploy-config": ("tenant",), "/deploy-fork": ("tenant", "repository", "ref")}


def request(payload: dict[str, Any], command: str) -> dict[str, Any]:
    """A dispatch's inputs: the workflow_dispatch `inputs`, or the words of an issue comment
    `/deploy-config TENANT` / `/deploy-fork TENANT OWNER/NAME REF` (each word is then checked
    like an input). The comment's author is the run's triggering actor (authority.py)."""
    comment = payload.get("comment")
    if not isinstance(comment, dict):
        return dict(payload.get("inputs") or {})
    body = comment.get("body")
    words = (body if isinstance(body, str) else "").split("\n", 1)[0].split()
    names = COMMANDS[command]
    if not words or words[0] != command or len(words) != len(names) + 1:
        raise _bad("comment.body", f"the comment is not `{command} {' '.join(n.upper() for n in names)}`",
                   f"write the request on the comment's first line, e.g. {command} "
                   + " ".join({"tenant": "acme", "repository": "acme-corp/engine", "ref": "main"}[n] for n in names))
    return dict(zip(names, words[1:], strict=True))


def fork_deploy(payload: dict[str, Any]) -> ForkDeploy:
    values = request(payload, "/deploy-fork")
    return ForkDeploy(tenant_name(values.get("tenant")), repository(values.get("repository")),
                      fork_ref(values.get("ref")))


def config_deploy(payload: dict[str, Any]) -> str:
    return tenant_name(request(payload, "/deploy-config").get("tenant"))


@dataclass(frozen=True)
class PullRequest:
    number: int
    base: str  # commit id of the base branch
    same_repository: bool  # False for a fork's pull request: its token cannot comment


def pull_request(payload: dict[str, Any]) -> PullRequest:
    pr = payload.get("pull_request") or {}
    number = pr.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise _bad("pull_request.number", "missing", "")
    head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    this_repo = (payload.get("repository") or {}).get("full_name")
    return PullRequest(number, commit((pr.get("base") or {}).get("sha"), "pull_request.base.sha"),
                       head_repo is not None and head_repo == this_repo)
