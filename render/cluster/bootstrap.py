"""What a data-plane cluster has before ArgoCD syncs anything: the upstream CRDs, the
node pools, the namespaces and identities of the platform's
controllers, and the KubeRay operator running as its ServiceAccount.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from render import layout, prerequisites
from render.admission import policies
from render.cluster import api, components, control_plane, identities, nodes
from render.yamlstrict import Document

CRDS_ENV = "DATAPLANE_CRDS"
ESTABLISHED_TIMEOUT_S = 60
OPERATOR_ROLE_FILE = "kuberay-operator-role.yaml"  # copied from the pinned module by `components`
ADMIN_ROLE = "cluster-admin"
PARALLEL = 8  # concurrent requests while registering nodes
CRD_PARALLEL = 2  # megabyte CRDs: more at once only queue in the API server


def crds_dir(root: Path) -> Path:
    """The one place the upstream CRDs are found: $DATAPLANE_CRDS, else ../shared/crds
    beside the repository (a vendored copy replaces this function's answer)."""
    env = os.environ.get(CRDS_ENV)
    return Path(env) if env else root.resolve().parent / "shared" / "crds"


def crd_documents(folder: Path, cache: Path | None = None) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition under `folder`. Parsing megabytes of YAML is slow, so
    each file's documents are kept as JSON in `cache`, keyed by the file's bytes."""
    out = []
    for f in sorted(folder.rglob("*.yaml")):
        raw = f.read_bytes()
        cached = cache / f"{hashlib.sha256(raw).hexdigest()[:24]}.json" if cache else None
        if cached is not None and cached.is_file():
            docs = json.loads(cached.read_bytes())
        else:
            docs = [d for d in yaml.load_all(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                    if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(docs), encoding="utf-8")
        out.extend(docs)
    return out


def install_crds(admin: api.Api, folder: Path, kinds: set[str], cache: Path | None = None) -> list[str]:
    """The upstream CRDs of `kinds` (the prerequisites' `<group>/<Kind>`), and no other."""
    crds = [c for c in crd_documents(folder, cache) if f"{c['spec']['group']}/{c['spec']['names']['kind']}" in kinds]
    for crd in crds:
        crd.pop("status", None)
    api.resource(admin, "apiextensions.k8s.io/v1", "CustomResourceDefinition")  # discovery once, before threads
    with ThreadPoolExecutor(CRD_PARALLEL) as pool:
        list(pool.map(lambda crd: api.apply(admin, crd, manager="bootstrap"), crds))
    names = [c["metadata"]["name"] for c in crds]
    end = time.monotonic() + ESTABLISHED_TIMEOUT_S
    waiting = set(names)
    while waiting and time.monotonic() < end:
        for name in sorted(waiting):
            obj = api.get(admin, "apiextensions.k8s.io/v1", "CustomResourceDefinition", name) or {}
            conds = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}
            if conds.get("Established") == "True":
                waiting.discard(name)
        time.sleep(0.2)
    if waiting:
        raise control_plane.ClusterError(f"CRDs not established in {ESTABLISHED_TIMEOUT_S} s: {', '.join(sorted(waiting))}")
    api.refresh(admin)
    return names


def prepare(root: Path, bins: Path, p: control_plane.Paths, platform: dict[str, Any], clouds: list[str],
            tenants: int, say: Callable[[str], None]) -> None:
    admin = api.connect(str(p.kubeconfig))
    folder = crds_dir(root)
    if not folder.is_dir():
        raise control_plane.ClusterError(f"no upstream CRDs at {folder}; set {CRDS_ENV}")
    kinds = set().union(*(prerequisites.provided(platform, c) for c in [*clouds, prerequisites.MANAGEMENT]))
    crds = install_crds(admin, folder, kinds, components.cache_root() / "crds")
    say(f"installed {len(crds)} upstream CRDs from {folder} "
        f"(registry/platform.yaml cluster_prerequisites)")
    pool = nodes.nodes(platform, clouds, tenants)
    api.resource(admin, "v1", "Node")
    with ThreadPoolExecutor(PARALLEL) as executor:
        list(executor.map(lambda node: api.apply(admin, node, manager="kwok"), pool))
    say(f"registered {len(pool)} simulated nodes ({', '.join(sorted(set(clouds)))}; pools "
        f"{', '.join(f'{g}={n}' for g, n in sorted(nodes.pool_sizes(platform, tenants).items()))} per cloud)")
    deploy = identities.ServiceAccount.parse(platform["admission"]["deploy_identity"])
    identities.ensure(admin, deploy, ADMIN_ROLE)
    _write_kubeconfig(p, "deploy", identities.kubeconfig_for(p.kubeconfig, "deploy", identities.token(admin, deploy)))
    operator_user = policies.controller_identities(Document(layout.PLATFORM_FILE, platform))[0]
    operator = identities.ServiceAccount.parse(operator_user)
    role = yaml.safe_load((bins / OPERATOR_ROLE_FILE).read_text(encoding="utf-8"))
    role["metadata"]["name"] = "kuberay-operator"
    api.apply(admin, role, manager="bootstrap")
    identities.ensure(admin, operator, "kuberay-operator")
    conf = _write_kubeconfig(p, "kuberay-operator",
                             identities.kubeconfig_for(p.kubeconfig, "kuberay-operator", identities.token(admin, operator)))
    pid = control_plane.start_operator(bins, p, conf)
    say(f"KubeRay operator running as {operator_user} (pid {pid})")


def _write_kubeconfig(p: control_plane.Paths, name: str, conf: dict[str, Any]) -> Path:
    path = p.workdir / f"kubeconfig-{name}.yaml"
    path.write_text(yaml.safe_dump(conf), encoding="utf-8")
    path.chmod(0o600)
    return path


def deploy_kubeconfig(p: control_plane.Paths) -> Path:
    return p.workdir / "kubeconfig-deploy.yaml"
