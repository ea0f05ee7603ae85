"""`dataplane new-tenant NAME --cloud gcp|aws --region R`: scaffold a valid minimal tenant."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from render import layout, tombstones
from render.load import Document, list_tenants, read_yaml
from render.problems import Problem, ProblemsError
from render.validate.schemas import schema

TENANT_TEMPLATE = """\
# yaml-language-server: $schema=../../render/schemas/tenant.schema.json
# Platform-owned: identity and placement of this tenant. Changed by the platform team only.
name: {name}
display_name: {display_name}
organization_id: {organization_id}
cloud: {cloud}
region: {region}
cluster: {cluster}
cloud_account: "{cloud_account}"
operator_group: {operator_group}
database:
  mode: {database_mode}
vector_store:
  endpoint: {vector_endpoint}
# Where the control plane sends the organization: dedicated (this data plane) or shared
# (the shared platform, until a migration cuts over; see docs/migration.md).
routing: {routing}
"""
OVERRIDES_TEMPLATE = """\
# yaml-language-server: $schema=../../render/schemas/overrides.schema.json
# {name}'s self-service file: every key is optional. See docs/tenants.md.
auto_deploy: true
"""
RELEASE_TEMPLATE = """\
# yaml-language-server: $schema=../../render/schemas/release.schema.json
# Automation-owned: the engine image this tenant runs. Written by the release workflows.
platform_version: "{platform_version}"
image: {image}
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("new-tenant", help="scaffold tenants/NAME with a valid minimal configuration",
                       description="Create tenants/NAME/{tenant,overrides,release}.yaml for a new tenant on the "
                                   "current platform release. Review tenant.yaml, then run `dataplane render`.")
    p.add_argument("name", metavar="NAME", help="tenant name (DNS-1123 label; namespace becomes tenant-NAME)")
    p.add_argument("--cloud", choices=("gcp", "aws"), required=True)
    p.add_argument("--region", required=True, help="e.g. us-central1 or us-east-1")
    p.add_argument("--organization-id", required=True,
                   help="the control plane's organization id, e.g. org_4c1d9e02 (from the account team; never invented)")
    p.add_argument("--cluster", help="ArgoCD cluster name (default: dp-gke-REGION or dp-eks-REGION)")
    p.add_argument("--cloud-account", help="GCP project id or AWS account id (default: dp-tenants)")
    p.add_argument("--operator-group", help="SSO group of the tenant's operators (default: NAME-operators)")
    p.add_argument("--database-mode", choices=("dedicated_instance", "shared_instance"), default="dedicated_instance")
    p.add_argument("--display-name")
    p.add_argument("--routing", choices=("dedicated", "shared"), default="dedicated",
                   help="dedicated: route the organization here once synced (a new customer); shared: keep it on the "
                        "shared platform until its data is migrated (docs/migration.md)")
    p.set_defaults(run=lambda a: new_tenant(
        root=a.repo, name=a.name, cloud=a.cloud, region=a.region, organization_id=a.organization_id,
        cluster=a.cluster, cloud_account=a.cloud_account, operator_group=a.operator_group,
        database_mode=a.database_mode, display_name=a.display_name, routing=a.routing))


def new_tenant(*, root: Path, name: str, cloud: str, region: str, organization_id: str,
               cluster: str | None = None, cloud_account: str | None = None, operator_group: str | None = None,
               database_mode: str = "dedicated_instance", display_name: str | None = None,
               routing: str = "dedicated") -> int:
    folder = root / layout.tenant_dir(name)
    if not layout.DNS1123_LABEL.match(name) or len(name) > layout.TENANT_NAME_MAX:
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "", f"{name!r} is not a valid tenant name",
                                     f"use a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters, e.g. acme-corp")])
    if folder.exists():
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "", f"tenant {name!r} already exists", "pick another name")])
    platform = read_yaml(root, layout.PLATFORM_FILE).data
    problems = (_organization_problems(root, organization_id)
                + _placement_problems(read_yaml(root, layout.PRICES_FILE), platform, cloud, region)
                + _tombstone_problems(root, name, cloud, organization_id))
    if problems:
        raise ProblemsError(problems)
    engine = platform["engine"]
    values = {
        "name": name,
        "display_name": display_name or name.replace("-", " ").title(),
        "organization_id": organization_id,
        "cloud": cloud,
        "region": region,
        "cluster": cluster or f"dp-{'gke' if cloud == 'gcp' else 'eks'}-{region}",
        "cloud_account": cloud_account or "dp-tenants",
        "operator_group": operator_group or f"{name}-operators",
        "database_mode": database_mode,
        "routing": routing,
        "vector_endpoint": f"https://qdrant.{region}.dataplane.internal:6333",
        "platform_version": platform["platform_version"],
        # The current release, by digest (validate reports a platform.yaml without one).
        "image": f"{engine['repository']}:{engine['tag']}" + (f"@{engine['digest']}" if engine.get("digest") else ""),
    }
    folder.mkdir(parents=True)
    for file, template in ((layout.TENANT_FILE, TENANT_TEMPLATE), (layout.OVERRIDES_FILE, OVERRIDES_TEMPLATE),
                           (layout.RELEASE_FILE, RELEASE_TEMPLATE)):
        (folder / file).write_text(template.format(**values), encoding="utf-8")
    print(f"created {layout.tenant_dir(name)}/: review tenant.yaml, then run `dataplane render {name}`; "
          f"the render also writes its routing entry, {layout.routing_dir(name)}/; its passwords are generated "
          f"in the cluster, only its vector-store token is issued by the platform (docs/onboarding.md)")
    return 0


def _tombstone_problems(root: Path, name: str, cloud: str, organization_id: str) -> list[Problem]:
    """A name, organization id, bucket or prefix of an offboarded tenant is never reused."""
    draft = Document(layout.tenant_file(name, layout.TENANT_FILE),
                     {"name": name, "cloud": cloud, "organization_id": organization_id}, {})
    return tombstones.problems(root, {name: draft}, read_yaml(root, layout.PLATFORM_FILE), at_tombstone=True)


def _organization_problems(root: Path, organization_id: str) -> list[Problem]:
    """The id must have the control plane's format and belong to no other tenant."""
    pattern = str(schema("tenant")["properties"]["organization_id"]["pattern"])
    if not re.fullmatch(pattern, organization_id):
        return [Problem("--organization-id", 1, 1, "organization_id", f"{organization_id!r} is not an organization id",
                        f"the control plane's id, matching {pattern}, e.g. org_4c1d9e02")]
    for other in list_tenants(root):
        try:
            doc = read_yaml(root, layout.tenant_file(other, layout.TENANT_FILE))
        except ProblemsError:
            continue  # `dataplane validate` reports a broken file; it claims no id here
        if isinstance(doc.data, dict) and doc.data.get("organization_id") == organization_id:
            return [doc.problem(("organization_id",), f"organization {organization_id} is already tenant {other!r}",
                                "one organization has one data plane; check the id with the account team")]
    return []


def _placement_problems(prices: Document, platform: dict[str, Any], cloud: str, region: str) -> list[Problem]:
    """The region must have prices, and every worker group's machine type a known shape, so that
    `dataplane footprint` and the bill can be computed for the tenant from its first commit."""
    clouds = prices.data.get("clouds") if isinstance(prices.data, dict) else None
    regions = sorted((clouds or {}).get(cloud) or {})
    out = []
    if region not in regions:
        out.append(prices.problem(("clouds", cloud), f"no prices for {cloud} region {region!r}",
                                  f"priced {cloud} regions: {', '.join(regions) or 'none'}; choose one, or add the "
                                  "region's prices here first"))
    machines = (prices.data.get("machines") or {}) if isinstance(prices.data, dict) else {}
    for group, spec in sorted((platform.get("worker_groups") or {}).items()):
        machine = ((spec or {}).get("machine") or {}).get(cloud)
        if machine not in machines:
            out.append(prices.problem(("machines",), f"{group} runs on {cloud} machine {machine!r}, which has no shape here",
                                      "add its vcpu, memory_gib and gpus under machines, as in registry/platform.yaml"))
    return out
