"""The engine's own generated files: the tunable blocks of three JSON schemas and the key
table of docs/tenants.md (from render/tunables.py), and every schema's cloud lists (from the
registered clouds, render/clouds/schemas.py).

The rest of each schema stays written by hand in the same file: only the blocks named here
are replaced, and the worker-group block is one `$defs/worker_group` both schemas `$ref`.
A schema the generation leaves as it is keeps its bytes (some are written compactly by hand).
`dataplane render` writes these files when it renders the engine's own repository, and
`render --check` lists a stale one (render/fleet.py), as it does .github/CODEOWNERS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from render import clouds, layout, tunables
from render.clouds import schemas as cloud_schemas
from render.tunables import GROUP_WORDS, PLATFORM, Layer, Section, Tunable, of

ENGINE_ROOT = Path(__file__).resolve().parent.parent  # the repository this engine's source lives in
DOCS_FILE = "docs/tenants.md"
BEGIN = "<!-- generated from render/tunables.py by `dataplane render`: edit there, not here -->"
END = "<!-- end of the generated table -->"
WORKER_GROUP_REF = "#/$defs/worker_group"
# Keys of a registry entry that are what the entry is, not tunables (written in the schema by hand).
ENTRY_KEYS = ("name", "version", "description", "aliases", "modalities", "runtime", "worker_group",
               "import_path", "capabilities", "enabled_by_default")


def files(root: Path) -> dict[str, bytes]:
    """Each generated file's path (relative to root) and its current bytes."""
    out = {}
    tunable = {"extractors": _extractors, "platform": _platform, "overrides": _overrides}
    for path in sorted((root / layout.SCHEMA_DIR).glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        data = path.read_bytes()
        schema = json.loads(data)
        before = _dump(schema)
        if name in tunable:
            tunable[name](schema)
        cloud_schemas.fill(name, schema)
        after = _dump(schema)
        out[f"{layout.SCHEMA_DIR}/{path.name}"] = data if after == before else after.encode()
    docs = (root / DOCS_FILE).read_text(encoding="utf-8")
    out[DOCS_FILE] = _with_table(docs).encode()
    return out


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def is_engine_repo(root: Path) -> bool:
    """Whether `root` is the repository of this engine's source (not a copy of its inputs)."""
    return root.resolve() == ENGINE_ROOT


def properties(section: Section, layer: Layer) -> dict[str, Any]:
    out = {t.key: t.schema(layer) for t in of(section, layer)}
    for t in of(section, layer):
        if t.kind == "per_cloud":
            out[t.key]["properties"] = {c: {"description": cloud.machine_words, "type": "string"}
                                        for c, cloud in clouds.CLOUDS.items()}
    return out


def _worker_group(layer: Layer) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False,
                           "description": "One worker group's sizing (the same keys for every group)."}
    # The platform's file must set what has no engine default.
    required = [t.key for t in of("worker_group", layer) if layer == "platform" and t.default is PLATFORM]
    if required:
        out["required"] = required
    out["properties"] = properties("worker_group", layer)
    return out


def _groups(words: dict[str, str]) -> dict[str, Any]:
    return {g: {"description": words[g], "$ref": WORKER_GROUP_REF} for g in layout.WORKER_GROUPS}


def _extractors(schema: dict[str, Any]) -> None:
    entry = schema["properties"]["extractors"]["additionalProperties"]
    kept = {k: v for k, v in entry["properties"].items() if k in ENTRY_KEYS}
    entry["properties"] = {**properties("extractor", "registry"), **kept}


def _platform(schema: dict[str, Any]) -> None:
    p = schema["properties"]
    p["extractor_defaults"]["properties"] = properties("extractor", "platform")
    p["worker_groups"]["properties"] = _groups({g: f"Defaults of the {g} group." for g in layout.WORKER_GROUPS})
    p["head"]["properties"] = properties("head", "platform")
    p["spec"]["properties"] = properties("health", "platform")
    p["celery"]["properties"]["worker"]["properties"] = properties("celery_worker", "platform")
    p["celery"]["properties"]["beat"]["properties"] = properties("celery_beat", "platform")
    schema["$defs"] = {**schema.get("$defs", {}), "worker_group": _worker_group("platform")}


def _overrides(schema: dict[str, Any]) -> None:
    p = schema["properties"]
    p["overrides"]["additionalProperties"]["properties"] = properties("extractor", "tenant")
    p["cluster"]["properties"] = _groups(GROUP_WORDS)
    p["head"]["properties"] = properties("head", "tenant")
    p["spec"]["properties"] = properties("health", "tenant")
    schema["$defs"] = {**schema.get("$defs", {}), "worker_group": _worker_group("tenant")}


def table() -> str:
    """The key table of docs/tenants.md: every key a tenant may set."""
    rows = ["| key | value | what it does | rendered as |", "|---|---|---|---|"]
    for t in tunables.TUNABLES:
        if "tenant" in t.layers:
            what = (t.tenant_description or t.description).replace("|", "\\|")
            where = t.no_output or t.renders
            rows.append(f"| `{t.where}` | {_value(t)} | {what} | {where} |")
    return "\n".join(rows)


def _value(t: Tunable) -> str:
    words = {"integer": "whole number", "number": "number", "quantity": "quantity", "boolean": "true or false",
             "string": "text", "per_cloud": "one per cloud"}[t.kind]
    low = f"> {_num(t.exclusive_minimum)}" if t.exclusive_minimum is not None else (
        _num(t.minimum) if t.minimum is not None else None)
    if low is not None and t.maximum is not None:
        words += f", {low} to {_num(t.maximum)}" if not low.startswith(">") else f" {low}, at most {_num(t.maximum)}"
    return words


def _num(value: float | None) -> str:
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def _with_table(docs: str) -> str:
    if BEGIN not in docs or END not in docs:
        raise ValueError(f"{DOCS_FILE}: the generated key table's markers are missing ({BEGIN!r} ... {END!r})")
    head, rest = docs.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{rest.split(END, 1)[1]}"
