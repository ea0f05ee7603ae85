"""Each RayService's serveConfigV2, parsed by Ray Serve's own schema classes.

`ServeDeploySchema` is what `serve deploy` and KubeRay's Serve controller accept; it
takes any dict as a deployment's `autoscaling_config`, so each one is also built as
Ray Serve's `AutoscalingConfig` (min <= initial <= max, positive targets, ...). Ray's
models ignore unknown keys, which would silently drop a misspelt setting: unknown keys
are reported here too. ray is imported inside this module only.
"""

from __future__ import annotations

import typing
import warnings
from typing import Any

from render.conformance.manifests import Manifest
from render.conformance.report import Outcome
from render.load import Document, parse_yaml
from render.problems import Problem, ProblemsError

SERVE_FIELD = ("spec", "serveConfigV2")


def check(manifests: list[Manifest], target: str, by_namespace: dict[str, str] | None = None) -> Outcome:
    """Every RayService in `manifests`, against Ray Serve `target`; a tenant namespace in
    `by_namespace` against the Ray of the release it runs (render/versions.py), so a tenant
    pinned to an older release is checked with its own Ray."""
    import ray

    services = [m for m in manifests if m.kind == "RayService" and m.group == "ray.io"]
    failures: list[Problem] = []
    apps = 0
    for m in services:
        ns = str((m.obj.get("metadata") or {}).get("namespace", ""))
        target = (by_namespace or {}).get(ns, target)
        if ray.__version__ != target:
            failures.append(m.problem((), f"checked with Ray {ray.__version__}, but the tenant's release runs {target}",
                                      f"install ray[serve]=={target} to validate"))
        spec = m.obj.get("spec") if isinstance(m.obj.get("spec"), dict) else {}
        running = (spec.get("rayClusterConfig") or {}).get("rayVersion")
        if running is not None and str(running) != target:
            failures.append(m.problem(("spec", "rayClusterConfig", "rayVersion"),
                                      f"the cluster runs Ray {running}, the Serve config is checked for {target}"))
        found, count = check_service(m)
        failures += found
        apps += count
    return Outcome(f"ray serve {ray.__version__} (ServeDeploySchema, AutoscalingConfig)", len(services),
                   "RayServices", failures, note=f"{apps} applications")


def check_service(m: Manifest) -> tuple[list[Problem], int]:
    """Problems of one RayService's serveConfigV2, and how many applications it has."""
    spec = m.obj.get("spec") if isinstance(m.obj.get("spec"), dict) else {}
    text = spec.get("serveConfigV2")
    if not isinstance(text, str):
        return [m.problem(SERVE_FIELD, "missing: a RayService needs a serveConfigV2 string")], 0
    line, column = m.doc.mark(SERVE_FIELD)
    try:
        inner = parse_yaml(text, m.file)
    except ProblemsError as e:
        return [m.problem(SERVE_FIELD, f"not YAML: {p.message}") for p in e.problems], 0
    config = inner.data if isinstance(inner.data, dict) else {}
    # A block scalar's text starts on the next line, indented 2 more than its key.
    where = _Where(m, inner, line, column + 1)
    problems = validate_config(config, where)
    return problems, len(config.get("applications") or [])


class _Where:
    """Turns a path inside serveConfigV2 into a Problem at its line in the manifest."""

    def __init__(self, m: Manifest, inner: Document, line: int, indent: int) -> None:
        self.m, self.inner, self.line, self.indent = m, inner, line, indent

    def __call__(self, path: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
        inner_line, col = self.inner.mark(path)
        p = self.m.problem(SERVE_FIELD + path, message, hint)
        return Problem(p.file, self.line + inner_line, self.indent + col, p.pointer, p.message, p.hint)


def validate_config(config: dict[str, Any], where: Any) -> list[Problem]:
    """Ray Serve's verdict on one Serve config, plus unknown keys and AutoscalingConfig."""
    from pydantic import ValidationError

    with warnings.catch_warnings():  # Ray's own pydantic deprecation notices, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        from ray.serve.config import AutoscalingConfig
        from ray.serve.schema import ServeDeploySchema

    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as e:
        return [where(tuple(err["loc"]), err["msg"]) for err in e.errors()]
    problems = [where(path, "unknown key: Ray Serve would ignore it") for path in unknown_keys(ServeDeploySchema, config, ())]
    for a, app in enumerate(config.get("applications") or []):
        for d, deployment in enumerate(app.get("deployments") or []):
            autoscaling = deployment.get("autoscaling_config")
            if not isinstance(autoscaling, dict):
                continue
            path = ("applications", a, "deployments", d, "autoscaling_config")
            try:
                AutoscalingConfig.model_validate(autoscaling)
            except ValidationError as e:
                problems += [where(path + tuple(err["loc"]), _msg(err["msg"]),
                                   f"deployment {deployment.get('name')!r}") for err in e.errors()]
    return problems


def _msg(text: str) -> str:
    return text.removeprefix("Value error, ")


def unknown_keys(model: Any, data: Any, path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    """Paths of keys in `data` that no field of the pydantic `model` (or its nested models) declares."""
    if not isinstance(data, dict):
        return []
    fields = model.model_fields
    names = dict(fields.items()) | {f.alias: f for f in fields.values() if f.alias}
    out = []
    for key, value in data.items():
        if key not in names:
            out.append(path + (key,))
            continue
        for nested in _models(names[key].annotation):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    out += unknown_keys(nested, item, path + (key, i))
            else:
                out += unknown_keys(nested, value, path + (key,))
    return out


def _models(annotation: Any) -> list[Any]:
    """The pydantic model classes inside a type annotation (Optional, Union, List, ...)."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]

