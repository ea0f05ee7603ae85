"""Where a tenant lives, checked across files; and the addresses the platform declares.

A tenant's cloud account has its cloud's format; its region is its cluster's region, and
a region the price table prices; every cluster says its region. Every CIDR and host in
registry/platform.yaml is parsed with the standard library (ipaddress, urllib), so a
`/33` is a problem at its line, never a crash of a later stage. Pure: documents in,
problems out; wrongly typed values are the schema's to report.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from render.clouds import CLOUDS, Cloud
from render.load import Document
from render.problems import Problem, did_you_mean

Path_ = tuple[str | int, ...]
# One DNS label: letters, digits and '-', not at either end; at most 63 characters.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)
CLUSTERS_DOC = "registry/platform.yaml `clusters`"


def cloud_of(value: Any) -> Cloud | None:
    """The registered cloud named `value`, or None (the schema's enum reports the rest)."""
    return CLOUDS.get(value) if isinstance(value, str) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- the tenant ------------------------------------------------------------------------

def tenant_problems(tenant: Document, platform: Document) -> list[Problem]:
    """cloud_account and region in the tenant's cloud's format; the cluster in its region."""
    data = _mapping(tenant.data)
    cloud = cloud_of(data.get("cloud"))
    if cloud is None:
        return []  # the schema's enum reports an unknown cloud
    out = []
    name = data.get("name")
    if isinstance(name, str) and len(name) > cloud.name_max:
        out.append(tenant.problem(("name",), f"{name!r} is {len(name)} characters; {data['cloud']} tenants' cloud identity "
                                  f"names allow at most {cloud.name_max}", f"use a tenant name of at most {cloud.name_max} characters",
                                  at_value=True))
    account, region = data.get("cloud_account"), data.get("region")
    if isinstance(account, str) and not cloud.account.fullmatch(account):
        out.append(tenant.problem(("cloud_account",), f"{account!r} is not a valid {cloud.account_noun}", cloud.account_hint,
                                  at_value=True))
    if isinstance(region, str) and not cloud.region.fullmatch(region):
        out.append(tenant.problem(("region",), f"{region!r} is not a valid {data['cloud']} region",
                                  f"{data['cloud']} regions look like {cloud.region_example}", at_value=True))
        return out
    cluster = _mapping(_at(_mapping(platform.data), ("clusters", str(data.get("cluster")))))
    declared = cluster.get("region")
    if cluster.get("cloud") != data["cloud"]:
        return out  # file_rules.check_cluster reports a cluster of another cloud
    if isinstance(region, str) and isinstance(declared, str) and cloud.region.fullmatch(declared) and declared != region:
        out.append(tenant.problem(("region",), f"cluster {data['cluster']!r} is in {declared}, not {region}",
                                  f"set region: {declared}, or place the tenant on a cluster in {region}", at_value=True))
    return out


def priced_problems(tenant: Document, prices: Document) -> list[Problem]:
    """The tenant's region has prices (`dataplane footprint` and the bill need them)."""
    data = _mapping(tenant.data)
    cloud, region = data.get("cloud"), data.get("region")
    if not isinstance(cloud, str) or cloud not in CLOUDS or not isinstance(region, str):
        return []
    regions = sorted(_mapping(_mapping(_mapping(prices.data).get("clouds")).get(cloud)))
    if region in regions:
        return []
    return [tenant.problem(("region",), f"{cloud} region {region!r} has no prices in {prices.file}",
                           did_you_mean(region, regions, "regions") if regions else f"add its prices under clouds.{cloud}",
                           at_value=True)]


# -- the clusters ----------------------------------------------------------------------

def cluster_problems(platform: Document, prices: Document | None) -> list[Problem]:
    """Every declared cluster names its region, in its cloud's format and priced."""
    out = []
    priced = _mapping(_mapping(prices.data).get("clouds")) if prices is not None else None
    for name, entry in _mapping(_mapping(platform.data).get("clusters")).items():
        entry = _mapping(entry)
        cloud = cloud_of(entry.get("cloud"))
        region = entry.get("region")
        path: Path_ = ("clusters", name)
        if cloud is None or (region is not None and not isinstance(region, str)):
            continue  # the schema reports it
        if region is None:
            out.append(platform.problem(path, f"cluster {name!r} does not say its region",
                                        f"add `region: {cloud.region_example}` (the region its nodes run in)"))
        elif not cloud.region.fullmatch(region):
            out.append(platform.problem(path + ("region",), f"{region!r} is not a valid {entry['cloud']} region",
                                        f"{entry['cloud']} regions look like {cloud.region_example}", at_value=True))
        elif priced is not None and region not in _mapping(priced.get(entry["cloud"])):
            out.append(platform.problem(path + ("region",), f"{entry['cloud']} region {region!r} has no prices in "
                                        "registry/prices.yaml", f"add its prices under clouds.{entry['cloud']}.{region}",
                                        at_value=True))
    return out


# -- addresses -------------------------------------------------------------------------

def address_problems(platform: Document) -> list[Problem]:
    """Every CIDR, URL and host name of registry/platform.yaml, parsed."""
    data = _mapping(platform.data)
    out = []
    for path, value in _cidrs(data):
        message = cidr_problem(value)
        if message:
            out.append(platform.problem(path, *message, at_value=True))
    for path, value in _urls(data):
        message = url_problem(value)
        if message:
            out.append(platform.problem(path, *message, at_value=True))
    for path, value in _hosts(data):
        if not host_ok(value):
            out.append(platform.problem(path, f"{value!r} is not a host name",
                                        "DNS labels of letters, digits and '-', joined by '.'", at_value=True))
    return out


def cidr_problem(value: str) -> tuple[str, str] | None:
    """(message, hint) when `value` is not an IPv4 or IPv6 network in CIDR notation."""
    if "/" not in value:
        return f"{value!r} is not a CIDR", f"write the prefix length too, e.g. {value}/32"
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as e:
        try:
            fixed = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value!r} is not a CIDR ({e})", "write an address and a prefix length, e.g. 10.0.0.0/16"
        return f"{value!r} has host bits set", f"did you mean {fixed}?"
    return None


def url_problem(value: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as e:
        return f"{value!r} is not a URL ({e})", "write https://HOST[:PORT][/PATH]"
    if parts.scheme not in ("http", "https") or not parts.hostname or not host_ok(parts.hostname):
        return f"{value!r} is not an http(s) URL with a host name", "write https://HOST[:PORT][/PATH]"
    return None


def host_ok(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return 0 < len(value) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _each(data: dict[str, Any], *path: str) -> Iterator[tuple[Path_, str]]:
    """The string items of the list at `path`."""
    for i, item in enumerate(_list(_at(data, path))):
        if isinstance(item, str):
            yield (*path, i), item


def _cidrs(data: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    yield from _each(data, "network", "public_https_except")
    yield from _each(data, "network", "node_local_dns")
    yield from _each(data, "control_plane", "gateway_source_ranges")
    for cloud, endpoints in _mapping(_mapping(data.get("network")).get("identity_endpoints")).items():
        for i, entry in enumerate(_list(endpoints)):
            if isinstance(_mapping(entry).get("cidr"), str):
                yield ("network", "identity_endpoints", cloud, i, "cidr"), entry["cidr"]
    for name in _mapping(data.get("clusters")):
        yield from _each(data, "clusters", name, "apiserver_cidrs")
        yield from _each(data, "clusters", name, "vector_store_cidrs")


def _urls(data: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    for path in (("control_plane", "grafana_url"), ("control_plane", "argocd_url"), ("control_plane", "repo_url"),
                 ("shared_platform", "serve_url"), ("shared_platform", "vector_store_endpoint")):
        if isinstance(_at(data, path), str):
            yield path, _at(data, path)
    for name, entry in _mapping(data.get("clusters")).items():
        if isinstance(_mapping(entry).get("oidc_issuer"), str):
            yield ("clusters", name, "oidc_issuer"), entry["oidc_issuer"]


def _at(data: dict[str, Any], path: Path_) -> Any:
    node: Any = data
    for key in path:
        node = _mapping(node).get(str(key))
    return node


def _hosts(data: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    for path in (("datastores", "mongodb", "shared_host"), ("shared_platform", "mongodb_host"),
                 ("shared_platform", "redis_host")):
        if isinstance(_at(data, path), str):
            yield path, _at(data, path)
    for name in _mapping(data.get("clusters")):
        if isinstance(_at(data, ("clusters", name, "serve_domain")), str):
            yield ("clusters", name, "serve_domain"), _at(data, ("clusters", name, "serve_domain"))


def endpoint_problems(tenant: Document) -> list[Problem]:
    """The tenant's vector store endpoint is a URL with a host (and a valid port)."""
    value = _mapping(_mapping(tenant.data).get("vector_store")).get("endpoint")
    if not isinstance(value, str):
        return []
    message = url_problem(value)
    return [tenant.problem(("vector_store", "endpoint"), *message, at_value=True)] if message else []
