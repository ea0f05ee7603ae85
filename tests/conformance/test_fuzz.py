"""Fuzzing: whatever a tenant's files contain, `dataplane` either renders or reports
problems (exit 0, 1 or 2), and never fails with a traceback (exit 3)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout
from render.validate.schemas import inline_refs, schema
from tests.hyp import HealthCheck, at_most, given, settings, st
from tests.support import copy_repo
from tests.validation_repo import run

FUZZ = settings(max_examples=at_most(120), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROBLEM_LINE = re.compile(r"^[^\s:][^:]*:\d+:\d+: ", re.M)


def _keys(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    out = set(node.get("properties", {}))
    for sub in list(node.get("properties", {}).values()) + [node.get("additionalProperties")]:
        out |= _keys(sub)
    return out


KNOWN = sorted(_keys(inline_refs(schema("overrides"), schema("overrides"))) | _keys(schema("tenant")) | _keys(schema("release"))
               | {"text_extractor", "image_extractor_v1", "web_scraper", "scrolling_text_extractor", "MONGO_URI"})
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**12), st.floats(), text,
    st.sampled_from(["8GB", "2 cores", "512m", "0", "-1", "1e3", "7", "28Gi", "10Gi", "0.0001", "tenant-acme-3f9a1c2",
                     "tenant-globex-3f9a1c2", "gpu-workers", "text_extractor", "yes", "", "org_7f3a9c21", "gcp",
                     "ghcr.io/dataplane-platform/engine:tenant-x-abcdef1", "https://x", "shared_instance"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KNOWN) | text, inner, max_size=3), max_leaves=8)


def check(root: Path, tenant: str) -> None:
    code, _out, err = run(root, "render", "--check", tenant)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        assert PROBLEM_LINE.search(err), err


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("fuzz"), outputs=False)


TOKENS = ["overrides:", "disabled:", "cluster:", "env:", "spec:", "head:", "text_extractor:", "gpu-workers:",
          "min_replicas: ", "max_replicas: ", "memory: ", "\n", "\n  ", "\n    ", "- ", "&a ", "*a", "<<: ", "!!int ",
          "!!python/object ", "!x ", "{", "}", "[", "]", ", ", ": ", "8Gi", "3", "-1", "1.5", ".inf", "\t", "'", '"',
          "# c", "---\n", "? ", "|\n", ">", "%YAML 1.1\n", "\x00", "é", "\ufeff", "~", "yes", "0x1F", "1:30"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_random_yaml_text(repo: Path, source: str) -> None:
    (repo / "tenants/acme/overrides.yaml").write_text(source, encoding="utf-8")
    check(repo, "acme")


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(repo: Path, data: bytes) -> None:
    (repo / "tenants/acme/overrides.yaml").write_bytes(data)
    check(repo, "acme")


@FUZZ
@given(values)
def test_random_documents(repo: Path, doc: Any) -> None:
    (repo / "tenants/acme/overrides.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    check(repo, "acme")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def mutate(doc: Any, data: st.DataObject) -> Any:
    """One random edit of a valid document: set, delete, rename or add at a random place."""
    doc = copy.deepcopy(doc)
    path = data.draw(st.sampled_from(_paths(doc)))
    if not path:
        return data.draw(values)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    op = data.draw(st.sampled_from(["set", "delete", "rename", "add"]))
    if op == "set":
        parent[last] = data.draw(values)
    elif op == "delete":
        del parent[last]
    elif op == "rename" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(KNOWN) | text)] = parent.pop(last)
    elif isinstance(parent, dict):
        parent[data.draw(st.sampled_from(KNOWN) | text)] = data.draw(values)
    else:
        parent.append(data.draw(values))
    return doc


TARGETS = ["registry/platform.yaml", "registry/extractors.yaml", "tenants/globex/overrides.yaml", "tenants/initech/overrides.yaml", "tenants/acme/tenant.yaml",
           "tenants/initech/tenant.yaml", "tenants/acme/release.yaml"]


@settings(FUZZ, max_examples=at_most(300))
@given(st.sampled_from(TARGETS), st.integers(1, 3), st.data())
def test_mutations_of_valid_files(repo: Path, target: str, edits: int, data: st.DataObject) -> None:
    original = (repo / target).read_text(encoding="utf-8")
    doc = yaml.safe_load(original)
    for _ in range(edits):
        doc = mutate(doc, data)
    try:
        (repo / target).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        check(repo, "globex" if target.startswith(layout.REGISTRY_DIR) else target.split("/")[1])
    finally:
        (repo / target).write_text(original, encoding="utf-8")


@FUZZ
@given(st.lists(values, max_size=4))
def test_json_output_is_always_json(repo: Path, docs: list[Any]) -> None:
    (repo / "tenants/acme/overrides.yaml").write_text(yaml.safe_dump({"overrides": {"text_extractor": docs}}),
                                                      encoding="utf-8")
    code, out, _ = run(repo, "--format", "json", "validate", "acme")
    assert code in (0, 2)
    assert isinstance(json.loads(out or "[]"), list)

