"""bench/ (the benchmark the README's fleet-scale figures come from) runs end to end on a
small fleet: every step is measured and reported. No figure is asserted: timings belong
in the benchmark, not in tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

STEPS = ("serialization floor", "write-inclusive floor", "cold render", "no-op re-render", "one tenant changed",
         "`render --check`, unchanged", "`render --check --no-cache`", "PR gate", "peak RSS")


def test_the_benchmark_measures_every_step(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--sizes", "3", "--repeat", "1", "--tmpdir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 3 |")]
    assert [step for step in STEPS if not any(step in row for row in rows)] == []
    assert all("Traceback" not in stream for stream in (done.stdout, done.stderr))
