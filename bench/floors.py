"""The floors a cold render is compared with: libyaml's dumper alone, and libyaml's dumper
writing the same files, in one process.

Both read the render's own output back (untimed) one tenant at a time, so they dump exactly
the final objects the engine wrote and memory stays small at 10,000 tenants; only the
dumping (and, for the write-inclusive floor, the file creation) is timed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

OPTIONS: dict[str, Any] = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 4096, "explicit_start": True}
OUTPUT_DIRS = ("rendered", "argocd", "control-plane")


def _batches(root: Path) -> Iterator[list[tuple[str, Any]]]:
    """(repo-relative path, object) of every output file, one output folder at a time."""
    for top in OUTPUT_DIRS:
        for folder, _, names in os.walk(root / top):
            batch = []
            for name in sorted(names):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    batch.append((os.path.relpath(path, root), yaml.load(f.read(), Loader=yaml.CSafeLoader)))
            if batch:
                yield batch


def floor_seconds(root: Path, dest: Path) -> tuple[float, float]:
    """(serialization floor, write-inclusive floor) in one pass over the output: CSafeDumper
    over every output object with nothing written, then CSafeDumper writing every output
    file anew under `dest` (same paths), one process."""
    shutil.rmtree(dest, ignore_errors=True)
    dumping = writing = 0.0
    made: set[str] = set()
    for batch in _batches(root):
        started = time.perf_counter()
        for _, obj in batch:
            yaml.dump(obj, Dumper=yaml.CSafeDumper, **OPTIONS)
        dumping += time.perf_counter() - started
        started = time.perf_counter()
        for rel, obj in batch:
            folder = os.path.dirname(rel)
            if folder not in made:
                os.makedirs(dest / folder, exist_ok=True)
                made.add(folder)
            with open(dest / rel, "w", encoding="utf-8") as f:
                yaml.dump(obj, f, Dumper=yaml.CSafeDumper, **OPTIONS)
        writing += time.perf_counter() - started
    shutil.rmtree(dest, ignore_errors=True)
    return dumping, writing
