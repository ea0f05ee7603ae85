"""Where each extractor's replicas go, and how many of them its worker group can really hold.

A worker group is `max_replicas` pods of its size (CPU, memory, GPUs: what each Ray worker
advertises; KubeRay starts Ray with the container's limits). Every enabled Ray Serve
extractor places its replicas on its own group (the group's custom Ray resource is not a
limit: each pod advertises 1000 units). Ray places one replica on one pod, never across
pods, so a group is a set of bins, filled first-fit with the largest replicas first (GPUs,
then CPU, then memory; ties by id, so the answer is deterministic).

- The minimums: every extractor's min_replicas, all at once (Ray Serve keeps them running).
  If they do not all fit, some minimum can never be scheduled: an error.
- The reachable maximum of one extractor: its replicas added one at a time to the group
  holding every other extractor at its minimum, up to its max_replicas. Below max_replicas,
  that maximum can never be reached: a warning.
- All at maximum: every extractor at max_replicas at once (what `dataplane preview` deploys).

One model for `explain`, `validate` and the pull-request comment. Pure: effective values in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import layout, quantity

Need = tuple[Decimal, Decimal, Decimal]  # GPUs, CPU, memory bytes: the order replicas are sorted by


@dataclass(frozen=True)
class Reach:
    """One enabled Ray Serve extractor on its group."""

    extractor: str  # id
    name: str
    group: str
    min_replicas: int
    max_replicas: int
    reachable: int  # replicas it can run with every other extractor of the group at its minimum
    placed_min: int  # of its min_replicas, how many the group holds beside the others' minimums
    fits_pod: bool  # one replica fits one pod of the group

    @property
    def min_fits(self) -> bool:
        return self.placed_min >= self.min_replicas


@dataclass(frozen=True)
class GroupFit:
    group: str
    pods: int  # the group's max_replicas
    pod: Need  # one pod: GPUs, CPU, memory bytes
    extractors: tuple[str, ...]  # ids of the enabled Ray Serve extractors on it
    need_min: Need  # their min replicas together
    need_max: Need  # their max replicas together
    min_fits: bool
    max_fits: bool  # every extractor at max_replicas at once

    @property
    def holds(self) -> Need:
        return (self.pod[0] * self.pods, self.pod[1] * self.pods, self.pod[2] * self.pods)


@dataclass(frozen=True)
class Placement:
    groups: tuple[GroupFit, ...]
    extractors: tuple[Reach, ...]

    def reach(self, extractor: str) -> Reach | None:
        return next((r for r in self.extractors if r.extractor == extractor), None)

    def group(self, name: str) -> GroupFit | None:
        return next((g for g in self.groups if g.group == name), None)


def place(values: Mapping[str, Any]) -> Placement:
    """The placement of a tenant's effective values (merge.Effective.values: `cluster`, `extractors`)."""
    groups, reaches = [], []
    for name in layout.WORKER_GROUPS:
        g = values["cluster"].get(name) or {}
        pod: Need = (Decimal(str(g.get("gpus", 0))), quantity.parse(g.get("cpu", 0)), quantity.parse(g.get("memory", 0)))
        pods = int(g.get("max_replicas", 0))
        members = [(i, e) for i, e in sorted(values["extractors"].items())
                   if e.get("enabled") and e.get("runtime") == "ray_serve" and e.get("worker_group") == name]
        needs = {i: replica_need(e) for i, e in members}
        minimums = [(i, needs[i]) for i, e in members for _ in range(int(e["min_replicas"]))]
        maximums = [(i, needs[i]) for i, e in members for _ in range(int(e["max_replicas"]))]
        bins, left = pack(minimums, pod, pods)
        unplaced = {i: sum(1 for j, _ in left if j == i) for i, _ in members}
        for i, e in members:
            more = _add(bins, needs[i], int(e["max_replicas"]) - int(e["min_replicas"]))
            placed = int(e["min_replicas"]) - unplaced[i]
            reaches.append(Reach(i, str(e.get("name", i)), name, int(e["min_replicas"]), int(e["max_replicas"]),
                                 placed + (more if not left else 0), placed, _fits(needs[i], pod)))
        groups.append(GroupFit(name, pods, pod, tuple(i for i, _ in members), _total(minimums), _total(maximums),
                               not left, not pack(maximums, pod, pods)[1]))
    return Placement(tuple(groups), tuple(reaches))


def pods_for_minimums(values: Mapping[str, Any], group: str) -> int:
    """The smallest max_replicas of `group` that holds its extractors' minimums."""
    return _pods_until(values, group, lambda p: _holds(p, group, lambda g: g.min_fits))


def pods_for_maximums(values: Mapping[str, Any], group: str) -> int:
    """The smallest max_replicas of `group` that holds its extractors all at max_replicas."""
    return _pods_until(values, group, lambda p: _holds(p, group, lambda g: g.max_fits))


def pods_for_reach(values: Mapping[str, Any], extractor: str) -> int:
    """The smallest max_replicas of its group that lets `extractor` reach its max_replicas."""
    group = str(values["extractors"][extractor]["worker_group"])

    def reached(p: Placement) -> bool:
        r = p.reach(extractor)
        return r is not None and r.reachable >= r.max_replicas
    return _pods_until(values, group, reached)


def _holds(p: Placement, group: str, test: Callable[[GroupFit], bool]) -> bool:
    g = p.group(group)
    return g is not None and test(g)


def _pods_until(values: Mapping[str, Any], group: str, test: Callable[[Placement], bool], limit: int = 1000) -> int:
    start = int(values["cluster"][group]["max_replicas"])
    for n in range(start, start + limit):
        cluster = {**values["cluster"], group: {**values["cluster"][group], "max_replicas": n}}
        if test(place({**values, "cluster": cluster})):
            return n
    return start + limit


def replica_need(e: dict[str, Any]) -> Need:
    return (Decimal(str(e.get("num_gpus", 0))), Decimal(str(e.get("num_cpus", 0))), quantity.parse(e.get("memory", 0)))


def pack(replicas: list[tuple[str, Need]], pod: Need, pods: int) -> tuple[list[list[Decimal]], list[tuple[str, Need]]]:
    """First-fit decreasing into `pods` bins of size `pod`: the bins' free room and what did not fit."""
    bins: list[list[Decimal]] = [list(pod) for _ in range(pods)]
    left = []
    for i, need in sorted(replicas, key=lambda r: (r[1], r[0]), reverse=True):
        if not _put(bins, need):
            left.append((i, need))
    return bins, left


def _put(bins: list[list[Decimal]], need: Need) -> bool:
    for free in bins:
        if all(n <= f for n, f in zip(need, free, strict=True)):
            free[:] = [f - n for f, n in zip(free, need, strict=True)]
            return True
    return False


def _add(bins: list[list[Decimal]], need: Need, count: int) -> int:
    """How many of `count` more replicas fit (into a copy of `bins`)."""
    trial = [list(b) for b in bins]
    placed = 0
    while placed < count and _put(trial, need):
        placed += 1
    return placed


def _fits(need: Need, pod: Need) -> bool:
    return all(n <= p for n, p in zip(need, pod, strict=True))


def _total(replicas: list[tuple[str, Need]]) -> Need:
    return (sum((n[0] for _, n in replicas), Decimal(0)), sum((n[1] for _, n in replicas), Decimal(0)),
            sum((n[2] for _, n in replicas), Decimal(0)))


def describe(need: Need) -> str:
    """'3 CPU, 14Gi memory, 1 GPU' (GPUs only when there are any)."""
    gpus, cpu, memory = need
    text = f"{_num(cpu)} CPU, {_num(memory / quantity.GI)}Gi memory"
    return text + (f", {_num(gpus)} GPU" if gpus else "")


def _num(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else f"{value.normalize():f}"


def as_dict(p: Placement) -> dict[str, Any]:
    """The JSON shape of a placement (explain -o json `placement`)."""
    def res(n: Need) -> dict[str, float | int]:
        return {"cpu": _json(n[1]), "memory_gib": _json(n[2] / quantity.GI), "gpus": _json(n[0])}

    return {
        "groups": [{"group": g.group, "pods": g.pods, "pod": res(g.pod), "holds": res(g.holds),
                    "extractors": list(g.extractors), "need_at_min": res(g.need_min), "need_at_max": res(g.need_max),
                    "minimums_fit": g.min_fits, "all_at_max_fit": g.max_fits} for g in p.groups],
        "extractors": [{"extractor": r.extractor, "group": r.group, "min_replicas": r.min_replicas,
                        "max_replicas": r.max_replicas, "reachable_max": r.reachable, "minimum_fits": r.min_fits}
                       for r in p.extractors],
    }


def _json(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(round(value, 3))
