"""render/resolver.py: organization -> endpoints, as the gateway resolves it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout
from render.commands.render import render
from render.resolver import (
    OrganizationSuspended,
    ResolveError,
    RoutingError,
    RoutingTable,
    UnknownOrganization,
    WritesPaused,
    parse_entry,
)
from tests.lifecycle_repo import make_repo
from tests.support import ROOT, tenant_yaml


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    """The committed routing entries of the example tenants."""
    out = []
    for path in sorted((ROOT / layout.ROUTING_DIR).rglob("*.yaml")):
        out += [json.loads(t) for t in yaml.safe_load(path.read_text(encoding="utf-8"))["data"].values()]
    return out


def test_resolves_every_example_organization(entries: list[dict[str, Any]]) -> None:
    table = RoutingTable.from_entries(entries)
    acme = table.resolve("org_7f3a9c21")
    assert (acme.tenant, acme.routing, acme.namespace) == ("acme", "dedicated", "tenant-acme")
    assert acme.endpoints.database.database == "dp_acme"
    assert acme.endpoints.database.credentials.key == "dataplane_tenants_acme_mongodb"
    assert acme.endpoints.database.credentials.store == "tenant-secrets"
    assert acme.endpoints.cache.host == "redis.tenant-acme.svc.cluster.local"
    # The tenant's internal Serve load balancer, by its name in the cluster's internal zone.
    assert acme.endpoints.serve_url == "http://serve-acme.us-central1.dp.internal:8000"
    assert acme.endpoints.queue_prefix == "acme."
    assert acme.endpoints.vector_store.collection_prefix == "acme__"
    umbrella = table.resolve("org_5d2c8e47")  # mid-migration: still on the shared platform
    assert (umbrella.routing, umbrella.migration_state, umbrella.writes_paused) == ("shared", "verifying", True)


def test_unknown_organization_is_a_clear_error(entries: list[dict[str, Any]]) -> None:
    table = RoutingTable.from_entries(entries)
    with pytest.raises(UnknownOrganization, match="organization 'org_nobody' has no data plane routing entry") as e:
        table.resolve("org_nobody")
    assert isinstance(e.value, ResolveError) and isinstance(e.value, LookupError)
    assert e.value.organization_id == "org_nobody"


def test_suspended_organization_is_refused(entries: list[dict[str, Any]]) -> None:
    suspended = [dict(e, status="suspended") if e["tenant"] == "globex" else e for e in entries]
    table = RoutingTable.from_entries(suspended)
    with pytest.raises(OrganizationSuspended, match=r"organization 'org_b41e0d88' \(tenant globex\) is suspended"):
        table.resolve("org_b41e0d88")
    assert table.resolve("org_7f3a9c21").tenant == "acme"


def test_writes_wait_while_a_migration_copies(entries: list[dict[str, Any]]) -> None:
    table = RoutingTable.from_entries(entries)
    assert table.resolve("org_5d2c8e47").writes_paused
    with pytest.raises(WritesPaused, match="writes are paused"):
        table.resolve("org_5d2c8e47", write=True)
    assert table.resolve("org_7f3a9c21", write=True).tenant == "acme"


def test_suspension_comes_from_tenant_yaml(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1", "suspended: true\n")})
    render(root=root, tenants=[])
    with pytest.raises(OrganizationSuspended):
        RoutingTable.from_folder(root / "control-plane").resolve("org_a1")


def test_mounted_json_files_and_rendered_configmaps_give_the_same_table(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    """A projected volume of the ConfigMaps is a folder of <organization_id>.json files."""
    for path in sorted((ROOT / layout.ROUTING_DIR).rglob("*.yaml")):
        for key, text in yaml.safe_load(path.read_text(encoding="utf-8"))["data"].items():
            (tmp_path / key).write_text(text, encoding="utf-8")
    mounted = RoutingTable.from_folder(tmp_path)
    rendered = RoutingTable.from_folder(ROOT / layout.ROUTING_DIR)
    assert mounted.organizations() == rendered.organizations() == sorted(e["organization_id"] for e in entries)
    assert all(mounted.resolve(o) == rendered.resolve(o) for o in mounted.organizations())


def test_a_secret_value_in_place_of_a_reference_is_refused(entries: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(entries[0])
    bad["endpoints"]["database"]["credentials"] = {"value": "mongodb://root:hunter2@db"}
    with pytest.raises(RoutingError, match="credentials must be a secret reference"):
        parse_entry(bad)


def test_one_organization_in_two_entries_is_refused(entries: list[dict[str, Any]]) -> None:
    twin = dict(copy.deepcopy(entries[0]), tenant="impostor")
    with pytest.raises(RoutingError, match="is routed to both"):
        RoutingTable.from_entries([entries[0], twin])


@pytest.mark.parametrize(("path", "message"), [
    (("endpoints", "database"), "lacks 'database'"),
    (("schema_version",), "lacks 'schema_version'"),
])
def test_a_broken_entry_names_what_is_missing(entries: list[dict[str, Any]], path: tuple[str, ...], message: str) -> None:
    bad = copy.deepcopy(entries[0])
    target = bad
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(RoutingError, match=message):
        parse_entry(bad)


def test_the_resolver_imports_no_heavy_package() -> None:
    code = ("import sys, render.resolver; heavy = {'yaml', 'jinja2', 'jsonschema', 'deepmerge', 'ray', 'kubernetes'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
