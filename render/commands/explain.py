"""`dataplane explain TENANT [EXTRACTOR]`: every effective value and the layer that set it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from render.load import load_repo
from render.merge import Effective
from render.pipeline import effective, shared_for
from render.problems import Problem, ProblemsError, dotted
from render.validate import did_you_mean, validate_repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explain", help="show a tenant's effective configuration and where each value comes from",
                       description="Print every effective value of TENANT (or of one extractor) with the file and "
                                   "line of the layer that set it: platform, registry or the tenant's overrides.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("extractor", nargs="?", metavar="EXTRACTOR", help="an extractor id or name (default: everything)")
    p.set_defaults(run=lambda a: explain(root=a.repo, tenant=a.tenant, extractor=a.extractor))


def explain(*, root: Path, tenant: str, extractor: str | None = None) -> int:
    repo = load_repo(root, [tenant])
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    eff = effective(repo.tenants[tenant], shared_for(repo, tenant))
    for line in explain_lines(eff, extractor):
        print(line)
    return 0


def explain_lines(eff: Effective, extractor: str | None) -> list[str]:
    prefix: tuple[str, ...] = ()
    if extractor:
        exts = eff.values["extractors"]
        ids = [i for i, e in exts.items() if extractor in (i, e["name"])]
        if not ids:
            raise ProblemsError([Problem("", 1, 1, "", f"unknown extractor {extractor!r}", did_you_mean(extractor, sorted(exts)))])
        prefix = ("extractors", ids[0]) if len(ids) == 1 else ("extractors",)
        if len(ids) > 1:
            return [line for i in ids for line in explain_lines(eff, i)]
    rows = []
    for path, source in sorted(eff.provenance.items(), key=lambda kv: [str(p) for p in kv[0]]):
        if path[: len(prefix)] != prefix:
            continue
        value = _value_at(eff.values, path)
        if value is _MISSING:
            continue
        rows.append((dotted(path), json.dumps(value, ensure_ascii=False), str(source)))
    width = max((len(k) + len(v) for k, v, _ in rows), default=0) + 3
    return [f"{k} = {v}".ljust(width) + f"  # {s}" for k, v, s in rows]


_MISSING = object()


def _value_at(values: object, path: tuple[object, ...]) -> object:
    for key in path:
        if isinstance(values, dict) and key in values:
            values = values[key]
        else:
            return _MISSING
    return values
