"""What the cluster commands (status, doctor, scale, ray-dashboard) share: their common
arguments, the offline checks made before any connection (the tenant exists in this
repository, the kubeconfig file exists), and how an OpsError is printed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from render import exitcodes, layout
from render.load import list_tenants
from render.ops.kube import OpsError, require_client
from render.problems import did_you_mean

EXIT_CLUSTER = exitcodes.INVALID  # no cluster, no permission, nothing to act on: like invalid input
DEFAULT_KUBECONFIG = "~/.kube/config"


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tenant", nargs="?", metavar="TENANT", help="tenant name (namespace tenant-TENANT); or give -n")
    p.add_argument("-n", "--namespace", metavar="NAMESPACE",
                   help=f"the tenant's namespace, as kubectl takes it ({layout.namespace('acme')}); instead of TENANT")
    p.add_argument("--kubeconfig", metavar="FILE", help=f"kubeconfig to use (default: $KUBECONFIG or {DEFAULT_KUBECONFIG})")
    p.add_argument("--context", help="kubeconfig context (default: the current context)")


def target(tenant: str | None, namespace: str | None, root: Path, kubeconfig: str | None) -> tuple[str, str]:
    """(tenant, namespace), checked offline: a tenant name, one this repository declares (when
    --repo is a dataplane repository), and a kubeconfig file that exists."""
    name = tenant_name(tenant, namespace)
    ns = layout.namespace(name)
    if (root / layout.TENANTS_DIR).is_dir():
        known = list_tenants(root)
        if name not in known:
            raise OpsError(f"no tenant {name!r} in {root / layout.TENANTS_DIR}",
                           did_you_mean(name, known, "tenants") or "check the name, or give --repo")
    require_client()
    check_kubeconfig(kubeconfig)
    return name, ns


def tenant_name(tenant: str | None, namespace: str | None) -> str:
    prefix = layout.namespace("")
    from_ns = namespace[len(prefix):] if namespace and namespace.startswith(prefix) else namespace
    if tenant and from_ns and tenant != from_ns:
        raise OpsError(f"TENANT {tenant!r} and --namespace {namespace!r} disagree", "give one of them")
    name = tenant or from_ns
    if not name:
        raise OpsError("no tenant given", f"give TENANT or -n {layout.namespace('TENANT')}")
    if not layout.DNS1123_LABEL.match(name) or len(name) > layout.TENANT_NAME_MAX:
        raise OpsError(f"{name!r} is not a tenant name", "tenant names are DNS-1123 labels, e.g. acme")
    return name


def check_kubeconfig(kubeconfig: str | None) -> None:
    """The kubeconfig the client would read must exist: say which file is missing, not a
    client exception."""
    if kubeconfig:
        if not Path(kubeconfig).expanduser().is_file():
            raise OpsError(f"kubeconfig file {kubeconfig} does not exist (--kubeconfig)", "give the path of your kubeconfig")
        return
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if env:
        if not any(Path(p).expanduser().is_file() for p in env):
            raise OpsError(f"no kubeconfig file of KUBECONFIG exists: {', '.join(env)}",
                           "fix KUBECONFIG or pass --kubeconfig FILE")
        return
    if not Path(DEFAULT_KUBECONFIG).expanduser().is_file():
        raise OpsError(f"no kubeconfig: {DEFAULT_KUBECONFIG} does not exist and KUBECONFIG is not set",
                       "get your cluster's credentials (gcloud container clusters get-credentials, aws eks "
                       "update-kubeconfig) or pass --kubeconfig FILE")


def namespace(tenant: str) -> str:
    return layout.namespace(tenant_name(tenant, None))


def fail(e: OpsError) -> int:
    print(f"dataplane: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"    hint: {e.hint}", file=sys.stderr)
    return EXIT_CLUSTER
