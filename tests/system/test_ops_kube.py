"""The client layer and the four commands where the real control plane cannot answer: a
stand-in on 127.0.0.1 serves what only a running Ray or a kubelet writes (Serve application
statuses in the RayService, an OOMKilled container) and a cluster without KubeRay's CRDs;
the real `kubernetes` client and a kubeconfig in tmp_path. Error paths: no kubeconfig
(ConfigException), an unreachable server, the client's ApiException raised directly.

On the real control plane instead (tests/cluster/test_cluster.py, marker `cluster`): the snapshot's
raw objects, `status`'s live worker groups, `doctor` on a namespace without its RayService,
`scale` (dry run, the patch, the pods it brings, the running cluster's bounds), and the API
server's own 401 and 403."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import cli
from render.commands import ray_dashboard
from render.ops import kube
from render.ops.snapshot import Snapshot
from tests.http_standin import serve_json
from tests.ops_objects import CLUSTER, NS, healthy_pods, oom_status, pod, ray_cluster, ray_service
from tests.support import ROOT, need

need("kubernetes", "pip install -e '.[ops]'")  # the real client, against a local stand-in


class FakeApi:
    """Routes of the API server the ops commands use; `deny` answers every call with it."""

    def __init__(self) -> None:
        self.pods = healthy_pods()
        self.service: dict[str, Any] | None = ray_service()
        self.cluster = ray_cluster()
        self.deny: int | None = None
        self.no_crd = False
        self.patches: list[tuple[str, Any]] = []
        self.calls: list[str] = []

    def answer(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, Any]:
        self.calls.append(f"{method} {path}")
        if self.deny:
            reason = {401: "Unauthorized", 403: "Forbidden"}[self.deny]
            return self.deny, _status(self.deny, reason, f'pods is forbidden: User "dev@acme.example" cannot list '
                                                         f'resource "pods" in API group "" in the namespace "{NS}"')
        base, ray = f"/api/v1/namespaces/{NS}", f"/apis/ray.io/v1/namespaces/{NS}"
        if method == "GET" and path == f"{base}/pods":
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self.pods}
        if method == "GET" and path == f"{base}/events":
            return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": []}
        if method == "GET" and path == f"{ray}/rayservices/engine" and not self.no_crd:
            if self.service is None:
                return 404, {**_status(404, "NotFound", 'rayservices.ray.io "engine" not found'),
                             "details": {"name": "engine", "group": "ray.io", "kind": "rayservices"}}
            return 200, self.service
        if method == "GET" and path == f"{ray}/rayclusters":
            return 200, {"kind": "RayClusterList", "apiVersion": "ray.io/v1", "items": [self.cluster]}
        if method == "PATCH" and path == f"{ray}/rayclusters/{CLUSTER}":
            self.patches.append((content_type, json.loads(body)))
            return 200, self.cluster
        return 404, {**_status(404, "NotFound", "the server could not find the requested resource"), "details": {}}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code}


@pytest.fixture()
def api() -> Iterator[tuple[FakeApi, int]]:
    fake = FakeApi()

    def answer(method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        return fake.answer(method, path, body, headers.get("Content-Type", ""))

    with serve_json(answer) as url:
        yield fake, int(url.rsplit(":", 1)[1])


def kubeconfig(tmp_path: Path, port: int) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "acme",
        "clusters": [{"name": "dp", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "dev", "user": {"token": "test-token"}}],
        "contexts": [{"name": "acme", "context": {"cluster": "dp", "user": "dev", "namespace": NS}}],
    }))
    return str(path)


def run(*argv: str) -> int:
    return cli.main(list(argv))


def test_status_prints_groups_and_extractors(api, tmp_path, capsys):
    _, port = api
    assert run("status", "acme", "--kubeconfig", kubeconfig(tmp_path, port)) == 0
    out = capsys.readouterr().out
    assert f"RayService engine: Ready; serving cluster {CLUSTER}, 2 Serve endpoints" in out
    assert "batch-workers  0 pods  (replicas 0, min 0, max 3)" in out
    assert "image_extractor_v1  RUNNING       HEALTHY     replicas 0..4" in out
    assert "celery-worker  1 running" in out


def test_doctor_exits_1_on_errors_and_prints_a_pasteable_fix(api, tmp_path, capsys):
    fake, port = api
    fake.pods = healthy_pods() + [pod(f"{CLUSTER}-cpu-workers-worker-zz", "cpu-workers", memory="20Gi",
                                      statuses=[oom_status()])]
    assert run("--repo", str(ROOT), "doctor", "acme", "--kubeconfig", kubeconfig(tmp_path, port)) == 1
    out = capsys.readouterr().out
    assert "[error] pod engine-x7k2p-cpu-workers-worker-zz (cpu-workers): OOMKilled" in out
    # 1.5 x 20Gi would be 30Gi; one n2-standard-8 node holds 26.4Gi (the capacity check's node model).
    assert "  in tenants/acme/overrides.yaml:\n    cluster:\n      cpu-workers:\n        memory: 26Gi\n" in out


def test_a_cluster_without_kuberay_is_a_clear_error(api, tmp_path, capsys):
    fake, port = api
    fake.no_crd = True
    assert run("status", "acme", "--kubeconfig", kubeconfig(tmp_path, port)) == 2
    err = capsys.readouterr().err
    assert "not found: get rayservice engine in tenant-acme (the server could not find the requested resource)" in err


def test_scale_outside_the_group_bounds_changes_nothing(api, tmp_path, capsys):
    fake, port = api
    assert run("scale", "acme", "gpu-workers", "--replicas", "5", "--kubeconfig", kubeconfig(tmp_path, port)) == 2
    assert fake.patches == []
    err = capsys.readouterr().err
    assert "gpu-workers allows 0..3 replicas; 5 is outside" in err and "max_replicas: 5" in err  # offline: the repository
    assert fake.calls == []  # refused before dialing


def test_no_kubeconfig_is_a_clear_error(tmp_path, capsys):
    assert run("status", "acme", "--kubeconfig", str(tmp_path / "missing")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dataplane: kubeconfig file {tmp_path / 'missing'} does not exist (--kubeconfig)")
    empty = tmp_path / "empty"
    empty.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    assert run("doctor", "acme", "--kubeconfig", str(empty)) == 2
    assert "no usable Kubernetes configuration" in capsys.readouterr().err


def test_without_the_kubernetes_client_the_commands_say_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # `import kubernetes` now raises ImportError
    assert run("status", "acme") == 4  # render/exitcodes.py MISSING_PACKAGE: not a failed check (1) nor a bad input (2)
    err = capsys.readouterr().err
    assert err.startswith("dataplane status: needs the Python package 'kubernetes'") and "pip install -e '.[ops]'" in err
    assert "Traceback" not in err


def test_an_unreachable_cluster_is_a_clear_error(tmp_path, capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = kube.connect(kubeconfig(tmp_path, port))
    cluster.core.api_client.configuration.retries = 0
    with pytest.raises(kube.OpsError) as e:
        kube.read_snapshot(cluster, NS)
    assert e.value.message.startswith(f"cannot reach the cluster at http://127.0.0.1:{port} to list pods")


def test_api_exceptions_from_the_client_become_ops_errors():
    from kubernetes.client.exceptions import ApiException

    def forbidden(**_: Any) -> None:
        e = ApiException(status=403, reason="Forbidden")
        e.body = json.dumps(_status(403, "Forbidden", 'rayclusters.ray.io "engine-x7k2p" is forbidden'))
        raise e

    cluster = kube.Cluster(None, None, "https://k8s.example:443")
    with pytest.raises(kube.OpsError) as err:
        kube.call(cluster, "patch raycluster engine-x7k2p in tenant-acme", forbidden)
    assert err.value.message == ('permission denied: you may not patch raycluster engine-x7k2p in tenant-acme '
                                 '(rayclusters.ray.io "engine-x7k2p" is forbidden)')

    def teapot(**_: Any) -> None:
        raise ApiException(status=500, reason="Internal Server Error")

    with pytest.raises(kube.OpsError, match="answered 500 Internal Server Error to list pods"):
        kube.call(cluster, "list pods", teapot)


def test_an_invalid_tenant_name_is_refused_before_any_call(capsys):
    assert run("status", "Acme_Corp") == 2
    assert "'Acme_Corp' is not a tenant name" in capsys.readouterr().err


def test_ray_dashboard_forwards_to_the_running_head(monkeypatch, capsys, api, tmp_path):
    snap = Snapshot(NS, healthy_pods(), [], ray_service(), [ray_cluster()])
    assert ray_dashboard.head_pod(snap) == f"{CLUSTER}-head-8xq2m"
    assert ray_dashboard.kubectl_command(NS, "h", 8265, "127.0.0.1", "/k", "ctx") == [
        "kubectl", "port-forward", "--namespace", NS, "--address", "127.0.0.1", "pod/h", "8265:8265",
        "--kubeconfig", "/k", "--context", "ctx"]
    with pytest.raises(kube.OpsError, match="is not running"):
        ray_dashboard.head_pod(Snapshot(NS, [p for p in healthy_pods() if "head" not in p["metadata"]["name"]], [],
                                        ray_service(), [ray_cluster()]))
    monkeypatch.setenv("PATH", str(tmp_path))  # no kubectl
    _, port = api
    assert run("ray-dashboard", "acme", "--kubeconfig", kubeconfig(tmp_path, port)) == 2
    assert "kubectl is not on PATH" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["status", "doctor", "scale", "ray-dashboard"])
def test_every_ops_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        run(command, "--help")
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "TENANT" in out and "--kubeconfig" in out
