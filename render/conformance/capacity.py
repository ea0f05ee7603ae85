"""Capacity: the rendered pods fit the nodes they run on, and the quota admits them.

- Every pod lands on exactly one node pool, the one registry/platform.yaml
  `nodes.placement` names for its component: its nodeSelector and tolerations are matched
  against every pool's labels and taints as the scheduler's NodeAffinity and
  TaintToleration filters do (render/pools.py), so this predicts where the real scheduler
  puts it (`dataplane cluster` runs the real one on nodes built from the same model).
- Every pod's requests fit one node of that pool (render/capacity.py's node model).
- Each worker group's Serve applications at their max replicas fit the group at its max
  (a warning with the numbers: Serve queues what does not fit).
- The ResourceQuota admits an upgrade: every pod at its maximum, plus a second Ray
  cluster at its starting size (KubeRay's NewCluster upgrade) and one surge pod per
  Deployment (rolling update).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from render import capacity, clouds, pools, quantity
from render.conformance.manifests import Manifest
from render.conformance.pods import HEAD_GROUP, Pod, namespace_of, pods
from render.conformance.report import Outcome
from render.problems import Problem

NAME = "capacity (node model, Serve max replicas, quota surge)"


def requests(containers: list[dict[str, Any]]) -> tuple[Decimal, Decimal, int]:
    cpu, mem, gpu = Decimal(0), Decimal(0), 0
    for c in containers:
        res = (c.get("resources") or {}) if isinstance(c, dict) else {}
        req = res.get("requests") or res.get("limits") or {}
        cpu += quantity.parse(req.get("cpu", 0))
        mem += quantity.parse(req.get("memory", 0))
        gpu += int(req.get("nvidia.com/gpu", 0))
    return cpu, mem, gpu


def check(manifests: list[Manifest], platform: dict[str, Any], tenant_clouds: dict[str, str]) -> Outcome:
    """`tenant_clouds`: namespace -> the tenant's cloud; any other namespace is the
    management cluster's (render/clouds/ MANAGEMENT)."""
    failures: list[Problem] = []
    warnings: list[str] = []
    all_pods = pods(manifests)
    for p in all_pods:
        failures += _fits(p, platform, tenant_clouds.get(p.namespace, clouds.MANAGEMENT))
    for m in manifests:
        if m.kind == "RayService":
            warnings += serve_warnings(m, platform, tenant_clouds.get(namespace_of(m), clouds.MANAGEMENT))
        elif m.kind == "ResourceQuota":
            failures += _quota(m, [p for p in all_pods if p.namespace == namespace_of(m)])
    note = "; ".join(warnings[:3]) + (f"; and {len(warnings) - 3} more" if len(warnings) > 3 else "")
    return Outcome(NAME, len(all_pods), "pods", failures, note=f"{len(warnings)} warnings: {note}" if warnings else "")


def _fits(p: Pod, platform: dict[str, Any], cloud: str) -> list[Problem]:
    pool, problems = _pool(p, platform, cloud)
    if pool is None:
        return problems
    node = capacity.pool_node(platform, cloud, pool)
    if node is None:
        return [p.source.problem(p.path, f"no node model for the {pool} pool on {cloud}",
                                 "declare its machine type in registry/platform.yaml `nodes.pools` and `nodes.machines`")]
    cpu, mem, gpu = requests(p.containers)
    if node.fits(cpu, mem, gpu):
        return []
    return [p.source.problem(p.path, f"pod {p.name} requests {quantity.cpu(cpu)} CPU, {capacity.gib(mem)} memory, "
                                     f"{gpu} GPU: more than one node of the {pool} pool holds ({node.describe()})",
                             f"at most {capacity.gib(node.memory)} memory and {quantity.cpu(node.cpu)} CPU per pod")]


def _pool(p: Pod, platform: dict[str, Any], cloud: str) -> tuple[str | None, list[Problem]]:
    """The one pool the scheduler may put the pod on, or the problem why there is none."""
    accepting = pools.pools_accepting(platform, cloud, p.spec)
    component = pools.component_of(p.labels)
    wanted = pools.pool_of(platform, component) if component else None
    where = (f"its nodeSelector {p.spec.get('nodeSelector') or {}} and tolerations "
             f"{[t.get('key') for t in p.spec.get('tolerations') or []]}")
    hint = "render the scheduling of its component (registry/platform.yaml `nodes.placement`, render/pools.py)"
    if not accepting:
        return None, [p.source.problem(p.path, f"pod {p.name} fits no node pool on {cloud}: {where}", hint)]
    if len(accepting) > 1:
        return None, [p.source.problem(p.path, f"pod {p.name} may land on any of the pools {', '.join(accepting)} "
                                               f"on {cloud}: {where}", hint)]
    if wanted is not None and accepting != [wanted]:
        return None, [p.source.problem(p.path, f"pod {p.name} ({component}) lands on the {accepting[0]} pool, "
                                               f"not {wanted} as `nodes.placement` says", hint)]
    return accepting[0], []


def serve_warnings(m: Manifest, platform: dict[str, Any], cloud: str) -> list[str]:
    """Serve apps of each group at max replicas against the group's pods at max."""
    spec = m.obj.get("spec") or {}
    try:
        apps = (yaml.safe_load(spec.get("serveConfigV2") or "") or {}).get("applications") or []
    except yaml.YAMLError:
        return []  # the Ray Serve validator reports it
    groups = {str(g.get("groupName")): g for g in (spec.get("rayClusterConfig") or {}).get("workerGroupSpecs") or []}
    by_resource = {str(k): name for name, g in groups.items() for k in (g.get("resources") or {})}
    need: dict[str, list[Decimal]] = {}
    for app in apps:
        for d in app.get("deployments") or []:
            opts = d.get("ray_actor_options") or {}
            group = next((by_resource[r] for r in opts.get("resources") or {} if r in by_resource), "")
            n = Decimal((d.get("autoscaling_config") or {}).get("max_replicas", d.get("num_replicas", 1)))
            acc = need.setdefault(group, [Decimal(0), Decimal(0)])
            acc[0] += n * Decimal(str(opts.get("num_cpus", 1)))
            acc[1] += n * Decimal(str(opts.get("num_gpus", 0)))
    out = []
    for group, (cpu, gpu) in sorted(need.items()):
        g = groups.get(group)
        if g is None:
            continue
        containers = ((g.get("template") or {}).get("spec") or {}).get("containers") or []
        pod_cpu, _, pod_gpu = requests(containers)
        count = int(g.get("maxReplicas", 0) or 0)
        if cpu > pod_cpu * count or gpu > pod_gpu * count:
            out.append(f"{namespace_of(m)} {group}: Serve apps need {_n(cpu)} CPU/{_n(gpu)} GPU at max replicas, "
                       f"the group holds {_n(pod_cpu * count)} CPU/{pod_gpu * count} GPU at {count} pods")
    return out


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _quota(m: Manifest, ns_pods: list[Pod]) -> list[Problem]:
    hard = (m.obj.get("spec") or {}).get("hard") or {}
    cpu, mem, gpu, count = surge_need(ns_pods)
    out = []
    for key, need in (("requests.cpu", cpu), ("requests.memory", mem), ("requests.nvidia.com/gpu", Decimal(gpu)),
                      ("pods", Decimal(count))):
        if key in hard and quantity.parse(hard[key]) < need:
            shown = capacity.gib(need) if key == "requests.memory" else str(need.normalize())
            out.append(m.problem(("spec", "hard", key), f"{key} {hard[key]} does not admit an upgrade: it needs {shown} "
                                 "(every pod at its max, a second Ray cluster at its starting size, one surge pod per Deployment)",
                                 "size the quota for the upgrade surge"))
    return out


def surge_need(ns_pods: list[Pod]) -> tuple[Decimal, Decimal, int, int]:
    cpu, mem, gpu, count = Decimal(0), Decimal(0), 0, 0
    for p in ns_pods:
        c, m_, g = requests(p.containers)
        n = p.max_count
        if p.group:  # the new cluster of a NewCluster upgrade: head + workers at their start size
            n += 1 if p.group == HEAD_GROUP else _start_replicas(p)
        elif p.source.kind == "Deployment" and _rolls(p):
            n += 1
        cpu, mem, gpu, count = cpu + c * n, mem + m_ * n, gpu + g * n, count + n
    return cpu, mem, gpu, count


def _rolls(p: Pod) -> bool:
    """A rolling Deployment surges one pod during an update; a Recreate one does not."""
    strategy = ((p.source.obj.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")
    return bool(strategy != "Recreate")


def _start_replicas(p: Pod) -> int:
    spec = (p.source.obj.get("spec") or {}).get("rayClusterConfig") or {}
    for g in spec.get("workerGroupSpecs") or []:
        if g.get("groupName") == p.group:
            return int(g.get("replicas", g.get("minReplicas", 0)) or 0)
    return 0
