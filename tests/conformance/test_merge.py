"""Merge semantics: precedence, provenance, disabled always wins, new registry entries appear."""

from __future__ import annotations

import copy
import re

import yaml

from render.pipeline import effective, render_repo
from render.validate import validate_repo
from tests.hyp import HealthCheck, at_most, given, settings, st
from tests.support import RELEASE_YAML, ROOT, memory_repo, tenant_yaml

REGISTRY = yaml.safe_load((ROOT / "registry/extractors.yaml").read_text())["extractors"]
IDS = sorted(REGISTRY)
NAMES = sorted({e["name"] for e in REGISTRY.values()})
SERVE_IDS = [i for i in IDS if REGISTRY[i]["runtime"] == "ray_serve"]


def _effective(overrides: str, name: str = "acme"):
    repo = memory_repo({name: (tenant_yaml(name), overrides, RELEASE_YAML)})
    return effective(repo.tenants[name], repo.current)


def test_empty_overrides_give_registry_and_platform_values() -> None:
    eff = _effective("{}\n")
    text = eff.values["extractors"]["text_extractor_v1"]
    assert text["min_replicas"] == REGISTRY["text_extractor_v1"]["min_replicas"]
    assert eff.values["cluster"]["batch-workers"]["max_replicas"] == 3
    assert eff.values["auto_deploy"] is True
    assert [i for i, e in eff.values["extractors"].items() if e["enabled"]] == \
        [i for i in IDS if REGISTRY[i]["enabled_by_default"]]


def test_id_override_beats_name_override_beats_registry() -> None:
    eff = _effective("overrides:\n  multimodal_extractor:\n    max_replicas: 9\n    min_replicas: 2\n"
                     "  multimodal_extractor_v2:\n    max_replicas: 7\n")
    v1, v2 = eff.values["extractors"]["multimodal_extractor_v1"], eff.values["extractors"]["multimodal_extractor_v2"]
    assert (v1["max_replicas"], v1["min_replicas"]) == (9, 2)
    assert (v2["max_replicas"], v2["min_replicas"]) == (7, 2)
    src = eff.provenance[("extractors", "multimodal_extractor_v2", "max_replicas")]
    assert (src.layer, src.file, src.line) == ("overrides", "tenants/acme/overrides.yaml", 6)
    assert eff.provenance[("extractors", "multimodal_extractor_v2", "upscale_delay_s")].layer == "registry"


def test_platform_extractor_defaults_fill_missing_fields() -> None:
    registry = copy.deepcopy(REGISTRY)
    registry["custom_extractor_v1"] = {k: REGISTRY["passthrough_extractor_v1"][k] for k in
                                       ("version", "description", "modalities", "runtime", "worker_group",
                                        "import_path", "capabilities", "enabled_by_default")}
    registry["custom_extractor_v1"]["name"] = "custom_extractor"
    repo = memory_repo({"acme": (tenant_yaml("acme"), "{}\n", RELEASE_YAML)},
                       extractors=yaml.safe_dump({"extractors": registry}))
    eff = effective(repo.tenants["acme"], repo.current)
    custom = eff.values["extractors"]["custom_extractor_v1"]
    assert (custom["num_cpus"], custom["memory"], custom["max_ongoing_requests"]) == (1, "4Gi", 5)
    assert eff.provenance[("extractors", "custom_extractor_v1", "memory")].layer == "platform"


def test_inputs_are_never_mutated() -> None:
    repo = memory_repo({"acme": (tenant_yaml("acme"), "overrides:\n  text_extractor:\n    max_replicas: 9\n", RELEASE_YAML)})
    before = copy.deepcopy((repo.current.platform.data, repo.current.extractors.data, repo.tenants["acme"].overrides.data))
    render_repo(repo)
    assert (repo.current.platform.data, repo.current.extractors.data, repo.tenants["acme"].overrides.data) == before


# Only overrides validate accepts: a minimum comes with a maximum above it (the registry's
# maxima go down to 2, so a minimum of 3 on its own is refused: tests/system/test_placement.py and
# the corpus test the refusal). Ids beat names, so an extractor's minimum and maximum come
# from one entry, or a minimum of at most 4 meets a maximum of at least 5.
_entry = st.one_of(
    st.fixed_dictionaries({}, optional={"max_replicas": st.integers(5, 9), "enabled": st.booleans()}),
    st.fixed_dictionaries({"min_replicas": st.integers(0, 4), "max_replicas": st.integers(5, 9)},
                          optional={"enabled": st.booleans()}),
)
overrides_strategy = st.fixed_dictionaries({}, optional={
    "disabled": st.lists(st.sampled_from(IDS + NAMES), unique=True, max_size=6),
    "overrides": st.dictionaries(st.sampled_from(IDS + NAMES), _entry, max_size=4),
    "auto_deploy": st.booleans(),
})


def _off(key: str, disabled: set[str]) -> bool:
    """Every version `key` names (an id, or a name) is disabled."""
    ids = [i for i in IDS if key in (i, REGISTRY[i]["name"])]
    return all(i in disabled or REGISTRY[i]["name"] in disabled for i in ids)


def _valid(overrides: dict) -> dict:
    """Drop overrides of disabled extractors (that is an input error, tested elsewhere)."""
    disabled = set(overrides.get("disabled", []))
    kept = {k: v for k, v in overrides.get("overrides", {}).items() if not _off(k, disabled)}
    return {**overrides, "overrides": kept} if "overrides" in overrides else overrides


def _serve_apps(objects: dict) -> list[str]:
    ray = next(o for p, o in objects.items() if p.endswith("rayservice-engine.yaml"))
    return [a["name"] for a in yaml.safe_load(ray["spec"]["serveConfigV2"])["applications"]]


@settings(max_examples=at_most(40), suppress_health_check=[HealthCheck.too_slow])
@given(overrides_strategy)
def test_a_disabled_extractor_is_never_rendered(overrides: dict) -> None:
    overrides = _valid(overrides)
    repo = memory_repo({"acme": (tenant_yaml("acme"), yaml.safe_dump(overrides), RELEASE_YAML)})
    assert validate_repo(repo) == []
    eff = effective(repo.tenants["acme"], repo.current)
    from render import build, context, templates

    ctx = context.tenant_context(eff, repo.current.platform.data, repo.current.releases.data)
    objects = build.build_tenant(ctx, templates.environment(repo.current.templates),
                                 repo.current.templates_for(ctx["cloud"]))
    apps = _serve_apps(objects)
    for item in overrides.get("disabled", []):
        gone = [i for i in IDS if item in (i, REGISTRY[i]["name"])]
        for ext_id in gone:
            assert not eff.values["extractors"][ext_id]["enabled"]
            assert ext_id not in apps
            # Whole names only: text_extractor_v1 is a substring of scrolling_text_extractor_v1.
            whole = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(ext_id)}(?![A-Za-z0-9_])")
            assert not any(whole.search(yaml.safe_dump(o)) for o in objects.values())


@settings(max_examples=at_most(25), suppress_health_check=[HealthCheck.too_slow])
@given(overrides_strategy, st.booleans())
def test_a_new_registry_entry_appears_unless_disabled(overrides: dict, disable_new: bool) -> None:
    overrides = _valid(overrides)
    if disable_new:
        overrides["disabled"] = list(overrides.get("disabled", [])) + ["sketch_extractor"]
    registry = copy.deepcopy(REGISTRY)
    registry["sketch_extractor_v1"] = {**REGISTRY["text_extractor_v1"], "name": "sketch_extractor", "aliases": [],
                                       "import_path": "engine.extractors.sketch_extractor.v1:app"}
    repo = memory_repo({"acme": (tenant_yaml("acme"), yaml.safe_dump(overrides), RELEASE_YAML)},
                       extractors=yaml.safe_dump({"extractors": registry}))
    # The property is about the inputs a tenant can merge: the strategy draws only those.
    assert validate_repo(repo) == []
    objects = render_repo(repo)["rendered/acme"]
    ray = yaml.safe_load(objects["rendered/acme/rayservice-engine.yaml"])
    apps = [a["name"] for a in yaml.safe_load(ray["spec"]["serveConfigV2"])["applications"]]
    assert ("sketch_extractor_v1" in apps) is (not disable_new)
