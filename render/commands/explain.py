"""`dataplane explain TENANT [EXTRACTOR]`: every effective value and the layer that set it."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from render import layout
from render.load import Document, load_repo
from render.merge import Effective
from render.pipeline import effective
from render.problems import ProblemsError, dotted
from render.validate import extractor_names, validate_repo

WIDTH = 100  # a terminal: nothing printed is wider
SOURCE_COLUMN = 50  # where the "# layer (file:line)" comment starts when the value is short


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explain", help="show a tenant's effective configuration and where each value comes from",
                       description="Print every effective value of TENANT (or of one extractor) with the file and "
                                   "line of the layer that set it: platform, registry or the tenant's overrides. "
                                   f"Text fits {WIDTH} columns (long values are folded); --format json gives one "
                                   "object per value: path, value, layer, file, line.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("extractor", nargs="?", metavar="EXTRACTOR", help="an extractor id or name (default: everything)")
    p.add_argument("--format", dest="explain_format", choices=("text", "json"), default=None,
                   help="text (default) or json")
    p.set_defaults(run=lambda a: explain(root=a.repo, tenant=a.tenant, extractor=a.extractor,
                                         fmt=a.explain_format or ("json" if a.format == "json" else "text")))


def explain(*, root: Path, tenant: str, extractor: str | None = None, fmt: str = "text") -> int:
    repo = load_repo(root, [tenant])
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    shared = repo.inputs_for(tenant)
    rows = explain_rows(effective(repo.tenants[tenant], shared), extractor, shared.extractors)
    if fmt == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for line in text_lines(rows):
            print(line)
    return 0


def explain_rows(eff: Effective, extractor: str | None, registry: Document) -> list[dict[str, Any]]:
    """One row per effective value (of one extractor, when named): path, value and its source."""
    prefixes: list[tuple[str, ...]] = [()]
    if extractor:
        exts = eff.values["extractors"]
        ids = [i for i, e in exts.items() if extractor in (i, e["name"])]
        if not ids:
            raise ProblemsError([registry.problem(("extractors",), f"no extractor {extractor!r} in the registry",
                                                  extractor_names.suggest(extractor, registry.data)
                                                  or f"the extractors are listed in {layout.EXTRACTORS_FILE}")])
        prefixes = [("extractors", i) for i in ids]
    rows = []
    for path, source in sorted(eff.provenance.items(), key=lambda kv: [str(p) for p in kv[0]]):
        if not any(path[: len(p)] == p for p in prefixes):
            continue
        value = _value_at(eff.values, path)
        if value is not _MISSING:
            rows.append({"path": dotted(path), "value": value, "layer": source.layer,
                         "file": source.file or None, "line": source.line or None})
    return rows


def text_lines(rows: list[dict[str, Any]]) -> list[str]:
    """`path = value  # layer (file:line)`, folded so that no line is wider than WIDTH."""
    out = []
    for row in rows:
        where = f"# {row['layer']}" + (f" ({row['file']}:{row['line']})" if row["file"] else "")
        text = f"{row['path']} = {json.dumps(row['value'], ensure_ascii=False)}"
        if len(text) <= SOURCE_COLUMN - 2 and SOURCE_COLUMN + len(where) <= WIDTH:
            out.append(text.ljust(SOURCE_COLUMN) + where)
            continue
        if len(text) + 2 + len(where) <= WIDTH:
            out.append(f"{text}  {where}")
            continue
        out += textwrap.wrap(text, WIDTH, subsequent_indent="    ", break_on_hyphens=False) or [text[:WIDTH]]
        out.append(f"    {where}"[:WIDTH])
    return out


_MISSING = object()


def _value_at(values: object, path: tuple[object, ...]) -> object:
    for key in path:
        if isinstance(values, dict) and key in values:
            values = values[key]
        else:
            return _MISSING
    return values
