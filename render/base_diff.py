"""`render --base REF`: render only what can differ from a base revision, and prove the rest
byte-identical to that revision's committed output, without trusting any cache.

Premise: REF's committed output is what its inputs render to with its engine (main's own
full check, `render --check --no-cache`, proves it for main). Then, for the working tree:

- When the engine (the running `render` package, and layout.ENGINE_FILES in the checkout)
  differs from REF, nothing carries over: every tenant is validated and rendered (`full`
  names why). A platform input (layout.PLATFORM_INPUT_DIRS: base/, registry/) that differs
  moves no pinned tenant (it renders from its release's, read from git history): only the
  tenants without a pin (`unpinned`) join those below.
- Otherwise a tenant whose input files and output folders all equal REF's renders to REF's
  committed output, which is what its folders hold. Git proves it by object ids (HEAD's
  trees against REF's) and by `git status` (the working tree against HEAD, untracked and
  ignored files included); no output file is read.
- `committed` (`render --base REF --committed`, what pr.yml runs on its fresh checkout): the
  claim is about HEAD's commit. `git status` then covers the inputs and the engine only, not
  the tenants' output folders (at 10,000 tenants, 840,000 files git would `lstat` and list),
  so an uncommitted edit to a folder of a tenant that does not render is not seen; the
  folders of the tenants that render are compared or written as always.
- Every other tenant (its inputs changed or new, or a file of its output folders differs
  from REF: a hand edit) is loaded, validated together with every peer's tenant.yaml (so
  fleet-wide claims such as prefix collisions still hold) and rendered, and its output is
  compared or written as in a full render.
- The fleet-wide outputs (.github/CODEOWNERS, argocd/platform, admission, storage) are
  derived every time, and the generated trees stay closed (a removed tenant's folders are
  pruned, or listed as extra).

So `render --base REF` reports exactly what a full render would, and costs what the
changed tenants cost plus git's comparison.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from render import cache, git, layout
from render.problems import UserError

PIN_LINE = re.compile(rb"^platform_revision:[ \t]*[\"']?[0-9a-f]{40}[\"']?[ \t]*(#.*)?$", re.M)


class BaseRevisionError(UserError):
    hint = ("name a commit this checkout has and that HEAD descends from: the pull request's base "
            "(CI: actions/checkout with fetch-depth: 0)")


@dataclass(frozen=True)
class Plan:
    """What a render against `revision` must do."""

    revision: str
    full: str | None  # why every tenant renders, or None
    differ: frozenset[str] = field(default_factory=frozenset)  # tenants whose inputs or output folders differ

    def to_render(self, tenants: list[str]) -> list[str]:
        return list(tenants) if self.full else [t for t in tenants if t in self.differ]


@dataclass
class Pending:
    """A comparison under way: git compares the trees in the background while the caller
    reads what it needs anyway (every peer's tenant.yaml)."""

    revision: str
    engine: str | None
    git: list[subprocess.Popen[bytes]]

    def finish(self, root: Path, tenants: list[str]) -> Plan:
        """Which tenants must render (raises GitError if git failed)."""
        committed, status = (git.wait(proc) for proc in self.git)
        if self.engine:
            return Plan(self.revision, self.engine)
        found = {p for p in committed.split("\0") if p} | {e[3:] for e in status.split("\0") if len(e) > 3}  # "XY path"
        differ: set[str] = set()
        platform = False
        for path in sorted(found):
            if any(layout.is_inside(path, d) for d in layout.PLATFORM_INPUT_DIRS):
                platform = True  # moves only the tenants that render from the working tree's (unpinned)
                continue
            if any(layout.is_inside(path, e) for e in layout.ENGINE_FILES) and cache.is_engine_file(path):
                return Plan(self.revision, f"{path} differs from {self.revision[:12]} (engine)")
            name = _tenant_of(path)
            if name:
                differ.add(name)
        # A tenant with no output folder at all is not "unchanged": REF had none either (its
        # output was never rendered there), so it renders.
        differ |= _without_output(root, [t for t in tenants if t not in differ])
        if platform:
            differ |= unpinned(root, [t for t in tenants if t not in differ])
        return Plan(self.revision, None, frozenset(differ))


def unpinned(root: Path, tenants: list[str]) -> set[str]:
    """The tenants a change to base/ or registry/ can move: those whose release.yaml has no
    top-level `platform_revision` line. A pinned tenant renders from its release's base/ and
    registry/ (read from git history), so with its own files unchanged its output is REF's.
    An unpinned one is loaded and load refuses it; a line this scan misreads only renders more."""
    out = set()
    for name in tenants:
        try:
            with open(os.path.join(root, layout.tenant_file(name, layout.RELEASE_FILE)), "rb") as f:
                pinned = PIN_LINE.search(f.read()) is not None
        except OSError:
            pinned = False
        if not pinned:
            out.add(name)
    return out


def start(root: Path, ref: str, *, committed: bool = False) -> Pending:
    """Start comparing the working tree with `ref` (raises BaseRevisionError): every path
    under the inputs, the engine files and the tenants' output folders that differs, either
    committed since (HEAD's trees against the revision's, by object id) or changed, staged,
    untracked or ignored in the checkout (`git status`; with `committed`, the inputs and the
    engine files only: the output folders are taken to be HEAD's, as a fresh checkout's are)."""
    revision = _revision(root, ref)
    inputs = (*layout.INPUT_DIRS, *layout.ENGINE_FILES)
    paths = (*inputs, *layout.TENANT_SCOPE_PARENTS)
    procs = [git.start(root, "diff-tree", "-r", "-z", "--name-only", "--no-renames", revision, "HEAD", "--", *paths),
             git.start(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching",
                       "--no-renames", "--", *(inputs if committed else paths))]
    return Pending(revision, _engine_difference(root, revision), procs)


def plan(root: Path, ref: str, tenants: list[str]) -> Plan:
    """Compare the working tree with `ref`: which tenants must render."""
    return start(root, ref).finish(root, tenants)


def _revision(root: Path, ref: str) -> str:
    try:
        revision = git.resolve(root, ref)
        head = git.head(root)
    except git.GitError as e:
        raise BaseRevisionError(f"--base {ref}: {e}") from None
    if not git.contains(root, head, revision):
        raise BaseRevisionError(f"--base {ref}: {revision[:12]} is not an ancestor of HEAD {head[:12]}")
    return revision


def _without_output(root: Path, tenants: list[str]) -> set[str]:
    """The tenants missing an output folder: one listing per parent folder, not a stat per tenant."""
    missing: set[str] = set()
    for parent in layout.TENANT_SCOPE_PARENTS:
        try:
            with os.scandir(os.path.join(root, parent)) as entries:
                present = {e.name for e in entries if e.is_dir()}
        except OSError:  # no such folder: no tenant has this output
            present = set()
        missing.update(t for t in tenants if t not in present)
    return missing


def _tenant_of(path: str) -> str | None:
    """The tenant a path belongs to: its input folder or one of its output folders."""
    for parent in (layout.TENANTS_DIR, *layout.TENANT_SCOPE_PARENTS):
        if layout.is_inside(path, parent):
            rest = path[len(parent) + 1:].split("/", 1)
            if len(rest) == 2 and layout.DNS1123_LABEL.match(rest[0]):
                return rest[0]
    return None


def _engine_difference(root: Path, revision: str) -> str | None:
    """Why the running engine is not `revision`'s, or None: every file of the running
    package must be the blob at the same path under render/ there."""
    listing = git.run(root, "ls-tree", "-r", "-z", revision, "--", layout.ENGINE_DIR + "/")
    committed = {}
    for entry in listing.split("\0"):
        if entry:
            meta, name = entry.split("\t", 1)
            committed[name] = meta.split()[2]
    algorithm = git.run(root, "rev-parse", "--show-object-format").strip() or "sha1"
    for name, data in cache.engine_files():
        rel = f"{layout.ENGINE_DIR}/{name}"
        blob = hashlib.new(algorithm, b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        if committed.get(rel) != blob:
            return f"the running engine's {rel} is not {revision[:12]}'s (engine)"
    return None
