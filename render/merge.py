"""Stage 3, merge: platform defaults -> registry entry -> tenant override, with provenance.

One precedence, everywhere: a later layer's leaf wins; mappings merge key by key; lists
are replaced whole. Every effective leaf remembers the file and line that set it, which is
what `dataplane explain` prints.

Extractors: every registry entry appears for every tenant; an off-by-default entry can be
turned on with `overrides.<extractor>.enabled: true`; `disabled` always wins. A tenant may
name an extractor by id (text_extractor_v1: one version) or by bare name (text_extractor:
every version, including versions the registry adds later); the id layer wins over the
name layer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, cast

from deepmerge.merger import Merger

from render.context_types import EffectiveValues
from render.load import Document, TenantFiles

_merger = Merger([(dict, ["merge"]), (list, ["override"])], ["override"], ["override"])

Path_ = tuple[str | int, ...]

DEFAULT_AUTO_DEPLOY = True


@dataclass(frozen=True)
class Source:
    """Where an effective value was set: a layer name, a repo-relative file and a line."""

    layer: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.layer} ({self.file}:{self.line})" if self.file else self.layer


ENGINE = Source("engine default", "", 0)


@dataclass(frozen=True)
class Effective:
    """A tenant's effective configuration and, for every leaf, the layer that set it."""

    values: EffectiveValues
    provenance: dict[Path_, Source]


@dataclass(frozen=True)
class _Layer:
    name: str
    doc: Document
    at: Path_  # where the layer's data sits inside doc

    def data(self) -> Any:
        value: Any = self.doc.data
        for key in self.at:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def merge_layers(layers: list[_Layer], into: Path_, provenance: dict[Path_, Source]) -> dict[str, Any]:
    """Deep-merge the mapping layers in order, recording each leaf's source under `into`."""
    out: dict[str, Any] = {}
    for layer in layers:
        data = layer.data()
        if not isinstance(data, dict):
            continue
        _merger.merge(out, copy_plain(data))
        for rel in _leaves(data):
            line = layer.doc.mark(layer.at + rel)[0]
            provenance[into + rel] = Source(layer.name, layer.doc.file, line)
    return out


def copy_plain(value: Any) -> Any:
    """A deep copy of plain data (what load produces); much cheaper than copy.deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: copy_plain(v) for k, v in value.items()}
    if kind is list:
        return [copy_plain(v) for v in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def _leaves(data: Any, prefix: Path_ = ()) -> list[Path_]:
    if isinstance(data, dict) and data:
        return [leaf for key, value in data.items() for leaf in _leaves(value, prefix + (key,))]
    return [prefix]


def merge_tenant(platform: Document, extractors: Document, files: TenantFiles) -> Effective:
    """The effective configuration of one tenant. Pure: inputs are never mutated."""
    prov: dict[Path_, Source] = {}
    ov = files.overrides
    overrides: dict[str, Any] = ov.data if isinstance(ov.data, dict) else {}

    values: dict[str, Any] = {
        "tenant": merge_layers([_Layer("tenant", files.tenant, ())], ("tenant",), prov),
        "release": merge_layers([_Layer("release", files.release, ())], ("release",), prov),
    }
    values["auto_deploy"] = bool(overrides.get("auto_deploy", DEFAULT_AUTO_DEPLOY))
    prov[("auto_deploy",)] = _source("overrides", ov, ("auto_deploy",)) if "auto_deploy" in overrides else ENGINE
    disabled = [str(d) for d in overrides.get("disabled") or []]
    values["disabled"] = disabled

    for section, platform_key in (("cluster", "worker_groups"), ("head", "head"), ("env", "env"), ("spec", "spec")):
        values[section] = merge_layers(
            [_Layer("platform", platform, (platform_key,)), _Layer("overrides", ov, (section,))], (section,), prov)

    entries = extractors.data.get("extractors") or {} if isinstance(extractors.data, dict) else {}
    tenant_extractors = overrides.get("overrides") or {}
    values["extractors"] = {}
    for ext_id in sorted(entries):
        name = entries[ext_id].get("name", ext_id)
        layers = [_Layer("platform", platform, ("extractor_defaults",)),
                  _Layer("registry", extractors, ("extractors", ext_id))]
        for key in dict.fromkeys((name, ext_id)):  # the id layer wins over the name layer
            if key in tenant_extractors:
                layers.append(_Layer("overrides", ov, ("overrides", key)))
        entry = merge_layers(layers, ("extractors", ext_id), prov)
        entry["id"] = ext_id
        entry["name"] = name
        entry["enabled"], prov[("extractors", ext_id, "enabled")] = _enabled(entry, ext_id, name, disabled, ov, prov)
        entry.pop("enabled_by_default", None)
        values["extractors"][ext_id] = entry
    # The layers are schema-checked (render/validate/) before a tenant is merged: their merge
    # has the declared shape (tests/unit/test_context_types.py checks the keys).
    return Effective(cast(EffectiveValues, values), prov)


def _enabled(entry: dict[str, Any], ext_id: str, name: str, disabled: list[str], ov: Document,
             prov: dict[Path_, Source]) -> tuple[bool, Source]:
    for key in (ext_id, name):
        if key in disabled:
            return False, _source("overrides", ov, ("disabled", disabled.index(key)))
    if "enabled" in entry:
        return bool(entry["enabled"]), prov[("extractors", ext_id, "enabled")]
    return bool(entry.get("enabled_by_default", True)), prov.get(("extractors", ext_id, "enabled_by_default"), ENGINE)


def _source(layer: str, doc: Document, path: Path_) -> Source:
    return Source(layer, doc.file, doc.mark(path)[0])

