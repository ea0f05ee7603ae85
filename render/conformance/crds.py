"""Custom resources against the openAPIV3Schema of their CustomResourceDefinitions.

Each CRD's schema is converted (see `openapi`) and compiled once, on first use. The
API server's own checks that a schema cannot express (metadata as ObjectMeta) are done
by the caller with Kubernetes' ObjectMeta schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from render.conformance import crd_rules
from render.conformance.errors import describe
from render.conformance.manifests import SUFFIXES, Manifest
from render.conformance.openapi import to_json_schema
from render.problems import Problem

try:  # libyaml: the upstream CRDs are megabytes of YAML.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class Crd:
    """One CustomResourceDefinition: its kind and the schema of each version."""

    file: str
    group: str
    kind: str
    served: frozenset[str]
    schemas: dict[str, Any] = field(hash=False)


@dataclass
class CrdSchemas:
    """The CRDs of one folder, indexed by (group, kind); each file parsed and each
    validator compiled once, on first use (upstream CRDs are megabytes of YAML)."""

    source: str
    files: dict[tuple[str, str], Path]
    _crds: dict[tuple[str, str], Crd] = field(default_factory=dict)
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @classmethod
    def from_folder(cls, folder: Path) -> CrdSchemas:
        files: dict[tuple[str, str], Path] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES:
                for key in _index(path):
                    files[key] = path
        return cls(str(folder), files)

    def kinds(self) -> list[str]:
        return sorted(kind for _, kind in self.files)

    def has(self, m: Manifest) -> bool:
        return (m.group, m.kind) in self.files

    def crd(self, group: str, kind: str) -> Crd:
        key = (group, kind)
        if key not in self._crds:
            for crd in _read(self.files[key], Path(self.source)):
                self._crds[(crd.group, crd.kind)] = crd
        return self._crds[key]

    def check(self, m: Manifest) -> list[Problem]:
        crd = self.crd(m.group, m.kind)
        if m.version not in crd.schemas:
            return [m.problem(("apiVersion",), f"{crd.file} defines no version {m.version!r} of {m.kind}",
                              f"versions: {', '.join(sorted(crd.schemas))}")]
        if m.version not in crd.served:
            return [m.problem(("apiVersion",), f"version {m.version!r} of {m.kind} is not served", "")]
        validator = self._validator(crd, m.version)
        found = [m.problem(path, message, f"schema: {crd.file} ({self.source})")
                 for e in validator.iter_errors(m.obj) for path, message in describe(e)]
        # The CEL rules only mean something on a schema-valid object (the API server's order).
        return found or crd_rules.check(m, crd.schemas[m.version], crd.file)

    def _validator(self, crd: Crd, version: str) -> Any:
        import jsonschema

        key = (crd.group, crd.kind, version)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft4Validator(to_json_schema(crd.schemas[version]))
        return self._validators[key]


# The group and kind of a CRD without parsing it: controller-gen, kubebuilder and
# hand-written CRDs all put `spec.group` and `spec.names.kind` at these indentations.
_GROUP = re.compile(r"^  group: *['\"]?([A-Za-z0-9.-]+)", re.M)
_KIND = re.compile(r"^    kind: *['\"]?([A-Za-z0-9]+)", re.M)


def _index(path: Path) -> list[tuple[str, str]]:
    """(group, kind) of every CRD in a file: by a cheap scan, else by parsing it."""
    text = path.read_text(encoding="utf-8")
    if "kind: CustomResourceDefinition" not in text:
        return []
    groups, kinds = _GROUP.findall(text), _KIND.findall(text)
    if len(groups) == 1 and len(kinds) == 1 and text.count("kind: CustomResourceDefinition") == 1:
        return [(groups[0], kinds[0])]
    return [(crd.group, crd.kind) for crd in _read(path, path.parent)]


def _read(path: Path, folder: Path) -> list[Crd]:
    out = []
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec", {})
        versions = spec.get("versions") or []
        schemas = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"} for v in versions}
        served = frozenset(v["name"] for v in versions if v.get("served", True))
        out.append(Crd(path.relative_to(folder).as_posix(), spec["group"], spec["names"]["kind"], served, schemas))
    return out

