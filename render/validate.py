"""Stage 2, validate: JSON Schemas, then semantic rules. Collects every problem.

Pure: takes loaded documents, returns problems. The schemas in render/schemas/ are the
same files editors use through each input file's `yaml-language-server` line.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from render import layout, migration, quantity
from render.load import Document, Repo, TenantFiles, pinned_revision
from render.problems import Problem
from render.release import release_problems


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("render").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    s = schema(name)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_schema(doc: Document, name: str) -> list[Problem]:
    problems = []
    for error in _validator(name).iter_errors(doc.data):
        problems.extend(_schema_problem(doc, error))
    return problems


def _schema_problem(doc: Document, error: jsonschema.ValidationError) -> list[Problem]:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        return [doc.problem(path + (k,), f"unknown key {k!r}", did_you_mean(k, allowed)) for k in extra]
    if error.validator == "required":
        return [doc.problem(path, error.message.replace("'", "", 0), "add the missing key")]
    if error.validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        close = did_you_mean(str(error.instance), [str(o) for o in error.validator_value])
        return [doc.problem(path, f"{error.instance!r} is not one of: {options}", close)]
    if error.validator == "type":
        return [doc.problem(path, f"expected {_types(error.validator_value)}, got {_show(error.instance)}", "")]
    if error.validator == "propertyNames":
        return [doc.problem(path, error.message, "")]
    return [doc.problem(path, error.message, _hint_for(error))]


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
        return f'"{value}"'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _hint_for(error: jsonschema.ValidationError) -> str:
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return "use a value in the allowed range"
    if error.validator == "pattern":
        return "check the value's format against docs/tenants.md"
    return ""


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"valid keys: {', '.join(options)}" if options and len(options) <= 12 else ""


def validate_repo(repo: Repo) -> list[Problem]:
    """Every problem in every input file of the repository."""
    problems = check_schema(repo.platform, "platform") + check_schema(repo.extractors, "extractors")
    registry_ok = {None: not problems}
    for rev, pinned in repo.revisions.items():  # the registry of each pinned platform revision
        found = check_schema(pinned.platform, "platform") + check_schema(pinned.extractors, "extractors")
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
    return sorted(set(problems))


def validate_tenant(files: TenantFiles, repo: Repo | None) -> list[Problem]:
    problems = (check_schema(files.tenant, "tenant") + check_schema(files.overrides, "overrides")
                + check_schema(files.release, "release"))
    problems += _check_name(files)
    problems += release_problems(files)
    problems += _check_quantities(files.overrides)
    problems += migration.check(files.tenant, repo.platform.data.get("shared_platform") if repo is not None else {})
    if repo is not None:
        problems += _check_extractor_names(files.overrides, repo.extractors)
        problems += _check_protected_env(files.overrides, repo.platform)
    return problems


def _check_name(files: TenantFiles) -> list[Problem]:
    out = []
    name = files.name
    if not layout.DNS1123_LABEL.match(name) or len(name) > layout.TENANT_NAME_MAX:
        out.append(Problem(layout.tenant_dir(name), 1, 1, "", f"tenant folder name {name!r} is not a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters",
                           "use lower-case letters, digits and '-', starting and ending with a letter or digit"))
    declared = files.tenant.data.get("name") if isinstance(files.tenant.data, dict) else None
    if isinstance(declared, str) and declared != name:
        out.append(files.tenant.problem(("name",), f"name {declared!r} differs from the folder name {name!r}",
                                        f"set name: {name}, or rename the folder"))
    return out


def _check_quantities(doc: Document) -> list[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    places: list[tuple[tuple[str | int, ...], Any]] = []
    for ext, entry in (data.get("overrides") or {}).items():
        if isinstance(entry, dict) and "memory" in entry:
            places.append((("overrides", ext, "memory"), entry["memory"]))
    for group, entry in (data.get("cluster") or {}).items():
        if isinstance(entry, dict):
            places += [(("cluster", group, k), entry[k]) for k in ("cpu", "memory") if k in entry]
    head = data.get("head") or {}
    if isinstance(head, dict):
        places += [(("head", k), head[k]) for k in ("cpu", "memory") if k in head]
    out = []
    for path, value in places:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and not quantity.is_quantity(value):
            fix = quantity.suggest(str(value))
            out.append(doc.problem(path, f"{value!r} is not a Kubernetes quantity",
                                   f"write {fix!r}" if fix else 'use e.g. "2", "500m", "8Gi"'))
    return out


def _check_extractor_names(doc: Document, registry: Document) -> list[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    entries = registry.data["extractors"]
    known = sorted(set(entries) | {e["name"] for e in entries.values()})
    out = []
    disabled = data.get("disabled") or []
    for i, item in enumerate(disabled if isinstance(disabled, list) else []):
        if isinstance(item, str) and item not in known:
            out.append(doc.problem(("disabled", i), f"unknown extractor {item!r}", did_you_mean(item, known)))
    section = data.get("overrides") or {}
    for key in section if isinstance(section, dict) else {}:
        if key not in known:
            out.append(doc.problem(("overrides", key), f"unknown extractor {key!r}", did_you_mean(key, known)))
        elif _disables(disabled, key, entries):
            out.append(doc.problem(("overrides", key), f"{key!r} is disabled, so its overrides would never apply",
                                   "remove it from `disabled` or delete these overrides"))
    return out


def _disables(disabled: Any, key: str, entries: dict[str, Any]) -> bool:
    if not isinstance(disabled, list):
        return False
    names = {key} | ({entries[key]["name"]} if key in entries else set())
    return bool(names & set(d for d in disabled if isinstance(d, str)))


def _check_protected_env(doc: Document, platform: Document) -> list[Problem]:
    data = doc.data if isinstance(doc.data, dict) else {}
    env = data.get("env") or {}
    protected = set(platform.data.get("protected_env") or [])
    return [doc.problem(("env", key), f"{key} is set by the platform and cannot be overridden",
                        "it carries this tenant's isolation (datastores, queues, identity); remove it")
            for key in (env if isinstance(env, dict) else {}) if key in protected]
