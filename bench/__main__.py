"""`python -m bench`: render synthetic fleets and compare every figure to the floors.

For each fleet size N it writes N tenants into a temporary copy of the repository and runs
the real command line (`python -m render`) in a child process, as a user or CI would:

- cold: first render, empty cache and empty rendered/;
- no-op: the same render again;
- one tenant changed: one tenant's overrides.yaml edited, then render;
- check: `render --check` on the unchanged fleet (cache warm, as on a developer's machine);
- check, no cache: `render --check --no-cache` (everything validated and rendered: main's check);
- PR gate: the fleet committed as the base, a commit editing one tenant's overrides.yaml on
  top, then `render --base BASE --committed` (what pr.yml runs: no cache, git proves the rest). The
  gate is also measured alone at --gate-sizes (default 10,000): 100 tenants rendered, the
  others given copies of their output folders (bench/gate.py), so it needs no cold render.

The render processes keep their compiled bytecode in a temporary folder, as an installed
package has it (pip compiles on install): no run pays for compiling the engine's modules.
Peak memory is the largest sum of RSS over the render process and its workers, sampled
every 10 ms. Two floors, in one process, over the same output objects (bench/floors.py):
libyaml's dumper alone (CSafeDumper), and the same dumper writing the same files. Each
figure is the median of --repeat runs: the machine may be shared, and a cold render's time
swings by half from run to run there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from bench import floors, gate
from bench.fleet import REPO, generate_fleet

MIB = 1024 * 1024
BYTECODE: Path | None = None  # where the render processes keep compiled bytecode (set by main)


@dataclass
class Run:
    seconds: float
    cpu: float
    peak_rss: int
    output: str


def run_render(root: Path, *args: str) -> Run:
    """One `python -m render --repo root render ARGS` in a child process, timed and watched."""
    env = dict(os.environ, DATAPLANE_CACHE_DIR=str(cache_of(root)), PYTHONPATH=str(REPO))
    env.pop("GITHUB_ACTIONS", None)
    if BYTECODE is not None:  # compiled once, as an installed package is: no run pays for compiling the engine
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "render", "--repo", str(root), "render", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0]
    unreaped: dict[int, float] = {}
    watcher = threading.Thread(target=_watch, args=(proc.pid, peak, unreaped), daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + sum(unreaped.values())
    text = out.decode()
    if proc.returncode != 0:
        raise SystemExit(f"render {' '.join(args)} failed ({proc.returncode}):\n{text}")
    return Run(seconds, cpu, max(peak[0], after.ru_maxrss * 1024), text.strip())


def _watch(pid: int, peak: list[int], unreaped: dict[int, float]) -> None:
    """Every 10 ms: the sum of RSS over the render process and its descendants (into `peak`),
    and the CPU seconds last seen of each process the render process does not wait for (into
    `unreaped`): its fork server and the workers forked from it (render/parallel.py), whose
    time the benchmark's own rusage never receives."""
    try:
        parent = psutil.Process(pid)
        while parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for p in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
                    if p.pid != pid and (p.ppid() != pid or "forkserver" in " ".join(p.cmdline())):
                        times = p.cpu_times()
                        unreaped[p.pid] = times.user + times.system
            peak[0] = max(peak[0], total)
            time.sleep(0.01)
    except psutil.Error:
        return


def cache_of(root: Path) -> Path:
    """The fleet's render cache: beside it, never inside (the engine refuses that)."""
    return root.parent / f"{root.name}.cache"


def reset(root: Path) -> None:
    for folder in ("rendered", "argocd", "control-plane"):
        subprocess.run(["rm", "-rf", str(root / folder)], check=True)
    subprocess.run(["rm", "-rf", str(cache_of(root))], check=True)


def touch_one_tenant(root: Path, name: str, round_: int) -> None:
    path = root / "tenants" / name / "overrides.yaml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text.split("\n", 1)[1]) or {}
    data.setdefault("env", {})["BENCH_ROUND"] = str(round_)
    path.write_text(text.split("\n", 1)[0] + "\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


STEPS = ("cold", "noop", "one", "check", "check_nocache", "gate", "floor", "write_floor")
SAMPLE = 100  # `--steps gate` alone: tenants rendered for real (see gate.fill_from)


def measure(n: int, repeat: int, where: str | None, steps: tuple[str, ...] = STEPS) -> dict[str, list[Run] | float]:
    """Every step `repeat` times on one fleet of `n` tenants: the runs of each, and the floors."""
    with tempfile.TemporaryDirectory(prefix=f"dataplane-bench-{n}-", dir=where) as tmp:
        root = Path(tmp) / "fleet"
        names = generate_fleet(root, n)
        gate.copy_engine(root)
        results: dict[str, list[Run] | float] = {}
        runs: dict[str, list[Run]] = {k: [] for k in STEPS[:6]}
        if steps == ("gate",):  # the gate alone: SAMPLE tenants rendered, the others' folders filled from theirs
            sample = names[:: max(1, len(names) // SAMPLE)]
            run_render(root, "--no-cache", *sample)
            gate.fill_from(root, names, sample)
        for i in range(repeat if steps != ("gate",) else 0):
            reset(root)
            runs["cold"].append(run_render(root))
            if "noop" in steps:
                runs["noop"].append(run_render(root))
            if "one" in steps:
                touch_one_tenant(root, names[len(names) // 2], i)
                runs["one"].append(run_render(root))
            if "check" in steps:
                runs["check"].append(run_render(root, "--check"))
            if "check_nocache" in steps:
                runs["check_nocache"].append(run_render(root, "--check", "--no-cache"))
        if "gate" in steps:  # the output is current: it becomes the base a pull request starts from
            base = gate.commit_base(root)
            for i in range(repeat):
                gate.reset_to(root, base)
                touch_one_tenant(root, names[len(names) // 3], repeat + i)  # a value no earlier step wrote
                gate.commit_pull_request(root)
                runs["gate"].append(run_render(root, "--base", base, "--committed"))
                if "1 tenant(s) rendered" not in runs["gate"][-1].output:  # the gate fell back to a full render
                    raise SystemExit(f"render --base did not render one tenant:\n{runs['gate'][-1].output}")
            gate.reset_to(root, base)
        results.update({k: v for k, v in runs.items() if v})
        if "floor" in steps or "write_floor" in steps:
            passes = [floors.floor_seconds(root, Path(tmp) / "floor") for _ in range(repeat)]
            results["floor"] = statistics.median(p[0] for p in passes)
            results["write_floor"] = statistics.median(p[1] for p in passes)
        shutil.rmtree(cache_of(root), ignore_errors=True)
    return results


ROWS = (  # key, label, target, limit: (what it is measured against, ratio) or seconds
    ("cold", "cold render", "<= 1.2x write-inclusive floor", ("write_floor", 1.2)),
    ("noop", "no-op re-render", "<= 10% of cold", ("cold", 0.10)),
    ("one", "one tenant changed", "<= 5% of cold", ("cold", 0.05)),
    ("check", "`render --check`, unchanged", "<= 10% of cold", ("cold", 0.10)),
    ("check_nocache", "`render --check --no-cache` (full check, what main runs)", "-", None),
    ("gate", "PR gate: one tenant's overrides, `render --base BASE --committed` (no cache)", "", None),
)
# Targets are set for fleets of 1,000 and 10,000 tenants; the PR gate's in seconds.
TARGET_SIZES = (1000, 10000)
GATE_SECONDS = {1000: 2.0, 10000: 5.0}
MEMORY_LIMIT = 1024 * MIB


def median(runs: list[Run], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in runs))


def table(figures: dict[int, dict[str, list[Run] | float]]) -> list[str]:
    lines = ["| N | step | seconds (median) | CPU s | runs | x write floor | % of cold | target | met |",
             "|---:|---|---:|---:|---:|---:|---:|---|---|"]
    for n, f in figures.items():
        floor, write_floor = f.get("floor"), f.get("write_floor")
        seconds = {k: median(v, "seconds") for k, v in f.items() if isinstance(v, list)}
        wf = float(write_floor) if isinstance(write_floor, float) else None
        base = {"write_floor": wf, "cold": seconds.get("cold")}
        if isinstance(floor, float):
            lines.append(f"| {n} | serialization floor (CSafeDumper, nothing written) | {floor:.2f} | | | "
                         f"{_ratio(floor, wf)} | | | |")
        if wf is not None:
            lines.append(f"| {n} | write-inclusive floor (CSafeDumper writing the same files, one process) | "
                         f"{wf:.2f} | | | 1.00 | | | |")
        for key, label, target, limit in ROWS:
            runs = f.get(key)
            if not isinstance(runs, list):
                continue
            took, met = seconds[key], ""
            if key == "gate" and n in GATE_SECONDS:
                target, met = f"<= {GATE_SECONDS[n]:.0f} s", "yes" if took <= GATE_SECONDS[n] else "NO"
            elif limit is not None and n in TARGET_SIZES and (against := base.get(limit[0])) is not None:
                met = "yes" if took <= limit[1] * against else "NO"
            cold = seconds.get("cold")
            lines.append(f"| {n} | {label} | {took:.2f} | {median(runs, 'cpu'):.2f} | {len(runs)} | {_ratio(took, wf)} | "
                         f"{f'{100 * took / cold:.1f}%' if cold else ''} | {target if n in TARGET_SIZES else ''} | {met} |")
        rss = max((r.peak_rss for v in f.values() if isinstance(v, list) for r in v), default=0)
        met = ("yes" if rss <= MEMORY_LIMIT else "NO") if n in TARGET_SIZES else ""
        lines.append(f"| {n} | peak RSS (all processes, any step) | {rss / MIB:.0f} MiB | | | | | "
                     f"{'<= 1024 MiB' if n in TARGET_SIZES else ''} | {met} |")
    return lines + linearity(figures)


def _ratio(seconds: float, floor: float | None) -> str:
    return f"{seconds / floor:.2f}" if floor else ""


def linearity(figures: dict[int, dict[str, list[Run] | float]]) -> list[str]:
    """Cold render time as fixed cost + cost per tenant, fitted on the two smallest sizes."""
    sizes = sorted(n for n in figures if isinstance(figures[n].get("cold"), list))
    if len(sizes) < 2:
        return []
    cold = {n: median(figures[n]["cold"], "seconds") for n in sizes}  # type: ignore[arg-type]
    a, b = sizes[0], sizes[1]
    per = (cold[b] - cold[a]) / (b - a)
    fixed = cold[a] - per * a
    out = [f"\nCold render = {fixed:.2f} s fixed (start-up, worker pool) + {per * 1000:.2f} ms per tenant "
           f"(fitted on N={a} and N={b})."]
    for n in sizes[2:]:
        predicted = fixed + per * n
        out.append(f"At N={n} that predicts {predicted:.2f} s; measured {cold[n]:.2f} s "
                   f"({100 * (cold[n] / predicted - 1):+.0f}%).")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="fleet sizes (default: 100 1000)")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported (default: 3)")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                   help="what to measure (default: all; the cold render always runs, the others start from it; "
                        "`gate` alone renders 100 tenants and gives the others copies of their output folders, "
                        "which the gate never reads)")
    p.add_argument("--gate-sizes", type=int, nargs="*", default=[10000],
                   help="fleet sizes measured for the PR gate alone, as `--steps gate` does, unless --sizes "
                        "measures the gate there already (default: 10000)")
    p.add_argument("--tmpdir", help="where the temporary fleets are written (default: the system's temporary folder)")
    args = p.parse_args(argv)
    global BYTECODE
    bytecode = tempfile.TemporaryDirectory(prefix="dataplane-bench-bytecode-")
    BYTECODE = Path(bytecode.name)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    figures = {n: measure(n, args.repeat, args.tmpdir, tuple(args.steps)) for n in args.sizes}
    for n in args.gate_sizes:
        if "gate" not in args.steps or n not in figures:
            figures[n] = {**figures.get(n, {}), **measure(n, args.repeat, args.tmpdir, ("gate",))}
    figures = dict(sorted(figures.items()))
    bytecode.cleanup()
    after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    where = Path(args.tmpdir or tempfile.gettempdir())
    mounts = [p for p in psutil.disk_partitions(all=True) if str(where.resolve()).startswith(p.mountpoint)]
    fs = max(mounts, key=lambda p: len(p.mountpoint)).fstype if mounts else "?"
    tmpdir = f" --tmpdir {args.tmpdir}" if args.tmpdir else ""
    steps = f" --steps {' '.join(args.steps)}" if list(args.steps) != list(STEPS) else ""
    steps += f" --gate-sizes {' '.join(map(str, args.gate_sizes))}"
    print(f"Command: `python -m bench --sizes {' '.join(map(str, args.sizes))} --repeat {args.repeat}{steps}{tmpdir}` "
          f"started {started} on {cores} cores, Python {sys.version.split()[0]}, fleets in {where} ({fs}), "
          f"load average {load:.2f} at start and {after:.2f} at the end (other processes share these cores).\n")
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
