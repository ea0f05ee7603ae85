"""Stage 1, load: read every input file strictly, remembering where each value came from.

The only module (with `emit`) that reads the repository. Files are checked for size and
encoding here, and parsed by `yamlstrict` (duplicate keys, tags, merge keys and alias
bombs are problems there).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render import git, layout
from render.git import GitError, GitTree
from render.problems import Problem, ProblemsError
from render.yamlstrict import MAX_DEPTH, MAX_VALUES, Document, parse_simple, parse_yaml

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_VALUES", "Document", "PlatformInputs", "Repo", "TenantFiles",
           "list_tenants", "load_pinned", "load_platform_at", "load_repo", "load_repo_at", "parse_bytes", "parse_yaml",
           "pinned_revision", "read_templates", "read_yaml", "stray_files"]

MAX_FILE_BYTES = 512 * 1024


def read_yaml(root: Path, rel: str, *, mapping: bool = True) -> Document:
    """Read and parse `root/rel`; size, encoding and top-level shape are checked."""
    path = root / rel
    refuse_symlinks(root, rel)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        hint = ("every tenant folder needs tenant.yaml, overrides.yaml and release.yaml" if rel.startswith(layout.TENANTS_DIR)
                else f"is {root} the repository root? (set it with --repo)")
        raise ProblemsError([Problem(rel, 1, 1, "", "file is missing", hint)]) from None
    except OSError as e:
        raise ProblemsError([Problem(rel, 1, 1, "", f"cannot read file: {e.strerror}", "")]) from None
    return parse_bytes(raw, rel, mapping=mapping)


def parse_bytes(raw: bytes, rel: str, *, mapping: bool = True) -> Document:
    """Parse the bytes of one input file; size, encoding and top-level shape are checked."""
    if len(raw) > MAX_FILE_BYTES:
        raise ProblemsError([Problem(rel, 1, 1, "", f"file is {len(raw)} bytes, over the {MAX_FILE_BYTES}-byte limit", "input files are small; is this the right file?")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ProblemsError([Problem(rel, line, 1, "", "file is not valid UTF-8", "save the file as UTF-8")]) from None
    doc = parse_yaml(text.removeprefix("\ufeff"), rel)
    if mapping and doc.data is None:
        return Document(rel, {}, doc.marks)
    if mapping and not isinstance(doc.data, dict):
        line, col = doc.mark(())
        raise ProblemsError([Problem(rel, line, col, "", f"the top level must be a mapping of keys to values, not a {_kind(doc.data)}",
                                     "start the file with `key: value` lines")])
    return doc


def _kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")


@dataclass(frozen=True)
class TenantFiles:
    name: str
    tenant: Document
    overrides: Document
    release: Document


@dataclass(frozen=True)
class PlatformInputs:
    """The platform side of one revision: the extractor registry (registry/extractors.yaml),
    the platform defaults (registry/platform.yaml) and the templates (base/). Every tenant
    on that revision renders from them."""

    extractors: Document
    platform: Document
    templates: dict[str, str]
    # registry/releases.yaml as of that revision: the platform releases recorded up to it
    # (the record only grows, so it holds the release a tenant pinned there runs). A tenant's
    # admitted digests come from it, so recording a new release leaves pinned tenants' output
    # byte for byte.
    releases: Document = field(default_factory=lambda: Document(layout.RELEASES_FILE, {}, {}))

    @property
    def template_names(self) -> list[str]:
        return sorted(self.templates)


@dataclass(frozen=True)
class Repo:
    """Every input of a render: the platform inputs and each tenant's three files.

    `current` are the platform inputs of the working tree (or of the revision loaded);
    `revisions` holds those of every platform release a tenant's release.yaml pins
    (`platform_revision`).
    """

    current: PlatformInputs
    tenants: dict[str, TenantFiles]
    revisions: dict[str, PlatformInputs] = field(default_factory=dict)
    # tenant.yaml of every tenant left out of a partial load: fleet-wide checks need them.
    peers: dict[str, Document] = field(default_factory=dict)

    def inputs_for(self, tenant: str) -> PlatformInputs:
        """The platform inputs `tenant` renders from: its pinned release's, else the current ones."""
        rev = pinned_revision(self.tenants[tenant])
        return self.current if rev is None else self.revisions[rev]


def refuse_symlinks(root: Path, rel: str) -> None:
    """Inputs are plain files of the repository: a symlink anywhere on the path (which a
    pull request can commit) could make the engine read a file outside it."""
    path = root
    for part in rel.split("/"):
        path = path / part
        if path.is_symlink():
            link = path.relative_to(root).as_posix()
            raise ProblemsError([Problem(rel, 1, 1, "", f"{link} is a symbolic link; inputs must be plain files",
                                         f"replace {link} with the file or folder itself")])


def list_tenants(root: Path) -> list[str]:
    folder = root / layout.TENANTS_DIR
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:  # the folder's own listing tells folders apart: no stat per tenant
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def read_tenant_bytes(root: Path, name: str) -> dict[str, bytes] | None:
    """The raw bytes of a tenant's input files (for cache keys), or None if any is unreadable."""
    folder = os.path.join(root, layout.tenant_dir(name))
    out = {}
    try:
        if os.path.islink(folder):
            return None  # load reports it
        for file in layout.TENANT_FILES:
            fd = os.open(os.path.join(folder, file), os.O_RDONLY | os.O_NOFOLLOW)  # a symlink fails: load reports it
            with open(fd, "rb") as f:
                out[file] = f.read()
    except OSError:
        return None
    return out


def load_tenants(base: Repo, root: Path, names: list[str], peers: dict[str, Document] | None = None) -> Repo:
    """`base` (its registry and templates already loaded) with the named tenants' files,
    their pinned platform revisions, and every other tenant's tenant.yaml as peers (from
    `peers`, read beforehand by `read_peers`, when given).

    Collects the problems of every file before raising, like load_repo."""
    problems: list[Problem] = []
    tenants = _tenant_files(root, names, problems)
    revisions = load_pinned(root, tenants, problems)
    if problems:
        raise ProblemsError(problems)
    others = _peers(root, names) if peers is None else {n: d for n, d in peers.items() if n not in tenants}
    return Repo(base.current, tenants, revisions, others)


def read_peers(root: Path) -> dict[str, Document]:
    """Every tenant's tenant.yaml (the unreadable ones left out): what fleet-wide rules read."""
    return _peers(root, [])


def _read_collecting(root: Path, rel: str, problems: list[Problem]) -> Document:
    """Read one file; on failure record its problems and go on, so every file is reported."""
    try:
        return read_yaml(root, rel)
    except ProblemsError as e:
        problems.extend(e.problems)
        return Document(rel, {}, {})


def _tenant_files(root: Path, names: list[str], problems: list[Problem]) -> dict[str, TenantFiles]:
    tenants = {}
    for name in names:
        if not (root / layout.tenant_dir(name)).is_dir():
            problems.append(Problem(layout.tenant_dir(name), 1, 1, "", f"no tenant named {name!r}",
                                    f"tenants are folders under {layout.TENANTS_DIR}/"))
            continue
        problems += stray_files(root, name)
        tenants[name] = TenantFiles(name, *[_read_collecting(root, layout.tenant_file(name, f), problems)
                                            for f in layout.TENANT_FILES])
    return tenants


def read_templates(root: Path) -> dict[str, str]:
    folder = root / layout.BASE_DIR
    out = {}
    for p in sorted(folder.glob("*" + layout.TEMPLATE_SUFFIX)):
        rel = f"{layout.BASE_DIR}/{p.name}"
        refuse_symlinks(root, rel)
        try:
            out[rel] = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ProblemsError([Problem(rel, 1, 1, "", f"cannot read template: {e}", "save the file as UTF-8")]) from None
    return out


def stray_files(root: Path, name: str) -> list[Problem]:
    """YAML files in a tenant folder that the renderer would ignore: usually a misspelt name."""
    folder = root / layout.tenant_dir(name)
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix in (".yaml", ".yml") and p.name not in layout.TENANT_FILES:
            close = difflib.get_close_matches(p.name, layout.TENANT_FILES, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else f"a tenant folder holds {', '.join(layout.TENANT_FILES)}"
            out.append(Problem(layout.tenant_file(name, p.name), 1, 1, "", "unexpected file: it would be ignored", hint))
    return out


def load_repo(root: Path, only: list[str] | None = None) -> Repo:
    """Load every input, collecting the problems of all files before raising."""
    problems: list[Problem] = []
    extractors = _read_collecting(root, layout.EXTRACTORS_FILE, problems)
    platform = _read_collecting(root, layout.PLATFORM_FILE, problems)
    releases = _read_collecting(root, layout.RELEASES_FILE, problems)
    names = list_tenants(root) if only is None else only
    tenants = _tenant_files(root, names, problems)
    try:
        templates = read_templates(root)
    except ProblemsError as e:
        problems += e.problems
        templates = {}
    revisions = load_pinned(root, tenants, problems)
    if problems:
        raise ProblemsError(problems)
    return Repo(PlatformInputs(extractors, platform, templates, releases), tenants, revisions,
                _peers(root, names) if only else {})


def _peers(root: Path, loaded: list[str]) -> dict[str, Document]:
    """tenant.yaml of the tenants not loaded; unreadable ones are their own run's business.
    Thousands are read on every partial render: the simplest files (most) by parse_simple,
    which returns what read_yaml would, and the rest by read_yaml."""
    out = {}
    plain = not os.path.islink(os.path.join(root, layout.TENANTS_DIR))
    for name in list_tenants(root):
        if name not in loaded:
            rel = layout.tenant_file(name, layout.TENANT_FILE)
            doc = _read_simple(root, name, rel) if plain else None
            try:
                out[name] = doc or read_yaml(root, rel)
            except ProblemsError:
                continue
    return out


def _read_simple(root: Path, name: str, rel: str) -> Document | None:
    """A tenant's `rel` read by parse_simple, or None when read_yaml must read it: a
    symlink on the way, an unreadable, large or non-ASCII file, or YAML beyond the simplest."""
    folder = os.path.join(root, layout.tenant_dir(name))
    try:
        if os.path.islink(folder):
            return None
        with open(os.open(os.path.join(root, rel), os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_FILE_BYTES or not raw.isascii():
        return None
    return parse_simple(raw.decode("ascii"), rel)


def pinned_revision(files: TenantFiles) -> str | None:
    """The platform revision a tenant's release.yaml pins, or None (the working tree)."""
    data = files.release.data
    value = data.get("platform_revision") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def load_pinned(root: Path, tenants: dict[str, TenantFiles], problems: list[Problem]) -> dict[str, PlatformInputs]:
    """The platform inputs at every revision the tenants pin, read from git history. A pin
    is followed only when it names a platform release (see `release_problem`)."""
    out: dict[str, PlatformInputs] = {}
    releases: dict[str, str] | None = None
    for files in tenants.values():
        rev = pinned_revision(files)
        if rev is None or rev in out:
            continue
        try:
            releases = git.release_tags(root) if releases is None else releases
            refused = release_problem(root, files, rev, releases)
            if refused:
                problems.append(refused)
                continue
            out[rev] = load_platform_at(GitTree(root, rev))
        except GitError as e:
            problems.append(files.release.problem(("platform_revision",), f"cannot read the platform at this revision: {e}",
                                                  "use a commit of this repository's main; CI needs the full history (fetch-depth: 0)"))
        except ProblemsError as e:
            problems.extend(e.problems)
    return out


def release_problem(root: Path, files: TenantFiles, revision: str, releases: dict[str, str]) -> Problem | None:
    """Why `revision` may not be pinned, or None: it must be named by an annotated
    platform release tag and contained in the protected branch. Any other commit (one of
    a pull request's own, say) could carry templates nobody reviewed."""
    pointer = ("platform_revision",)
    tag = releases.get(revision)
    if tag is None:
        return files.release.problem(pointer, f"{revision[:12]} is not a platform release (no annotated tag "
                                     f"{layout.RELEASE_TAG_PREFIX}* names it)",
                                     f"pin a release (git tag -l '{layout.RELEASE_TAG_PREFIX}*'), or run "
                                     f"`dataplane promote {files.name}`")
    branches = git.release_branches(root)
    if not branches:
        return files.release.problem(pointer, f"cannot check release {tag}: no branch {layout.RELEASE_BRANCH} here",
                                     "CI needs the full history (actions/checkout with fetch-depth: 0)")
    if not any(git.contains(root, branch, revision) for branch in branches):
        return files.release.problem(pointer, f"release {tag} is not on {layout.RELEASE_BRANCH}",
                                     f"pin a release made on {layout.RELEASE_BRANCH} (fetch it if it is new)")
    return None


def load_platform_at(tree: GitTree) -> PlatformInputs:
    """registry/ and base/ as they were at `tree`'s commit. File names carry @<short rev>."""
    label = tree.revision[:12]
    docs = []
    for rel in (layout.EXTRACTORS_FILE, layout.PLATFORM_FILE):
        raw = tree.read(rel)
        if raw is None:
            raise GitError(f"{rel} does not exist at {label}")
        docs.append(parse_bytes(raw, f"{rel}@{label}"))
    templates = {}
    for rel in tree.files(layout.BASE_DIR):
        if rel.endswith(layout.TEMPLATE_SUFFIX):
            templates[rel] = (tree.read(rel) or b"").decode("utf-8")
    raw = tree.read(layout.RELEASES_FILE)
    releases = parse_bytes(raw, f"{layout.RELEASES_FILE}@{label}") if raw is not None else Document(layout.RELEASES_FILE, {}, {})
    return PlatformInputs(docs[0], docs[1], templates, releases)


def load_repo_at(root: Path, revision: str) -> Repo:
    """Every input as it was at `revision` (the base of a pull request, say)."""
    tree = GitTree(root, revision)
    problems: list[Problem] = []

    def attempt(rel: str) -> Document:
        try:
            raw = tree.read(rel)
            if raw is None:
                raise ProblemsError([Problem(rel, 1, 1, "", f"file is missing at {revision[:12]}", "")])
            return parse_bytes(raw, rel)
        except ProblemsError as e:
            problems.extend(e.problems)
            return Document(rel, {}, {})

    shared = load_platform_at(tree)
    tenants = {}
    for name in tree.folders(layout.TENANTS_DIR):
        tenants[name] = TenantFiles(name, *[attempt(layout.tenant_file(name, f)) for f in layout.TENANT_FILES])
    revisions = load_pinned(root, tenants, problems)
    if problems:
        raise ProblemsError(problems)
    return Repo(shared, tenants, revisions)
