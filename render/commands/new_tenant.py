"""`dataplane new-tenant NAME --cloud gcp|aws --region R`: scaffold a valid minimal tenant."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from render import git, layout, quotas, tombstones
from render.clouds import CLOUDS
from render.commands import new_cluster
from render.load import Document, Repo, TenantFiles, in_history, list_tenants, load_pinned, load_repo, parse_bytes, read_yaml
from render.problems import Problem, ProblemsError
from render.validate import validate_prices, validate_repo
from render.validate.schemas import schema
from render.workflows import deploy
from render.workflows.release import Target

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
# Automation-owned: the engine image this tenant runs and the platform release (base/ +
# registry/) it renders from. Written by the release workflows; see docs/workflows.md.
platform_version: "{platform_version}"
image: {image}
"""
PIN_LINE = 'platform_revision: "{revision}"\n'


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("new-tenant", help="scaffold tenants/NAME with a valid minimal configuration",
                       description="Create tenants/NAME/{tenant,overrides,release}.yaml for a new tenant on the "
                                   "current platform release. Review tenant.yaml, then run `dataplane render`.")
    p.add_argument("name", metavar="NAME", help="tenant name (DNS-1123 label; namespace becomes tenant-NAME)")
    p.add_argument("--cloud", choices=sorted(CLOUDS), required=True)
    p.add_argument("--region", required=True, help="e.g. us-central1 or us-east-1")
    p.add_argument("--organization-id", required=True,
                   help="the control plane's organization id, e.g. org_4c1d9e02 (from the account team; never invented)")
    p.add_argument("--cluster", help="ArgoCD cluster name, declared in registry/platform.yaml `clusters` "
                                     "(default: dp-gke-REGION or dp-eks-REGION)")
    p.add_argument("--cloud-account", help="GCP project id (default: the project of registry/platform.yaml "
                                           "cloud_accounts.gcp with the most room) or the 12-digit AWS account id "
                                           "(required on AWS; the error proposes one with room)")
    p.add_argument("--operator-group", help="SSO group of the tenant's operators (default: NAME-operators)")
    p.add_argument("--database-mode", choices=("dedicated_instance", "shared_instance"), default="dedicated_instance")
    p.add_argument("--display-name")
    p.add_argument("--routing", choices=("dedicated", "shared"), default="dedicated",
                   help="dedicated: route the organization here once synced (a new customer); shared: keep it on the "
                        "shared platform until its data is migrated (docs/migration.md)")
    p.add_argument("--dry-run", action="store_true", help="check and print the three files; write nothing")
    p.set_defaults(writes=True, run=lambda a: new_tenant(
        root=a.repo, name=a.name, cloud=a.cloud, region=a.region, organization_id=a.organization_id,
        cluster=a.cluster, cloud_account=a.cloud_account, operator_group=a.operator_group,
        database_mode=a.database_mode, display_name=a.display_name, routing=a.routing,
        dry_run=a.dry_run))


def new_tenant(*, root: Path, name: str, cloud: str, region: str, organization_id: str,
               cluster: str | None = None, cloud_account: str | None = None, operator_group: str | None = None,
               database_mode: str = "dedicated_instance", display_name: str | None = None,
               routing: str = "dedicated", dry_run: bool = False) -> int:
    folder = root / layout.tenant_dir(name)
    if not layout.DNS1123_LABEL.match(name) or len(name) > layout.TENANT_NAME_MAX:
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "", f"{name!r} is not a valid tenant name",
                                     f"use a DNS-1123 label of at most {layout.TENANT_NAME_MAX} characters, e.g. acme-corp")])
    if folder.exists():
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "", f"tenant {name!r} already exists", "pick another name")])
    platform_doc = read_yaml(root, layout.PLATFORM_FILE)
    platform = platform_doc.data
    spec = CLOUDS[cloud]
    if len(name) > spec.name_max:
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "", f"{name!r} is too long for a {cloud} tenant",
                                     f"use at most {spec.name_max} characters: its cloud identities are named after it")])
    cluster = cluster or spec.cluster_name(region)
    peers = list(_peers(root).values())
    room = quotas.with_room(platform, cloud, peers, quotas.usage(
        {"name": name, "cloud": cloud, "cloud_account": cloud_account or "", "organization_id": organization_id}, platform))
    account = cloud_account or _pick(spec.default_account, room)
    placed = _placement_problems(read_yaml(root, layout.PRICES_FILE), platform, cloud, region)
    listed = quotas.listed(platform, cloud)
    problems = (_organization_problems(root, organization_id) + _account_problems(cloud, account, room, listed) + placed
                + ([] if placed else _cluster_problems(platform_doc, cluster, cloud, region))
                + _tombstone_problems(root, name, cloud, organization_id))
    if problems:
        raise ProblemsError(problems)
    engine = platform["engine"]
    release = _release(root)
    values = {
        "name": name,
        "display_name": display_name or name.replace("-", " ").title(),
        "organization_id": organization_id,
        "cloud": cloud,
        "region": region,
        "cluster": cluster,
        "cloud_account": account,
        "operator_group": operator_group or f"{name}-operators",
        "database_mode": database_mode,
        "routing": routing,
        "vector_endpoint": f"https://qdrant.{region}.dataplane.internal:6333",
        "platform_version": platform["platform_version"],
        # The current release, by digest (validate reports a platform.yaml without one).
        "image": f"{engine['repository']}:{engine['tag']}" + (f"@{engine['digest']}" if engine.get("digest") else ""),
    }
    if release is not None:  # in a repository: the newest platform release, which it pins
        values.update(platform_version=release.platform_version, image=release.image)
    texts = {file: template.format(**values) for file, template in (
        (layout.TENANT_FILE, TENANT_TEMPLATE), (layout.OVERRIDES_FILE, OVERRIDES_TEMPLATE),
        (layout.RELEASE_FILE, RELEASE_TEMPLATE + (PIN_LINE.format(revision=release.revision) if release else "")))}
    _refuse_invalid(root, name, texts)  # what the flags could not catch: written only if it validates
    if dry_run:
        print("dry run: nothing was written; these files would be created:")
        for file, text in texts.items():
            print(f"--- {layout.tenant_file(name, file)}\n{text}", end="")
        return 0
    folder.mkdir(parents=True)
    for file, text in texts.items():
        (folder / file).write_text(text, encoding="utf-8")
    if cloud_account is None:
        held = dict(room).get(str(account))
        print(f"cloud_account: {account} (the listed {spec.account_noun} with the most room"
              f"{f': {held} tenants before a limit' if held else ''}; registry/platform.yaml {quotas.KEY})")
    print(f"created {layout.tenant_dir(name)}/: review tenant.yaml, then run `dataplane render {name}`; "
          f"the render also writes its routing entry, {layout.routing_dir(name)}/; its passwords are generated "
          f"in the cluster, only its vector-store token is issued by the platform (docs/onboarding.md)")
    return 0


def _release(root: Path) -> Target | None:
    """The platform release a new tenant pins: the newest one HEAD contains (what
    platform-update last moved tenants to; `dataplane pin` makes the first). None outside
    a git repository, where nothing is pinned."""
    if not in_history(root):
        return None
    tag = git.latest_release(root)
    if tag is None:
        raise ProblemsError([Problem(layout.PLATFORM_FILE, 1, 1, "", "no platform release for a new tenant to pin: "
                                     f"no annotated tag {layout.RELEASE_TAG_PREFIX}* is reachable from HEAD",
                                     "`dataplane pin` records HEAD as the first; fetch tags (git fetch --tags)")])
    return deploy.target_at(root, git.resolve(root, tag))


def _pick(default: str | None, room: list[tuple[str, int]]) -> str | None:
    """The listed account with the most room (the cloud's default account on a tie); None
    when the cloud has no default: the flag is required, and its error proposes one."""
    if default is None:
        return None
    if not room:
        return default  # full or unlisted: validate names the limit it would cross
    most = room[0][1]
    return default if (default, most) in room else room[0][0]


def _account_problems(cloud: str, account: str | None, room: list[tuple[str, int]], listed: list[str]) -> list[Problem]:
    """The account is given (or picked), in the cloud's format, and one the registry lists
    with its limits: a new tenant never lands in an account whose limits nobody stated."""
    spec = CLOUDS[cloud]
    key = f"{layout.PLATFORM_FILE} {quotas.KEY}.{cloud}.accounts"
    proposal = (f"accounts with room ({key}): " + ", ".join(f"{a} ({n} more tenants)" for a, n in room[:3]) if room else
                f"no listed account has room: add one under {key}")
    if account is None:
        return [Problem("--cloud-account", 0, 0, "cloud_account", f"{cloud} tenants need --cloud-account, their {spec.account_noun}",
                        f"{spec.account_hint}; {proposal}")]
    if not spec.account.fullmatch(account):
        return [Problem("--cloud-account", 0, 0, "cloud_account", f"{account!r} is not a valid {spec.account_noun}",
                        spec.account_hint)]
    if account not in listed:
        return [Problem("--cloud-account", 0, 0, "cloud_account", f"unknown account {account}: {key} does not list it",
                        f"list it there (its limits: the cloud's unless stated), or use one of the {proposal}")]
    return []


def _cluster_problems(platform: Document, cluster: str, cloud: str, region: str) -> list[Problem]:
    """The cluster is declared, on the tenant's cloud and in its region; if it is not, the
    problem shows the entry to add (or the command that adds it)."""
    clusters = platform.data.get("clusters") if isinstance(platform.data, dict) else None
    entry = (clusters or {}).get(cluster) if isinstance(clusters, dict) else None
    if not isinstance(entry, dict):
        return [platform.problem(("clusters",), f"cluster {cluster!r} is not declared",
                                 f"declare it (facts from the cloud; docs/onboarding.md#a-new-region-or-cluster) with\n"
                                 f"      {new_cluster.command_line(cluster, cloud, region)}\n"
                                 f"    or add under clusters:\n{new_cluster.stanza(cluster, cloud, region, {})}"
                                 "    or pick a declared cluster with --cluster")]
    if entry.get("cloud") != cloud or entry.get("region") != region:
        return [platform.problem(("clusters", cluster), f"cluster {cluster!r} is {entry.get('cloud')} "
                                 f"{entry.get('region')}, not {cloud} {region}",
                                 "pick a cluster of the tenant's cloud and region with --cluster")]
    return []


def _refuse_invalid(root: Path, name: str, texts: dict[str, str]) -> None:
    """Check the new tenant's files as `dataplane validate` would, before writing them."""
    docs = [parse_bytes(texts[file].encode("utf-8"), layout.tenant_file(name, file)) for file in layout.TENANT_FILES]
    files = TenantFiles(name, *docs)
    repo = load_repo(root, [])
    problems: list[Problem] = []
    revisions = load_pinned(root, {name: files}, problems)  # the release it pins: validated against it
    if problems:
        raise ProblemsError(problems)
    repo = Repo(repo.current, {name: files}, revisions, _peers(root), repo.history)
    problems += validate_repo(repo) + validate_prices(repo, read_yaml(root, layout.PRICES_FILE))
    mine = [p for p in problems if p.file.startswith(layout.tenant_dir(name) + "/")]
    if mine:
        raise ProblemsError(mine)


def _peers(root: Path) -> dict[str, Document]:
    out = {}
    for other in list_tenants(root):
        try:
            out[other] = read_yaml(root, layout.tenant_file(other, layout.TENANT_FILE))
        except ProblemsError:
            continue
    return out


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
