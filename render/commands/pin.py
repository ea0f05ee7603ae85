"""`dataplane pin`: pin every tenant whose release.yaml names no platform release to one
revision of main, recorded as a platform release; proven to move no output.

For the repository's first pins (and for a copy of it with a history of its own, whose
release.yaml files name commits it does not have). Afterwards pins move only with
`platform-update`, `rollout advance`/`rollback`, `promote` and `fork-deploy`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from render import fleet, git, layout
from render.load import in_history, known_releases, list_tenants, parse_yaml, read_yaml
from render.problems import Problem, ProblemsError
from render.workflows import deploy, preconditions

WHERE = "--revision"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("pin", help="pin every tenant without a platform release to one (its output unchanged)",
                       description="Record REVISION (default HEAD; a commit of main) as a platform release and pin "
                                   "every tenant whose release.yaml names none (no platform_revision, or a commit that "
                                   "is not a release of this repository) to it, then re-render and commit the "
                                   "release.yaml files. Refused, nothing written, when the pins would change any "
                                   "rendered file: pinning only records what the tenants render from already.")
    p.add_argument("--revision", default="HEAD", help="the commit to pin (default HEAD); it must be on main")
    p.add_argument("--dry-run", action="store_true", help="print the tenants it would pin; write nothing")
    p.set_defaults(writes=True, run=lambda a: pin(root=a.repo, revision=a.revision, dry_run=a.dry_run))


def pin(*, root: Path, revision: str = "HEAD", dry_run: bool = False) -> int:
    rev = checked_revision(root, revision)
    names = unpinned(root)
    if not names:
        print("every tenant pins a platform release: nothing to do")
        return 0
    target = deploy.target_at(root, rev)
    if dry_run:
        print(f"dry run: nothing was written\nwould record {layout.release_tag(target.platform_version, rev)} and pin "
              f"{', '.join(names)} to {rev[:12]}")
        return 0
    releases = [layout.tenant_file(n, layout.RELEASE_FILE) for n in names]
    preconditions.check_paths_clean(root, releases + [layout.RELEASES_FILE]
                                    + [s for n in names for s in layout.tenant_scopes(n)])
    releases.append(layout.RELEASES_FILE)
    record(root, rev, target.platform_version)
    for name in names:
        deploy.write_release(root, name, {**_release(root, name), "platform_revision": rev})
    tag = layout.release_tag(target.platform_version, rev)
    tagged = deploy.release(root, target)
    try:
        report = fleet.render_to_disk(root, names, check=True, use_cache=False).report
    except BaseException:
        _undo(root, releases, tag if tagged else None)
        raise
    if not report.clean:
        _undo(root, releases, tag if tagged else None)
        changed = report.written + report.pruned
        raise ProblemsError([Problem(WHERE, 1, 1, "revision", f"pinning to {rev[:12]} would change {len(changed)} "
                                     f"rendered file(s) ({', '.join(changed[:3])}): the tenants do not render from "
                                     "its platform now", "pin the revision their committed output was rendered "
                                     "from, or render and review the change first")])
    git.stage(root, releases)
    sha = git.commit(root, f"release: pin {', '.join(names)} to platform {target.platform_version} at {rev[:12]} "
                           "(output unchanged)")
    print(f"pinned {', '.join(names)} to {rev[:12]} ({tag}"
          f"{', new' if tagged else ''}); commit {(sha or '')[:12]}; push it with --follow-tags")
    return 0


def record(root: Path, revision: str, version: str) -> None:
    """Append `revision` to registry/releases.yaml `revisions` (its last key), unless there:
    the record a pin is checked against in any clone, whether or not tags travel with it."""
    path = root / layout.RELEASES_FILE
    text = path.read_text(encoding="utf-8")
    data = parse_yaml(text, layout.RELEASES_FILE).data
    listed = data.get("revisions") or [] if isinstance(data, dict) else []
    if any(isinstance(e, dict) and e.get("revision") == revision for e in listed):
        return
    if not listed:
        text = text.rstrip("\n") + "\n\n# Commits of main recorded as platform releases (`dataplane pin`); keep this key last.\nrevisions:\n"
    elif not text.rstrip("\n").splitlines()[-1].startswith((" ", "-")):
        raise ProblemsError([Problem(layout.RELEASES_FILE, 1, 1, "revisions", "`revisions` is not the last key",
                                     "move the `revisions:` list to the end of the file")])
    path.write_text(text.rstrip("\n") + f'\n  - revision: "{revision}"\n    version: "{version}"\n', encoding="utf-8")


def checked_revision(root: Path, revision: str) -> str:
    """`revision` as a full commit id of main (local or origin's): the only commits a pin names."""
    if not in_history(root):
        raise ProblemsError([Problem(WHERE, 1, 1, "revision", f"{root} is not the top of a git repository",
                                     "pins name commits: run it in the repository's checkout")])
    try:
        rev = git.resolve(root, revision)
    except git.GitError as e:
        raise ProblemsError([Problem(WHERE, 1, 1, "revision", str(e), "a commit of main: HEAD, a commit id")]) from None
    if not git.REVISION.fullmatch(rev) or not any(git.contains(root, b, rev) for b in git.release_branches(root)):
        raise ProblemsError([Problem(WHERE, 1, 1, "revision", f"{rev[:12]} is not on {layout.RELEASE_BRANCH}",
                                     f"pin a commit of {layout.RELEASE_BRANCH} (merge first)")])
    return rev


def unpinned(root: Path) -> list[str]:
    """Tenants whose release.yaml names no platform release on main (load.release_problem)."""
    releases = known_releases(root)
    branches = git.release_branches(root)
    out = []
    for name in list_tenants(root):
        pin = _release(root, name).get("platform_revision")
        if not (isinstance(pin, str) and pin in releases and any(git.contains(root, b, pin) for b in branches)):
            out.append(name)
    return out


def _release(root: Path, name: str) -> dict[str, Any]:
    data = read_yaml(root, layout.tenant_file(name, layout.RELEASE_FILE)).data
    return dict(data) if isinstance(data, dict) else {}


def _undo(root: Path, releases: list[str], tag: str | None) -> None:
    """Put the release.yaml files (and the tag this run created) back as they were."""
    git.run(root, "checkout", "-q", "HEAD", "--", *releases)
    if tag is not None:
        git.run(root, "tag", "-d", tag)
