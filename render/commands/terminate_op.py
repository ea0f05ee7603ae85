"""`dataplane terminate-op TENANT`: end a sync that does not end (docs/operations.md).

An operation waiting on a resource that never gets healthy keeps running, and ArgoCD skips
auto-sync while it runs: the fix commit or `rollout rollback` never applies. This ends the
running operation of the tenant's Applications (workloads and guardrails), or of one
platform Application (`--app`), through the ArgoCD API, as `argocd app terminate-op` does;
the next auto-sync then applies the newest commit. Applications with no running operation
are left alone. The token is read from $ARGOCD_AUTH_TOKEN only and never printed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from render import layout
from render.commands._cluster import tenant_name
from render.load import list_tenants
from render.problems import UserError, did_you_mean
from render.rollout.argocd_api import ArgoCD, ArgoCDError, application_names

RUNNING = ("Running",)  # a Terminating operation is already ending


class TerminateError(UserError):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("terminate-op", help="end the running ArgoCD sync of a tenant's Applications",
                       description="Terminate the running operation (sync) of tenant-TENANT and "
                                   "tenant-TENANT-guardrails, or of the Application --app names, through the "
                                   "ArgoCD API (DELETE /api/v1/applications/NAME/operation). Auto-sync then applies "
                                   "the newest commit. See docs/operations.md, A sync that does not end.")
    p.add_argument("tenant", nargs="?", metavar="TENANT", help="the tenant (or -n tenant-TENANT)")
    p.add_argument("-n", "--namespace", help="the tenant's namespace, tenant-TENANT")
    p.add_argument("--app", help="a platform Application instead, e.g. dataplane-root")
    p.add_argument("--argocd-url", "--server", dest="argocd_url", default=os.environ.get("ARGOCD_SERVER"),
                   help="ArgoCD server, host or https URL (default: $ARGOCD_SERVER); the token is read from "
                        "$ARGOCD_AUTH_TOKEN only")
    p.set_defaults(run=lambda a: terminate_op(tenant=a.tenant, namespace=a.namespace, app=a.app, url=a.argocd_url,
                                              token=os.environ.get("ARGOCD_AUTH_TOKEN", ""), root=a.repo))


def applications(tenant: str | None, namespace: str | None, app: str | None, root: Path) -> tuple[str, ...]:
    if app:
        if tenant or namespace:
            raise TerminateError("give TENANT or --app, not both", "--app names one Application")
        return (app,)
    name = tenant_name(tenant, namespace)
    if (root / layout.TENANTS_DIR).is_dir():
        known = list_tenants(root)
        if name not in known:
            raise TerminateError(f"no tenant {name!r} in {root / layout.TENANTS_DIR}",
                                 did_you_mean(name, known, "tenants") or "check the name, or give --repo")
    return application_names(name)


def terminate_op(*, tenant: str | None, namespace: str | None = None, app: str | None = None, url: str | None,
                 token: str, root: Path = Path(".")) -> int:
    names = applications(tenant, namespace, app, root)
    if not url:
        raise TerminateError("no ArgoCD server", "set ARGOCD_SERVER or give --argocd-url")
    try:
        client = ArgoCD(url, token)
        idle = []
        for name in names:
            status = client.application(name)
            if not status.found:
                raise TerminateError(f"no Application {name} in ArgoCD", "check the name: `argocd app list`")
            if status.operation_phase not in RUNNING:
                idle.append(f"{name} ({status.operation_phase or 'no operation'})")
                continue
            client.terminate_operation(name)
            print(f"terminated the running sync of {name} (started {status.operation_started or 'unknown'}"
                  f"{': ' + status.operation_message if status.operation_message else ''})")
    except ArgoCDError as e:
        raise TerminateError(str(e), "check --argocd-url and $ARGOCD_AUTH_TOKEN (an account that may sync "
                                     "the Application)") from None
    if idle:
        print("no running operation: " + ", ".join(idle))
    return 0
