"""What a writing command checks before it writes anything, and its dry run.

`check` runs first in every command that commits (platform-update, config-deploy,
fork-deploy, rollout advance and rollback): HEAD on the branch the workflows write, a
clean tree, and, with --push, the branch even with its remote (no unpushed commit, which a
push would publish or a reset would drop; nothing newer on the remote, which would reject
the push). Every unmet precondition is reported at once, before any file changes.

`rehearse` is the dry run: the same change, applied to a throwaway clone of the checkout,
reported as the commits, tags and push it would make; the checkout is left as it was.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from render import git, layout
from render.problems import Problem, ProblemsError

REPOSITORY = "."  # Problems about the checkout itself name the repository root


def _problem(message: str, hint: str) -> Problem:
    return Problem(REPOSITORY, 0, 0, "", message, hint)


def check(root: Path, *, on_main: bool = True, push: bool = False, remote: str = "origin",
          branch: str = layout.RELEASE_BRANCH, env: dict[str, str] | None = None) -> None:
    """Raise every unmet precondition of a command that commits (see the module doc)."""
    git.run(root, "rev-parse", "--git-dir")  # not a repository: git's own message
    problems = []
    current = git.current_branch(root)
    if on_main and current != branch:
        problems.append(_problem(f"HEAD is {'on ' + current if current else 'detached'}, not on {branch}",
                                 f"the workflows commit to {branch}: git switch {branch}"))
    changed = git.dirty(root)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        problems.append(_problem(f"uncommitted changes: {shown}",
                                 "commit or stash them first: the command commits what it renders, and nothing else"))
    if push and not problems:
        git.run(root, "fetch", "-q", remote, branch, env=env)
        ahead = git.run(root, "rev-list", "FETCH_HEAD..HEAD").split()
        behind = git.run(root, "rev-list", "HEAD..FETCH_HEAD").split()
        if ahead:
            problems.append(_problem(
                f"{len(ahead)} local commit(s) not on {remote}/{branch}: {', '.join(c[:12] for c in ahead[:3])}",
                f"--push would publish them (or, to retry, drop them): push them through review first, or move them "
                f"to a branch (git branch keep && git reset --keep {remote}/{branch})"))
        if behind:
            problems.append(_problem(f"{branch} is {len(behind)} commit(s) behind {remote}/{branch}",
                                     f"update first: git pull --ff-only {remote} {branch}"))
    if problems:
        raise ProblemsError(problems)


def check_paths_clean(root: Path, paths: list[str]) -> None:
    """The files a command (re)writes in the working tree (promote's release.yaml and
    output) hold no uncommitted change, which the write would silently replace."""
    git.run(root, "rev-parse", "--git-dir")
    changed = git.dirty(root, *paths)
    if changed:
        raise ProblemsError([_problem(f"uncommitted changes in files this command rewrites: {', '.join(changed[:5])}",
                                      "commit or stash them first (git stash), then run it again")])


@dataclass(frozen=True)
class Rehearsal:
    commits: list[tuple[str, str, list[str]]]  # (id, subject, files)
    tags: list[str]
    push: bool

    def lines(self, remote: str = "origin", branch: str = layout.RELEASE_BRANCH) -> list[str]:
        out = ["dry run: nothing was written, committed or pushed"]
        if not self.commits:
            return out + ["would commit nothing: everything is up to date"]
        for _, subject, files in self.commits:
            out.append(f"would commit: {subject}")
            out += [f"    {f}" for f in files[:20]] + ([f"    ... and {len(files) - 20} more"] if len(files) > 20 else [])
        out += [f"would tag: {t}" for t in self.tags]
        if self.push:
            out.append(f"would push: {len(self.commits)} commit(s) to {remote} {branch}"
                       + (f", with tag(s) {', '.join(self.tags)}" if self.tags else ""))
        return out


def rehearse(root: Path, apply: Callable[[Path], list[str]], *, push: bool) -> Rehearsal:
    """Run `apply` (it commits in the folder it is given) in a clone of `root`; report what it did."""
    with tempfile.TemporaryDirectory(prefix="dataplane-dry-run-") as tmp:
        copy = Path(tmp) / "repo"
        git.run(root, "clone", "-q", "--no-hardlinks", str(root.resolve()), str(copy))
        _keep_refs(root, copy)
        before_tags = set(git.run(copy, "tag", "--list").split())
        start = git.head(copy)
        apply(copy)
        commits = []
        for sha in git.run(copy, "rev-list", "--reverse", f"{start}..HEAD").split():
            subject = git.run(copy, "log", "-1", "--format=%s", sha).strip()
            files = git.run(copy, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha).split()
            commits.append((sha, subject, files))
        tags = sorted(set(git.run(copy, "tag", "--list").split()) - before_tags)
    return Rehearsal(commits, tags, push)


def _keep_refs(root: Path, copy: Path) -> None:
    """The clone sees the checkout's branches as its own (pins are checked against main)."""
    for ref in git.run(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split():
        if ref != git.current_branch(copy):
            git.run(copy, "branch", "-q", "-f", ref, f"origin/{ref}")


def report(before: str, root: Path, tags_before: set[str], pushed: bool, remote: str = "origin",
           branch: str = layout.RELEASE_BRANCH) -> list[str]:
    """What a real run wrote: its commits, tags and push."""
    out = []
    for sha in git.run(root, "rev-list", "--reverse", f"{before}..HEAD").split():
        subject = git.run(root, "log", "-1", "--format=%s", sha).strip()
        files = git.run(root, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
        out.append(f"committed {sha[:12]}: {subject} ({len(files)} file{'s' if len(files) != 1 else ''})")
    tags = sorted(set(git.run(root, "tag", "--list").split()) - tags_before)
    out += [f"tagged {t}" for t in tags]
    if not out:
        return ["nothing to commit: everything is up to date"]
    if pushed:
        out.append(f"pushed to {remote} {branch}" + (" with the tags" if tags else ""))
    else:
        out.append(f"not pushed (give --push, or git push {remote} {branch} --follow-tags)")
    return out
