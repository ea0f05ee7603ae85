"""The pull-request comment names every effective value a change touches.

The keys come from the published overrides schema (what a tenant may set), not from a list
written here, so a key added to the schema is tested without editing this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from render.pipeline import effective
from render.validate.schemas import inline_refs
from render.workflows import pr_comment
from render.workflows.pr_comment import TenantChange
from tests.support import RELEASE_DIGEST, RELEASE_YAML, ROOT, memory_repo, tenant_yaml

_PUBLISHED = json.loads((ROOT / "render/schemas/overrides.schema.json").read_text())
SCHEMA = inline_refs(_PUBLISHED, _PUBLISHED)["properties"]
EXTRACTOR = "text_extractor_v1"


def _changed(kind: Any, current: Any) -> Any:
    """A value of the schema's type that differs from `current`."""
    kinds = kind if isinstance(kind, list) else [kind]
    if "boolean" in kinds:
        return not current
    if "string" in kinds and isinstance(current, str):
        return current + "1" if current[-1:].isdigit() else "3" + current  # "4" -> "41", "8Gi" -> "38Gi"
    return (current or 0) + 1


def _tunables() -> list[tuple[str, ...]]:
    """Every key a tenant sets, as a path into overrides.yaml."""
    keys: list[tuple[str, ...]] = [("auto_deploy",), ("env", "NEW_SETTING")]
    keys += [("overrides", EXTRACTOR, k) for k in SCHEMA["overrides"]["additionalProperties"]["properties"]]
    keys += [("cluster", g, k) for g, v in SCHEMA["cluster"]["properties"].items() for k in v["properties"]]
    keys += [(section, k) for section in ("head", "spec") for k in SCHEMA[section]["properties"]]
    return keys


def _comment_for(overrides: dict[str, Any]) -> str:
    old = memory_repo({"acme": (tenant_yaml("acme"), "{}\n", RELEASE_YAML)})
    new = memory_repo({"acme": (tenant_yaml("acme"), yaml.safe_dump(overrides), RELEASE_YAML)})
    shared = old.inputs_for("acme")
    before, after = effective(old.tenants["acme"], shared), effective(new.tenants["acme"], shared)
    return pr_comment.comment([TenantChange("acme", before, after, shared, shared)], {}, {})


def _current(key: tuple[str, ...]) -> Any:
    repo = memory_repo({"acme": (tenant_yaml("acme"), "{}\n", RELEASE_YAML)})
    values = effective(repo.tenants["acme"], repo.inputs_for("acme")).values
    where = {"overrides": ("extractors",), "cluster": ("cluster",)}.get(key[0], (key[0],))
    value: Any = values
    for part in where + key[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("key", _tunables(), ids=lambda k: ".".join(k))
def test_each_tunable_key_changed_alone_is_named_in_the_comment(key):
    schema: Any = SCHEMA[key[0]]
    for part in key[1:]:
        schema = (schema.get("properties") or {}).get(part) or schema.get("additionalProperties") or {}
    new = _changed(schema.get("type", "string"), _current(key) if key[0] != "env" else None)
    if key[0] == "env":
        new = "on"
    overrides: dict[str, Any] = {}
    at = overrides
    for part in key[:-1]:
        at = at.setdefault(part, {})
    at[key[-1]] = new

    body = _comment_for(overrides)

    assert "No input, effective value or rendered file changes." not in body
    if key[-1] == "enabled":
        assert f"Extractor {EXTRACTOR} is disabled." in body
    else:
        assert f"`{key[-1]}`" in body, body
    assert "Platform-owned" not in body  # a tenant's own keys need no platform review
    if key[0] == "overrides" and key[-1] != "enabled":
        assert f"Extractor {EXTRACTOR}:" in body and f"→ {new}" in body.replace("→ true", "→ True")


def test_disabling_an_extractor_by_its_product_name_is_named():
    body = _comment_for({"disabled": ["web_scraper"]})
    assert "Extractor web_scraper_v1 is disabled." in body


def test_an_unchanged_tenant_is_not_listed_and_the_comment_says_nothing_changed():
    body = _comment_for({})
    assert "### acme" not in body and "No input, effective value or rendered file changes." in body


def test_platform_owned_changes_say_what_they_do_in_their_own_section():
    old = memory_repo({"acme": (tenant_yaml("acme", org="org_x1") + "routing: shared\n", "{}\n", RELEASE_YAML)})
    new = memory_repo({"acme": (tenant_yaml("acme", org="org_x1") + "routing: dedicated\n", "{}\n",
                                RELEASE_YAML.replace("2026.11.3", "2026.12.1"))})
    before, after = effective(old.tenants["acme"], old.inputs_for("acme")), effective(new.tenants["acme"], new.inputs_for("acme"))
    body = pr_comment.comment([TenantChange("acme", before, after, None, None)], {}, {})
    section = body.split("### Platform-owned changes: need platform review\n\n", 1)[1]
    assert section.startswith(
        f"- **acme**: Engine image changes from `ghcr.io/dataplane-platform/engine:2026.11.3@{RELEASE_DIGEST}` to "
        f"`ghcr.io/dataplane-platform/engine:2026.12.1@{RELEASE_DIGEST}` (release.yaml).\n"
        "- **acme**: Platform version 2026.11.3 → 2026.12.1 (release.yaml).\n"
        "- **acme**: Organization org_x1 moves from the shared platform to its dedicated data plane "
        "(routing: dedicated).\n")
    assert "### acme" not in body  # nothing the tenant itself sets changed
