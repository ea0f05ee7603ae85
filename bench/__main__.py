"""`python -m bench`: render synthetic fleets and compare every figure to the serialization floor.

For each fleet size N it writes N tenants into a temporary copy of the repository and runs
the real command line (`python -m render`) in a child process, as a user or CI would:

- cold: first render, empty cache and empty rendered/;
- no-op: the same render again;
- one tenant changed: one tenant's overrides.yaml edited, then render;
- check: `render --check` on the unchanged fleet (cache warm, as on a developer's machine);
- check, no cache: `render --check --no-cache` (a fresh CI clone: everything validated and rendered).

Peak memory is the largest sum of RSS over the render process and its workers, sampled
every 10 ms. The floor is the time PyYAML's C dumper (CSafeDumper) takes to dump the same
final objects, in one process. Each timing is the best of --repeat runs: the machine may
be shared, and the minimum is the least disturbed run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from bench.fleet import REPO, generate_fleet

FLOOR_OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 4096, "explicit_start": True}
MIB = 1024 * 1024


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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "render", "--repo", str(root), "render", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0]
    watcher = threading.Thread(target=_watch, args=(proc.pid, peak), daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = out.decode()
    if proc.returncode != 0:
        raise SystemExit(f"render {' '.join(args)} failed ({proc.returncode}):\n{text}")
    return Run(seconds, cpu, max(peak[0], after.ru_maxrss * 1024), text.strip().splitlines()[-1])


def _watch(pid: int, peak: list[int]) -> None:
    try:
        parent = psutil.Process(pid)
        while parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for p in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.01)
    except psutil.Error:
        return


def floor_seconds(root: Path) -> float:
    """CSafeDumper over the final objects of every tenant (and every fleet-wide output)."""
    from render import pipeline, templates
    from render.load import load_repo

    repo = load_repo(root)
    shared = repo.current
    env = templates.environment(shared.templates)
    outputs = [pipeline.render_tenant(repo.tenants[name], shared, env) for name in sorted(repo.tenants)]
    outputs += [builder(repo) for builder in pipeline.FLEET_BUILDERS]
    objects = [yaml.load(data, Loader=yaml.CSafeLoader)
               for scopes in outputs for files in scopes.values() for data in files.values()]
    started = time.perf_counter()
    for obj in objects:
        yaml.dump(obj, Dumper=yaml.CSafeDumper, **FLOOR_OPTIONS)
    return time.perf_counter() - started


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


def measure(n: int, repeat: int, where: str | None) -> dict[str, Run | float]:
    with tempfile.TemporaryDirectory(prefix=f"dataplane-bench-{n}-", dir=where) as tmp:
        root = Path(tmp)
        names = generate_fleet(root, n)
        results: dict[str, list[Run]] = {k: [] for k in ("cold", "noop", "one", "check", "check_nocache")}
        for i in range(repeat):
            reset(root)
            results["cold"].append(run_render(root))
            results["noop"].append(run_render(root))
            touch_one_tenant(root, names[len(names) // 2], i)
            results["one"].append(run_render(root))
            results["check"].append(run_render(root, "--check"))
            results["check_nocache"].append(run_render(root, "--check", "--no-cache"))
        floor = min(floor_seconds(root) for _ in range(repeat))
    best: dict[str, Run | float] = {k: min(v, key=lambda r: r.seconds) for k, v in results.items()}
    best["peak_rss"] = max(r.peak_rss for v in results.values() for r in v)
    best["floor"] = floor
    return best


ROWS = (  # key, label, target (as a fraction of cold, or of the floor for cold)
    ("cold", "cold render", "<= 1.5x floor"),
    ("noop", "no-op re-render", "<= 10% of cold"),
    ("one", "one tenant changed", "<= 5% of cold"),
    ("check", "`render --check`, unchanged", "<= 10% of cold"),
    ("check_nocache", "`render --check --no-cache` (fresh CI clone)", "-"),
)
TARGET_N = 1000  # the targets are set for a fleet of 1,000 tenants
LIMITS = {"cold": ("floor", 1.5), "noop": ("cold", 0.10), "one": ("cold", 0.05), "check": ("cold", 0.10)}


def table(figures: dict[int, dict[str, Run | float]]) -> list[str]:
    lines = ["| N | step | seconds | CPU s | x floor | % of cold | target | met |",
             "|---:|---|---:|---:|---:|---:|---|---|"]
    for n, f in figures.items():
        floor, cold = float(f["floor"]), f["cold"].seconds  # type: ignore[union-attr]
        lines.append(f"| {n} | serialization floor (CSafeDumper) | {floor:.2f} | | 1.00 | | | |")
        for key, label, target in ROWS:
            run = f[key]
            assert isinstance(run, Run)
            met = ""
            if key in LIMITS and n == TARGET_N:
                base, limit = LIMITS[key]
                met = "yes" if run.seconds <= limit * (floor if base == "floor" else cold) else "NO"
            lines.append(f"| {n} | {label} | {run.seconds:.2f} | {run.cpu:.2f} | {run.seconds / floor:.2f} | "
                         f"{100 * run.seconds / cold:.1f}% | {target if n == TARGET_N else ''} | {met} |")
        rss = int(f["peak_rss"])
        met = ("yes" if rss <= 1024 * MIB else "NO") if n == TARGET_N else ""
        lines.append(f"| {n} | peak RSS (all processes) | {rss / MIB:.0f} MiB | | | | "
                     f"{'<= 1024 MiB' if n == TARGET_N else ''} | {met} |")
    return lines + linearity(figures)


def linearity(figures: dict[int, dict[str, Run | float]]) -> list[str]:
    """Cold render time as fixed cost + cost per tenant, fitted on the two smallest sizes."""
    sizes = sorted(figures)
    if len(sizes) < 2:
        return []
    cold = {n: figures[n]["cold"].seconds for n in sizes}  # type: ignore[union-attr]
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
    p.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported (default: 3)")
    p.add_argument("--tmpdir", help="where the temporary fleets are written (default: the system's temporary folder)")
    args = p.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figures = {n: measure(n, args.repeat, args.tmpdir) for n in args.sizes}
    where = Path(args.tmpdir or tempfile.gettempdir())
    mounts = [p for p in psutil.disk_partitions(all=True) if str(where.resolve()).startswith(p.mountpoint)]
    fs = max(mounts, key=lambda p: len(p.mountpoint)).fstype if mounts else "?"
    tmpdir = f" --tmpdir {args.tmpdir}" if args.tmpdir else ""
    print(f"Command: `python -m bench --sizes {' '.join(map(str, args.sizes))} --repeat {args.repeat}{tmpdir}` on "
          f"{cores} cores, Python {sys.version.split()[0]}, fleets in {where} ({fs}), "
          f"load average {load:.2f} at start (other processes share these cores).\n")
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
