"""The identities that act on the local cluster, as on a real one: ArgoCD's application
controller (the deploy identity of registry/platform.yaml `admission.deploy_identity`,
cluster-admin as ArgoCD installs it) applies; the KubeRay operator runs as the
ServiceAccount admission trusts (`admission.controllers`) with KubeRay's own ClusterRole;
a tenant operator is impersonated. Each ServiceAccount gets a token by TokenRequest and a
kubeconfig of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from render.cluster import api

SA_PREFIX = "system:serviceaccount:"
TOKEN_SECONDS = 86400


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str

    @classmethod
    def parse(cls, username: str) -> ServiceAccount:
        if not username.startswith(SA_PREFIX) or username.count(":") != 3:
            raise ValueError(f"{username!r} is not a ServiceAccount's user name")
        ns, name = username[len(SA_PREFIX):].split(":")
        return cls(ns, name)


def ensure(admin: api.Api, sa: ServiceAccount, cluster_role: str) -> None:
    """Namespace, ServiceAccount and a ClusterRoleBinding to `cluster_role`."""
    api.apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sa.namespace}})
    api.apply(admin, {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": sa.name, "namespace": sa.namespace}})
    api.apply(admin, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                      "metadata": {"name": f"{sa.namespace}-{sa.name}"},
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                      "subjects": [{"kind": "ServiceAccount", "name": sa.name, "namespace": sa.namespace}]})


def token(admin: api.Api, sa: ServiceAccount) -> str:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS}}
    out = api.request(admin, "post", f"/api/v1/namespaces/{sa.namespace}/serviceaccounts/{sa.name}/token", body)
    return str(out.status.token)


def kubeconfig_for(admin_kubeconfig: Path, name: str, bearer: str) -> dict[str, Any]:
    """A kubeconfig with the admin one's server and CA and `bearer` as the credential."""
    conf = yaml.safe_load(admin_kubeconfig.read_text(encoding="utf-8"))
    cluster = conf["clusters"][0]
    return {"apiVersion": "v1", "kind": "Config", "clusters": [cluster],
            "users": [{"name": name, "user": {"token": bearer}}],
            "contexts": [{"name": name, "context": {"cluster": cluster["name"], "user": name}}],
            "current-context": name}
