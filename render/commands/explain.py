"""`dataplane explain TENANT [EXTRACTOR]`: every effective value and the layer that set it."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from render import layout, output, placement, tunables
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
                                   "object per value: path, value, layer, file, line, label.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("extractor", nargs="?", metavar="EXTRACTOR",
                   help="an extractor id or name, or a worker group (default: everything)")
    output.add(p, "--format")
    p.set_defaults(run=lambda a: explain(root=a.repo, tenant=a.tenant, extractor=a.extractor, fmt=output.chosen(a)))


def explain(*, root: Path, tenant: str, extractor: str | None = None, fmt: str = "text") -> int:
    """Text: `path = value  # layer (file:line)` lines, then each worker group and the replicas
    its extractors can reach. json/yaml: {"tenant", "values": [{path, value, layer, file, line, label}],
    "placement": render/placement.as_dict}."""
    repo = load_repo(root, [tenant])
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    shared = repo.inputs_for(tenant)
    eff = effective(repo.tenants[tenant], shared)
    group = extractor if extractor in layout.WORKER_GROUPS else None
    rows = explain_rows(eff, None if group else extractor, shared.extractors, group)
    where = placement.place(eff.values)
    ids = {r["path"].split(".")[1] for r in rows if r["path"].startswith("extractors.")} if extractor and not group else None
    if output.structured(fmt):
        shown = placement.as_dict(where)
        if group or ids is not None:
            shown = {"groups": [g for g in shown["groups"] if group in (None, g["group"])
                                and (ids is None or ids & set(g["extractors"]))],
                     "extractors": [e for e in shown["extractors"] if (ids is None or e["extractor"] in ids)
                                    and group in (None, e["group"])]}
        output.emit({"tenant": tenant, "values": rows, "placement": shown}, fmt)
        return 0
    if group:
        print(f"# {group} is a worker group: its values (cluster.{group}) and the extractors it holds")
    for line in text_lines(rows) + placement_lines(where, group, ids):
        print(line)
    return 0


def placement_lines(p: placement.Placement, group: str | None, ids: set[str] | None) -> list[str]:
    """Each worker group at its max_replicas and what its extractors can reach (render/placement.py)."""
    out = ["", "# worker groups at max_replicas; reachable: an extractor's replicas, the others at their minimum"]
    for g in p.groups:
        members = [r for r in p.extractors if r.group == g.group and (ids is None or r.extractor in ids)]
        if (group and g.group != group) or (ids is not None and not members):
            continue
        verdict = "it holds them all" if g.max_fits else "more than it holds: they cannot all peak at once"
        out += [f"{g.group}: {g.pods} pods hold {placement.describe(g.holds)}",
                f"  its extractors at max_replicas need {placement.describe(g.need_max)}: {verdict}"]
        for r in members:
            note = "" if r.min_fits else "  (minimum cannot be placed)"
            if r.min_fits and r.reachable < r.max_replicas:
                note = f"  (below max_replicas {r.max_replicas})"
            out.append(f"  {r.extractor:<34} replicas {r.min_replicas}..{r.max_replicas}  reachable {r.reachable}{note}")
    return out


def explain_rows(eff: Effective, extractor: str | None, registry: Document,
                 group: str | None = None) -> list[dict[str, Any]]:
    """One row per effective value (of one extractor or worker group, when named): path, value and its source."""
    prefixes: list[tuple[str, ...]] = [("cluster", group)] if group else [()]
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
            tunable = tunables.at(path)  # its plain words (render/tunables.py), None for other values
            rows.append({"path": dotted(path), "value": value, "layer": source.layer,
                         "file": source.file or None, "line": source.line or None,
                         "label": tunable.label if tunable else None})
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
