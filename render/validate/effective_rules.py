"""Semantic rules on a tenant's *effective* configuration (after merge), and on the registry.

The schemas check each file on its own; these rules check what the files mean together:
ranges that only break once a tenant's value meets a platform default, replicas that no
pod could hold, extractors left without nodes. A problem points at the tenant's line that
caused it; when no tenant value is involved the registry is at fault and the registry
rules report it once, at the registry file.

Pure: documents in, problems out. Run only on schema-valid documents (merge relies on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import capacity, clouds, contract, layout, quantity
from render.load import Document, TenantFiles
from render.merge import merge_tenant
from render.pods import Pod
from render.problems import Problem

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    """The document and key path that set an effective value, and whether the tenant owns it."""

    doc: Document
    path: Path_
    tenant: bool

    def problem(self, message: str, hint: str) -> Problem:
        return self.doc.problem(self.path, message, hint, at_value=True)


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


@dataclass(frozen=True)
class Layers:
    """The three inputs behind one tenant's effective values, to find who set a value."""

    platform: Document
    extractors: Document
    overrides: Document | None

    def extractor(self, ext_id: str, name: str, field: str) -> Origin:
        section = _get(self.overrides.data, "overrides") if self.overrides else None
        for key in (ext_id, name):  # the id layer wins over the name layer (merge.py)
            if isinstance(_get(section, key), dict) and field in _get(section, key):
                assert self.overrides is not None
                return Origin(self.overrides, ("overrides", key, field), True)
        if field in (_get(self.extractors.data, "extractors", ext_id) or {}):
            return Origin(self.extractors, ("extractors", ext_id, field), False)
        return Origin(self.platform, ("extractor_defaults", field), False)

    def group(self, group: str, field: str) -> Origin:
        if self.overrides and field in (_get(self.overrides.data, "cluster", group) or {}):
            return Origin(self.overrides, ("cluster", group, field), True)
        return Origin(self.platform, ("worker_groups", group, field), False)


def _blame(layers_are_tenant: bool, *origins: Origin) -> Origin | None:
    """The first origin owned by the party being checked (tenant or registry), if any."""
    for origin in origins:
        if origin.tenant == layers_are_tenant:
            return origin
    return None


def _where(origin: Origin) -> str:
    line = origin.doc.mark(origin.path)[0]
    return f"{origin.doc.file}:{line}"


def tenant_rules(files: TenantFiles, platform: Document, extractors: Document,
                 values: Mapping[str, Any] | None = None) -> list[Problem]:
    """Rules over one tenant's effective values. Inputs must be schema-valid. `values`: the
    tenant's merged values, when the caller has merged them already (validate merges once)."""
    values = merge_tenant(platform, extractors, files).values if values is None else values
    layers = Layers(platform, extractors, files.overrides)
    groups = values["cluster"]
    entries = list(values["extractors"].values())
    cloud = _get(files.tenant.data, "cloud")
    return (group_rules(groups, layers, True) + extractor_rules(entries, groups, layers, True)
            + node_rules(groups, layers, True, platform.data, [cloud] if clouds.known(cloud) else []))


def registry_rules(platform: Document, extractors: Document) -> list[Problem]:
    """The same rules over the platform defaults alone: what every tenant inherits."""
    layers = Layers(platform, extractors, None)
    groups = _get(platform.data, "worker_groups") or {}
    defaults = _get(platform.data, "extractor_defaults") or {}
    merged_entries: list[dict[str, Any]] = []
    out = []
    for ext_id, entry in (_get(extractors.data, "extractors") or {}).items():
        merged = {**defaults, **entry, "id": ext_id}
        merged["enabled"] = entry.get("enabled_by_default", True)
        merged_entries.append(merged)
        expected = f"{entry.get('name')}_{entry.get('version')}"
        if ext_id != expected:
            out.append(extractors.problem(("extractors", ext_id), f"id {ext_id!r} does not match its name and version",
                                        f"ids are <name>_<version>: rename it {expected!r}"))
    return (out + group_rules(groups, layers, False) + extractor_rules(merged_entries, groups, layers, False)
            + node_rules(groups, layers, False, platform.data, list(clouds.CLOUDS)))


def node_rules(groups: dict[str, Any], layers: Layers, tenant: bool, platform: dict[str, Any],
               cloud_names: list[str]) -> list[Problem]:
    """One worker pod fills one node of its group's machine type: its size must fit what
    that node can give a pod (render/capacity.py's node model), or it never schedules."""
    out = []
    for name in layout.WORKER_GROUPS:
        g = groups.get(name) or {}
        for cloud in cloud_names:
            node = capacity.group_node(platform, cloud, name)
            if node is None:
                continue
            for field, have in (("memory", node.memory), ("cpu", node.cpu)):
                want = _amount(g.get(field))
                at = _blame(tenant, layers.group(name, field))
                if want is None or want <= have or at is None:
                    continue
                most = f"{int(have // quantity.GI)}Gi" if field == "memory" else quantity.cpu(have)
                out.append(at.problem(f"{field} {g.get(field)} does not fit one node of {name} on {cloud}: "
                                      f"{node.describe()} after the cloud's reservations and the DaemonSet budget",
                                      f"use at most {most} (registry/platform.yaml `nodes`)"))
    return out


def group_rules(groups: dict[str, Any], layers: Layers, tenant: bool) -> list[Problem]:
    out = []
    for name in layout.WORKER_GROUPS:
        g = groups.get(name) or {}
        lo, hi, start = g.get("min_replicas"), g.get("max_replicas"), g.get("replicas")
        o_min, o_max, o_start = (layers.group(name, f) for f in ("min_replicas", "max_replicas", "replicas"))
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            at = _blame(tenant, o_max, o_min)
            if at is o_max:
                out.append(at.problem(f"max_replicas {hi} is below min_replicas {lo} ({_where(o_min)})",
                                      f"raise max_replicas to at least {lo}, or lower min_replicas"))
            elif at is o_min:
                out.append(at.problem(f"min_replicas {lo} is above max_replicas {hi} ({_where(o_max)})",
                                      f"lower min_replicas to at most {hi}, or raise max_replicas"))
        elif isinstance(start, int) and isinstance(lo, int) and isinstance(hi, int) and not lo <= start <= hi:
            at = _blame(tenant, o_start)
            if at is not None:
                out.append(at.problem(f"replicas {start} is outside min_replicas..max_replicas ({lo}..{hi})",
                                      "the start-up size must lie within the autoscaling range"))
    return out


def extractor_rules(extractors: Sequence[Mapping[str, Any]], groups: dict[str, Any], layers: Layers,
                    tenant: bool) -> list[Problem]:
    out: list[Problem] = []
    starved: dict[str, list[str]] = {}
    small: _Small = {}
    for e in extractors:
        out += _range_rules(e, layers, tenant)
        # Only enabled Ray Serve replicas are placed on a worker group; a Celery extractor
        # runs in its own Deployment and names a group for sizing reference only.
        if not e.get("enabled") or e.get("runtime") != "ray_serve":
            continue
        group = groups.get(str(e.get("worker_group"))) or {}
        if group.get("max_replicas") == 0:
            o_enable = layers.extractor(e["id"], e.get("name", e["id"]), "enabled")
            if tenant and o_enable.tenant:
                out.append(o_enable.problem(
                    f"{e['id']} runs on {e['worker_group']}, whose max_replicas is 0: it could never start",
                    f"raise cluster.{e['worker_group']}.max_replicas, or leave this extractor off"))
            else:
                starved.setdefault(e["worker_group"], []).append(e["id"])
            continue
        out += _fit_rules(e, group, layers, tenant, small)
    out += _small_pods(small, groups, layers)
    for name, ids in sorted(starved.items()):
        at = _blame(tenant, layers.group(name, "max_replicas"))
        if at is not None:
            listed = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
            out.append(at.problem(f"{name} max_replicas 0 leaves no node for enabled extractors: {listed}",
                                  "raise max_replicas to at least 1, or add them to `disabled`"))
    return out


def _range_rules(e: Mapping[str, Any], layers: Layers, tenant: bool) -> list[Problem]:
    out = []
    name = e.get("name", e["id"])
    pairs = (("min_replicas", "max_replicas", ""),
             ("target_ongoing_requests", "max_ongoing_requests",
              "a replica never holds more than max_ongoing_requests, so Ray Serve would never scale up"))
    # For a Celery extractor the target is a queue depth per worker (KEDA's listLength), which
    # may exceed its concurrency but must be a whole number of messages.
    target = e.get("target_ongoing_requests")
    if e.get("runtime") != "ray_serve" and isinstance(target, (int, float)) and (target < 1 or target != int(target)):
        at = _blame(tenant, layers.extractor(e["id"], name, "target_ongoing_requests"))
        if at is not None:
            out.append(at.problem(f"target_ongoing_requests {target} is not a whole number of queued tasks: {e['id']} "
                                  "runs on Celery, where it is the queue length per worker",
                                  f"use a whole number of at least 1, e.g. {max(1, round(target))}"))
    for low_key, high_key, why in pairs if e.get("runtime") == "ray_serve" else pairs[:1]:
        low, high = e.get(low_key), e.get(high_key)
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float))) or low <= high:
            continue
        o_low, o_high = layers.extractor(e["id"], name, low_key), layers.extractor(e["id"], name, high_key)
        at = _blame(tenant, o_high, o_low)
        if at is o_low:
            out.append(at.problem(f"{low_key} {low} is above {high_key} {high} ({_where(o_high)})" + (f": {why}" if why else ""),
                                  f"lower {low_key} to at most {high}, or raise {high_key}"))
        elif at is o_high:
            out.append(at.problem(f"{high_key} {high} is below {low_key} {low} ({_where(o_low)})" + (f": {why}" if why else ""),
                                  f"raise {high_key} to at least {low}, or lower {low_key}"))
    return out


_FIT = (("num_cpus", "cpu"), ("memory", "memory"), ("num_gpus", "gpus"))
# (group, group key) -> [(extractor id, its request)] for pods found too small.
_Small = dict[tuple[str, str], list[tuple[str, Any]]]


def _fit_rules(e: Mapping[str, Any], group: dict[str, Any], layers: Layers, tenant: bool,
               small: _Small) -> list[Problem]:
    """A replica larger than one pod of its group could never be placed."""
    out = []
    name, group_name = e.get("name", e["id"]), e["worker_group"]
    for ext_key, group_key in _FIT:
        need, have = _amount(e.get(ext_key, 0)), _amount(group.get(group_key, 0))
        if need is None or have is None or need <= have:
            continue
        o_need, o_have = layers.extractor(e["id"], name, ext_key), layers.group(group_name, group_key)
        at = _blame(tenant, o_need, o_have)
        if at is o_need:
            hint = (f"{group_name} has no GPUs: set {ext_key}: 0" if group_key == "gpus" and not have
                    else f"lower {ext_key}, or raise cluster.{group_name}.{group_key}")
            out.append(at.problem(
                f"{ext_key} {e.get(ext_key)} does not fit in one {group_name} pod ({group_key} "
                f"{group.get(group_key, 0)}, {_where(o_have)}): no replica of {e['id']} could ever be placed", hint))
        elif at is o_have:
            small.setdefault((group_name, group_key), []).append((e["id"], e.get(ext_key)))
    return out


def _small_pods(small: _Small, groups: dict[str, Any], layers: Layers) -> list[Problem]:
    out = []
    for (group_name, group_key), needs in sorted(small.items()):
        ext_key = {g: x for x, g in _FIT}[group_key]
        largest = max(needs, key=lambda n: _amount(n[1]) or 0)[1]
        ids = ", ".join(i for i, _ in needs)
        out.append(layers.group(group_name, group_key).problem(
            f"{group_key} {(groups.get(group_name) or {}).get(group_key)} is too small for one replica of {ids} "
            f"({ext_key} up to {largest})",
            f"raise {group_key} to at least {largest}, or lower those extractors' {ext_key}"))
    return out


def _amount(value: Any) -> Decimal | None:
    try:
        return quantity.parse(value)
    except (ValueError, TypeError):
        return None


# The tenant's contract (render/contract.py): what its pods ask for at their maxima may not
# exceed what it was sold. One problem per exceeded ceiling, at the tenant's line that
# raised it most (a worker group's max_replicas or size), else at the contract. These rules
# read the pods the build rendered (render/pods.py), so they run after build
# (render/pipeline.py checked_build), on values every rule above accepted.
_CEILINGS = (("cpu", "vcpu", "vCPU"), ("memory", "memory", "memory"), ("gpus", "gpus", "GPUs"), ("pods", "pods", "pods"))


def contract_rules(files: TenantFiles, platform: Document, extractors: Document, pod_list: list[Pod]) -> list[Problem]:
    """`pod_list`: the tenant's pods, from its built objects."""
    tenant = files.tenant.data if isinstance(files.tenant.data, dict) else {}
    asked, sold = contract.peak(pod_list), contract.contract(tenant, pod_list, platform.data)
    own = contract.of_tenant(tenant) is not None
    where = (f"contract.{{key}} in {files.tenant.file}:{files.tenant.mark(('contract',))[0]}" if own
             else f"the standard contract: the platform's default sizes, as {files.tenant.file} sets none")
    layers = Layers(platform, extractors, files.overrides)
    out = []
    for attr, key, label in _CEILINGS:
        need, have = getattr(asked, attr), getattr(sold, attr)
        if need <= have:
            continue
        at = _contract_blame(layers, pod_list, attr) or Origin(files.tenant, ("contract", key) if own else ("name",), False)
        out.append(at.problem(
            f"at their maxima this tenant's pods request {_show(attr, need)} {label}, above its contract's "
            f"{_show(attr, have)} ({where.format(key=key)})",
            "lower max_replicas or a group's size; the contract is platform-owned: the platform team changes it"))
    return out


def _contract_blame(layers: Layers, pod_list: list[Pod], attr: str) -> Origin | None:
    """The tenant's override that weighs most in the exceeded ceiling: a worker group's
    max_replicas or size (GPUs: only groups with GPUs)."""
    best: tuple[Decimal, Origin] | None = None
    for p in pod_list:
        if p.ray_group not in layout.WORKER_GROUPS:
            continue
        size = p.requests
        each = {"cpu": size.cpu, "memory": size.memory, "gpus": Decimal(size.gpus), "pods": Decimal(1)}[attr]
        weight = each * p.max_count
        for field in ("max_replicas", "cpu", "memory", "gpus"):
            o = layers.group(p.ray_group, field)
            if weight and o.tenant and (best is None or weight > best[0]):
                best = (weight, o)
    return best[1] if best else None


def _show(attr: str, value: Decimal | int) -> str:
    if attr == "memory":
        return f"{(Decimal(value) / quantity.GI).quantize(Decimal('0.1')).normalize():f}Gi"
    return f"{Decimal(value).quantize(Decimal('0.01')).normalize():f}"
