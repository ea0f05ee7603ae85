"""One preview, start to end: read the rendered RayService, start the shaped cluster, deploy,
observe, report. The cluster is stopped whatever happens (unless --keep, until Ctrl-C)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from render import output
from render.preview import config as cfg
from render.preview import observe, report
from render.preview import shape as shp
from render.preview.cluster import Local, require_ray, running
from render.preview.phases import Run, Settings, outcomes_for


@dataclass(frozen=True)
class Options:
    tenant: str
    extractors: tuple[str, ...] = ()  # empty: every Ray Serve extractor
    load: int | None = None
    time_scale: float = 0.05
    delay_s: float = 0.5
    keep: bool = False
    json: bool = False  # a document instead of text: JSON, or YAML when `yaml`
    yaml: bool = False


def describe(shape: shp.Shape, factor: Decimal, opts: Options) -> dict[str, Any]:
    """What the local cluster is, against the rendered one: printed before anything runs."""
    nodes = []
    for g in shape.groups:
        cap = g.capacity()
        nodes.append({"group": g.name, "pods": g.max_pods, "per_pod": {"CPU": float(g.cpu), "memory": g.memory,
                                                                        "GPU": g.gpus},
                      "node": {k: float(v) for k, v in cap.items()}})
    return {"tenant": opts.tenant, "rayservice": shape.file, "nodes": nodes, "cpu_factor": float(factor),
            "gpu_standin": shp.GPU_STANDIN, "time_scale": opts.time_scale, "stand_in_delay_s": opts.delay_s}


def header_text(h: dict[str, Any]) -> str:
    lines = [f"preview of {h['tenant']} ({h['rayservice']}): Ray head + one node per worker group at its maxReplicas"]
    for n in h["nodes"]:
        res = ", ".join(f"{k} {v:g}" for k, v in sorted(n["node"].items()) if k != "memory")
        lines.append(f"  {n['group']}: {n['pods']} pods -> node with {res}, memory {n['node']['memory'] / 2**30:g}Gi")
    lines.append(f"  CPU factor x{h['cpu_factor']:g} on nodes and replicas (Ray starts nodes with whole CPUs only); "
                 f"GPUs stood in by the custom resource {h['gpu_standin']} (no GPU is used)")
    lines.append(f"  time scale {h['time_scale']:g}: upscale/downscale delays and Ray's metric windows x{h['time_scale']:g}; "
                 f"stand-in extractors answer after {h['stand_in_delay_s']:g}s")
    return "\n".join(lines)


def progress(started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{time.monotonic() - started:5.0f}s] {message}", file=sys.stderr, flush=True)
    return say


def preview(root: Path, opts: Options) -> int:
    say = progress(time.monotonic())
    shape = shp.read(root, opts.tenant)
    config = cfg.load(shape)
    every = cfg.intents(shape, config)
    apps = cfg.select(shape, config, opts.extractors)
    chosen = [i for i in every if i.extractor in apps]
    factor = shp.cpu_factor(shape)
    header = describe(shape, factor, opts)
    if not opts.json:
        print(header_text(header), flush=True)
    require_ray()
    # The deployed extractors must fit their groups; the whole tenant's over-commitment is a note.
    capacity = cfg.unplaceable(shape, chosen)
    header["notes"] = cfg.notes(cfg.unplaceable(shape, every), exclude=set(capacity))
    if header["notes"] and not opts.json:
        print("\n".join("  note: " + n for n in header["notes"]), flush=True)
    outcomes = outcomes_for(chosen, capacity)
    with running(shape, factor, cfg.metric_push_env(opts.time_scale), say) as local:
        deployed = cfg.rewrite(config, apps, cpu_factor=factor, time_scale=opts.time_scale,
                               delay_s=opts.delay_s, port=local.serve_port)
        say(f"deploying {len(apps)} application(s) through the dashboard's Serve API")
        observe.deploy(local.dashboard, deployed)
        run = Run(local, outcomes, Settings(opts.time_scale, opts.load, request_timeout_s=60.0), say)
        run.running()
        run.cold_starts()
        run.scale_up()
        run.scale_down()
        if opts.json:
            output.emit(json.loads(report.as_json(outcomes, header, opts.time_scale)), "yaml" if opts.yaml else "json")
        else:
            print("\n" + report.table(outcomes, opts.time_scale), flush=True)
        if opts.keep:
            keep(local)
    return report.exit_code(outcomes, opts.time_scale)


def keep(local: Local) -> None:
    print(f"kept running: Serve http://127.0.0.1:{local.serve_port}  dashboard {local.dashboard}  (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
