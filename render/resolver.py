"""Resolve an organization to its data plane endpoints, as the control plane's gateway does.

Small and fast on purpose: the standard library only (PyYAML is imported lazily, and only
to read rendered ConfigMap files). Load the routing table once, from a folder or from
entries, then `resolve` is a dictionary lookup:

    table = RoutingTable.from_folder(Path("/etc/routing"))   # mounted ConfigMaps
    route = table.resolve("org_7f3a9c21", write=True)
    route.endpoints.database.host, route.endpoints.database.credentials.key

The folder may hold the mounted ConfigMaps' `<organization_id>.json` files or the rendered
`control-plane/routing/**/configmap-*.yaml` files. Endpoints carry addresses and
references into secret stores only (store, key, property); an entry with anything else where a
secret reference belongs is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render.layout import LABEL_ROUTING
from render.problems import UserError

SCHEMA_VERSION = 1


class RoutingError(UserError):
    """The routing table itself is unusable (a bad or conflicting entry)."""


class ResolveError(LookupError):
    """An organization cannot be routed; the message says why and is safe to show."""

    def __init__(self, organization_id: str, message: str) -> None:
        self.organization_id = organization_id
        super().__init__(message)


class UnknownOrganization(ResolveError):
    pass


class OrganizationSuspended(ResolveError):
    pass


class WritesPaused(ResolveError):
    """A migration is copying the organization's data: reads work, writes must wait."""


@dataclass(frozen=True)
class SecretRef:
    store: str
    key: str
    property: str


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    database: str
    credentials: SecretRef


@dataclass(frozen=True)
class Cache:
    host: str
    port: int
    key_prefix: str
    credentials: SecretRef


@dataclass(frozen=True)
class VectorStore:
    endpoint: str
    collection_prefix: str
    credentials: SecretRef


@dataclass(frozen=True)
class Endpoints:
    database: Database
    cache: Cache
    serve_url: str
    bucket_url: str
    queue_prefix: str
    queue_broker: str
    vector_store: VectorStore
    # Celery settings a producer into these queues must use (task_send_sent_event).
    queue_producer: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    organization_id: str
    tenant: str
    routing: str  # "dedicated" or "shared"
    suspended: bool
    writes_paused: bool
    migration_state: str | None
    namespace: str
    endpoints: Endpoints


class RoutingTable:
    """organization id -> Route. Immutable once built."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self._routes = dict(routes)

    def __len__(self) -> int:
        return len(self._routes)

    def organizations(self) -> list[str]:
        return sorted(self._routes)

    def resolve(self, organization_id: str, *, write: bool = False) -> Route:
        """The Route of an active organization. Raises UnknownOrganization,
        OrganizationSuspended, or (for a write during a migration copy) WritesPaused."""
        route = self._routes.get(organization_id)
        if route is None:
            raise UnknownOrganization(organization_id, f"organization {organization_id!r} has no data plane routing entry")
        if route.suspended:
            raise OrganizationSuspended(organization_id, f"organization {organization_id!r} (tenant {route.tenant}) is suspended")
        if write and route.writes_paused:
            raise WritesPaused(organization_id, f"organization {organization_id!r} is being migrated "
                                                f"({route.migration_state}); writes are paused, retry later")
        return route

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> RoutingTable:
        routes: dict[str, Route] = {}
        for entry in entries:
            route = parse_entry(entry)
            if route.organization_id in routes:
                raise RoutingError(f"organization {route.organization_id} is routed to both "
                                   f"{routes[route.organization_id].tenant!r} and {route.tenant!r}")
            routes[route.organization_id] = route
        return cls(routes)

    @classmethod
    def from_folder(cls, folder: Path) -> RoutingTable:
        """Every `*.json` entry and every rendered ConfigMap `*.yaml` under `folder`."""
        entries: list[Mapping[str, Any]] = []
        for path in sorted(folder.rglob("*")):
            if path.name.startswith(".") or not path.is_file():
                continue
            if path.suffix == ".json":
                entries.append(_json(path.read_text(encoding="utf-8"), str(path)))
            elif path.suffix in (".yaml", ".yml"):
                entries += _configmap_entries(path)
        return cls.from_entries(entries)


def _json(text: str, where: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RoutingError(f"{where}: not JSON: {e}") from None
    if not isinstance(data, dict):
        raise RoutingError(f"{where}: a routing entry is a JSON object")
    return data


def _configmap_entries(path: Path) -> list[Mapping[str, Any]]:
    import yaml  # only for rendered files; a mounted ConfigMap is plain JSON

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out = []
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
        labels = ((doc.get("metadata") or {}).get("labels") or {}) if isinstance(doc, dict) else {}
        # What the gateway mounts: ConfigMaps labelled dataplane.io/routing=true (control-plane/
        # also holds the dashboards' ConfigMaps, whose .json keys are no routing entries).
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and labels.get(LABEL_ROUTING) == "true":
            for key, text in sorted((doc.get("data") or {}).items()):
                if key.endswith(".json"):
                    out.append(_json(text, f"{path}:{key}"))
    return out


def parse_entry(entry: Mapping[str, Any]) -> Route:
    """One routing entry -> Route; RoutingError naming the missing or wrong field."""
    org = str(entry.get("organization_id", "?"))
    try:
        if entry["schema_version"] != SCHEMA_VERSION:
            raise RoutingError(f"{org}: routing entry schema_version {entry['schema_version']} is not {SCHEMA_VERSION}")
        e = entry["endpoints"]
        db, cache, vs = e["database"], e["cache"], e["vector_store"]
        endpoints = Endpoints(
            database=Database(_str(db["host"]), int(db["port"]), _str(db["database"]), _secret(db["credentials"], org)),
            cache=Cache(_str(cache["host"]), int(cache["port"]), _str(cache["key_prefix"]), _secret(cache["credentials"], org)),
            serve_url=_str(e["serve"]["url"]),
            bucket_url=_str(e["bucket"]["url"]),
            queue_prefix=_str(e["queues"]["prefix"]),
            queue_broker=_str(e["queues"]["broker"]),
            vector_store=VectorStore(_str(vs["endpoint"]), _str(vs["collection_prefix"]), _secret(vs["credentials"], org)),
            queue_producer=dict(e["queues"].get("producer") or {}),
        )
        migration = entry.get("migration")
        if entry["status"] not in ("active", "suspended"):
            raise RoutingError(f"{org}: status must be active or suspended, not {entry['status']!r}")
        routing = _str(entry["routing"])
        if routing not in ("dedicated", "shared"):
            raise RoutingError(f"{org}: routing must be dedicated or shared, not {routing!r}")
        return Route(organization_id=_str(entry["organization_id"]), tenant=_str(entry["tenant"]), routing=routing,
                     suspended=entry["status"] == "suspended", writes_paused=bool(entry["writes_paused"]),
                     migration_state=migration["state"] if isinstance(migration, dict) else None,
                     namespace=_str(entry["data_plane"]["namespace"]), endpoints=endpoints)
    except KeyError as e:
        raise RoutingError(f"{org}: routing entry lacks {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise RoutingError(f"{org}: malformed routing entry: {e}") from None


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a non-empty string, got {value!r}")
    return value


def _secret(ref: Any, org: str) -> SecretRef:
    if not isinstance(ref, dict) or set(ref) != {"store", "key", "property"}:
        raise RoutingError(f"{org}: credentials must be a secret reference (store, key, property) and nothing else")
    return SecretRef(_str(ref["store"]), _str(ref["key"]), _str(ref["property"]))
