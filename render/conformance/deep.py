"""`dataplane validate --deep`: every rendered object through the real engines' rules.

Walks every YAML document under rendered/ and argocd/ and dispatches each object by
apiVersion/kind: built-in kinds to Kubernetes' schemas, custom resources to their CRD
(the upstream CRDs in the CRD folder, ../shared/crds in CI). RayServices
and Celery configurations also go through Ray Serve and Celery; yamllint reads every
YAML file of the repository.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from render import clouds as cloud_registry
from render import layout, versions
from render.conformance import capacity, celeryconf, lint, metric_sources, reachability, references, serve
from render.conformance.crds import CrdSchemas
from render.conformance.k8s import KubernetesSchemas
from render.conformance.manifests import Manifest, collect
from render.conformance.report import Outcome
from render.crds import describe as describe_crds
from render.load import read_yaml
from render.move import apps as move_apps
from render.move import target as move_target
from render.problems import Problem


@dataclass(frozen=True)
class Targets:
    """The versions the registry targets (registry/platform.yaml `versions`)."""

    kubernetes: str
    ray: str


def targets(root: Path) -> Targets:
    versions = read_yaml(root, layout.PLATFORM_FILE).data["versions"]
    return Targets(str(versions["kubernetes"]), str(versions["ray"]))


def run(root: Path, *, tenants: list[str] | None = None, crds: Path | None = None,
        require_crds: bool = False) -> list[Outcome]:
    """One Outcome per validator, in a fixed order."""
    want = targets(root)
    platform = read_yaml(root, layout.PLATFORM_FILE).data
    manifests, unreadable = collect(root, tenants)
    tenant_data = tenant_files(root)
    clouds = tenant_clouds(manifests, tenant_data)
    k8s = KubernetesSchemas(want.kubernetes)
    upstream = CrdSchemas.from_folder(crds) if crds else None
    buckets = dispatch(manifests, k8s, upstream)
    sides = placements(manifests, tenant_data)
    return [
        _kubernetes(k8s, buckets["kubernetes"], unreadable, buckets["not-objects"]),
        _crds(k8s, upstream, buckets["crds"], crds, require_crds),
        serve.check(manifests, want.ray, release_rays(root, platform)),
        celeryconf.check(manifests),
        lint.check(root, tenants),
        _merged([reachability.check(ms, platform, data) for ms, data in sides]),
        _merged([capacity.check(ms, platform, tenant_clouds(ms, data) if ms is not manifests else clouds)
                 for ms, data in sides]),
        _merged([references.check(ms) for ms, _ in sides]),
        _merged([metric_sources.check(ms, data) for ms, data in placements(manifests, tenant_data, evaluated=True)]),
    ]


def placements(manifests: list[Manifest], tenants: dict[str, dict[str, Any]], evaluated: bool = False
               ) -> list[tuple[list[Manifest], dict[str, dict[str, Any]]]]:
    """The manifests of each cluster a namespace lives on, with its tenant data: the whole
    output, and, when a tenant moves to another cluster, its target's (rendered/<name>/move/,
    render/move/target.py) on its own, as the target cluster holds it. `evaluated`: for the
    metric sources, the target side also holds the platform's own output (datasources) and,
    from cutover on, the tenant's control-plane monitoring, which then follows its engine."""
    moving = {ns: data for ns, data in tenants.items() if move_target.active(data) and not move_target.same_cluster(data["move"])}
    folders = [move_apps.move_dir(str(data.get("name"))) for data in moving.values()]
    if evaluated:
        folders += [layout.monitoring_dir(str(data.get("name"))) for data in moving.values()
                    if move_target.active(data) == "cutover"]
    target = [m for m in manifests if any(layout.is_inside(m.file, f) for f in folders)]
    if not target:
        return [(manifests, tenants)]
    rest = [m for m in manifests if not any(layout.is_inside(m.file, f) for f in folders)]
    if evaluated:
        target += [m for m in rest if not any(layout.is_inside(m.file, p) for p in layout.TENANT_SCOPE_PARENTS)]
    return [(rest, tenants), (target, {ns: move_target.target_tenant(data) for ns, data in moving.items()})]


def _merged(outcomes: list[Outcome]) -> Outcome:
    first = outcomes[0]
    if len(outcomes) == 1:
        return first
    notes = "; ".join(o.note for o in outcomes if o.note)
    return replace(first, checked=sum(o.checked for o in outcomes), failures=[f for o in outcomes for f in o.failures],
                   note=notes, skipped=first.skipped)


def release_rays(root: Path, platform: dict[str, Any]) -> dict[str, str]:
    """namespace -> the Ray of the release the tenant runs (its release.yaml, registry/releases.yaml)."""
    folder = root / layout.TENANTS_DIR
    files = sorted(folder.glob(f"*/{layout.RELEASE_FILE}")) if folder.is_dir() else []
    if not files:  # rendered output alone (no tenants): checked against the registry's Ray
        return {}
    releases = read_yaml(root, layout.RELEASES_FILE).data
    out = {}
    for release_file in files:
        data = yaml.safe_load(release_file.read_text(encoding="utf-8"))
        out[layout.namespace(release_file.parent.name)] = versions.of_release(data, releases, platform).ray
    return out


def tenant_files(root: Path) -> dict[str, dict[str, Any]]:
    """namespace -> tenants/<name>/tenant.yaml data (placement: cloud and cluster)."""
    out: dict[str, dict[str, Any]] = {}
    folder = root / layout.TENANTS_DIR
    for tenant_file in sorted(folder.glob("*/tenant.yaml")) if folder.is_dir() else []:
        data = yaml.safe_load(tenant_file.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            out[layout.namespace(tenant_file.parent.name)] = data
    return out


def tenant_clouds(manifests: list[Manifest], tenants: dict[str, dict[str, Any]]) -> dict[str, str]:
    """namespace -> cloud: from the tenant's tenant.yaml, else from the bucket kind rendered."""
    by_kind = {c.bucket_kind: name for name, c in cloud_registry.CLOUDS.items()}
    out: dict[str, str] = {}
    for m in manifests:
        ns = str((m.obj.get("metadata") or {}).get("namespace", "")) if m.is_object else ""
        if m.kind in by_kind and ns:
            out[ns] = by_kind[m.kind]
    out.update({ns: str(t["cloud"]) for ns, t in tenants.items() if cloud_registry.known(t.get("cloud"))})
    return out


def dispatch(manifests: list[Manifest], k8s: KubernetesSchemas,
             upstream: CrdSchemas | None) -> dict[str, list[Manifest]]:
    """Which validator owns each document, by apiVersion and kind."""
    out: dict[str, list[Manifest]] = {"kubernetes": [], "crds": [], "not-objects": []}
    for m in manifests:
        if not m.is_object:
            out["not-objects"].append(m)
        elif k8s.has(m):
            out["kubernetes"].append(m)
        elif upstream is not None and upstream.has(m):
            out["crds"].append(m)
        elif k8s.is_builtin(m):
            out["kubernetes"].append(m)  # a built-in group without that kind: reported by k8s
        else:
            out["crds"].append(m)
    return out


def _kubernetes(k8s: KubernetesSchemas, objects: list[Manifest], unreadable: list[Problem],
                not_objects: list[Manifest]) -> Outcome:
    """Built-in kinds; a file that is not YAML, or a document that is no object, fails here."""
    failures = unreadable + [p for m in objects for p in k8s.check(m)]
    failures += [m.problem((), "not a Kubernetes object: no apiVersion and kind") for m in not_objects]
    return Outcome(k8s.label(), len(objects), "objects", failures)


def _crds(k8s: KubernetesSchemas, upstream: CrdSchemas | None, objects: list[Manifest], folder: Path | None,
          require: bool) -> Outcome:
    kinds = sorted({m.kind for m in objects})
    if upstream is None:
        why = f"no CRD folder; {len(objects)} custom resources not checked ({', '.join(kinds) or 'none'}); " \
              f"give --crds DIR or set DATAPLANE_CRDS"
        return Outcome("custom resources (upstream CRDs)", 0, skipped=why, required=require)
    failures = []
    for m in objects:
        if upstream.has(m):
            failures += upstream.check(m) + k8s.check_metadata(m)
        else:
            failures.append(m.problem(("apiVersion",), f"no CRD for {m.kind} in group {m.group or 'core'!r}",
                                      f"add its upstream CRD to {folder}"))
    where = describe_crds(folder) if folder is not None else "none"
    return Outcome(f"custom resources (CRDs: {where})", len(objects), "objects", failures, note=", ".join(kinds))

