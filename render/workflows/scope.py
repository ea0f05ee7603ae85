"""Which files a single-tenant deploy may change, enforced on the paths it stages.

A fork or config deploy of tenant X may touch X's release.yaml, rendered/X/,
argocd/tenants/X/ and control-plane/routing/X/, and nothing else. The check runs on the exact paths git is about
to commit, so no template, input or bug can widen a deploy to another tenant. Pure.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from render import layout
from render.problems import Problem
from render.workflows import events

STAGED = "staged changes"


def allowed(tenant: str, *, release: bool) -> tuple[list[str], list[str]]:
    """(files, folders) a deploy of `tenant` may change."""
    files = [layout.tenant_file(tenant, layout.RELEASE_FILE)] if release else []
    return files, list(layout.tenant_scopes(tenant))


def clean_path(path: str) -> bool:
    """A plain repo-relative POSIX path: no '..', '.', empty part, backslash or odd character."""
    if not path or path.startswith("/") or "\\" in path or unicodedata.normalize("NFC", path) != path:
        return False
    if not path.isascii() or any(ord(c) < 32 for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def path_allowed(tenant: str, path: str, *, release: bool) -> bool:
    if not clean_path(path):
        return False
    files, folders = allowed(tenant, release=release)
    return path in files or any(layout.is_inside(path, f) and PurePosixPath(path) != PurePosixPath(f) for f in folders)


def check_paths(tenant: str, paths: list[str], *, release: bool) -> list[Problem]:
    """A Problem for every path outside `tenant`'s scope (and for an invalid tenant name)."""
    name = events.tenant_name(tenant)  # raises on a hostile name before any path is compared
    files, folders = allowed(name, release=release)
    where = ", ".join(files + [f + "/" for f in folders])
    return [Problem(STAGED, 1, 1, "", f"{path!r} is outside tenant {name}'s deploy scope",
                    f"a deploy of {name} may change only {where}")
            for path in sorted(paths) if not path_allowed(name, path, release=release)]


# Rollout commits (`platform-update` under a plan, `rollout advance|rollback`): the moved
# tenants' release.yaml and output, and the automation-owned rollout state. Nothing else.
def rollout_path_allowed(tenants: list[str], path: str) -> bool:
    if not clean_path(path):
        return False
    return path == layout.ROLLOUT_STATE_FILE or any(path_allowed(t, path, release=True) for t in tenants)


def check_rollout_paths(tenants: list[str], paths: list[str]) -> list[Problem]:
    names = [events.tenant_name(t) for t in tenants]
    return [Problem(STAGED, 1, 1, "", f"{path!r} is outside this rollout step's scope",
                    f"a rollout step may change only {layout.ROLLOUT_STATE_FILE} and the release.yaml and output "
                    f"of the tenants it moves ({', '.join(names) or 'none'})")
            for path in sorted(paths) if not rollout_path_allowed(names, path)]
