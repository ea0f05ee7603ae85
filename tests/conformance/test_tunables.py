"""Every tunable of render/tunables.py reaches the output, and what is generated from the
list (three schemas' blocks, docs/tenants.md's key table, the comment's words) is current.

The renders are of a fixture tenant (an AWS tenant with a dedicated database, none of the
examples), built in memory from this repository's registry and templates.
"""

from __future__ import annotations

import copy
import functools
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import generated, layout, templates, tunables
from render.pipeline import effective, render_tenant
from render.tunables import PLATFORM, TUNABLES, Tunable
from render.validate import validate_repo
from render.workflows import change_summary
from tests.hyp import at_most, given, settings, st
from tests.support import RELEASE_YAML, ROOT, copy_repo, dataplane, memory_repo, need, tenant_yaml

NAME = "kestrel"
TENANT = tenant_yaml(NAME, cloud="aws")
PLATFORM_DATA = yaml.safe_load((ROOT / layout.PLATFORM_FILE).read_text(encoding="utf-8"))
# What a platform-only value needs beside it to be valid: GPUs in a pod need a machine with GPUs
# (its own rendering is nothing: test_each_tunable..., worker_group.machine).
COMPANIONS = {("worker_group", "gpus"): {"machine": {"gcp": "g2-standard-8", "aws": "g6.2xlarge"}}}


class _Plain(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _repo(overrides: dict[str, Any], platform: dict[str, Any]) -> Any:
    return _repo_of(yaml.safe_dump(overrides), yaml.dump(platform, Dumper=_Plain, sort_keys=False))


@functools.cache
def _repo_of(overrides: str, platform: str) -> Any:
    return memory_repo({NAME: (TENANT, overrides, RELEASE_YAML)}, platform=platform)


def _render(overrides: dict[str, Any], platform: dict[str, Any] = PLATFORM_DATA) -> dict[str, bytes] | None:
    """Every output file of the fixture tenant, or None when the inputs are refused."""
    return _render_of(yaml.safe_dump(overrides), yaml.dump(platform, Dumper=_Plain, sort_keys=False))


@functools.cache
def _render_of(overrides: str, platform: str) -> dict[str, bytes] | None:
    repo = _repo_of(overrides, platform)
    if validate_repo(repo):
        return None
    shared = repo.inputs_for(NAME)
    out = render_tenant(repo.tenants[NAME], shared, templates.environment(shared.templates))
    return {path: data for scope in out.values() for path, data in scope.items()}


@functools.cache
def _values() -> dict[str, Any]:
    """The fixture's effective values."""
    repo = _repo({}, PLATFORM_DATA)
    return effective(repo.tenants[NAME], repo.inputs_for(NAME)).values


def _targets(t: Tunable) -> list[str | None]:
    """The extractors or worker groups a value of `t` may be set for (None: a section's only one)."""
    if t.section == "extractor":
        return [i for i, e in _values()["extractors"].items() if e["enabled"] and e["runtime"] == "ray_serve"]
    return list(layout.WORKER_GROUPS) if t.section == "worker_group" else [None]


def _attempts(t: Tunable) -> list[tuple[str | None, tuple[str, ...]]]:
    """Each target as the fixture has it, then each worker group with its extractors disabled
    (a group without GPUs holds no GPU extractor)."""
    out: list[tuple[str | None, tuple[str, ...]]] = [(target, ()) for target in _targets(t)]
    if t.section == "worker_group":
        registry = yaml.safe_load((ROOT / layout.EXTRACTORS_FILE).read_text(encoding="utf-8"))["extractors"]
        out += [(g, tuple(sorted(i for i, e in registry.items() if e["worker_group"] == g))) for g in layout.WORKER_GROUPS]
    return out


def _file_path(t: Tunable, layer: tunables.Layer, target: str | None) -> list[str]:
    """The path of `t`'s mapping in `layer`'s file (tunables.SECTIONS), for `target`."""
    return [target if part.startswith("<") else part for part in tunables.SECTIONS[t.section][layer].split(".")
            if target is not None or not part.startswith("<")]


def _current(t: Tunable, target: str | None) -> Any:
    values: Any = _values()
    if t.section not in tunables.EFFECTIVE:  # the platform's alone, read from its file
        values, path = PLATFORM_DATA, _file_path(t, "platform", target)
    else:
        path = [target if p.startswith("<") else p for p in tunables.EFFECTIVE[t.section]]
    for part in path:
        values = values[part]
    return values.get(t.key)


def _set(t: Tunable, target: str | None, value: Any, disabled: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """(overrides, platform) with `t` set to `value` for `target`, at the lowest layer that may set it."""
    overrides: dict[str, Any] = {"disabled": list(disabled)} if disabled else {}
    platform = copy.deepcopy(PLATFORM_DATA)
    at = overrides if "tenant" in t.layers else platform
    for part in _file_path(t, "tenant" if "tenant" in t.layers else "platform", target):
        at = at.setdefault(part, {})
    at[t.key] = value
    at.update(COMPANIONS.get((t.section, t.key), {}))
    return overrides, platform


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


@pytest.mark.parametrize("t", TUNABLES, ids=lambda t: f"{t.section}.{t.key}")
def test_each_tunable_set_to_its_example_changes_the_file_it_renders_into(t: Tunable) -> None:
    """Its `example` (a valid value other than the fixture's) changes `file`, or, for a key
    declared to render nothing, changes no byte at all."""
    tried = []
    for target, disabled in _attempts(t):
        if _current(t, target) == t.example:
            continue
        after = _render(*_set(t, target, t.example, disabled))
        tried.append(target)
        if after is None:
            continue  # refused for this extractor or group (it does not fit, say): try the next
        before = _render({"disabled": list(disabled)} if disabled else {})
        assert before is not None
        changed = _changed(before, after)
        if t.no_output:
            assert changed == set(), f"{t.key} is declared to render nothing ({t.no_output}), but changes {changed}"
        else:
            assert f"{layout.rendered_dir(NAME)}/{t.file}" in changed, (
                f"{t.where} = {t.example!r} ({target}) does not change {t.file}; it should render as: {t.renders}"
                f"; changed: {sorted(changed)}")
        return
    pytest.fail(f"{t.where}: example {t.example!r} is refused (or equals the fixture's value) for every one of {tried}")


NUMERIC = [t for t in TUNABLES if "tenant" in t.layers and t.kind in ("integer", "number") and not t.no_output]


@settings(max_examples=at_most(40), deadline=None, derandomize=True)
@given(st.sampled_from(NUMERIC), st.integers(-4, 4))
def test_any_other_valid_value_of_a_tenant_tunable_changes_a_rendered_byte(t: Tunable, step: int) -> None:
    """A value near the current one, within the declared bounds: refused by validation, or
    rendered differently."""
    target = _targets(t)[0]
    current = _current(t, target)
    low = t.minimum if t.minimum is not None else (t.exclusive_minimum or 0) + 1
    value = (current if current is not None else int(low)) + step
    if value == current or value < low or (t.maximum is not None and value > t.maximum):
        return
    after = _render(*_set(t, target, value))
    if after is not None:
        before = _render({})
        assert before is not None and _changed(before, after), f"{t.where} {current} -> {value} renders the same bytes"


def test_max_queued_requests_reaches_serve_config_and_ray_serve_accepts_it() -> None:
    need("ray")
    from render.conformance.serve import validate_config

    overrides = {"overrides": {"text_extractor": {"max_queued_requests": 50}}}
    out = _render(overrides)
    assert out is not None
    engine = yaml.safe_load(out[f"{layout.rendered_dir(NAME)}/rayservice-engine.yaml"])
    config = yaml.safe_load(engine["spec"]["serveConfigV2"])
    by_name = {a["name"]: a["deployments"][0] for a in config["applications"]}
    assert by_name["text_extractor_v1"]["max_queued_requests"] == 50
    assert "max_queued_requests" not in by_name["image_extractor_v1"]  # unset: Ray Serve's default, no limit
    assert validate_config(config, lambda path, message, hint="": (path, message)) == []


# -- the declarations themselves -------------------------------------------------------

def test_a_key_has_one_label_and_every_output_is_declared_or_explained() -> None:
    for t in TUNABLES:
        assert t.label and t.description
        if t.section in tunables.EFFECTIVE:  # what the comment describes
            assert change_summary.WORDS[t.key] == t.label, f"{t.key}: two labels ({t.label!r} in {t.section})"
        assert bool(t.no_output) != bool(t.renders), f"{t.section}.{t.key}: say where it renders, or why it does not"
        assert t.example is not None
    assert len({(t.section, t.key) for t in TUNABLES}) == len(TUNABLES)


def test_every_value_of_these_sections_in_the_effective_configuration_is_a_tunable() -> None:
    """What the merge carries for an extractor (beyond what the entry is), a worker group, the
    head and the health thresholds is declared, and `tunables.at` finds it with its words."""
    values = _values()
    paths = [("extractors", i, k) for i, e in values["extractors"].items() for k in e
             if k not in (*generated.ENTRY_KEYS, "id")]
    paths += [("cluster", g, k) for g, v in values["cluster"].items() for k in v]
    paths += [(s, k) for s in ("head", "spec") for k in values[s]]
    undeclared = [p for p in paths if tunables.at(p) is None]
    assert undeclared == []
    assert tunables.at(("extractors", "text_extractor_v1", "max_replicas")).label == "maximum replicas"  # type: ignore[union-attr]
    assert tunables.at(("tenant", "name")) is None


def test_the_platform_sets_every_key_without_an_engine_default() -> None:
    for t in TUNABLES:
        if t.default is not PLATFORM:
            continue
        for target in layout.WORKER_GROUPS if t.section == "worker_group" else [None]:
            at: Any = PLATFORM_DATA
            for part in _file_path(t, "platform", target):
                at = at[part]
            assert t.key in at, f"{t.section}.{t.key} ({target})"


def test_worker_group_words_cover_every_group() -> None:
    assert tuple(tunables.GROUP_WORDS) == layout.WORKER_GROUPS


# -- the generated files ---------------------------------------------------------------

def test_the_generated_schemas_and_docs_table_are_current() -> None:
    for rel, data in generated.files(ROOT).items():
        assert (ROOT / rel).read_bytes() == data, f"{rel} is stale: run `dataplane render`"


def test_a_worker_group_is_declared_once_and_referenced_by_each_group() -> None:
    for name, at in (("platform", "worker_groups"), ("overrides", "cluster")):
        schema = yaml.safe_load((ROOT / layout.SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert {g: v["$ref"] for g, v in schema["properties"][at]["properties"].items()} == \
            dict.fromkeys(layout.WORKER_GROUPS, generated.WORKER_GROUP_REF)


def _engine_copy(tmp_path: Path) -> Path:
    root = copy_repo(tmp_path)
    shutil.copytree(ROOT / layout.SCHEMA_DIR, root / layout.SCHEMA_DIR)
    (root / "docs").mkdir()
    shutil.copy(ROOT / generated.DOCS_FILE, root / generated.DOCS_FILE)
    return root


def test_render_check_names_a_generated_file_the_list_no_longer_matches(tmp_path, monkeypatch, capsys) -> None:
    root = _engine_copy(tmp_path)
    monkeypatch.setattr(generated, "is_engine_repo", lambda r: r == root)
    assert dataplane(root, "render", "--check", "--no-cache") == 0
    changed = tuple(replace(t, maximum=30) if t.key == "probe_timeout_s" else t for t in TUNABLES)
    monkeypatch.setattr(tunables, "TUNABLES", changed)
    capsys.readouterr()
    assert dataplane(root, "render", "--check", "--no-cache") == 1
    out = capsys.readouterr().out
    assert "stale: render/schemas/platform.schema.json" in out and "stale: render/schemas/overrides.schema.json" in out
    assert "extractors.schema.json" not in out  # it has no health thresholds
    assert dataplane(root, "render", "--no-cache") == 0
    assert '"maximum": 30' in (root / layout.SCHEMA_DIR / "overrides.schema.json").read_text(encoding="utf-8")
