"""Stage 4b, build: a tenant's template context -> its Kubernetes objects.

Every template in base/ is rendered with the tenant's context, parsed back into objects,
then labelled, namespaced and given a sync wave here, so templates need not repeat it.
Pure: no I/O. Returns {repo-relative path: object}.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import jinja2
import yaml

from render import ENGINE_VERSION, context, fastyaml, layout, merge, pods, templates, tenant_secrets
from render.context_types import TenantContext
from render.problems import Problem, ProblemsError

# ArgoCD applies lower waves first and waits for each wave's health: guardrails, the
# secret chain (render/tenant_secrets.py WAVES), config and datastores, then compute.
SYNC_WAVES = {
    "Namespace": -5,
    "ResourceQuota": -4, "LimitRange": -4, "NetworkPolicy": -4, "Role": -4, "RoleBinding": -4,
    "ServiceAccount": tenant_secrets.WAVES["identity"], "Password": tenant_secrets.WAVES["identity"],
    "SecretStore": tenant_secrets.WAVES["store"], "PushSecret": tenant_secrets.WAVES["push"],
    "ExternalSecret": tenant_secrets.WAVES["read"], "ConfigMap": -1,
    "StorageBucket": 0, "IAMServiceAccount": 0, "IAMPolicyMember": 0, "Bucket": 0,
    "Service": 0, "StatefulSet": 0, "PodDisruptionBudget": 0,
    "RayService": 1, "Deployment": 1, "ScaledObject": 2,
}
DEFAULT_WAVE = 1
CLUSTER_SCOPED = {"Namespace"}
TOP_KEYS = ("apiVersion", "kind", "metadata")
# Templates that print values of the tenant's pod list (the quota, the LimitRange, the
# scrape targets): rendered after every other template, from the pods those rendered
# (render/pods.py), so a pod any template adds is counted and scraped without naming it here.
FROM_PODS = ("base/monitoring-scrape.yaml.j2", "base/quota.yaml.j2")


def build_tenant(ctx: TenantContext, env: jinja2.Environment, template_names: list[str]) -> dict[str, dict[str, Any]]:
    """All objects of one tenant, keyed by their output path under rendered/<name>/."""
    out = _render(ctx, env, [t for t in template_names if t not in FROM_PODS], {})
    late = [t for t in template_names if t in FROM_PODS]
    if late:
        late_ctx: dict[str, Any] = {**ctx, **context.from_pods(ctx, pods.of_objects(out.values()))}
        out = _render(late_ctx, env, late, out)
    return dict(sorted(out.items()))


def _render(ctx: Mapping[str, Any], env: jinja2.Environment, template_names: list[str],
            out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`out` plus the objects of `template_names`. `ctx` is the template boundary, a plain
    mapping of names (TenantContext, and PodValues for the templates rendered last): what a
    template reads is checked by rendering, not by mypy."""
    name, ns = ctx["name"], ctx["namespace"]
    out = dict(out)
    problems: list[Problem] = []
    for template in template_names:
        text = templates.render(env, template, ctx)
        try:
            docs = _parsed(env, template, text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            raise ProblemsError([Problem(template, 1, 1, "", f"rendered text is not valid YAML (rendered line {line}): {e}",
                                         "values must go through the |j filter")]) from None
        for obj in docs:
            obj = _decorate(obj, name, ns, template)
            path = f"{layout.rendered_dir(name)}/{layout.object_file(obj['kind'], obj['metadata']['name'])}"
            if path in out:
                problems.append(Problem(template, 1, 1, "", f"two objects would be written to {path}", "give them distinct names"))
            out[path] = obj
    if problems:
        raise ProblemsError(problems)
    return out


class _Repeats:
    """The parsed documents of rendered texts that repeat from tenant to tenant (a fleet's
    NetworkPolicies take a handful of forms; its PodMonitors two): such a text is parsed
    twice, then copied, which costs a fraction of parsing. At most LIMIT texts are
    remembered per template, so a template whose text differs for every tenant costs a
    dictionary lookup and holds a few texts."""

    LIMIT = 32

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, list[Any] | None]] = {}  # template -> text -> documents (None: seen once)

    def parse(self, template: str, text: str) -> list[Any]:
        known = self.seen.setdefault(template, {})
        docs = known.get(text)
        if docs is not None:
            return [merge.copy_plain(d) for d in docs]
        parsed = [d for d in fastyaml.load_all(text) if d is not None]
        if "&" in text or "*" in text:
            return parsed  # perhaps anchors and aliases: objects shared within the text, which a copy would part
        if text in known:
            known[text] = [merge.copy_plain(d) for d in parsed]  # kept apart: the build changes what it returns
        elif len(known) < self.LIMIT:
            known[text] = None
        return parsed


# One per template environment (a render's, a worker's), gone with it.
_REPEATS: weakref.WeakKeyDictionary[jinja2.Environment, _Repeats] = weakref.WeakKeyDictionary()


def _parsed(env: jinja2.Environment, template: str, text: str) -> list[Any]:
    """`fastyaml.load_all(text)`'s documents (empty ones dropped), fresh objects every call."""
    repeats = _REPEATS.get(env)
    if repeats is None:
        repeats = _REPEATS[env] = _Repeats()
    return repeats.parse(template, text)


def with_object(objects: dict[str, dict[str, Any]], obj: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """`objects` plus `obj`, an object the engine builds in Python rather than from a
    template (it carries its component label), decorated like every other."""
    obj = _decorate(obj, name, layout.namespace(name), "")
    path = f"{layout.rendered_dir(name)}/{layout.object_file(obj['kind'], obj['metadata']['name'])}"
    if path in objects:
        raise ProblemsError([Problem(path, 1, 1, "", f"a template renders {path}, which the engine builds itself",
                                     "rename the template's object")])
    return dict(sorted({**objects, path: obj}.items()))


def _decorate(obj: dict[str, Any], name: str, ns: str, template: str) -> dict[str, Any]:
    kind = obj["kind"]
    meta = obj.setdefault("metadata", {})
    component = meta.get("labels", {}).get(layout.LABEL_COMPONENT) or template.rsplit("/", 1)[-1].split(".")[0]
    labels = {
        layout.LABEL_NAME: meta.get("labels", {}).get(layout.LABEL_NAME, meta["name"]),
        layout.LABEL_INSTANCE: ns,
        layout.LABEL_COMPONENT: component,
        layout.LABEL_PART_OF: layout.PART_OF,
        layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
        layout.LABEL_TENANT: name,
    }
    labels.update(meta.get("labels", {}))
    meta["labels"] = dict(sorted(labels.items()))
    annotations = dict(meta.get("annotations", {}))
    annotations.setdefault(layout.ANNOTATION_SYNC_WAVE, str(SYNC_WAVES.get(kind, DEFAULT_WAVE)))
    annotations[layout.ANNOTATION_ENGINE] = ENGINE_VERSION
    meta["annotations"] = dict(sorted(annotations.items()))
    if kind not in CLUSTER_SCOPED:
        meta["namespace"] = ns
    ordered_meta = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    ordered_meta.update({k: v for k, v in meta.items() if k not in ordered_meta})
    obj["metadata"] = ordered_meta
    return {**{k: obj[k] for k in TOP_KEYS}, **{k: v for k, v in obj.items() if k not in TOP_KEYS}}
