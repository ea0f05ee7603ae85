"""Built-in kinds against Kubernetes' published OpenAPI schemas (kubernetes-validate, strict).

kubernetes-validate's own `validate()` reads and compiles the schema files again for
every object; here each (apiVersion, kind) schema is compiled once per run with the same
files and the same validator class, so a fleet of thousands of objects stays fast.
"""

from __future__ import annotations

import re
from typing import Any

from render import layout
from render.conformance.errors import describe
from render.conformance.manifests import Manifest
from render.problems import Problem

# Groups served by the API server itself; anything else is a custom resource.
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DEFINITIONS = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_BUILTIN_GROUP = re.compile(r"^([a-z0-9]+|[a-z0-9.-]+\.k8s\.io)$")


def _optional(schema: Any) -> Any:
    """A partial object's schema (layout.is_partial): every field it sets is checked, none is
    required (argo-cd user-guide/sync-options.md). Every `required` list is dropped; a
    property named "required" is kept."""
    if isinstance(schema, dict):
        return {k: _optional(v) for k, v in schema.items() if not (k == "required" and isinstance(v, list))}
    if isinstance(schema, list):
        return [_optional(v) for v in schema]
    return schema


def supported_version(target: str) -> str:
    """The newest schema version kubernetes-validate ships that is not newer than `target`."""
    from kubernetes_validate import utils
    from packaging.version import Version

    want = Version(utils.major_minor(target.lstrip("v")))
    shipped = [v for v in utils.all_versions() if Version(utils.major_minor(v)) <= want]
    if not shipped:
        raise ValueError(f"kubernetes-validate ships no schema for Kubernetes {target} or older")
    return str(shipped[-1])


class KubernetesSchemas:
    """Strict schemas of one Kubernetes version; validators compiled once per kind."""

    def __init__(self, target: str) -> None:
        self.version = supported_version(target)
        self.target = target
        self._dir = f"kubernetes-json-schema/v{self.version}-local-strict"
        self._definitions: dict[bool, Any] = {}
        self._validators: dict[tuple[str, str], Any] = {}
        self._partial: dict[tuple[str, str], Any] = {}

    def label(self) -> str:
        return f"kubernetes {self.target} (strict, kubernetes-validate schemas v{self.version})"

    @staticmethod
    def is_builtin(m: Manifest) -> bool:
        group = m.group
        return group == "" or (bool(_BUILTIN_GROUP.match(group)) and (group.endswith(".k8s.io") or "." not in group))

    def has(self, m: Manifest) -> bool:
        """True when this Kubernetes version publishes a schema for the object's kind."""
        return self._validator(m) is not None

    def _file(self, m: Manifest) -> str:
        # Same naming as kubernetes-validate: rbac.authorization.k8s.io/v1 -> rbac-v1.
        api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", m.api_version)
        return f"{self._dir}/{m.kind.lower()}-{api}.json"

    def _validator(self, m: Manifest) -> Any | None:
        key = (m.api_version, m.kind)
        if key not in self._validators:
            self._validators[key] = self._compile(m)
        return self._validators[key]

    def _compile(self, m: Manifest, partial: bool = False) -> Any | None:
        from kubernetes_validate import utils

        try:
            schema = utils.schema_contents(self._file(m), self.version)
        except FileNotFoundError:
            return None
        return self._compile_schema(_optional(schema) if partial else schema, partial)

    def _compile_schema(self, schema: dict[str, Any], partial: bool = False) -> Any:
        import jsonschema
        from kubernetes_validate import utils
        from referencing import Registry, Resource

        if partial not in self._definitions:
            definitions = utils.schema_contents(f"{self._dir}/_definitions.json", self.version)
            self._definitions[partial] = Resource.from_contents(_optional(definitions) if partial else definitions)
        registry = self._definitions[partial] @ Registry()
        if "$id" in schema:
            registry = Resource.from_contents(schema) @ registry
        return jsonschema.Draft202012Validator(schema, registry=registry)

    def check_metadata(self, m: Manifest) -> list[Problem]:
        """A custom resource's metadata, checked as the API server does: as an ObjectMeta."""
        key = ("", "ObjectMeta")
        if key not in self._validators:
            self._validators[key] = self._compile_schema({"$schema": _DRAFT, "$ref": _DEFINITIONS + _OBJECT_META})
        meta = m.obj.get("metadata")
        errors = self._validators[key].iter_errors(meta if meta is not None else {})
        return [m.problem(("metadata",) + path, message) for e in errors for path, message in describe(e)]

    def check(self, m: Manifest) -> list[Problem]:
        validator = self._validator(m)
        if validator is not None and layout.is_partial(m.obj):
            key = (m.api_version, m.kind)
            if key not in self._partial:
                self._partial[key] = self._compile(m, partial=True)
            validator = self._partial[key]
        if validator is None:
            return [m.problem((), f"Kubernetes {self.version} has no {m.kind} in {m.api_version}",
                              "check apiVersion and kind against the API reference of that version")]
        return [m.problem(path, message) for e in validator.iter_errors(m.obj) for path, message in describe(e)]

