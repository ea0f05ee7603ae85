"""A tenant's pods, read once from its built objects: what runs, how many, how large.

Every consumer that counts, prices, scrapes or reaches a tenant's pods reads this list
instead of naming the components again: the quota and the LimitRange (render/contract.py),
the footprint (render/footprint.py), the scrape targets (render/monitoring/scrape.py) and
the reachability check (render/conformance/). A component added as a template is counted
by all of them, because it is read from the objects the template renders.

One `Pod` per pod template: a Deployment's, a StatefulSet's, a Job's or CronJob's, and
the head and each worker group of a RayService (with the labels and the autoscaler
sidecar KubeRay adds). Counts come from the objects: `replicas`, a KEDA ScaledObject's
min and max (paused: its paused replica count), a worker group's min, max and starting
replicas. Pure: objects in, dataclasses out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from render import layout, quantity

WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")
HEAD_GROUP = "headgroup"
HEAD = "ray-head"  # the head's name in the pod list (its container's, as footprint prices it)
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
POOL_LABEL = "dataplane.io/pool"


@dataclass(frozen=True)
class Size:
    """Requests (or limits) of containers: CPU cores, memory bytes, GPUs."""

    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)
    gpus: int = 0

    def __add__(self, o: Size) -> Size:
        return Size(self.cpu + o.cpu, self.memory + o.memory, self.gpus + o.gpus)

    def times(self, n: int) -> Size:
        return Size(self.cpu * n, self.memory * n, self.gpus * n)

    @staticmethod
    def of(res: Mapping[str, Any] | None) -> Size:
        res = res or {}
        return Size(quantity.parse(res.get("cpu", 0)), quantity.parse(res.get("memory", 0)), int(res.get("nvidia.com/gpu", 0)))


@dataclass(frozen=True)
class Container:
    name: str
    requests: Size
    limits: Size
    sidecar: bool = False  # added by an operator (KubeRay's autoscaler), not in the pod template


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Claim:
    """A persistent volume of the pod: its claim's name and size in bytes (a grown claim
    rendered as its own object wins over the StatefulSet's template, render/volumes.py)."""

    name: str
    storage: Decimal


@dataclass(frozen=True)
class Pod:
    name: str  # the workload's name; the Ray head is `ray-head`, a worker group its group name
    kind: str  # Deployment, StatefulSet, Job, CronJob or RayService
    workload: str  # the object's metadata.name
    component: str  # the pod template's app.kubernetes.io/component
    labels: Mapping[str, str]  # as the running pod carries them (KubeRay's labels added)
    containers: tuple[Container, ...]
    min_count: int  # pods with no load at all
    max_count: int  # pods at the maximum the objects allow
    start_count: int  # pods a new copy starts with (a RayService upgrade's second cluster)
    rolls: bool = False  # a RollingUpdate Deployment: an update surges one pod
    ports: tuple[Port, ...] = ()
    claims: tuple[Claim, ...] = ()
    pool: str = ""  # the node pool its nodeSelector names, "" for the untainted pool
    ray_group: str = ""  # headgroup or a worker group's name
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the pod template's spec
    path: tuple[str | int, ...] = ()  # of the pod template in its object

    @property
    def requests(self) -> Size:
        return sum((c.requests for c in self.containers), Size())

    @property
    def runs_to_completion(self) -> bool:
        return self.kind in ("Job", "CronJob")

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def of_objects(objects: Iterable[Mapping[str, Any]]) -> list[Pod]:
    """The pods of one tenant's objects (values of build.build_tenant), in object order."""
    objs = [o for o in objects if isinstance(o, dict)]
    scaled = {str(_d(_d(o.get("spec")).get("scaleTargetRef")).get("name")): o for o in objs if o.get("kind") == "ScaledObject"}
    grown = {_name(o): _storage(o) for o in objs if o.get("kind") == "PersistentVolumeClaim"}
    out: list[Pod] = []
    for o in objs:
        if o.get("kind") in WORKLOADS:
            out.append(_workload(o, scaled.get(_name(o)), grown))
        elif o.get("kind") == "RayService":
            out += _ray(o)
    return out


def _name(o: Mapping[str, Any]) -> str:
    return str(_d(o.get("metadata")).get("name", ""))


def _storage(claim: Mapping[str, Any]) -> Decimal:
    return quantity.parse(_d(_d(_d(claim.get("spec")).get("resources")).get("requests")).get("storage", 0))


def _labels(tpl: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _d(_d(tpl.get("metadata")).get("labels")).items()}


def _containers(pod_spec: Mapping[str, Any]) -> list[Container]:
    out = []
    for c in pod_spec.get("containers") or []:
        res = _d(_d(c).get("resources"))
        limits = Size.of(res.get("limits"))
        out.append(Container(str(c.get("name", "")), Size.of(res.get("requests") or res.get("limits")), limits))
    return out


def _ports(pod_spec: Mapping[str, Any]) -> tuple[Port, ...]:
    return tuple(Port(str(p.get("name", "")), int(p["containerPort"]), str(p.get("protocol", "TCP")))
                 for c in pod_spec.get("containers") or [] for p in _d(c).get("ports") or [] if "containerPort" in p)


def _pool(pod_spec: Mapping[str, Any]) -> str:
    return str(_d(pod_spec.get("nodeSelector")).get(POOL_LABEL, ""))


def _workload(o: Mapping[str, Any], scaled: Mapping[str, Any] | None, grown: Mapping[str, Decimal]) -> Pod:
    kind, name = str(o["kind"]), _name(o)
    spec = _d(o.get("spec"))
    path: tuple[str | int, ...] = ("spec", "template")
    if kind == "CronJob":  # concurrencyPolicy Forbid: one Job, one pod at a time
        spec, path = _d(_d(spec.get("jobTemplate")).get("spec")), ("spec", "jobTemplate", "spec", "template")
    tpl = _d(spec.get("template"))
    pod_spec = _d(tpl.get("spec"))
    labels = _labels(tpl)
    low = high = 1 if kind in ("Job", "CronJob") else int(spec.get("replicas", 1))
    if scaled is not None:  # KEDA owns the count (the Deployment has no replicas)
        s = _d(scaled.get("spec"))
        paused = _d(_d(scaled.get("metadata")).get("annotations")).get(PAUSED_REPLICAS)
        low, high = (int(paused), int(paused)) if paused is not None else (int(s.get("minReplicaCount", 0)),
                                                                             int(s.get("maxReplicaCount", 100)))
    claims = tuple(Claim(c, grown.get(c, _storage(t))) for t in spec.get("volumeClaimTemplates") or []
                   for c in [layout.claim_name(_name(t), name, 0)])
    rolls = kind == "Deployment" and _d(spec.get("strategy")).get("type", "RollingUpdate") == "RollingUpdate"
    return Pod(name, kind, name, labels.get(layout.LABEL_COMPONENT, ""), labels, tuple(_containers(pod_spec)),
               low, high, low, rolls, _ports(pod_spec), claims, _pool(pod_spec), spec=pod_spec, path=path)


def _ray(o: Mapping[str, Any]) -> list[Pod]:
    """The head (with the autoscaler sidecar) and one pod per worker group of the cluster."""
    cluster = _d(_d(o.get("spec")).get("rayClusterConfig"))
    base = {"ray.io/cluster": f"{_name(o)}-raycluster", "ray.io/is-ray-node": "yes"}
    head = _d(cluster.get("headGroupSpec"))
    path: tuple[str | int, ...] = ("spec", "rayClusterConfig", "headGroupSpec", "template")
    tpl = _d(head.get("template"))
    pod_spec = _d(tpl.get("spec"))
    labels = _labels(tpl) | base | {"ray.io/node-type": "head", "ray.io/group": HEAD_GROUP}
    containers = _containers(pod_spec)
    if cluster.get("enableInTreeAutoscaling"):
        res = _d(_d(cluster.get("autoscalerOptions")).get("resources"))
        containers.append(Container("autoscaler", Size.of(res.get("requests") or res.get("limits")), Size.of(res.get("limits")),
                                    sidecar=True))
    out = [Pod(HEAD, "RayService", _name(o), labels.get(layout.LABEL_COMPONENT, ""), labels, tuple(containers), 1, 1, 1,
               ports=_ports(pod_spec), pool=_pool(pod_spec), ray_group=HEAD_GROUP, spec=pod_spec, path=path)]
    for i, g in enumerate(cluster.get("workerGroupSpecs") or []):
        g = _d(g)
        group = str(g.get("groupName", i))
        tpl = _d(g.get("template"))
        pod_spec = _d(tpl.get("spec"))
        labels = _labels(tpl) | base | {"ray.io/node-type": "worker", "ray.io/group": group}
        low, high = int(g.get("minReplicas", 0) or 0), int(g.get("maxReplicas", 0) or 0)
        start = int(g.get("replicas", low) or 0)
        out.append(Pod(group, "RayService", _name(o), labels.get(layout.LABEL_COMPONENT, ""), labels,
                       tuple(_containers(pod_spec)), low, high, max(low, start), ports=_ports(pod_spec), pool=_pool(pod_spec),
                       ray_group=group, spec=pod_spec, path=("spec", "rayClusterConfig", "workerGroupSpecs", i, "template")))
    return out
