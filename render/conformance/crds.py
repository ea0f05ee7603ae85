"""Custom resources against the openAPIV3Schema of their CustomResourceDefinitions.

Each CRD's schema is converted (see `openapi`) and compiled once, on first use. The
API server's own checks that a schema cannot express (metadata as ObjectMeta) are done
by the caller with Kubernetes' ObjectMeta schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
    """The CRDs of one folder, indexed by (group, kind); validators compiled once."""

    source: str
    crds: dict[tuple[str, str], Crd]
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @classmethod
    def from_folder(cls, folder: Path) -> CrdSchemas:
        crds: dict[tuple[str, str], Crd] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES:
                for crd in _read(path, folder):
                    crds[(crd.group, crd.kind)] = crd
        return cls(str(folder), crds)

    def kinds(self) -> list[str]:
        return sorted(kind for _, kind in self.crds)

    def has(self, m: Manifest) -> bool:
        return (m.group, m.kind) in self.crds

    def check(self, m: Manifest) -> list[Problem]:
        crd = self.crds[(m.group, m.kind)]
        if m.version not in crd.schemas:
            return [m.problem(("apiVersion",), f"{crd.file} defines no version {m.version!r} of {m.kind}",
                              f"versions: {', '.join(sorted(crd.schemas))}")]
        if m.version not in crd.served:
            return [m.problem(("apiVersion",), f"version {m.version!r} of {m.kind} is not served", "")]
        validator = self._validator(crd, m.version)
        return [m.problem(path, message, f"schema: {crd.file} ({self.source})")
                for e in validator.iter_errors(m.obj) for path, message in describe(e)]

    def _validator(self, crd: Crd, version: str) -> Any:
        import jsonschema

        key = (crd.group, crd.kind, version)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft4Validator(to_json_schema(crd.schemas[version]))
        return self._validators[key]


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

