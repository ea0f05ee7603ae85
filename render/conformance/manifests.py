"""Every YAML document under rendered/ and argocd/, with the line of each value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.load import Document, parse_yaml
from render.problems import Problem, ProblemsError, dotted
from render.yamlstrict import SECOND_DOCUMENT

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object (or a document that should have been one) in one file."""

    doc: Document

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def obj(self) -> Any:
        return self.doc.data

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", "")) if isinstance(self.obj, dict) else ""

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", "")) if isinstance(self.obj, dict) else ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata") if isinstance(self.obj, dict) else None
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def is_object(self) -> bool:
        return bool(self.api_version and self.kind)

    def problem(self, path: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
        line, col = self.doc.mark(tuple(path))
        where = f"{self.kind}/{self.name}"
        pointer = f"{where}: {dotted(path)}" if path else where
        return Problem(self.file, line, col, pointer, message, hint)


def yaml_files(root: Path, folders: tuple[str, ...], tenants: list[str] | None = None) -> list[str]:
    """Repo-relative YAML files under `folders`, sorted; limited to `tenants` when given."""
    out = []
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and path.suffix in SUFFIXES and _wanted(rel, tenants):
                out.append(rel)
    return out


def _wanted(rel: str, tenants: list[str] | None) -> bool:
    """A tenant's own files when `tenants` is given; shared files always."""
    if not tenants:
        return True
    scopes = {s for t in tenants for s in layout.tenant_scopes(t)} | {layout.tenant_dir(t) for t in tenants}
    tenant_roots = (*layout.TENANT_SCOPE_PARENTS, layout.TENANTS_DIR)
    if any(layout.is_inside(rel, r) and rel.count("/") > r.count("/") + 1 for r in tenant_roots):
        return any(layout.is_inside(rel, s) for s in scopes)
    return True


def collect(root: Path, tenants: list[str] | None = None) -> tuple[list[Manifest], list[Problem]]:
    """Every document under rendered/ and argocd/; unreadable files become Problems."""
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for rel in yaml_files(root, layout.OUTPUT_DIRS, tenants):
        try:
            text = (root / rel).read_text(encoding="utf-8")
            manifests += [Manifest(d) for d in _documents(text, rel)]
        except UnicodeDecodeError:
            problems.append(Problem(rel, 1, 1, "", "not UTF-8 text"))
        except ProblemsError as e:
            problems += e.problems
    return manifests, problems


def _documents(text: str, rel: str) -> list[Document]:
    """One document with line marks; a multi-document file is split (marks per document)."""
    try:
        return [parse_yaml(text, rel)]
    except ProblemsError as e:
        if not any(p.message == SECOND_DOCUMENT for p in e.problems):
            raise
    docs = []
    for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if node is None:
            continue
        start = node.start_mark.line
        # Re-parse each document's own lines so its marks point at the right line.
        end = node.end_mark.line + (1 if node.end_mark.column else 0)
        chunk = "\n" * start + "\n".join(text.splitlines()[start:end]) + "\n"
        docs.append(parse_yaml(chunk, rel))
    return docs
