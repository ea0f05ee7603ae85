"""`dataplane status` lines from API-shaped objects, and the renderer's import path
staying free of the cluster client."""

from __future__ import annotations

import subprocess
import sys

from render.ops.snapshot import Snapshot
from render.ops.status import status_data, status_lines
from tests.ops_objects import CLUSTER, NS, healthy_pods, pod, ray_cluster, ray_service
from tests.support import ROOT


def test_status_during_an_upgrade_with_a_pending_gpu_worker():
    pods = healthy_pods() + [pod(f"{CLUSTER}-gpu-workers-worker-x2k9f", "gpu-workers", "Pending", scheduled=False),
                             pod("engine-old12-head-aa", "head")]  # an older cluster's pod: not counted
    pods[-1]["metadata"]["labels"]["ray.io/cluster"] = "engine-old12"
    s = Snapshot(NS, pods, [], ray_service(ready=False, pending="engine-q4w8z"), [ray_cluster({"gpu-workers": 1})])
    lines = status_lines(s)
    assert lines[0] == f"RayService engine: ZeroServeEndpoints; serving cluster {CLUSTER}, 0 Serve endpoints"
    assert lines[1] == "  upgrade in progress: new cluster engine-q4w8z"
    assert lines[2] == f"RayCluster {CLUSTER}: ready; workers 1 ready / 2 desired"
    assert "  head           1 running" in lines
    assert "  gpu-workers    1 pending  (replicas 1, min 0, max 2)" in lines
    assert "  text_extractor_v1   RUNNING       HEALTHY     replicas 1..4" in lines


def test_status_data_is_what_the_lines_say():
    pods = healthy_pods() + [pod(f"{CLUSTER}-gpu-workers-worker-x2k9f", "gpu-workers", "Pending", scheduled=False)]
    data = status_data(Snapshot(NS, pods, [], ray_service(ready=False, pending="engine-q4w8z"), [ray_cluster({"gpu-workers": 1})]))
    assert set(data) == {"namespace", "service", "cluster", "extractors", "other_workloads"}
    assert data["service"] == {"name": "engine", "state": "ZeroServeEndpoints", "serving_cluster": CLUSTER,
                               "serve_endpoints": 0, "pending_cluster": "engine-q4w8z"}
    gpu = next(g for g in data["cluster"]["groups"] if g["group"] == "gpu-workers")
    assert gpu == {"group": "gpu-workers", "pods": {"Pending": 1}, "replicas": 1, "min_replicas": 0, "max_replicas": 2}
    text = next(e for e in data["extractors"] if e["name"] == "text_extractor_v1")
    assert (text["status"], text["min_replicas"], text["max_replicas"]) == ("RUNNING", 1, 4)
    assert status_data(Snapshot(NS, [], [], None, []))["service"] is None


def test_status_without_a_rayservice():
    assert status_lines(Snapshot(NS, [], [], None, []))[0] == f"RayService engine: not found in {NS}"


def test_the_renderer_does_not_import_the_cluster_client():
    code = "import sys, render.cli, render.commands; print(sorted(m for m in ('kubernetes', 'urllib3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
