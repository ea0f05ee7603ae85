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
           "in_history", "list_tenants", "load_pinned", "load_platform_at", "load_repo", "load_repo_at", "parse_bytes", "parse_yaml",
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

    def templates_for(self, cloud: str) -> list[str]:
        """The templates a tenant on `cloud` renders: every shared one and its cloud's own."""
        return [n for n in self.template_names if layout.template_cloud(n) in (None, cloud)]


@dataclass(frozen=True)
class Repo:
    """Every input of a render: the platform inputs and each tenant's three files.

    `current` are the platform inputs of the working tree (or of the revision loaded);
    `revisions` holds those of every platform release a tenant's release.yaml pins
    (`platform_revision`). `history` is False for a folder that is not a git repository
    (a scratch copy): with no history to read a pin from, every tenant renders from `current`.
    """

    current: PlatformInputs
    tenants: dict[str, TenantFiles]
    revisions: dict[str, PlatformInputs] = field(default_factory=dict)
    # tenant.yaml of every tenant left out of a partial load: fleet-wide checks need them.
    peers: dict[str, Document] = field(default_factory=dict)
    history: bool = True

    def pin(self, tenant: str) -> str | None:
        """The revision `tenant` renders from, or None: the current platform inputs."""
        return pinned_revision(self.tenants[tenant]) if self.history else None

    def inputs_for(self, tenant: str) -> PlatformInputs:
        """The platform inputs `tenant` renders from: its pinned release's, else the current ones."""
        rev = self.pin(tenant)
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


def load_tenants(base: Repo, root: Path, names: list[str], peers: dict[str, Document] | None = None,
                 *, require_pins: bool = True) -> Repo:
    """`base` (its registry and templates already loaded) with the named tenants' files,
    their pinned platform revisions, and every other tenant's tenant.yaml as peers (from
    `peers`, read beforehand by `read_peers`, when given).

    Collects the problems of every file before raising, like load_repo."""
    problems: list[Problem] = []
    tenants = _tenant_files(root, names, problems)
    revisions = load_pinned(root, tenants, problems, require=require_pins)
    if problems:
        raise ProblemsError(problems)
    others = _peers(root, names) if peers is None else {n: d for n, d in peers.items() if n not in tenants}
    return Repo(base.current, tenants, revisions, others, in_history(root))


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
    """base/*.yaml.j2 and each cloud's base/clouds/<cloud>/*.yaml.j2."""
    out = {}
    found = sorted((root / layout.BASE_DIR).glob("*" + layout.TEMPLATE_SUFFIX))
    found += sorted((root / layout.CLOUD_TEMPLATES_DIR).glob("*/*" + layout.TEMPLATE_SUFFIX))
    for p in found:
        rel = p.relative_to(root).as_posix()
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


def load_repo(root: Path, only: list[str] | None = None, *, require_pins: bool = True) -> Repo:
    """Load every input, collecting the problems of all files before raising. `require_pins`
    False lets a release.yaml without a pin through (the commands that write one read it)."""
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
    revisions = load_pinned(root, tenants, problems, require=require_pins)
    if problems:
        raise ProblemsError(problems)
    return Repo(PlatformInputs(extractors, platform, templates, releases), tenants, revisions,
                _peers(root, names) if only else {}, in_history(root))


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


def in_history(root: Path) -> bool:
    """True when `root` is the top of a git repository: pins can be read (and are required)."""
    return os.path.exists(os.path.join(root, ".git"))


def unpinned_problem(files: TenantFiles) -> Problem:
    """A release.yaml without a pin: in a repository every tenant renders from a platform
    release, so a platform change merged to main moves no tenant until a release moves it."""
    return files.release.problem(("platform_revision",), "missing: every tenant pins the platform release it renders "
                                 "from (a commit of main tagged platform/*)",
                                 f"`dataplane promote {files.name}` pins the newest release; `dataplane pin` pins "
                                 "every unpinned tenant to HEAD; platform-update and rollouts move pins later")


def load_pinned(root: Path, tenants: dict[str, TenantFiles], problems: list[Problem],
                *, require: bool = True) -> dict[str, PlatformInputs]:
    """The platform inputs at every revision the tenants pin, read from git history. A pin
    is followed only when it names a platform release (see `release_problem`). With
    `require`, a tenant without a pin is a problem. Outside a git repository there is
    no history: nothing is read and nothing is required (Repo.history)."""
    out: dict[str, PlatformInputs] = {}
    if not in_history(root):
        return out
    releases: dict[str, str] | None = None
    for files in tenants.values():
        rev = pinned_revision(files)
        if rev is None and require and isinstance(files.release.data, dict):
            problems.append(unpinned_problem(files))
        if rev is None or rev in out:
            continue
        try:
            releases = known_releases(root) if releases is None else releases
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


def known_releases(root: Path) -> dict[str, str]:
    """Commit id -> the platform release naming it: an annotated release tag, or a revision
    recorded in registry/releases.yaml `revisions` (automation-owned, as the tags are: a
    pin recorded there holds in any clone, with its tags or without). Either way
    `release_problem` still requires the commit to be on main."""
    recorded: dict[str, str] = {}
    if (root / layout.RELEASES_FILE).is_file():
        data = read_yaml(root, layout.RELEASES_FILE).data
        for entry in (data.get("revisions") or []) if isinstance(data, dict) else []:
            rev = entry.get("revision") if isinstance(entry, dict) else None
            if isinstance(rev, str) and git.REVISION.fullmatch(rev):
                recorded[rev] = f"{entry.get('version')} ({layout.RELEASES_FILE})"
    return {**recorded, **git.release_tags(root)}


def release_problem(root: Path, files: TenantFiles, revision: str, releases: dict[str, str]) -> Problem | None:
    """Why `revision` may not be pinned, or None: it must be named by an annotated
    platform release tag, or recorded in registry/releases.yaml, and contained in the
    protected branch. Any other commit (one of
    a pull request's own, say) could carry templates nobody reviewed."""
    pointer = ("platform_revision",)
    tag = releases.get(revision)
    if tag is None:
        return files.release.problem(pointer, f"{revision[:12]} is not a platform release (no annotated tag "
                                     f"{layout.RELEASE_TAG_PREFIX}* names it, and {layout.RELEASES_FILE} "
                                     "records no such revision)",
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
    cloud_dirs = [f"{layout.CLOUD_TEMPLATES_DIR}/{c}" for c in tree.folders(layout.CLOUD_TEMPLATES_DIR)]
    for rel in [f for folder in (layout.BASE_DIR, *cloud_dirs) for f in tree.files(folder)]:
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
    revisions = load_pinned(root, tenants, problems, require=False)  # history: older tenants followed it
    if problems:
        raise ProblemsError(problems)
    return Repo(shared, tenants, revisions)
