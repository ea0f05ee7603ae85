"""The ArgoCD objects of a cluster move's target: the tenant's two projects and two
Applications (render/argocd/tenant_apps.py), named tenant-<name>-move(-guardrails),
synced from rendered/<name>/move/ to the target cluster, namespace tenant-<name>.

At retire the tenant's own Applications point at the target cluster and take the target's
objects over from the -move ones (which go, without deleting anything: they carry no
resources finalizer); that one sync runs without FailOnSharedResource, which would refuse
objects the -move Application tracked. Pure.
"""

from __future__ import annotations

from typing import Any

from render import layout
from render.argocd import tenant_apps
from render.argocd.platform_apps import settings
from render.context_types import EffectiveValues
from render.load import Document

SUFFIX = "-move"
ADOPT_OPTION = "FailOnSharedResource=true"


def move_dir(name: str) -> str:
    return f"{layout.rendered_dir(name)}/move"


def app_name(name: str) -> str:
    return layout.namespace(name) + SUFFIX


def objects(values: EffectiveValues, target: dict[str, dict[str, Any]], platform: Document) -> list[dict[str, Any]]:
    """The -move projects and Applications for the target's objects (keyed by file name)."""
    name = values["tenant"]["name"]
    ns = layout.namespace(name)
    paths = {f"{move_dir(name)}/{file}": obj for file, obj in target.items()}
    built = tenant_apps.projects_and_apps(values, paths, settings(platform), sorted(tenant_apps.allowed_kinds(platform)))
    renamed = {ns: ns + SUFFIX, f"{ns}-guardrails": f"{ns}{SUFFIX}-guardrails"}
    for obj in built:
        obj["metadata"]["name"] = renamed[obj["metadata"]["name"]]
        spec = obj["spec"]
        if obj["kind"] == "Application":
            spec["project"] = renamed[spec["project"]]
            spec["source"]["path"] = move_dir(name)
        for role in spec.get("roles", []):
            role["policies"] = [p.replace(f"proj:{ns}:", f"proj:{ns}{SUFFIX}:").replace(f"{ns}/{ns}", f"{ns}{SUFFIX}/{ns}{SUFFIX}")
                                for p in role["policies"]]
        if "description" in spec:
            spec["description"] = f"{spec['description']} (the target of a move)"
    return built


def adopting(app: dict[str, Any]) -> dict[str, Any]:
    """The tenant's Application in the retire state: it takes the -move Application's objects."""
    if app.get("kind") != "Application":
        return app
    options = [o for o in app["spec"]["syncPolicy"]["syncOptions"] if o != ADOPT_OPTION]
    return {**app, "spec": {**app["spec"], "syncPolicy": {**app["spec"]["syncPolicy"], "syncOptions": options}}}
