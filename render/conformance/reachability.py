"""Reachability: each tenant's NetworkPolicies allow the flows its data plane needs and
deny the ones it must not have, as computed by network-config-analyzer (np-guard).

For every tenant namespace with NetworkPolicies: its pods (synthesized from the rendered
workloads, with KubeRay's labels), the platform's peers (registry/platform.yaml), a pod
of another tenant and one of an unrelated namespace go to the analyzer with the tenant's
policies; its connectivity map is then asked every flow of flows.yaml. The addresses
(gateway, identity endpoint, vector store, API server) come from the platform's facts
about the tenant's cluster, so a policy that misses them is caught. Prometheus's flows are
not listed: every pod of the tenant's pod list that serves a metrics port must be reachable.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from render import clouds, layout
from render.conformance.manifests import Manifest
from render.conformance.pods import Pod, namespace_of, pods
from render.conformance.report import Outcome
from render.monitoring import scrape
from render.move import target as move_target
from render.problems import Problem

FLOWS_FILE = Path(__file__).with_name("flows.yaml")
NAME = "reachability (network-config-analyzer)"
ROLES = {"ray-head": ("ray.io/node-type", "head"), "ray-worker": ("ray.io/node-type", "worker")}
OTHER_TENANT = "tenant-zz-other"
OTHER_NAMESPACE = "default"
METADATA_SERVER = "169.254.169.254"
INTERNET = "8.8.8.8"
PRIVATE_OTHER = "192.168.77.7"
LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conn>.+)$")


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    port: int
    protocol: str
    reason: str
    clouds: tuple[str, ...]
    # Applies only to tenants with (only_with) / without (unless) a pod of that role.
    only_with: str = ""
    unless: str = ""


def load_flows(path: Path = FLOWS_FILE) -> dict[str, list[Flow]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {kind: [Flow(f["from"], f["to"], int(f.get("port", 0)), f.get("protocol", "TCP"), f["reason"],
                        tuple(f.get("clouds", clouds.CLOUDS)), f.get("only_with", ""), f.get("unless", ""))
                   for f in data[kind]] for kind in ("required", "forbidden")}


def check(manifests: list[Manifest], platform: dict[str, Any], tenants: dict[str, dict[str, Any]]) -> Outcome:
    """`tenants`: namespace -> that tenant's tenant.yaml data."""
    try:
        import nca.nca_cli  # noqa: F401
    except ImportError:
        return Outcome(NAME, 0, skipped="network-config-analyzer is not installed (pip install -e '.[conformance]')",
                       required=bool(os.environ.get("CI")))
    flows = load_flows()
    policies: dict[str, list[Manifest]] = {}
    for m in manifests:
        if m.kind == "NetworkPolicy":
            policies.setdefault(namespace_of(m), []).append(m)
    failures: list[Problem] = []
    checked = 0
    all_pods = pods(manifests)
    for ns, nps in sorted(policies.items()):
        tenant = tenants.get(ns)
        if tenant is None:
            failures.append(nps[0].problem((), f"no tenant.yaml for {ns}: its cluster's addresses are unknown"))
            continue
        # A database.mode switch renders the other side's datastore beside the engine's: the
        # tenant's flows are the engine side's (render/move/target.py).
        ns_pods = [p for p in all_pods if p.namespace == ns and move_target.SIDE_ANNOTATION not in
                   ((p.source.obj.get("metadata") or {}).get("annotations") or {})]
        found, n = _tenant(ns, nps, ns_pods, platform, tenant, flows)
        failures += found
        checked += n
    return Outcome(NAME, checked, "flows", failures, note=f"{len(policies)} tenants")


def _tenant(ns: str, nps: list[Manifest], ns_pods: list[Pod], platform: dict[str, Any], tenant: dict[str, Any],
            flows: dict[str, list[Flow]]) -> tuple[list[Problem], int]:
    cloud = str(tenant.get("cloud"))
    cluster = platform.get("clusters", {}).get(tenant.get("cluster"), {})
    world = World(ns, ns_pods, platform, cloud, cluster)
    conns = connectivity(nps, world.pod_list(), world.namespaces())
    out, n = [], 0
    for kind, want in (("required", True), ("forbidden", False)):
        for f in flows[kind]:
            if cloud not in f.clouds or (f.only_with and not world.role_pod(f.only_with)) \
                    or (f.unless and world.role_pod(f.unless)):
                continue
            for src, dst, port, proto in world.expand(f):
                n += 1
                if allowed(conns, src, dst, port, proto) != want:
                    verb = "denied" if want else "allowed"
                    out.append(nps[0].problem((), f"{kind} flow {f.src} -> {f.dst} {proto}/{port} is {verb} in {ns} "
                                                  f"({f.reason})", _hint(f, want)))
    declared = n  # the flows of flows.yaml that apply: none at all is not a pass (below)
    # Prometheus reaches the metrics port of every pod of the pod list that serves one (the
    # scrape targets, render/monitoring/scrape.py): a new component's needs no line in flows.yaml.
    for p in ns_pods:
        metrics = scrape.metrics_port(p.listed) if p.listed else None
        if metrics is None:
            continue
        scrape_flow = Flow("prometheus", p.name, metrics.port, metrics.protocol, "Prometheus scrapes its metrics port", ())
        for src in world.endpoint("prometheus"):
            n += 1
            if not allowed(conns, src, f"{ns}/{p.name}[Pod]", metrics.port, metrics.protocol):
                out.append(nps[0].problem((), f"required flow prometheus -> {p.name} {metrics.protocol}/{metrics.port} is "
                                              f"denied in {ns} ({scrape_flow.reason})", _hint(scrape_flow, True)))
    if declared == 0:  # nothing checked is not a pass: a cloud the flows do not know, or pods missing
        out.append(nps[0].problem((), f"no flow of {FLOWS_FILE.name} applies to {ns} (cloud {cloud!r})",
                                  f"a cloud's flows apply unless `clouds` leaves it out (registered: {', '.join(clouds.names())})"))
    return out, n


def _hint(f: Flow, want: bool) -> str:
    if want:
        return "add a NetworkPolicy rule for it (base/network.yaml.j2), or the peer's facts to registry/platform.yaml"
    return "narrow the NetworkPolicy rule that allows it (base/network.yaml.j2)"


class World:
    """The pods and addresses one tenant's flows name."""

    def __init__(self, ns: str, ns_pods: list[Pod], platform: dict[str, Any], cloud: str, cluster: dict[str, Any]):
        self.ns, self.platform, self.cloud, self.cluster = ns, platform, cloud, cluster
        self.pods = {p.name: p.labels for p in ns_pods}
        peers = platform["network"]["peers"]
        self.peers = {"kuberay-operator": (peers["kuberay_operator"]["namespace"], peers["kuberay_operator"]["labels"]),
                      "keda": (peers["keda"]["namespace"], peers["keda"]["labels"]),
                      "kube-dns": (peers["kube_dns"]["namespace"], peers["kube_dns"]["labels"]),
                      "prometheus": (platform["control_plane"]["monitoring_namespace"], {"app.kubernetes.io/name": "prometheus"}),
                      "other-namespace": (OTHER_NAMESPACE, {"app": "probe"}),
                      "shared-mongodb": (platform["datastores"]["mongodb"]["shared_namespace"],
                                         {layout.LABEL_NAME: "mongodb"})}

    def role_pod(self, role: str) -> str | None:
        key, value = ROLES.get(role, (layout.LABEL_NAME, role))
        return next((name for name, labels in sorted(self.pods.items()) if labels.get(key) == value), None)

    def endpoint(self, name: str) -> list[str]:
        """Analyzer names ("ns/pod[Pod]") or addresses of a flow endpoint; [] when absent."""
        if name in self.peers:
            return [f"{self.peers[name][0]}/{name}[Pod]"]
        if name.startswith("other-tenant:"):
            pod = self.role_pod(name.split(":", 1)[1])
            return [f"{OTHER_TENANT}/{pod}[Pod]"] if pod else []
        addresses = {"gateway": self.platform["control_plane"]["gateway_source_ranges"][:1],
                     "node-local-dns": self.platform["network"]["node_local_dns"][:1],
                     "vector-store": self.cluster.get("vector_store_cidrs", [])[:1],
                     "kube-api": self.cluster.get("apiserver_cidrs", [])[:1],
                     "metadata-server": [METADATA_SERVER], "internet": [INTERNET], "private-other": [PRIVATE_OTHER]}
        if name in addresses:
            return [str(ipaddress.ip_network(c, strict=False).network_address) for c in addresses[name]]
        pod = self.role_pod(name)
        return [f"{self.ns}/{pod}[Pod]"] if pod else []

    def expand(self, f: Flow) -> list[tuple[str, str, int, str]]:
        if f.dst == "identity-endpoint":
            eps = self.platform["network"]["identity_endpoints"][self.cloud]
            return [(s, str(ipaddress.ip_network(e["cidr"]).network_address), int(e["port"]), "TCP")
                    for s in self.endpoint(f.src) for e in eps]
        return [(s, d, f.port, f.protocol) for s in self.endpoint(f.src) for d in self.endpoint(f.dst)]

    def pod_list(self) -> list[dict[str, Any]]:
        items = [_pod(self.ns, n, labels) for n, labels in sorted(self.pods.items())]
        items += [_pod(OTHER_TENANT, n, labels) for n, labels in sorted(self.pods.items())]
        items += [_pod(ns, name, labels) for name, (ns, labels) in sorted(self.peers.items())]
        return items

    def namespaces(self) -> list[str]:
        return sorted({self.ns, OTHER_TENANT} | {ns for ns, _ in self.peers.values()})


def _pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "main"}]}}


def connectivity(nps: list[Manifest], pod_list: list[dict[str, Any]], namespaces: list[str]) -> list[tuple[str, str, str]]:
    """(src, dst, connections) lines of the analyzer's connectivity map."""
    from unittest import mock

    from nca.nca_cli import nca_main
    from nca.Utils.NcaLogger import NcaLogger

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "np.yaml").write_text(yaml.safe_dump_all([m.obj for m in nps]), encoding="utf-8")
        (d / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "PodList", "items": pod_list}), encoding="utf-8")
        ns_items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"kubernetes.io/metadata.name": n}}}
                    for n in namespaces]
        (d / "ns.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "NamespaceList", "items": ns_items}), encoding="utf-8")
        out = d / "out.txt"
        path = os.environ.get("PATH")
        try:
            # The analyzer's style advice on the policies ("selects all pods") is not ours to print.
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    mock.patch.object(NcaLogger, "log_message", lambda *a, **k: None):
                nca_main(["--connectivity", str(d / "np.yaml"), "--pod_list", str(d / "pods.yaml"), "--ns_list",
                          str(d / "ns.yaml"), "-o", "txt_no_fw_rules", "--file_out", str(out)])
        finally:
            if path is not None:
                os.environ["PATH"] = path  # nca_main prepends '.' to PATH
        text = out.read_text(encoding="utf-8") if out.exists() else ""
    return [(m["src"], m["dst"], m["conn"]) for m in map(LINE.match, text.splitlines()) if m]


def allowed(conns: list[tuple[str, str, str]], src: str, dst: str, port: int, proto: str) -> bool:
    return any(_matches(s, src) and _matches(d, dst) and _permits(c, port, proto) for s, d, c in conns)


def _matches(endpoint: str, want: str) -> bool:
    if endpoint == want:
        return True
    if "[" in endpoint or "[" in want:
        return False
    low, _, high = endpoint.partition("-")
    try:
        addr = ipaddress.ip_address(want)
        if "/" in low:
            return addr in ipaddress.ip_network(low, strict=False)
        first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
        # Addresses of different families never fall in one range (comparing them raises).
        return addr.version == first.version == last.version and int(first) <= int(addr) <= int(last)
    except ValueError:
        return False


def _permits(conn: str, port: int, proto: str) -> bool:
    if conn.strip() == "All connections":
        return True
    for part in re.findall(r"\{([^}]*)\}", conn):
        protocols, _, ports = part.partition("dst_ports:")
        names = {p.strip() for p in protocols.replace("protocols:", "").split(",") if p.strip()}
        if names and proto not in names:
            continue
        if not ports.strip():
            return True
        for item in ports.strip().strip(",").split(","):
            low, _, high = item.strip().partition("-")
            if low.isdigit() and int(low) <= port <= int(high or low):
                return True
    return False
