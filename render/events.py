"""Workflow inputs and GitHub event payloads, validated before anything uses them.

Tenant names, fork repositories and refs come from people who may be hostile: each is
checked against a strict ASCII pattern here, and only a checked value reaches git, a
file path or a log line. Pure: a payload dict in, a frozen dataclass (or Problems) out.
"""

from __future__ import annotations

import re
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


def tenant_name(value: Any, pointer: str = "tenant") -> str:
    """A tenant name: a DNS-1123 label (ASCII only, so look-alike letters are refused)."""
    name = _text(value, pointer)
    if not layout.DNS1123_LABEL.fullmatch(name) or len(name) > layout.TENANT_NAME_MAX:
        raise _bad(pointer, f"{name!r} is not a tenant name",
                   f"a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters: a-z, 0-9 and '-'")
    return name


def repository(value: Any, pointer: str = "repository") -> str:
    """owner/name of a GitHub repository."""
    repo = _text(value, pointer)
    if not REPOSITORY.fullmatch(repo) or repo.split("/")[1] in (".", ".."):
        raise _bad(pointer, f"{repo!r} is not a GitHub repository", "write owner/name, e.g. acme-corp/engine")
    return repo


DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def digest(value: Any, pointer: str = "digest") -> str:
    text = _text(value, pointer)
    if not DIGEST.fullmatch(text):
        raise _bad(pointer, f"{text!r} is not an image digest", "sha256: and 64 hexadecimal digits")
    return text


def git_ref(value: Any, pointer: str = "ref") -> str:
    """A branch, tag or commit id; refuses what git or a shell could misread."""
    ref = _text(value, pointer)
    bad = (not REF.fullmatch(ref) or ".." in ref or "//" in ref or "/." in ref or "@{" in ref
           or ref.endswith((".lock", "/", ".")))
    if bad:
        raise _bad(pointer, f"{ref!r} is not a branch, tag or commit id", "e.g. main, v1.2.0 or a 40-character commit id")
    return ref


def commit(value: Any, pointer: str = "commit") -> str:
    sha = _text(value, pointer)
    if not COMMIT.fullmatch(sha):
        raise _bad(pointer, f"{sha!r} is not a full commit id", "40 lower-case hex characters")
    return sha


def version(value: Any, pointer: str = "version") -> str:
    text = _text(value, pointer)
    if not VERSION.fullmatch(text):
        raise _bad(pointer, f"{text!r} is not a platform version", "e.g. 2026.12.1")
    return text


def image_tag(value: Any, pointer: str = "tag") -> str:
    tag = _text(value, pointer)
    if not TAG.fullmatch(tag) or tag.startswith("tenant-"):
        raise _bad(pointer, f"{tag!r} is not a platform image tag",
                   "a Docker tag such as 2026.12.1; tenant-* tags are fork images")
    return tag


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
    ref: str
    actor: str | None = None  # who dispatched (the payload's sender; never an input)


ACTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(\[bot\])?")


def fork_deploy(payload: dict[str, Any]) -> ForkDeploy:
    values = payload.get("inputs") or {}
    sender = (payload.get("sender") or {}).get("login")
    actor = _text(sender, "sender.login") if sender is not None else None
    if actor is not None and not ACTOR.fullmatch(actor):
        raise _bad("sender.login", f"{actor!r} is not a GitHub login", "")
    return ForkDeploy(tenant_name(values.get("tenant")), repository(values.get("repository")), git_ref(values.get("ref")),
                      actor)


def config_deploy(payload: dict[str, Any]) -> str:
    return tenant_name((payload.get("inputs") or {}).get("tenant"))


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
