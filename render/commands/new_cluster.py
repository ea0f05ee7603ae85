"""`dataplane new-cluster NAME --cloud C --region R ...`: declare a data-plane cluster.

Writes the cluster's entry under `clusters` in registry/platform.yaml (its comments and
every other line kept), after checking it as `dataplane validate` would; with
`--dry-run`, prints the entry instead. `stanza` is also what `new-tenant` prints when a
tenant's cluster is not declared yet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from render import layout
from render.clouds import CLOUDS, Cloud
from render.load import parse_bytes, read_yaml
from render.problems import Problem, ProblemsError
from render.validate import cloud_rules
from render.validate.schemas import check_schema

FLAG = "--name"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("new-cluster", help="declare a data-plane cluster in registry/platform.yaml",
                       description="Add a cluster tenants may be placed on to registry/platform.yaml `clusters`, with "
                                   "the facts read from the cloud (nothing there is derived): its region, the API "
                                   "server's and the region's vector store's private ranges, the DNS zone of Serve "
                                   "load balancers and, on AWS, the EKS OIDC issuer. The region must be priced in "
                                   "registry/prices.yaml. See docs/onboarding.md, A new region or cluster.")
    p.add_argument("name", metavar="NAME", nargs="?", help="the cluster's ArgoCD name (default: dp-gke-REGION or dp-eks-REGION)")
    p.add_argument("--cloud", choices=sorted(CLOUDS), required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--apiserver-cidr", action="append", required=True, metavar="CIDR",
                   help="where the API server's private endpoint is (GKE master-ipv4-cidr; EKS: the VPC range); repeatable")
    p.add_argument("--vector-store-cidr", action="append", required=True, metavar="CIDR",
                   help="private range of the region's shared vector store; repeatable")
    p.add_argument("--serve-domain", help="internal DNS zone of Serve load balancers (default: REGION.dp.internal)")
    p.add_argument("--oidc-issuer", metavar="URL", help="EKS: aws eks describe-cluster --query cluster.identity.oidc.issuer")
    p.add_argument("--dry-run", action="store_true", help="print the entry; write nothing")
    p.set_defaults(writes=True, run=lambda a: new_cluster(
        root=a.repo, name=a.name, cloud=a.cloud, region=a.region, apiserver_cidrs=a.apiserver_cidr,
        vector_store_cidrs=a.vector_store_cidr, serve_domain=a.serve_domain, oidc_issuer=a.oidc_issuer, dry_run=a.dry_run))


def stanza(name: str, cloud_name: str, region: str, facts: dict[str, object]) -> str:
    """The entry as it goes under `clusters:` (two-space indent); a fact left out is a placeholder."""
    cloud = CLOUDS[cloud_name]
    lines = [f"  {name}:", f"    cloud: {cloud_name}", f"    region: {region}"]
    for key, example in cloud.cluster_facts:
        lines.append(f"    {key}: {_flow(facts.get(key) or example.replace('REGION', region))}")
    for key, placeholder in (("apiserver_cidrs", ["<API server CIDR>"]), ("vector_store_cidrs", ["<vector store CIDR>"])):
        lines.append(f"    {key}: {_flow(facts.get(key) or placeholder)}")
    lines.append(f"    serve_domain: {facts.get('serve_domain') or region + '.dp.internal'}")
    return "\n".join(lines) + "\n"


def _flow(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def command_line(name: str, cloud_name: str, region: str) -> str:
    """The new-cluster command for a cluster, with its facts still to fill in."""
    extra = " ".join(f"--{key.replace('_', '-')} URL" for key, _ in CLOUDS[cloud_name].cluster_facts)
    return (f"dataplane new-cluster {name} --cloud {cloud_name} --region {region} --apiserver-cidr CIDR "
            f"--vector-store-cidr CIDR" + (f" {extra}" if extra else ""))


def new_cluster(*, root: Path, name: str | None, cloud: str, region: str, apiserver_cidrs: list[str],
                vector_store_cidrs: list[str], serve_domain: str | None = None, oidc_issuer: str | None = None,
                dry_run: bool = False) -> int:
    spec: Cloud = CLOUDS[cloud]
    name = name or spec.cluster_name(region)
    platform = read_yaml(root, layout.PLATFORM_FILE)
    problems = _flag_problems(name, spec, cloud, region, oidc_issuer)
    clusters = platform.data.get("clusters") if isinstance(platform.data, dict) else None
    if isinstance(clusters, dict) and name in clusters:
        problems.append(platform.problem(("clusters", name), f"cluster {name!r} is already declared", "pick another name"))
    if problems:
        raise ProblemsError(problems)
    facts: dict[str, object] = {"apiserver_cidrs": apiserver_cidrs, "vector_store_cidrs": vector_store_cidrs,
                                "serve_domain": serve_domain, "oidc_issuer": oidc_issuer}
    entry = stanza(name, cloud, region, facts)
    text = (root / layout.PLATFORM_FILE).read_text(encoding="utf-8")
    new = insert_cluster(text, entry)
    doc = parse_bytes(new.encode("utf-8"), layout.PLATFORM_FILE)
    prices = read_yaml(root, layout.PRICES_FILE)
    found = check_schema(doc, "platform") or (cloud_rules.address_problems(doc) + [
        p for p in cloud_rules.cluster_problems(doc, prices) if p.pointer.startswith(f"clusters.{name}")])
    if found:
        raise ProblemsError(found)
    if dry_run:
        print(f"would add to {layout.PLATFORM_FILE} under clusters:\n{entry}", end="")
        return 0
    (root / layout.PLATFORM_FILE).write_text(new, encoding="utf-8")
    print(f"wrote cluster {name} ({cloud} {region}) to {layout.PLATFORM_FILE}; place tenants on it with "
          f"`dataplane new-tenant NAME --cloud {cloud} --region {region} --cluster {name} ...`")
    return 0


def _flag_problems(name: str, spec: Cloud, cloud: str, region: str, oidc_issuer: str | None) -> list[Problem]:
    out = []
    if not layout.DNS1123_LABEL.match(name):
        out.append(Problem(FLAG, 0, 0, "", f"{name!r} is not a cluster name", "a DNS-1123 label, e.g. dp-eks-us-west-2"))
    if not spec.region.fullmatch(region):
        out.append(Problem("--region", 0, 0, "", f"{region!r} is not a valid {cloud} region", f"e.g. {spec.region_example}"))
    for key, _ in spec.cluster_facts:
        if oidc_issuer is None and key == "oidc_issuer":
            out.append(Problem("--oidc-issuer", 0, 0, "", f"a {cloud} cluster needs its OIDC issuer",
                               "aws eks describe-cluster --name NAME --query cluster.identity.oidc.issuer"))
    return out


def insert_cluster(text: str, entry: str) -> str:
    """`text` (registry/platform.yaml) with `entry` appended to the `clusters:` mapping,
    before the comments of the next top-level key."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "clusters:"), None)
    if start is None:
        return text.rstrip("\n") + "\n\nclusters:\n" + entry
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "#", "\n", "")), len(lines))
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return "".join(lines[:end]) + entry + "".join(lines[end:])


