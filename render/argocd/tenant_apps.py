"""ArgoCD objects: the platform's root app and, per tenant, two projects and two apps.

Per tenant (argocd/tenants/<name>/, a pure function of that tenant and the platform):
- project and Application `tenant-<name>`: the tenant's workloads from rendered/<name>,
  only into namespace tenant-<name> on the tenant's cluster; the tenant's SSO group may
  get and sync this one Application; guardrail kinds are blacklisted.
- project and Application `tenant-<name>-guardrails`: the platform's guardrails
  (Namespace, ResourceQuota, LimitRange, NetworkPolicy, Role, RoleBinding) from the same
  folder; no tenant role. Splitting them follows ArgoCD's multi-tenancy guidance: the
  project a tenant can act in cannot create or change what confines it.
Platform (argocd/platform/, a function of registry/platform.yaml only): see argocd_platform.
"""

from __future__ import annotations

import re
from typing import Any

from render import ENGINE_VERSION, context, emit, layout, storage_classes
from render.argocd import operator_apps, sizing
from render.argocd.platform_apps import (
    ARGOCD_API,
    Settings,
    app_labels,
    generate_paths,
    plain_name_problems,
    platform_objects,
    settings,
)
from render.context_types import EffectiveValues
from render.load import Document, Repo, TenantFiles
from render.merge import Effective
from render.monitoring import grafana
from render.problems import ProblemsError

# Kinds only the platform's guardrails Application may manage (group, kind).
GUARDRAIL_KINDS = (
    ("", "Namespace"), ("", "ResourceQuota"), ("", "LimitRange"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
)
CLUSTER_SCOPED = {("", "Namespace")}
OPERATOR_ROLE = "operator"
# A failed sync is retried 5 times with backoff (15s doubling up to 5m, under 8 minutes in
# all; the workloads' first sync may run before the guardrails Application created the
# namespace), inside the controller's sync timeout (render/argocd/sizing.py).
RETRY = sizing.TENANT_RETRY
SYNC_OPTIONS = [
    "CreateNamespace=false",  # the guardrails Application owns the Namespace
    "ServerSideApply=true",  # field ownership: KEDA's replicas, operators' defaults stay theirs
    "PruneLast=true",  # remove objects only after everything else is applied and healthy
    "FailOnSharedResource=true",  # never take over an object another Application manages
]
COMPARE_OPTIONS = "ServerSideDiff=true"  # diff against API-server defaults and webhooks
# The tenant's Grafana dashboards (spec: Monitoring): slugs of render/monitoring/dashboards.py.
DASHBOARDS = (
    ("queues", "Queue Health"), ("batch", "Batch Status"), ("latency", "API Latency"),
    ("cost", "Cost & Usage"), ("errors", "Error Rate"),
)
LINK_PREFIX = "link.argocd.argoproj.io/"
LABEL_AUTO_DEPLOY = "dataplane.io/auto-deploy"
LABEL_PLATFORM_VERSION = "dataplane.io/platform-version"
ANNOTATION_IMAGE = "dataplane.io/image"
ANNOTATION_RAY_DASHBOARD = "dataplane.io/ray-dashboard"
# KubeRay names the head Service of RayService "engine" <name>-head-svc (see RAY_ADDRESS).
RAY_HEAD_SERVICE = f"{layout.RAY_SERVICE}-head-svc"
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def build_platform(repo: Repo) -> emit.Outputs:
    """Fleet builder: argocd/platform/ (a function of registry/platform.yaml only): the platform's
    Applications, the storage classes' and the KubeRay operator's."""
    s = settings(repo.current.platform)
    platform = repo.current.platform.data
    objects = (platform_objects(s, platform) + storage_classes.applications(s, platform)
               + operator_apps.applications(s, platform))
    return {layout.ARGOCD_PLATFORM_DIR: _files(layout.ARGOCD_PLATFORM_DIR, objects)}


def build_tenant(files: TenantFiles, eff: Effective, objects: dict[str, dict[str, Any]],
                 platform: Document) -> emit.Outputs:
    """argocd/tenants/<name>/ for one tenant; `objects` (its rendered files) decide which
    file goes to the guardrails Application and which to the workloads one."""
    problems = plain_name_problems(files.tenant, ("cluster",)) + plain_name_problems(files.tenant, ("operator_group",))
    if problems:
        raise ProblemsError(problems)
    allowed = allowed_kinds(platform)
    refused: dict[tuple[str, str], list[str]] = {}
    for path, o in sorted(objects.items()):
        if (gk := group_kind(o)) not in allowed and gk not in GUARDRAIL_KINDS:
            refused.setdefault(gk, []).append(path)
    problems = [platform.problem(("tenant_kinds",), f"{paths[0]}{f' (and {len(paths) - 1} more)' if len(paths) > 1 else ''}"
                                 f" is a {group + '/' if group else ''}{kind}, which no tenant Application may sync",
                                 "a template may render only the kinds in tenant_kinds (adding one is a platform review)")
                for (group, kind), paths in sorted(refused.items())]
    if problems:
        raise ProblemsError(problems)
    scope = layout.argocd_tenant_dir(files.name)
    return {scope: _files(scope, projects_and_apps(eff.values, objects, settings(platform), sorted(allowed)))}


def allowed_kinds(platform: Document) -> set[tuple[str, str]]:
    """registry/platform.yaml `tenant_kinds` as (group, kind): the workloads project's whitelist."""
    return {(g, k) for g, _, k in (str(entry).rpartition("/") for entry in platform.data["tenant_kinds"])}


def _files(scope: str, objects: list[dict[str, Any]]) -> dict[str, bytes]:
    return {f"{scope}/{layout.object_file(o['kind'], o['metadata']['name'])}": emit.dump(o) for o in objects}


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api = obj["apiVersion"]
    return (api.rsplit("/", 1)[0] if "/" in api else "", obj["kind"])


def split(objects: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """(guardrails, workloads): the rendered objects of one tenant, keyed by path."""
    guard = {p: o for p, o in objects.items() if group_kind(o) in GUARDRAIL_KINDS}
    return guard, {p: o for p, o in objects.items() if p not in guard}


def file_set(paths: list[str]) -> str:
    """A directory include/exclude pattern naming exactly these files (no wildcard)."""
    return "{" + ",".join(sorted(p.rsplit("/", 1)[-1] for p in paths)) + "}"


def projects_and_apps(v: EffectiveValues, objects: dict[str, dict[str, Any]], s: Settings,
                   work_kinds: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The two AppProjects and two Applications of one tenant. The projects' whitelists are
    platform-owned lists (tenant_kinds, GUARDRAIL_KINDS), never derived from the templates."""
    t = v["tenant"]
    name, ns = t["name"], layout.namespace(t["name"])
    guard, _work = split(objects)
    guard_kinds = sorted(GUARDRAIL_KINDS)
    destinations = [{"name": t["cluster"], "namespace": ns}]
    tenant_project = _project(name, ns, s, "workloads", destinations)
    tenant_project["spec"].update({
        "namespaceResourceWhitelist": _group_kinds(work_kinds),
        "namespaceResourceBlacklist": _group_kinds([gk for gk in GUARDRAIL_KINDS if gk not in CLUSTER_SCOPED]),
        "roles": [_operator_role(ns, t["operator_group"])],
    })
    guard_name = f"{ns}-guardrails"
    guard_project = _project(name, guard_name, s, "guardrails", destinations)
    guard_project["spec"].update({
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace", "name": ns}],
        "namespaceResourceWhitelist": _group_kinds([gk for gk in guard_kinds if gk not in CLUSTER_SCOPED]),
    })
    tenant_app = _application(v, ns, ns, s, {"exclude": file_set(list(guard))})
    tenant_app["metadata"]["annotations"] = dict(sorted({**tenant_app["metadata"]["annotations"],
                                                         **_ui_annotations(v, s)}.items()))
    tenant_app["spec"]["info"] = _info(v)
    guard_app = _application(v, guard_name, guard_name, s, {"include": file_set(list(guard))})
    return [tenant_project, guard_project, tenant_app, guard_app]


def _group_kinds(kinds: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"group": g, "kind": k} for g, k in kinds]


def _meta(name: str, s: Settings, tenant: str, wave: int, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": s.namespace,
            "labels": app_labels(component, {layout.LABEL_TENANT: tenant}),
            "annotations": {layout.ANNOTATION_SYNC_WAVE: str(wave), layout.ANNOTATION_ENGINE: ENGINE_VERSION}}


def _project(tenant: str, name: str, s: Settings, role: str, destinations: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": ARGOCD_API,
        "kind": "AppProject",
        "metadata": _meta(name, s, tenant, -1, role),
        "spec": {
            "description": f"{role.capitalize()} of tenant {tenant}: only namespace {layout.namespace(tenant)}",
            "sourceRepos": [s.repo_url],
            "destinations": destinations,
        },
    }


def _operator_role(project: str, group: str) -> dict[str, Any]:
    target = f"{project}/{project}"  # <project>/<application>: this one Application only
    return {
        "name": OPERATOR_ROLE,
        "description": "The tenant's operators: see and sync their own Application, nothing else",
        "policies": [f"p, proj:{project}:{OPERATOR_ROLE}, applications, {action}, {target}, allow"
                     for action in ("get", "sync")],
        "groups": [group],
    }


def _application(v: EffectiveValues, name: str, project: str, s: Settings, directory: dict[str, str]) -> dict[str, Any]:
    t = v["tenant"]
    component = "guardrails" if name.endswith("-guardrails") else "workloads"
    meta = _meta(name, s, t["name"], 0, component)
    if component == "workloads":  # platform releases then never touch the guardrails app
        meta["labels"] = dict(sorted({**meta["labels"], **_ui_labels(v)}.items()))
    # The Application's output is rendered/<name>/ alone: '.' (its source path).
    compare = {"argocd.argoproj.io/compare-options": COMPARE_OPTIONS, **generate_paths(".")}
    meta["annotations"] = dict(sorted({**meta["annotations"], **compare}.items()))
    return {
        "apiVersion": ARGOCD_API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": project,
            "source": {"repoURL": s.repo_url, "targetRevision": s.revision, "path": layout.rendered_dir(t["name"]),
                       "directory": {"recurse": False, **directory}},
            "destination": {"name": t["cluster"], "namespace": layout.namespace(t["name"])},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": list(SYNC_OPTIONS),
                           "retry": RETRY},
            "revisionHistoryLimit": 10,
        },
    }


def _ui_labels(v: EffectiveValues) -> dict[str, str]:
    labels = {LABEL_AUTO_DEPLOY: str(v["auto_deploy"]).lower()}
    version = str(v["release"]["platform_version"])
    if len(version) <= 63 and LABEL_VALUE.fullmatch(version):
        labels[LABEL_PLATFORM_VERSION] = version
    return labels


def _ui_annotations(v: EffectiveValues, s: Settings) -> dict[str, str]:
    name, ns = v["tenant"]["name"], layout.namespace(v["tenant"]["name"])
    out = {
        ANNOTATION_IMAGE: v["release"]["image"],
        LABEL_PLATFORM_VERSION: str(v["release"]["platform_version"]),
        LABEL_AUTO_DEPLOY: str(v["auto_deploy"]).lower(),
        ANNOTATION_RAY_DASHBOARD: f"kubectl -n {ns} port-forward svc/{RAY_HEAD_SERVICE} "
                                  f"{context.DASHBOARD_PORT}:{context.DASHBOARD_PORT}",
        LINK_PREFIX + "ray-dashboard": f"http://localhost:{context.DASHBOARD_PORT}",
    }
    for slug, _title in DASHBOARDS:
        out[f"{LINK_PREFIX}grafana-{slug}"] = f"{s.grafana_url}/d/{grafana.uid(name, slug)}"
    return dict(sorted(out.items()))


def _info(v: EffectiveValues) -> list[dict[str, str]]:
    t, r = v["tenant"], v["release"]
    return [
        {"name": "Tenant", "value": f"{t.get('display_name') or t['name']} ({t['name']})"},
        {"name": "Platform version", "value": str(r["platform_version"])},
        {"name": "Engine image", "value": r["image"]},
        {"name": "Auto-deploy", "value": "on" if v["auto_deploy"] else "off"},
        {"name": "Ray dashboard", "value": f"kubectl -n {layout.namespace(t['name'])} port-forward "
                                           f"svc/{RAY_HEAD_SERVICE} {context.DASHBOARD_PORT}"},
    ]
