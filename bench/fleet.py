"""Write a realistic, valid fleet of N tenants into a copy of this repository's inputs.

Deterministic for a given seed. Tenants vary the way real ones do: both clouds, several
regions, dedicated and shared databases, disabled lists by name and by id, per-extractor
overrides, worker-group sizes, GPU pools on or off, auto_deploy on or off, pinned older
releases and fork images. Every tenant is valid input for `dataplane render`.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import yaml

from render.workflows.release import release_text

REPO = Path(__file__).resolve().parents[1]
INPUT_DIRS = ("registry", "base")
WORDS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
         "soylent", "vandelay", "massive", "pied", "aperture", "oscorp", "nakatomi", "gringotts", "monarch", "dunder")
OLD_RELEASES = ("2026.10.2", "2026.9.1")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING")
GCP_TENANTS_PER_PROJECT = 20
GCP_POOLS = ("prod", "eu", "apac")
GROUPS = ("cpu-workers", "batch-workers", "gpu-workers")


def generate_fleet(root: Path, n: int, seed: int = 0) -> list[str]:
    """Copy registry/ and base/ into `root` and write `n` tenants; return their sorted names."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in INPUT_DIRS:
        shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True)
    platform = yaml.safe_load((root / "registry/platform.yaml").read_text(encoding="utf-8"))
    extractors = yaml.safe_load((root / "registry/extractors.yaml").read_text(encoding="utf-8"))["extractors"]
    recorded = yaml.safe_load((root / "registry/releases.yaml").read_text(encoding="utf-8"))["releases"]
    digests = {r["version"]: r["digest"] for r in recorded}
    rng = random.Random(seed)
    names = []
    for i in range(n):
        name = f"{WORDS[i % len(WORDS)]}-{i:05d}"
        files = tenant_files(rng, name, i, platform, extractors, digests)
        folder = root / "tenants" / name
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in files.items():
            (folder / file).write_text(text, encoding="utf-8")
        names.append(name)
    _project_numbers(root, n)
    _room_for_minimums(root, names)
    _canaries(root, sorted(names)[:1])
    return sorted(names)


def _project_numbers(root: Path, n: int) -> None:
    """Give every GCP project the fleet's tenants live in a project number: validate refuses
    a project registry/platform.yaml does not number."""
    path = root / "registry/platform.yaml"
    anchor = "  gcp_project_numbers:\n"
    blocks = range((n + GCP_TENANTS_PER_PROJECT - 1) // GCP_TENANTS_PER_PROJECT)
    numbers = "".join(f'    dp-tenants-{pool}-{k:04d}: "{7 * 10**11 + len(GCP_POOLS) * k + i}"\n'
                      for k in blocks for i, pool in enumerate(GCP_POOLS))
    text = path.read_text(encoding="utf-8")
    if anchor not in text:
        raise ValueError(f"{path}: no {anchor.strip()} to add the fleet's GCP projects to")
    path.write_text(text.replace(anchor, anchor + numbers, 1), encoding="utf-8")


def _room_for_minimums(root: Path, names: list[str]) -> None:
    """Raise a worker group's max_replicas where the drawn minimums would not fit it:
    validate refuses a minimum that can never be placed, and every tenant here is valid."""
    from render import placement  # the engine, only once the inputs exist
    from render.load import load_repo
    from render.pipeline import effective

    repo = load_repo(root, names)
    for name in names:
        values = effective(repo.tenants[name], repo.current).values
        short = {g.group: placement.pods_for_minimums(values, g.group)
                 for g in placement.place(values).groups if not g.min_fits}
        if short:
            path = root / "tenants" / name / "overrides.yaml"
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for group, pods in short.items():
                data.setdefault("cluster", {}).setdefault(group, {})["max_replicas"] = pods
            path.write_text(_text("overrides", data), encoding="utf-8")


def _canaries(root: Path, names: list[str]) -> None:
    """The rollout plan names example tenants as canaries: name this fleet's instead."""
    path = root / "registry/rollout.yaml"
    if path.is_file():
        plan = yaml.safe_load(path.read_text(encoding="utf-8"))
        plan.setdefault("canary", {})["tenants"] = names
        path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")


def tenant_files(rng: random.Random, name: str, index: int, platform: dict[str, Any],
                 extractors: dict[str, Any], digests: dict[str, str]) -> dict[str, str]:
    """The three input files of one tenant, as YAML text."""
    cloud = "gcp" if rng.random() < 0.6 else "aws"
    # A cluster the platform declares (its issuer and address ranges), in its region.
    cluster = rng.choice(sorted(c for c, v in platform["clusters"].items() if v["cloud"] == cloud))
    region = cluster.split("-", 2)[2]
    tenant = {
        "name": name,
        "display_name": name.replace("-", " ").title(),
        "organization_id": f"org_{index:06d}{rng.getrandbits(32):08x}",
        "cloud": cloud,
        "region": region,
        "cluster": cluster,
        # At most 20 tenants per GCP project: each GCP tenant adds 4 service accounts, 100 per project.
        "cloud_account": f"dp-tenants-{rng.choice(GCP_POOLS)}-{index // GCP_TENANTS_PER_PROJECT:04d}" if cloud == "gcp"
        else str(rng.randrange(10**11, 10**12)),
        "operator_group": f"{name}-operators",
        "database": {"mode": rng.choice(("dedicated_instance", "dedicated_instance", "shared_instance"))},
        "vector_store": {"endpoint": f"https://qdrant.{region}.dataplane.internal:6333"},
        # Sold ceilings roomy enough for any overrides below (validate refuses what exceeds them).
        "contract": {"vcpu": 2000, "memory": "8Ti", "gpus": 64, "pods": 400},
    }
    return {
        "tenant.yaml": _text("tenant", tenant),
        "overrides.yaml": _text("overrides", overrides(rng, extractors)),
        # As the release workflows write it (quoted: a fork sha such as 327e734 is no number).
        "release.yaml": release_text(release(rng, name, platform, digests)),
    }


def overrides(rng: random.Random, extractors: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rng.random() < 0.8:
        out["auto_deploy"] = rng.random() < 0.7
    uses_gpu = rng.random() < 0.4
    ids = sorted(extractors)
    # GPU-less tenants turn their GPU extractors off; others drop a few at random.
    disabled = {e for e in ids if extractors[e]["worker_group"] == "gpu-workers"} if not uses_gpu else set()
    disabled |= set(rng.sample(ids, rng.randrange(0, 4)))
    if disabled:
        # Name a disabled extractor by its bare name half the time (every version).
        # (in sorted order: a set's order changes with the interpreter's hash seed, and so would the fleet)
        out["disabled"] = sorted({extractors[e]["name"] if rng.random() < 0.5 else e for e in sorted(disabled)})
    blocked = set(out.get("disabled", []))
    candidates = [e for e in ids if e not in disabled and extractors[e]["name"] not in blocked]
    tuned = {}
    names: set[str] = set()  # one override per extractor name: a bare name covers every version of it
    for ext in rng.sample(candidates, min(len(candidates), rng.randrange(0, 5))):
        if extractors[ext]["name"] in names:
            continue
        names.add(extractors[ext]["name"])
        tuned[extractors[ext]["name"] if rng.random() < 0.3 else ext] = extractor_override(rng, extractors[ext])
    if tuned:
        out["overrides"] = dict(sorted(tuned.items()))
    cluster = {g: group_size(rng, g) for g in GROUPS if rng.random() < 0.5 or (g == "gpu-workers" and uses_gpu)}
    if cluster:
        out["cluster"] = cluster
    if rng.random() < 0.3:
        out["head"] = {"cpu": rng.choice(("2", "4", "3500m")), "memory": rng.choice(("8Gi", "16Gi", "12Gi"))}
    if rng.random() < 0.5:
        out["env"] = {"LOG_LEVEL": rng.choice(LOG_LEVELS), "FEATURE_FLAGS": rng.choice(("", "fast-ingest", "beta,v2"))}
    if rng.random() < 0.3:
        out["spec"] = {"readiness_failure_threshold": rng.randrange(5, 30),
                       "serve_unhealthy_after_s": rng.choice((600, 900, 1800))}
    return out


def extractor_override(rng: random.Random, entry: dict[str, Any]) -> dict[str, Any]:
    low = rng.randrange(0, 3)
    out: dict[str, Any] = {"min_replicas": low, "max_replicas": low + rng.randrange(1, 8)}
    if not entry.get("enabled_by_default", True):
        out["enabled"] = True
    if rng.random() < 0.5:
        target = rng.choice((2, 4, 6, 8, 2.5))
        # On Celery the target is a whole queue length per worker.
        out["target_ongoing_requests"] = int(target) if entry.get("runtime") == "celery" else target
    if rng.random() < 0.3:
        out["downscale_delay_s"] = rng.choice((300, 900, 1200))
    if rng.random() < 0.3:
        out["num_cpus"] = rng.choice((1, 2, 4, 0.5))
        out["memory"] = rng.choice(("2Gi", "4Gi", "6Gi", "8192Mi"))
    if rng.random() < 0.2:
        out["max_ongoing_requests"] = rng.randrange(2, 32)
    # A replica never holds more than max_ongoing_requests: keep the target reachable.
    target = out.get("target_ongoing_requests", entry.get("target_ongoing_requests", 0))
    if target > out.get("max_ongoing_requests", entry.get("max_ongoing_requests", 0)):
        out["max_ongoing_requests"] = int(target) * 2
    return out


def group_size(rng: random.Random, group: str) -> dict[str, Any]:
    low = rng.randrange(1 if group == "gpu-workers" else 0, 3)
    high = low + rng.randrange(1, 6)
    out: dict[str, Any] = {"min_replicas": low, "max_replicas": high, "replicas": rng.randrange(low, high + 1)}
    if rng.random() < 0.3:  # sizes that fit the group's machine (registry/platform.yaml `nodes`)
        out["memory"] = rng.choice(("48Gi", "52Gi", "54Gi") if group == "batch-workers" else ("20Gi", "24Gi", "26Gi"))
    return out


def release(rng: random.Random, name: str, platform: dict[str, Any], digests: dict[str, str]) -> dict[str, Any]:
    """A platform release recorded in registry/releases.yaml, or a recorded fork build."""
    repository = platform["engine"]["repository"]
    roll = rng.random()
    if roll < 0.1:  # a fork deploy: the tenant's own package, tag tenant-<name>-<sha>, recorded
        sha, digest = f"{rng.getrandbits(28):07x}", f"sha256:{rng.getrandbits(256):064x}"
        return {"platform_version": platform["platform_version"],
                "image": f"{repository}-tenant-{name}:tenant-{name}-{sha}@{digest}",
                "fork_builds": [{"sha": sha, "digest": digest}]}
    version = platform["platform_version"] if roll < 0.8 else rng.choice(OLD_RELEASES)
    return {"platform_version": version, "image": f"{repository}:{version}@{digests[version]}"}


def _text(kind: str, data: dict[str, Any]) -> str:
    head = f"# yaml-language-server: $schema=../../render/schemas/{kind}.schema.json\n"
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
