"""The rendered serveConfigV2, read as intents and rewritten for the local Ray. Pure.

The rewrite keeps every rendered setting and changes only what the local machine forces:
each application's code (`import_path`, replaced by the engine's stand-in; a `runtime_env`,
which would fetch the real code's packages, is dropped), CPUs and GPUs
(scaled by the cluster's factor; GPUs become a custom resource), the autoscaling delays
(multiplied by the time scale, with Ray's look-back window scaled alike), and where the
HTTP proxy listens (127.0.0.1 on a free port, one proxy: the nodes share one address).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render.load import parse_yaml
from render.preview.shape import GPU_STANDIN, Group, Shape
from render.problems import Problem, ProblemsError, did_you_mean

STANDIN_BUILDER = "render.preview.standin:build"
# Ray Serve's default metrics window (AutoscalingConfig.look_back_period_s), scaled with the delays.
RAY_LOOK_BACK_S = 30.0
# Ray Serve's default metric push intervals (RAY_SERVE_*_AUTOSCALING_METRIC_PUSH_INTERVAL_S).
RAY_METRIC_PUSH_S = 10.0
# Ray Serve's default AutoscalingConfig.metrics_interval_s (it must stay below the look-back window).
RAY_METRICS_INTERVAL_S = 10.0
SCALED_DELAYS = ("upscale_delay_s", "downscale_delay_s", "downscale_to_zero_delay_s", "look_back_period_s",
                 "metrics_interval_s")


@dataclass(frozen=True)
class Intent:
    """What the rendered config says about one extractor (one application, one deployment)."""

    extractor: str
    deployment: str
    route: str
    group: str | None
    min_replicas: int
    max_replicas: int
    target: float
    max_ongoing: int
    upscale_delay_s: float
    downscale_delay_s: float
    needs: dict[str, Decimal]  # one replica's resources, as rendered (CPU, memory, preview_gpu, custom)


def load(shape: Shape) -> dict[str, Any]:
    config = parse_yaml(shape.serve_config, shape.file).data
    if not isinstance(config, dict) or not isinstance(config.get("applications"), list):
        line, col = shape.doc.mark(("spec", "serveConfigV2"))
        raise ProblemsError([Problem(shape.file, line, col, "spec.serveConfigV2", "has no applications list",
                                     "re-render with `dataplane render`")])
    return config


def intents(shape: Shape, config: dict[str, Any]) -> list[Intent]:
    out = []
    for app in config["applications"]:
        for d in app.get("deployments") or []:
            auto = d.get("autoscaling_config") or {}
            actor = d.get("ray_actor_options") or {}
            group = shape.group_of(actor.get("resources") or {})
            minimum = int(auto.get("min_replicas", d.get("num_replicas", 1)))
            out.append(Intent(
                extractor=str(app["name"]), deployment=str(d["name"]), route=str(app.get("route_prefix", "/")),
                group=group.name if group else None, min_replicas=minimum,
                max_replicas=int(auto.get("max_replicas", minimum)),
                target=float(auto.get("target_ongoing_requests", 2)), max_ongoing=int(d.get("max_ongoing_requests", 5)),
                upscale_delay_s=float(auto.get("upscale_delay_s", 30.0)),
                downscale_delay_s=float(auto.get("downscale_delay_s", 600.0)), needs=replica_needs(actor)))
    return out


def replica_needs(actor: dict[str, Any]) -> dict[str, Decimal]:
    needs = {"CPU": Decimal(str(actor.get("num_cpus", 1))), "memory": Decimal(str(actor.get("memory", 0)))}
    if actor.get("num_gpus"):
        needs[GPU_STANDIN] = Decimal(str(actor["num_gpus"]))
    for k, v in (actor.get("resources") or {}).items():
        needs[str(k)] = Decimal(str(v))
    return needs


def select(shape: Shape, config: dict[str, Any], wanted: tuple[str, ...]) -> list[str]:
    """Names of the applications to preview: all, or those asked for (a Problem for each unknown)."""
    names = [str(a["name"]) for a in config["applications"]]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        line, col = shape.doc.mark(("spec", "serveConfigV2"))
        raise ProblemsError([Problem(shape.file, line, col, "spec.serveConfigV2",
                                     f"no Ray Serve extractor {w!r} in this tenant's rendered config",
                                     did_you_mean(w, names, "extractors")) for w in unknown])
    return [n for n in names if n in wanted] if wanted else names


def unplaceable(shape: Shape, all_intents: list[Intent]) -> dict[str, str]:
    """Why an extractor cannot have all its max replicas placed in its group, by extractor."""
    out: dict[str, str] = {}
    groups = {g.name: g for g in shape.groups}
    for i in all_intents:
        if i.group is None:
            out[i.extractor] = "asks for no worker group's resource: Ray may place it on any node"
    for g in groups.values():
        members = [i for i in all_intents if i.group == g.name]
        for reason, blamed in _group_shortfalls(g, members):
            for i in blamed:
                out.setdefault(i.extractor, reason)
    return out


def notes(reasons: dict[str, str], exclude: set[str]) -> list[str]:
    """The tenant-wide shortfalls not already reported, one line per reason with its extractors."""
    by_reason: dict[str, list[str]] = {}
    for extractor, reason in reasons.items():
        if extractor not in exclude:
            by_reason.setdefault(reason, []).append(extractor)
    return [f"with all the tenant's extractors at max replicas, {reason} (affects {', '.join(sorted(names))})"
            for reason, names in by_reason.items()]


def _group_shortfalls(g: Group, members: list[Intent]) -> list[tuple[str, list[Intent]]]:
    found = []
    cap = g.capacity()
    per_pod = {k: v / g.max_pods for k, v in cap.items()} if g.max_pods else {}
    for i in members:
        for r, need in i.needs.items():
            if need > per_pod.get(r, Decimal(0)):
                found.append((f"one replica needs {_amount(r, need)}, more than a pod of group {g.name} has "
                              f"({_amount(r, per_pod.get(r, Decimal(0)))})", [i]))
    for r in sorted({r for i in members for r in i.needs}):
        demand = sum((i.needs.get(r, Decimal(0)) * i.max_replicas for i in members), Decimal(0))
        if demand > cap.get(r, Decimal(0)):
            users = [i for i in members if i.needs.get(r)]
            parts = ", ".join(f"{i.extractor} {i.max_replicas} x {_amount(r, i.needs[r])}" for i in users)
            found.append((f"group {g.name} holds {_amount(r, cap.get(r, Decimal(0)))} at its maxReplicas "
                          f"({g.max_pods} pods), below the {_amount(r, demand)} its extractors need at max "
                          f"replicas ({parts})", users))
    return found


def _amount(resource: str, value: Decimal) -> str:
    if resource == "memory":
        return f"{value / 2**30:.4g}Gi memory"
    if resource == GPU_STANDIN:
        return f"{value.normalize()} GPU"
    return f"{value.normalize()} {resource}"


def rewrite(config: dict[str, Any], apps: list[str], *, cpu_factor: Decimal, time_scale: float,
            delay_s: float, port: int) -> dict[str, Any]:
    """The config to deploy: as rendered, but stand-in code, scaled CPUs/GPUs/delays, a local proxy."""
    out = copy.deepcopy(config)
    out["applications"] = [a for a in out["applications"] if a["name"] in apps]
    out["http_options"] = {**(out.get("http_options") or {}), "host": "127.0.0.1", "port": port}
    out["proxy_location"] = "HeadOnly"
    for app in out["applications"]:
        names = [str(d["name"]) for d in app.get("deployments") or []]
        # The stand-in needs no packages or files: a runtime_env would download the tenant's.
        app.pop("runtime_env", None)
        app["import_path"] = STANDIN_BUILDER
        app["args"] = {"extractor": str(app["name"]), "deployments": names, "delay_s": delay_s}
        for d in app.get("deployments") or []:
            d["ray_actor_options"] = scale_actor(d.get("ray_actor_options") or {}, cpu_factor)
            if "autoscaling_config" in d:
                d["autoscaling_config"] = scale_delays(d["autoscaling_config"], time_scale)
    return out


def scale_actor(actor: dict[str, Any], factor: Decimal) -> dict[str, Any]:
    out = dict(actor)
    out.pop("runtime_env", None)
    out["num_cpus"] = float(Decimal(str(actor.get("num_cpus", 1))) * factor)
    gpus = actor.get("num_gpus") or 0
    out.pop("num_gpus", None)
    if gpus:
        out["resources"] = {**(actor.get("resources") or {}), GPU_STANDIN: float(gpus)}
    return out


def scale_delays(auto: dict[str, Any], scale: float) -> dict[str, Any]:
    out = dict(auto)
    out.setdefault("look_back_period_s", RAY_LOOK_BACK_S)
    out.setdefault("metrics_interval_s", RAY_METRICS_INTERVAL_S)
    for key in SCALED_DELAYS:
        if key in out and out[key] is not None:
            out[key] = round(float(out[key]) * scale, 3)
    return out


def metric_push_env(scale: float) -> dict[str, str]:
    """Ray Serve's metric push intervals, scaled like the delays (read by Ray's processes at start)."""
    seconds = str(max(0.05, round(RAY_METRIC_PUSH_S * scale, 3)))
    return {"RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": seconds,
            "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": seconds}


def default_load(i: Intent) -> int:
    """Concurrent requests that keep every replica above target at max_replicas."""
    return max(1, math.ceil(i.max_replicas * i.target))


def expected_peak(i: Intent, load: int) -> int:
    """The replica count Ray Serve's default policy aims for under `load` requests in flight."""
    return max(i.min_replicas, min(i.max_replicas, math.ceil(load / i.target)))
