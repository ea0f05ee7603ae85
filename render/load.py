"""Stage 1, load: read every input file strictly, remembering where each value came from.

The only module (with `emit`) that touches the filesystem. YAML is composed with
libyaml into nodes and constructed here by hand, so that we can reject what PyYAML
would silently accept (duplicate keys, merge keys, custom tags) and bound alias
expansion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.problems import Problem, ProblemsError, dotted

try:  # libyaml's C parser; the pure-Python one behaves the same, only slower.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 512 * 1024
# Values one file may expand to once aliases are followed: a "billion laughs" file
# stops here instead of eating memory.
MAX_VALUES = 50_000
MAX_DEPTH = 50

Path_ = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


@dataclass(frozen=True)
class Document:
    """One loaded YAML file: its data and the 1-based (line, column) of every key path."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict, compare=False, hash=False)

    def mark(self, path: Path_) -> tuple[int, int]:
        """Where `path` (or its nearest existing parent) is written in the file."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def problem(self, path: Path_, message: str, hint: str = "") -> Problem:
        line, col = self.mark(path)
        return Problem(self.file, line, col, dotted(path), message, hint)


class _Budget:
    """Per-parse state: values left before the alias limit, and a scalar constructor."""

    def __init__(self) -> None:
        self.left = MAX_VALUES
        self.scalars = yaml.constructor.SafeConstructor()


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document strictly. Raises ProblemsError (never a yaml exception)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {e.problem or e.context}"
        raise ProblemsError([Problem(file, line, col, "", message, "check indentation and quoting near this line")]) from None
    except yaml.YAMLError as e:
        first_line = str(e).splitlines()[0] if str(e) else "unreadable"
        raise ProblemsError([Problem(file, 1, 1, "", f"invalid YAML: {first_line}", "")]) from None
    if node is None:
        return Document(file, None, {(): (1, 1)})
    marks: dict[Path_, tuple[int, int]] = {}
    problems: list[Problem] = []
    data = _construct(node, (), file, marks, problems, _Budget(), 0)
    if problems:
        raise ProblemsError(problems)
    return Document(file, data, marks)


def _where(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct(node: yaml.Node, path: Path_, file: str, marks: dict[Path_, tuple[int, int]],
               problems: list[Problem], budget: _Budget, depth: int) -> Any:
    marks.setdefault(path, _where(node))
    budget.left -= 1
    if budget.left < 0 or depth > MAX_DEPTH:
        if budget.left == -1 or depth == MAX_DEPTH + 1:
            line, col = _where(node)
            problems.append(Problem(file, line, col, dotted(path),
                                    f"document expands to more than {MAX_VALUES} values or {MAX_DEPTH} levels",
                                    "anchors and aliases (&x / *x) are expanded: write the values out instead"))
        return None
    if isinstance(node, yaml.MappingNode):
        if node.tag != _TAG + "map":
            problems.append(_tag_problem(node, path, file))
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line, col = _where(key_node)
            if key_node.tag == _TAG + "merge":
                problems.append(Problem(file, line, col, dotted(path), "merge keys (<<) are not supported",
                                        "write the keys out in full; merged values hide where a setting comes from"))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                problems.append(Problem(file, line, col, dotted(path), "keys must be plain strings", ""))
                continue
            key = str(key_node.value)
            if key in out:
                first = marks.get(path + (key,), (line, col))
                problems.append(Problem(file, line, col, dotted(path + (key,)), f"duplicate key {key!r}",
                                        f"it is already set on line {first[0]}; keep one"))
                continue
            marks[path + (key,)] = (line, col)
            out[key] = _construct(value_node, path + (key,), file, marks, problems, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _TAG + "seq":
            problems.append(_tag_problem(node, path, file))
            return None
        return [_construct(item, path + (i,), file, marks, problems, budget, depth + 1)
                for i, item in enumerate(node.value)]
    return _scalar(node, path, file, problems, budget)


def _scalar(node: yaml.Node, path: Path_, file: str, problems: list[Problem], budget: _Budget) -> Any:
    if node.tag in _SCALAR_TAGS:
        return budget.scalars.construct_object(node)
    if node.tag == _TAG + "timestamp":
        # Dates are plain text to us; keep what the user wrote.
        return str(node.value)
    problems.append(_tag_problem(node, path, file))
    return None


def _tag_problem(node: yaml.Node, path: Path_, file: str) -> Problem:
    line, col = _where(node)
    return Problem(file, line, col, dotted(path), f"YAML tag {node.tag!r} is not allowed",
                   "remove the tag; only plain strings, numbers, booleans, lists and mappings are accepted")


def read_yaml(root: Path, rel: str, *, mapping: bool = True) -> Document:
    """Read and parse `root/rel`; size, encoding and top-level shape are checked."""
    path = root / rel
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProblemsError([Problem(rel, 1, 1, "", "file is missing", "every tenant folder needs tenant.yaml, overrides.yaml and release.yaml")]) from None
    except OSError as e:
        raise ProblemsError([Problem(rel, 1, 1, "", f"cannot read file: {e.strerror}", "")]) from None
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
        raise ProblemsError([Problem(rel, 1, 1, "", f"the top level must be a mapping of keys to values, not a {_kind(doc.data)}",
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
class Repo:
    """Every input of a render: the registry, the templates and each tenant's three files."""

    extractors: Document
    platform: Document
    templates: dict[str, str]
    tenants: dict[str, TenantFiles]


def list_tenants(root: Path) -> list[str]:
    folder = root / layout.TENANTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_tenant_bytes(root: Path, name: str) -> dict[str, bytes] | None:
    """The raw bytes of a tenant's input files (for cache keys), or None if any is unreadable."""
    folder = os.path.join(root, layout.tenant_dir(name))
    out = {}
    try:
        for file in layout.TENANT_FILES:
            with open(os.path.join(folder, file), "rb") as f:  # plain open: called for every tenant
                out[file] = f.read()
    except OSError:
        return None
    return out


def load_tenants(base: Repo, root: Path, names: list[str]) -> Repo:
    """`base` (its registry and templates already loaded) with the named tenants' files.

    Collects the problems of every file before raising, like load_repo."""
    problems: list[Problem] = []
    tenants = {}
    for name in names:
        if not (root / layout.tenant_dir(name)).is_dir():
            problems.append(Problem(layout.tenant_dir(name), 1, 1, "", f"no tenant named {name!r}",
                                    f"tenants are folders under {layout.TENANTS_DIR}/"))
            continue
        docs = []
        for file in layout.TENANT_FILES:
            try:
                docs.append(read_yaml(root, layout.tenant_file(name, file)))
            except ProblemsError as e:
                problems.extend(e.problems)
                docs.append(Document(layout.tenant_file(name, file), {}, {}))
        tenants[name] = TenantFiles(name, *docs)
    if problems:
        raise ProblemsError(problems)
    return Repo(base.extractors, base.platform, base.templates, tenants)


def read_templates(root: Path) -> dict[str, str]:
    folder = root / layout.BASE_DIR
    return {f"{layout.BASE_DIR}/{p.name}": p.read_text(encoding="utf-8")
            for p in sorted(folder.glob("*" + layout.TEMPLATE_SUFFIX))}


def load_repo(root: Path, only: list[str] | None = None) -> Repo:
    """Load every input, collecting the problems of all files before raising."""
    problems: list[Problem] = []

    def attempt(rel: str) -> Document:
        try:
            return read_yaml(root, rel)
        except ProblemsError as e:
            problems.extend(e.problems)
            return Document(rel, {}, {})

    extractors = attempt(layout.EXTRACTORS_FILE)
    platform = attempt(layout.PLATFORM_FILE)
    names = list_tenants(root) if only is None else only
    tenants = {}
    for name in names:
        if not (root / layout.tenant_dir(name)).is_dir():
            problems.append(Problem(layout.tenant_dir(name), 1, 1, "", f"no tenant named {name!r}",
                                    f"tenants are folders under {layout.TENANTS_DIR}/"))
            continue
        docs = [attempt(layout.tenant_file(name, f)) for f in layout.TENANT_FILES]
        tenants[name] = TenantFiles(name, *docs)
    if problems:
        raise ProblemsError(problems)
    return Repo(extractors, platform, read_templates(root), tenants)
