"""What the cluster commands (status, doctor, scale, ray-dashboard) share: their common
arguments, the tenant -> namespace check, and how an OpsError is printed."""

from __future__ import annotations

import argparse
import sys

from render import exitcodes, layout
from render.ops.kube import OpsError

EXIT_CLUSTER = exitcodes.INVALID  # no cluster, no permission, nothing to act on: like invalid input


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("tenant", metavar="TENANT", help="tenant name (namespace tenant-TENANT)")
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: the current context)")


def namespace(tenant: str) -> str:
    if not layout.DNS1123_LABEL.match(tenant) or len(tenant) > layout.TENANT_NAME_MAX:
        raise OpsError(f"{tenant!r} is not a tenant name", "tenant names are DNS-1123 labels, e.g. acme")
    return layout.namespace(tenant)


def fail(e: OpsError) -> int:
    print(f"dataplane: {e.message}", file=sys.stderr)
    if e.hint:
        print(f"    hint: {e.hint}", file=sys.stderr)
    return EXIT_CLUSTER
