"""The control plane's routing table: organization -> data plane endpoints.

One ConfigMap per tenant, `routing-<tenant>` in the gateway's namespace, written to
control-plane/routing/<tenant>/ (a scope of its own, so rendering a subset of tenants
stays correct). Its single data key, `<organization_id>.json`, is the routing entry; the
gateway mounts every ConfigMap labelled dataplane.io/routing=true as one projected
volume, which yields a folder of `<organization_id>.json` files for render/resolver.py.

An entry holds addresses and references to secrets, never a secret value: a data plane's
credentials are in the tenant's own store (readable by its secrets identity only), the
shared platform's in the platform's store. `endpoints` are the ones in force: the data plane's when routing is
dedicated, the shared platform's (keyed by organization id) when routing is shared.
The format is published as render/schemas/routing.schema.json. Pure: effective
configuration in, output bytes out.
"""

from __future__ import annotations

import json
from typing import Any

from render import ENGINE_VERSION, celery_context, context, emit, layout, migration, offboarding, tenant_secrets
from render.context_types import RoutingContext
from render.merge import Effective
from render.move import target as move_target

SCHEMA_VERSION = 1


def build_tenant(eff: Effective, platform: dict[str, Any]) -> emit.Outputs:
    """control-plane/routing/<name>/: the routing ConfigMap of one tenant. An organization
    claimed by two tenants is a validation problem (render/validate/file_rules.py), caught before this."""
    entry = routing_entry(routing_context(eff, platform))
    obj = configmap(entry, platform)
    scope = layout.routing_dir(eff.values["tenant"]["name"])
    return {scope: {f"{scope}/{layout.object_file('ConfigMap', obj['metadata']['name'])}": emit.dump(obj)}}


def routing_context(eff: Effective, platform: dict[str, Any]) -> RoutingContext:
    """The part of a tenant's template context routing needs (the whole one renders the
    Serve config too, which would make this builder cost as much as a tenant's render)."""
    t = eff.values["tenant"]
    return {"name": t["name"], "namespace": layout.namespace(t["name"]), "tenant": t, "platform": platform,
            "control_plane": platform["control_plane"], "names": context.tenant_names(t, platform),
            "ports": context.ports()}


def routing_entry(ctx: RoutingContext) -> dict[str, Any]:
    """The routing entry of one tenant, from its template context (or routing_context)."""
    t = ctx["tenant"]
    route = migration.routing_of(t)
    state = migration.state_of(t)
    endpoints = dedicated_endpoints(ctx) if route == "dedicated" else shared_endpoints(ctx)
    return {
        "schema_version": SCHEMA_VERSION,
        "organization_id": t["organization_id"],
        "tenant": ctx["name"],
        "display_name": t.get("display_name", ctx["name"]),
        "status": "suspended" if t.get("suspended", False) or offboarding.offboarding(t) else "active",
        "routing": route,
        # A move's copy state is a write freeze too (render/move/): the gateway holds writes.
        "writes_paused": migration.writes_paused(t) or move_target.active(t) == "copy",
        "migration": {"state": state, "attempt": t["migration"]["attempt"]} if state else None,
        "data_plane": {"namespace": ctx["namespace"], "cluster": t["cluster"], "cloud": t["cloud"], "region": t["region"]},
        "endpoints": endpoints,
    }


def _secret(store: str, key: str, prop: str) -> dict[str, str]:
    """A reference into a secret store: where to read, never what."""
    return {"store": store, "key": key, "property": prop}


def dedicated_endpoints(ctx: RoutingContext) -> dict[str, Any]:
    """The data plane's own: its credentials are in its namespace's store, tenant-secrets."""
    n, ports, prefix = ctx["names"], ctx["ports"], ctx["names"]["secret_key_prefix"]
    store = n["secret_store"]
    return {
        "database": {"host": n["mongodb_host"], "port": ports["mongodb"], "database": n["database"],
                     "credentials": _secret(store, prefix + "mongodb", tenant_secrets.PASSWORD_PROPERTY)},
        "cache": {"host": n["redis_host"], "port": ports["redis"], "key_prefix": n["redis_key_prefix"],
                  "credentials": _secret(store, prefix + "redis", tenant_secrets.PASSWORD_PROPERTY)},
        "serve": {"url": n["gateway_serve_url"]},
        "bucket": {"url": n["bucket_url"] + "/"},
        "queues": {"prefix": n["queue_prefix"], "broker": f"redis://{n['redis_host']}:{ports['redis']}/0",
                   "producer": dict(celery_context.PRODUCER_SETTINGS)},
        "vector_store": {"endpoint": ctx["tenant"]["vector_store"]["endpoint"], "collection_prefix": n["vector_prefix"],
                         "credentials": _secret(store, prefix + "vector-store", tenant_secrets.API_KEY_PROPERTY)},
    }


def shared_endpoints(ctx: RoutingContext) -> dict[str, Any]:
    s, ports, org = ctx["platform"]["shared_platform"], ctx["ports"], ctx["tenant"]["organization_id"]
    prefix = tenant_secrets.organization_prefix(ctx["tenant"]["cloud"], s["secret_prefix"], org)
    store = ctx["control_plane"]["secret_store"]
    return {
        "database": {"host": s["mongodb_host"], "port": ports["mongodb"], "database": layout.shared_org_database(org),
                     "credentials": _secret(store, prefix + "mongodb", "uri")},
        "cache": {"host": s["redis_host"], "port": ports["redis"], "key_prefix": layout.shared_key_prefix(org),
                  "credentials": _secret(store, prefix + "redis", "url")},
        "serve": {"url": s["serve_url"]},
        "bucket": {"url": f"{s['bucket_url'].rstrip('/')}/{org}/"},
        "queues": {"prefix": layout.shared_queue_prefix(org), "broker": f"redis://{s['redis_host']}:{ports['redis']}/0",
                   "producer": dict(celery_context.PRODUCER_SETTINGS)},
        "vector_store": {"endpoint": s["vector_store_endpoint"], "collection_prefix": layout.shared_vector_prefix(org),
                         "credentials": _secret(store, prefix + "vector-store", "api-key")},
    }


def configmap(entry: dict[str, Any], platform: dict[str, Any]) -> dict[str, Any]:
    name = entry["tenant"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": layout.routing_configmap(name),
            "namespace": platform["control_plane"]["gateway_namespace"],
            "labels": dict(sorted({
                layout.LABEL_NAME: layout.routing_configmap(name),
                layout.LABEL_INSTANCE: layout.namespace(name),
                layout.LABEL_COMPONENT: "routing",
                layout.LABEL_PART_OF: layout.PART_OF,
                layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
                layout.LABEL_TENANT: name,
                layout.LABEL_ORGANIZATION: entry["organization_id"],
                layout.LABEL_ROUTING: "true",
            }.items())),
            "annotations": {layout.ANNOTATION_ENGINE: ENGINE_VERSION},
        },
        "data": {f"{entry['organization_id']}.json": json.dumps(entry, indent=2, sort_keys=True) + "\n"},
    }

