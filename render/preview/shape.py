"""The cluster a rendered RayService asks for, and the smaller local one that stands for it.

Read the way KubeRay starts Ray: a group's pods advertise the CPUs, memory and GPUs of
their container limits (unless rayStartParams says otherwise) plus the group's custom
resources and labels. The local cluster has one Ray node per worker group, sized for the
group at its maxReplicas. Ray's resources are logical counters (a node may advertise more
CPUs or memory than the machine has; what costs the machine is the replica processes), so
they stay as rendered, except that Ray only starts nodes with whole counts: fractional CPUs
are multiplied by a printed power of ten, on nodes and replicas alike, which keeps every
ratio. GPUs are stood in by a custom resource. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from render import layout, quantity
from render.load import Document, read_yaml
from render.problems import Problem, ProblemsError

# Ray has no GPUs here: a group's GPUs become this custom resource, and so do replicas' num_gpus.
GPU_STANDIN = "preview_gpu"
# The Ray node label KubeRay gives each pod of a worker group.
GROUP_LABEL = "ray.io/node-group"


@dataclass(frozen=True)
class Group:
    name: str
    max_pods: int
    cpu: Decimal  # per pod
    memory: int  # bytes per pod
    gpus: int  # per pod
    resources: dict[str, Decimal]  # custom resources per pod
    labels: dict[str, str]

    def capacity(self) -> dict[str, Decimal]:
        """What the whole group offers at maxReplicas pods (unscaled)."""
        out = {"CPU": self.cpu * self.max_pods, "memory": Decimal(self.memory * self.max_pods)}
        if self.gpus:
            out[GPU_STANDIN] = Decimal(self.gpus * self.max_pods)
        for k, v in self.resources.items():
            out[k] = v * self.max_pods
        return out


@dataclass(frozen=True)
class Shape:
    file: str  # repo-relative rendered RayService
    service: str
    head_cpu: Decimal
    groups: tuple[Group, ...]
    serve_config: str  # the serveConfigV2 text, as rendered
    doc: Document = field(repr=False, compare=False)

    def group_of(self, resources: dict[str, Any]) -> Group | None:
        """The group whose custom resource a replica asks for (how the rendered config places it)."""
        for g in self.groups:
            if any(k in g.resources for k in resources):
                return g
        return None


def read(root: Path, tenant: str) -> Shape:
    """The tenant's rendered RayService (rendered/<tenant>/rayservice-*.yaml)."""
    folder = root / layout.rendered_dir(tenant)
    files = sorted(folder.glob("rayservice-*.yaml")) if folder.is_dir() else []
    rel = f"{layout.rendered_dir(tenant)}/rayservice-*.yaml"
    if not files:
        raise ProblemsError([Problem(rel, 1, 1, "", f"no rendered RayService for tenant {tenant!r}",
                                     "run `dataplane render` first; a tenant without Ray Serve extractors has nothing to preview")])
    return parse(read_yaml(root, f"{layout.rendered_dir(tenant)}/{files[0].name}"))


def parse(doc: Document) -> Shape:
    obj = doc.data
    spec = _mapping(doc, obj.get("spec"), ("spec",))
    cluster = _mapping(doc, spec.get("rayClusterConfig"), ("spec", "rayClusterConfig"))
    text = spec.get("serveConfigV2")
    if not isinstance(text, str):
        raise _problem(doc, ("spec", "serveConfigV2"), "missing: a RayService needs a serveConfigV2 string")
    head = _mapping(doc, cluster.get("headGroupSpec"), ("spec", "rayClusterConfig", "headGroupSpec"))
    head_cpu, _, _ = _pod_size(doc, head, ("spec", "rayClusterConfig", "headGroupSpec"))
    groups = []
    specs = cluster.get("workerGroupSpecs") or []
    for i, g in enumerate(specs if isinstance(specs, list) else []):
        groups.append(_group(doc, g, ("spec", "rayClusterConfig", "workerGroupSpecs", i)))
    name = str((obj.get("metadata") or {}).get("name", ""))
    return Shape(doc.file, name, head_cpu, tuple(groups), text, doc)


def _group(doc: Document, g: Any, path: tuple[str | int, ...]) -> Group:
    g = _mapping(doc, g, path)
    cpu, memory, gpus = _pod_size(doc, g, path)
    params = g.get("rayStartParams") or {}
    resources = {str(k): Decimal(str(v)) for k, v in (g.get("resources") or {}).items()}
    if "resources" in params:  # older form: a JSON string in rayStartParams
        resources.update({str(k): Decimal(str(v)) for k, v in json.loads(str(params["resources"])).items()})
    labels = {str(k): str(v) for k, v in (g.get("labels") or {}).items()}
    name = str(g.get("groupName", ""))
    labels.setdefault(GROUP_LABEL, name)
    pods = g.get("maxReplicas", g.get("replicas", 0))
    if not isinstance(pods, int) or pods < 0:
        raise _problem(doc, path + ("maxReplicas",), f"not a pod count: {pods!r}")
    return Group(name, pods, cpu, memory, gpus, resources, labels)


def _pod_size(doc: Document, group: dict[str, Any], path: tuple[str | int, ...]) -> tuple[Decimal, int, int]:
    """CPUs, memory bytes and GPUs a pod advertises to Ray: rayStartParams, else container limits."""
    params = group.get("rayStartParams") or {}
    containers = ((group.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    res = containers[0].get("resources") or {}
    limits = res.get("limits") or res.get("requests") or {}
    try:
        cpu = quantity.parse(params.get("num-cpus", limits.get("cpu", 0)))
        memory = int(quantity.parse(params.get("memory", limits.get("memory", 0))))
        gpus = int(quantity.parse(params.get("num-gpus", limits.get("nvidia.com/gpu", 0))))
    except ValueError as e:
        raise _problem(doc, path + ("template",), f"cannot read the pod's size: {e}") from None
    return cpu, memory, gpus


def cpu_factor(shape: Shape) -> Decimal:
    """The smallest power of ten (at least 1) that makes every node's CPUs whole: Ray starts a
    node only with whole resource counts, so 1.5 rendered CPUs become 15 and replicas x10 alike."""
    factor = Decimal(1)
    counts = [g.capacity()["CPU"] for g in shape.groups] + [shape.head_cpu]
    while any((c * factor) % 1 for c in counts):
        factor *= 10
    return factor


def node_resources(group: Group, factor: Decimal) -> dict[str, Any]:
    """Arguments of ray.cluster_utils.Cluster.add_node for one group's node."""
    cap = group.capacity()
    custom = {k: float(v) for k, v in cap.items() if k not in ("CPU", "memory")}
    return {"num_cpus": int(cap["CPU"] * factor), "memory": int(cap["memory"]),
            "resources": custom, "labels": dict(group.labels)}


def _mapping(doc: Document, value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _problem(doc, path, "missing or not a mapping")
    return value


def _problem(doc: Document, path: tuple[str | int, ...], message: str) -> ProblemsError:
    from render.problems import dotted

    line, col = doc.mark(path)
    return ProblemsError([Problem(doc.file, line, col, dotted(path), message,
                                  "re-render with `dataplane render`; rendered files are not edited by hand")])
