"""The committed output on a real control plane (render/cluster/): kube-apiserver with a
managed cluster's admission plugins, etcd, kube-controller-manager, kube-scheduler, kwok
nodes shaped like the node model, and the KubeRay operator, all built from the pinned Go
modules of tools/cluster/. Marker `cluster` (.ci/run runs it on its own). One control
plane per module, stopped by pid at the end whatever happened.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import cli
from render.cluster import api, apply, bootstrap, control_plane, health, identities, session, verify
from tests.control_plane import running
from tests.support import ROOT

# A bound for every test (its share of the module's `up` and `apply` included); the first
# test also carries a cold build's bound.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

TENANT, OTHER = "acme", "globex"
NS = f"tenant-{TENANT}"
BUILD_AND_UP_TIMEOUT_S = 3000  # the first run builds every component (docs/benchmarks.md)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control_plane.Paths]:
    with running(ROOT, tmp_path_factory.mktemp("cluster")) as (p, _):
        yield p


@pytest.fixture(scope="module")
def applied(cluster: control_plane.Paths) -> apply.Report:
    admin = api.connect(str(cluster.kubeconfig))
    deploy = api.connect(str(bootstrap.deploy_kubeconfig(cluster)))
    return apply.run(ROOT, admin, deploy, None, lambda _: None, parallel=apply.PARALLEL)


def admin_api(p: control_plane.Paths) -> api.Api:
    return api.connect(str(p.kubeconfig))


def operator_api(p: control_plane.Paths, tenant: str = TENANT) -> api.Api:
    """The tenant's operator as the API server sees them: a user in the tenant's group."""
    return api.connect(str(p.kubeconfig), impersonate=f"alice@{tenant}.example.com", groups=(f"{tenant}-operators",))


@pytest.mark.timeout(BUILD_AND_UP_TIMEOUT_S + 600)
def test_every_example_tenant_converges_in_one_pass(cluster: control_plane.Paths, applied: apply.Report) -> None:
    admin = admin_api(cluster)
    namespaces = verify.tenant_namespaces(admin)
    assert namespaces == sorted(f"tenant-{t}" for t in session.tenant_clouds(ROOT))
    assert verify.check(admin, namespaces, session.platform(ROOT)) == []  # each pod on its component's pool
    for ns in namespaces:
        pods = api.items(admin, "v1", "Pod", ns)
        ray = [p for p in pods if p["metadata"].get("labels", {}).get("ray.io/node-type")]
        owners = {o["kind"] for p in ray for o in p["metadata"].get("ownerReferences") or []}
        assert owners == {"RayCluster"}, f"{ns}: Ray pods are made by the KubeRay operator"
        assert {p["metadata"]["labels"]["ray.io/node-type"] for p in ray} >= {"head", "worker"}


def test_a_second_sync_changes_nothing_and_stays_healthy(cluster: control_plane.Paths, applied: apply.Report) -> None:
    """ArgoCD's self-heal re-applies the same output: every object accepted again as it is
    (no immutable field, no conflict), every wave still healthy."""
    admin = admin_api(cluster)
    before = {p["metadata"]["uid"] for ns in verify.tenant_namespaces(admin) for p in api.items(admin, "v1", "Pod", ns)}
    deploy = api.connect(str(bootstrap.deploy_kubeconfig(cluster)))
    again = apply.run(ROOT, admin, deploy, [TENANT, OTHER], lambda _: None)
    assert again.objects > 0
    after = {p["metadata"]["uid"] for ns in verify.tenant_namespaces(admin) for p in api.items(admin, "v1", "Pod", ns)}
    assert after == before, "no pod was replaced by a sync of unchanged output"


def _refused(call: Any) -> api.Refused:
    with pytest.raises(api.Refused) as e:
        call()
    return e.value


def _access(who: api.Api, verb: str, resource: str, namespace: str, subresource: str = "", group: str = "") -> bool:
    """The API server's own authorizer, asked by the identity itself (SelfSubjectAccessReview)."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb, "resource": resource,
                                            "subresource": subresource, "group": group}}}
    out = api.request(who, "post", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body)
    return bool(out.status.allowed)


def test_tenant_operator_access_table(cluster: control_plane.Paths, applied: apply.Report) -> None:
    op = operator_api(cluster)
    assert api.items(op, "v1", "Pod", NS), "views pods"
    api.items(op, "v1", "Event", NS)  # views events
    assert _access(op, "get", "pods", NS, "log") and _access(op, "create", "pods", NS, "portforward")
    assert _access(op, "get", "rayservices", NS, group="ray.io")
    cluster_name = api.items(op, "ray.io/v1", "RayCluster", NS)[0]["metadata"]["name"]
    groups = api.get(op, "ray.io/v1", "RayCluster", cluster_name, NS)["spec"]["workerGroupSpecs"]  # type: ignore[index]
    i = next(n for n, g in enumerate(groups) if g["groupName"] == "cpu-workers")
    scale = [{"op": "test", "path": f"/spec/workerGroupSpecs/{i}/groupName", "value": "cpu-workers"},
             {"op": "replace", "path": f"/spec/workerGroupSpecs/{i}/replicas", "value": 2}]
    api.request(op, "patch", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{cluster_name}", scale,
                "application/json-patch+json")  # scales a worker group
    worker = next(p for p in api.items(op, "v1", "Pod", NS) if p["metadata"]["labels"].get("ray.io/group") == "cpu-workers")
    api.request(op, "delete", f"/api/v1/namespaces/{NS}/pods/{worker['metadata']['name']}")  # restarts a pod

    assert _refused(lambda: api.get(op, "v1", "Secret", "redis-credentials", NS)).status == 403
    assert _refused(lambda: api.request(op, "patch", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles/tenant-operator",
                                        {"rules": []}, "application/merge-patch+json")).status == 403
    assert _refused(lambda: api.items(op, "v1", "Pod", f"tenant-{OTHER}")).status == 403
    image = [{"op": "replace", "path": f"/spec/workerGroupSpecs/{i}/template/spec/containers/0/image",
              "value": "docker.io/attacker/miner:latest"}]
    e = _refused(lambda: api.request(op, "patch", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{cluster_name}", image,
                                     "application/json-patch+json"))
    assert "only worker-group replicas, minReplicas and maxReplicas may change here" in e.message


def _pod(name: str, image: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": image, "securityContext": {
        "allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [container], **spec}}


ENGINE = "ghcr.io/dataplane-platform/engine:2026.11.3"
FOREIGN_DIGEST = f"{ENGINE}@sha256:{'e' * 64}"


@pytest.mark.parametrize(("attack", "pod", "message"), [
    ("privileged", _pod("x-privileged", ENGINE, container={"securityContext": {"privileged": True}}),
     'violates PodSecurity "restricted:v1.33": privileged (container "c" must not set securityContext.privileged=true)'),
    ("hostPath", _pod("x-hostpath", ENGINE, volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
     'violates PodSecurity "restricted:v1.33": restricted volume types (volume "h" uses restricted volume type "hostPath")'),
    ("foreign image", _pod("x-image", "docker.io/attacker/miner:latest"),
     "image(s) docker.io/attacker/miner:latest refused in tenant-acme"),
    ("another tenant's fork", _pod("x-fork", "ghcr.io/dataplane-platform/engine:tenant-globex-0123abc"),
     "image(s) ghcr.io/dataplane-platform/engine:tenant-globex-0123abc refused in tenant-acme"),
    ("platform image by tag, not digest", _pod("x-tag", "docker.io/library/redis:7.4.5-alpine"),
     "image(s) docker.io/library/redis:7.4.5-alpine refused in tenant-acme"),
    ("the release tag at a digest no release recorded", _pod("x-digest", FOREIGN_DIGEST),
     f"image(s) {FOREIGN_DIGEST} refused in tenant-acme"),
])
def test_the_api_server_refuses(cluster: control_plane.Paths, applied: apply.Report, attack: str,
                                pod: dict[str, Any], message: str) -> None:
    """Pods the deploy identity itself may not create: Pod Security and the image policy."""
    deploy = api.connect(str(bootstrap.deploy_kubeconfig(cluster)))
    e = _refused(lambda: api.apply(deploy, pod))
    assert message in e.message, (attack, e.message)


def test_dataplane_scale_and_status_against_the_cluster(cluster: control_plane.Paths, applied: apply.Report,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The quick-scaling story on the real cluster: `dataplane scale` patches the RayCluster
    (admitted by dataplane-operator-scale-only), the real operator creates the pod, the
    scheduler places it on a node of its pool, and `dataplane status` reads it back."""
    from render.commands import scale, status

    tenant = "globex"
    ns = f"tenant-{tenant}"
    assert scale.scale(tenant=tenant, group="cpu-workers", replicas=2, kubeconfig=str(cluster.kubeconfig), root=ROOT) == 0
    admin = admin_api(cluster)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        batch = [p for p in api.items(admin, "v1", "Pod", ns) if p["metadata"]["labels"].get("ray.io/group") == "cpu-workers"]
        if len(batch) == 2 and all(health.judge(p)[0] == health.HEALTHY for p in batch):
            break
        time.sleep(1)
    else:
        pytest.fail(f"not 2 Ready cpu workers in {ns}: {[health.pod_reason(p) for p in batch]}")
    assert verify.check(admin, [ns], session.platform(ROOT)) == []
    capsys.readouterr()
    assert status.status(tenant=tenant, kubeconfig=str(cluster.kubeconfig), root=ROOT) == 0
    assert "cpu-workers" in capsys.readouterr().out


def test_processes_are_stopped_by_pid(tmp_path: Path) -> None:
    """`down` with nothing running stops nothing and fails nothing."""
    if shutil.which("go") is None:
        pytest.skip("no Go")
    p = control_plane.paths(tmp_path)
    assert control_plane.running_pids(p) == {}


def _worker_group_index(who: api.Api, ns: str, group: str) -> tuple[str, int]:
    name = api.items(who, "ray.io/v1", "RayCluster", ns)[0]["metadata"]["name"]
    groups = api.get(who, "ray.io/v1", "RayCluster", name, ns)["spec"]["workerGroupSpecs"]  # type: ignore[index]
    return name, next(n for n, g in enumerate(groups) if g["groupName"] == group)


@pytest.mark.parametrize(("field", "value"), [
    ("nodeSelector", {"dataplane.io/pool": "general"}),
    ("tolerations", [{"operator": "Exists"}]),
])
def test_a_tenant_identity_cannot_move_its_pods_to_another_pool(cluster: control_plane.Paths, applied: apply.Report,
                                                               field: str, value: Any) -> None:
    """The pool is the platform's (registry/platform.yaml `nodes.placement`), not the tenant's:
    the operator and the Ray head's ServiceAccount (the only tenant pod with a token) may not
    change a worker group's nodeSelector or tolerations (dataplane-operator-scale-only), and
    the API server itself refuses a new nodeSelector on a running pod."""
    admin = admin_api(cluster)
    name, i = _worker_group_index(admin, NS, "batch-workers")
    patch = [{"op": "add", "path": f"/spec/workerGroupSpecs/{i}/template/spec/{field}", "value": value}]
    head_sa = api.connect(str(cluster.kubeconfig), impersonate=f"system:serviceaccount:{NS}:ray-head",
                          groups=("system:serviceaccounts", f"system:serviceaccounts:{NS}"))
    for who in (operator_api(cluster), head_sa):
        e = _refused(lambda who=who: api.request(who, "patch", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{name}", patch,
                                                 "application/json-patch+json"))
        assert "only worker-group replicas, minReplicas and maxReplicas may change here" in e.message, e.message
    if field == "nodeSelector":
        pod = next(p for p in api.items(admin, "v1", "Pod", NS) if p["metadata"]["labels"].get("ray.io/node-type") == "head")
        e = _refused(lambda: api.request(head_sa, "patch", f"/api/v1/namespaces/{NS}/pods/{pod['metadata']['name']}",
                                         {"spec": {"nodeSelector": {"dataplane.io/pool": "gpu-workers"}}},
                                         "application/merge-patch+json"))
        assert "Forbidden: pod updates may not change fields other than" in e.message, e.message


def _kubeconfig(cluster: control_plane.Paths, tmp_path: Path, name: str, token: str) -> str:
    path = tmp_path / f"kubeconfig-{name}"
    path.write_text(yaml.safe_dump(identities.kubeconfig_for(cluster.kubeconfig, name, token)), encoding="utf-8")
    return str(path)


def _service_account(cluster: control_plane.Paths, tmp_path: Path, name: str, operator_of: str = "") -> str:
    """A kubeconfig of a new ServiceAccount; bound to `operator_of`'s tenant-operator Role
    (the operator's rights, and the admission policies that hold for every tenant identity)."""
    admin = admin_api(cluster)
    api.apply(admin, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}})
    if operator_of:
        api.apply(admin, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                          "metadata": {"name": f"test-{name}", "namespace": f"tenant-{operator_of}"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant-operator"},
                          "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})
    return _kubeconfig(cluster, tmp_path, name, identities.token(admin, identities.ServiceAccount("default", name)))


def _live_group(admin: api.Api, ns: str, group: str) -> dict[str, Any]:
    name, i = _worker_group_index(admin, ns, group)
    return dict(api.get(admin, "ray.io/v1", "RayCluster", name, ns)["spec"]["workerGroupSpecs"][i])  # type: ignore[index]


def test_ops_commands_read_the_real_cluster(cluster: control_plane.Paths, applied: apply.Report, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`dataplane status` and the snapshot `doctor` reads, from the real API server: raw
    API-shaped objects, and the live worker groups as KubeRay made them."""
    from render.ops import kube

    conf = _service_account(cluster, tmp_path, "viewer", operator_of=TENANT)
    snap = kube.read_snapshot(kube.connect(conf), NS)
    assert snap.pods and all(isinstance(p["metadata"]["creationTimestamp"], str) for p in snap.pods)
    assert snap.ray_service is not None and snap.ray_service["metadata"]["name"] == "engine"
    assert [c["metadata"]["name"] for c in snap.ray_clusters] == [api.items(admin_api(cluster), "ray.io/v1", "RayCluster", NS)[0]["metadata"]["name"]]
    capsys.readouterr()
    assert cli.main(["--repo", str(ROOT), "status", TENANT, "--kubeconfig", conf]) == 0
    out = capsys.readouterr().out
    live = _live_group(admin_api(cluster), NS, "gpu-workers")
    assert f"(replicas {live['replicas']}, min {live['minReplicas']}, max {live['maxReplicas']})" in out
    # A tenant namespace without its RayService (here: one that was never synced; --repo
    # outside a repository, so the name is not checked against tenants/).
    api.apply(admin_api(cluster), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-hooli"}})
    assert cli.main(["--repo", str(tmp_path), "doctor", "hooli", "--kubeconfig", str(cluster.kubeconfig)]) == 1
    assert "[error] rayservice engine: not found in the namespace" in capsys.readouterr().out


def test_dataplane_scale_of_a_batch_group_reaches_its_pool(cluster: control_plane.Paths, applied: apply.Report,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As the tenant operator's rights: `--dry-run` sends nothing; `scale` patches the live
    RayCluster (admitted by dataplane-operator-scale-only), the real operator creates the
    15-CPU batch workers and the scheduler finds each a whole node of the batch pool (before
    the pools were tainted, small pods spread there and a batch worker found none)."""
    admin = admin_api(cluster)
    conf = _service_account(cluster, tmp_path, "scaler", operator_of=TENANT)
    name, _ = _worker_group_index(admin, NS, "batch-workers")
    version = api.get(admin, "ray.io/v1", "RayCluster", name, NS)["metadata"]["resourceVersion"]  # type: ignore[index]
    capsys.readouterr()
    assert cli.main(["scale", TENANT, "batch-workers", "--replicas", "2", "--dry-run", "--kubeconfig", conf]) == 0
    assert capsys.readouterr().out.startswith("dry run: nothing was changed\nwould patch RayCluster ")
    assert api.get(admin, "ray.io/v1", "RayCluster", name, NS)["metadata"]["resourceVersion"] == version  # type: ignore[index]

    assert cli.main(["scale", TENANT, "batch-workers", "--replicas", "2", "--kubeconfig", conf]) == 0
    out = capsys.readouterr().out
    assert "replicas 0 -> 2" in out and "the next deploy resets the group" in out
    assert _live_group(admin, NS, "batch-workers")["replicas"] == 2
    end = time.monotonic() + 120
    while time.monotonic() < end:
        batch = [p for p in api.items(admin, "v1", "Pod", NS) if p["metadata"]["labels"].get("ray.io/group") == "batch-workers"]
        if len(batch) == 2 and all(health.judge(p)[0] == health.HEALTHY for p in batch):
            break
        time.sleep(1)
    else:
        pytest.fail(f"not 2 Ready batch workers in {NS}: {[health.pod_reason(p) for p in batch]}")
    assert verify.check(admin, [NS], session.platform(ROOT)) == []

    # The running cluster's bounds, not the repository's, decide (here lowered by the operator).
    _, i = _worker_group_index(admin, NS, "gpu-workers")
    lower = [{"op": "replace", "path": f"/spec/workerGroupSpecs/{i}/maxReplicas", "value": 2}]
    api.request(operator_api(cluster), "patch", f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{name}", lower,
                "application/json-patch+json")
    assert cli.main(["scale", TENANT, "gpu-workers", "--replicas", "3", "--kubeconfig", conf]) == 2
    assert "gpu-workers allows 0..2 replicas; 3 is outside" in capsys.readouterr().err
    assert _live_group(admin, NS, "gpu-workers")["replicas"] != 3


def test_ops_commands_on_refused_credentials_say_so_in_one_line(cluster: control_plane.Paths, applied: apply.Report,
                                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real API server's 403 (a ServiceAccount with no role in the namespace) and 401
    (a token it never issued) become one-line errors with a hint, exit 2, no traceback."""
    nobody = _service_account(cluster, tmp_path, "nobody")
    forged = _kubeconfig(cluster, tmp_path, "forged", "not-a-token")
    for conf, text in ((nobody, 'permission denied: you may not list pods in tenant-acme (pods is forbidden: User '
                                '"system:serviceaccount:default:nobody" cannot list resource "pods"'),
                       (forged, "the cluster rejected your credentials (list pods in tenant-acme)")):
        for argv in (["status", TENANT], ["doctor", TENANT], ["scale", TENANT, "cpu-workers", "--replicas", "1"]):
            capsys.readouterr()
            assert cli.main([*argv, "--kubeconfig", conf]) == 2
            err = capsys.readouterr().err
            assert text in err and "Traceback" not in err and "hint:" in err, (argv, err)


def test_admission_refuses_a_tenant_identity_rbac_would_let_do_anything(cluster: control_plane.Paths, applied: apply.Report,
                                                                        tmp_path: Path) -> None:
    """A ServiceAccount RBAC lets do anything in tenant-acme (a mistaken grant): the
    ValidatingAdmissionPolicies still refuse, on the real API server, what they promise
    (docs/security.md, "Admission policies"); and the secret policy holds whoever sends it."""
    admin = admin_api(cluster)
    api.apply(admin, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                      "metadata": {"name": "test-everything", "namespace": NS},
                      "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    api.apply(admin, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "mistake", "namespace": "default"}})
    api.apply(admin, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                      "metadata": {"name": "test-everything", "namespace": NS},
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "test-everything"},
                      "subjects": [{"kind": "ServiceAccount", "name": "mistake", "namespace": "default"}]})
    who = api.connect(_kubeconfig(cluster, tmp_path, "mistake",
                                  identities.token(admin, identities.ServiceAccount("default", "mistake"))))
    redis = next(p for p in api.items(admin, "v1", "Pod", NS) if p["metadata"]["labels"].get("app.kubernetes.io/name") == "redis")
    pod = _pod("x-by-hand", redis["spec"]["containers"][0]["image"])
    assert "pods in tenant-acme are created by their controllers only" in _refused(lambda: api.apply(who, pod)).message
    e = _refused(lambda: api.request(who, "patch", f"/api/v1/namespaces/{NS}/configmaps/dataplane-admission",
                                     {"data": {"images": "docker.io/attacker/miner:latest"}}, "application/merge-patch+json"))
    assert "ConfigMap dataplane-admission in tenant-acme is written by the platform deploy only" in e.message, e.message
    e = _refused(lambda: api.request(who, "patch", f"/apis/apps/v1/namespaces/{NS}/deployments/celery-worker",
                                     {"metadata": {"labels": {"app.kubernetes.io/component": "migration"}}},
                                     "application/merge-patch+json"))
    assert "are set by the platform deploy only" in e.message, e.message
    # Another image the namespace admits (the engine's): only the scale-only policy refuses it.
    engine = next(p for p in api.items(admin, "v1", "Pod", NS) if p["metadata"]["labels"].get("ray.io/node-type") == "head")
    e = _refused(lambda: api.request(who, "patch", f"/api/v1/namespaces/{NS}/pods/{redis['metadata']['name']}",
                                     {"spec": {"containers": [{"name": "redis", "image": engine["spec"]["containers"][0]["image"]}]}},
                                     "application/strategic-merge-patch+json"))
    assert "the images of a pod in tenant-acme change through Git only" in e.message, e.message
    stolen = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x-stolen", "namespace": NS},
              "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "platform"},
                       "target": {"name": "x-stolen"}, "data": [{"secretKey": "k", "remoteRef": {"key": "dataplane/tenants/globex/mongodb"}}]}}
    deploy = api.connect(str(bootstrap.deploy_kubeconfig(cluster)))
    for sender in (who, deploy):
        e = _refused(lambda sender=sender: api.apply(sender, stolen))
        assert "an ExternalSecret in tenant-acme reads through SecretStore tenant-secrets only" in e.message, e.message
