"""Stage 2, validate: JSON Schemas, then semantic rules. Collects every problem.

Pure: takes loaded documents, returns problems. The schemas in render/schemas/ are the
same files editors use through each input file's `yaml-language-server` line.

Order, per tenant: each file against its schema; checks of single files (names,
quantities, env, release image); then, only when the tenant's files are schema-valid,
the rules over its effective (merged) values; last, fleet-wide claims.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from render import checks, extractor_names, migration, misplaced, rules
from render.load import Document, Repo, TenantFiles, pinned_revision
from render.problems import Problem, did_you_mean

__all__ = ["check_schema", "did_you_mean", "schema", "validate_repo", "validate_tenant"]

# A whole number is an int, never 1.0 (JSON Schema would accept it) nor true.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("render").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@cache
def _validator(name: str) -> Any:
    return _Validator(schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_schema(doc: Document, name: str) -> list[Problem]:
    problems = []
    for error in _validator(name).iter_errors(doc.data):
        problems.extend(_schema_problem(doc, error, name))
    return problems


def _schema_problem(doc: Document, error: jsonschema.ValidationError, name: str) -> list[Problem]:
    path = tuple(error.absolute_path)
    field = str(path[-1]) if path else "the file"
    if path and isinstance(path[-1], int):  # a list item: name the list, not the index
        field = f"entry of {path[-2]}" if len(path) > 1 else "entry"
    v = error.validator
    if v == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        noun = "worker group" if path == ("cluster",) else "key"
        return [doc.problem(path + (k,), f"unknown {noun} {k!r}", _unknown_key_hint(k, allowed, name))
                for k in error.instance if k not in allowed]
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(path, f"missing required key {missing!r}", _describe(error.schema, missing))]
    if v == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        close = did_you_mean(str(error.instance), [str(o) for o in error.validator_value], "values")
        return [doc.problem(path, f"{_show(error.instance)} is not one of: {options}", close, at_value=True)]
    if v == "type":
        return [doc.problem(path, f"expected {_types(error.validator_value)}, got {_show(error.instance)}",
                            _type_hint(path, error), at_value=True)]
    if v == "uniqueItems" and isinstance(error.instance, list):
        seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(error.instance):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                out.append(doc.problem(path + (i,), f"{_show(item)} is listed twice",
                                       f"it is already listed on line {doc.mark(path + (seen[key],))[0]}; keep one",
                                       at_value=True))
            seen.setdefault(key, i)
        return out
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [doc.problem(path, f"{field} {_show(error.instance)} {_bound_words(v, error.validator_value)}",
                            _bound_hint(field, v, error.validator_value), at_value=True)]
    if v in ("pattern", "minLength", "maxLength", "propertyNames"):
        return [doc.problem(path, f"{_show(error.instance)} is not a valid {field}", _describe_schema(error.schema),
                            at_value=True)]
    return [doc.problem(path, error.message, "", at_value=True)]


def _bound_words(v: str, bound: Any) -> str:
    return {"minimum": f"is below the minimum of {bound}", "maximum": f"is above the maximum of {bound}",
            "exclusiveMinimum": f"must be more than {bound}", "exclusiveMaximum": f"must be less than {bound}"}[v]


def _bound_hint(field: str, v: str, bound: Any) -> str:
    if field == "max_replicas" and v == "minimum":
        return "an extractor needs at least one replica; to turn it off, list it under `disabled`"
    if v in ("maximum", "exclusiveMaximum"):
        return f"use a value up to {bound}; larger is almost surely a typo"
    return f"use a value of at least {bound}" if v == "minimum" else f"use a value above {bound}"


def _type_hint(path: tuple[Any, ...], error: jsonschema.ValidationError) -> str:
    value, expected = error.instance, error.validator_value
    if path[:1] == ("env",) and len(path) == 2:
        if isinstance(value, bool):
            return "quote the value as you wrote it: YAML reads unquoted yes/no/on/off/true/false as booleans"
        if value is None:
            return f'write {path[1]}: "" for an empty value'
        return f'quote it: {path[1]}: "{value}"'
    if value is None and expected in ("object", "array"):
        return "indent the entries under this key, or remove the key"
    if expected == "integer" and isinstance(value, float):
        return f"write a whole number, e.g. {round(value)}"
    if expected == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return f"remove the quotes: {value.strip()}"
    return _describe_schema(error.schema)


def _describe(schema_: dict[str, Any], key: str) -> str:
    sub = schema_.get("properties", {}).get(key, {})
    return _describe_schema(sub) or "add the missing key"


def _describe_schema(sub: dict[str, Any]) -> str:
    return str(sub.get("description", ""))


def _unknown_key_hint(key: str, allowed: list[str], name: str) -> str:
    close = did_you_mean(key, allowed)
    if close.startswith("did you mean"):
        return close
    homes = _homes(schema(name), key)
    if homes:
        return f"{key} belongs under {' or '.join(homes)}"
    return close


def _homes(node: dict[str, Any], key: str, prefix: str = "") -> list[str]:
    """Where `key` is a valid property in a schema, as dotted paths ('overrides.<extractor>')."""
    out = []
    props = node.get("properties", {}) if isinstance(node, dict) else {}
    if key in props and prefix:
        # The worker groups share one shape: name the shape, not each group.
        out.append("cluster.<group>" if prefix.startswith("cluster.") else prefix)
    for k, sub in props.items():
        out += _homes(sub, key, f"{prefix}.{k}" if prefix else k)
    extra = node.get("additionalProperties") if isinstance(node, dict) else None
    if isinstance(extra, dict) and prefix:
        out += _homes(extra, key, f"{prefix}.<{'extractor' if prefix == 'overrides' else 'name'}>")
    return sorted(set(out))[:3]


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    words = {"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "nothing"}
    return " or ".join(words.get(n, n) for n in names)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def validate_repo(repo: Repo) -> list[Problem]:
    """Every problem in every input file of the repository."""
    problems = _registry_problems(repo.platform, repo.extractors)
    registry_ok = {None: not problems}
    for rev, pinned in repo.revisions.items():  # the registry of each pinned platform revision
        found = _registry_problems(pinned.platform, pinned.extractors)
        registry_ok[rev] = not found
        problems += found
    for files in repo.tenants.values():
        rev = pinned_revision(files)
        if rev is not None and rev not in repo.revisions:  # load_repo reads them; a hand-built Repo may not
            problems.append(files.release.problem(("platform_revision",), "this platform revision was not loaded",
                                                  "load the repository with render.load.load_repo"))
            continue
        view = repo if rev is None else replace(repo, platform=repo.revisions[rev].platform,
                                                extractors=repo.revisions[rev].extractors)
        problems += validate_tenant(files, view if registry_ok.get(rev) else None)
    tenant_docs = {name: files.tenant for name, files in repo.tenants.items()} | repo.peers
    all_claims = [c for name, doc in sorted(tenant_docs.items()) for c in checks.claims(name, doc, repo.platform)]
    peer_files = {doc.file for doc in repo.peers.values()}
    problems += [p for p in checks.fleet_conflicts(all_claims) + checks.prefix_conflicts(all_claims)
                 if p.file not in peer_files]
    return sorted(set(problems))


def validate_tenant(files: TenantFiles, repo: Repo | None) -> list[Problem]:
    """Problems of one tenant's files; `repo` is None when the registry itself is broken.
    A setting at the wrong indentation level is reported once; the problems it causes are not."""
    wrong_level = [(misplaced.find(doc, schema(name)), doc.file)
                   for doc, name in ((files.tenant, "tenant"), (files.overrides, "overrides"))]
    problems = _tenant_problems(files, repo)
    return [p for found, _ in wrong_level for p in found.problems] + [
        p for p in problems if not any(found.covers(p, file) for found, file in wrong_level)]


def _tenant_problems(files: TenantFiles, repo: Repo | None) -> list[Problem]:
    release_shape = check_schema(files.release, "release")
    shape = check_schema(files.tenant, "tenant") + check_schema(files.overrides, "overrides") + release_shape
    problems = shape + checks.check_name(files)
    if not release_shape:  # a malformed image is reported once, by the schema
        problems += checks.check_release(files, repo.platform if repo else None)
    sizes = checks.check_quantities(files.overrides, "overrides")
    problems += sizes
    problems += migration.check(files.tenant, repo.platform.data.get("shared_platform") if repo is not None else {})
    if repo is None:
        return problems
    protected = repo.platform.data.get("protected_env") or []
    problems += checks.check_extractor_names(files.overrides, repo.extractors)
    problems += checks.check_env(files.overrides, protected)
    if not shape:
        problems += checks.check_cluster(files.tenant, repo.platform)
    problems += checks.check_secret_store(files.tenant, repo.platform)
    # Rules on the merged values need well-shaped files and readable sizes; other mistakes
    # (an unknown name, a protected env key) do not stop them, so all are reported at once.
    if not shape and not sizes:
        problems += rules.tenant_rules(files, repo.platform, repo.extractors)
        if not problems:  # the peak is only meaningful over values every other rule accepts
            problems += rules.contract_rules(files, repo.platform, repo.extractors)
    return problems


def _registry_problems(platform: Document, extractors: Document) -> list[Problem]:
    """Problems of the platform files of one revision: schemas first, then their rules."""
    problems = (check_schema(platform, "platform") + check_schema(extractors, "extractors")
                + checks.check_quantities(platform, "platform") + checks.check_quantities(extractors, "extractors"))
    if not problems:
        problems += rules.registry_rules(platform, extractors)
        problems += checks.check_env(platform, [])
        problems += extractor_names.check_aliases(extractors)
    return problems
