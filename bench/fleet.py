"""A generated fleet of valid, varied tenants (for benchmarks and fleet-wide checks).

Minimal version: copies registry/ and base/ into `root` and writes `n` tenants that
differ in cloud, region, database mode, disabled extractors, overrides, worker-group
sizes and GPU use. Deterministic for a given `seed`.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PLACES = {"gcp": ["us-central1", "europe-west4", "asia-southeast1"], "aws": ["us-east-1", "eu-west-1", "ap-south-1"]}
# Extractor names every fleet tenant may disable or tune (all in registry/extractors.yaml).
TUNABLE = ["text_extractor", "image_extractor", "face_identity_extractor", "audio_fingerprint_extractor",
           "document_graph_extractor", "web_scraper", "gemini_multifile_extractor", "passthrough_extractor"]
GPU = ["image_extractor", "face_identity_extractor"]


def generate_fleet(root: Path, n: int, seed: int = 0) -> list[str]:
    """Write a repository with `n` tenants under `root`; return their names, sorted."""
    for folder in ("registry", "base"):
        shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True)
    rng = random.Random(seed)
    names = [f"fleet-{i:03d}" for i in range(n)]
    for i, name in enumerate(names):
        _write(root / "tenants" / name, name, i, rng)
    return names


def _write(folder: Path, name: str, i: int, rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cloud = "gcp" if i % 2 == 0 else "aws"
    region = rng.choice(PLACES[cloud])
    tenant = {
        "name": name, "display_name": f"Fleet tenant {i}", "organization_id": f"org_fleet{i:04d}",
        "cloud": cloud, "region": region,
        "cluster": f"dp-{'gke' if cloud == 'gcp' else 'eks'}-{region}",
        "cloud_account": "dp-tenants-fleet" if cloud == "gcp" else f"{100000000000 + i}",
        "operator_group": f"{name}-operators",
        "database": {"mode": rng.choice(["dedicated_instance", "shared_instance"])},
        "vector_store": {"endpoint": f"https://qdrant.{region}.dataplane.internal:6333"},
    }
    _dump(folder / "tenant.yaml", tenant)
    _dump(folder / "overrides.yaml", _overrides(i, rng))
    _dump(folder / "release.yaml", {"platform_version": "2026.11.3", "image": "ghcr.io/dataplane-platform/engine:2026.11.3"})


def _overrides(i: int, rng: random.Random) -> dict[str, object]:
    disabled = sorted(rng.sample(TUNABLE, rng.randint(0, 3)))
    out: dict[str, object] = {"auto_deploy": rng.random() < 0.5}
    if disabled:
        out["disabled"] = disabled
    overrides: dict[str, dict[str, object]] = {}
    for extractor in rng.sample([t for t in TUNABLE if t not in disabled], 2):
        low = rng.randint(0, 2)
        overrides[extractor] = {"min_replicas": low, "max_replicas": low + rng.randint(1, 4)}
    if i % 3 == 0:
        overrides["scrolling_text_extractor"] = {"enabled": True, "max_replicas": 3}
    out["overrides"] = overrides
    if i % 4 == 0 and not set(GPU) <= set(disabled):
        out["cluster"] = {"gpu-workers": {"min_replicas": 1, "max_replicas": 3, "replicas": 1}}
    if i % 5 == 0:
        out["env"] = {"LOG_LEVEL": rng.choice(["DEBUG", "WARNING"])}
    return out


def _dump(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
