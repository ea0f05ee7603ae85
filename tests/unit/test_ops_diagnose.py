"""Diagnosis on realistic objects: every troubleshooting case of the spec, and the
overrides.yaml snippets are valid YAML that fits the tenant's overrides schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import yaml

from render.ops.diagnose import diagnose, format_finding
from render.ops.diagnose_pods import unschedulable_reasons
from render.ops.findings import Finding, more_memory
from render.ops.snapshot import Snapshot
from tests.ops_objects import CLUSTER, NS, event, healthy_pods, oom_status, pod, ray_cluster, ray_service
from tests.support import ROOT

NOW = datetime(2026, 11, 27, 9, 12, 30, tzinfo=UTC)


def snapshot(pods=None, events=(), service=None, cluster=None) -> Snapshot:
    return Snapshot(NS, list(healthy_pods() if pods is None else pods), list(events),
                    ray_service() if service is None else service, [cluster or ray_cluster()])


def only(findings: list[Finding], text: str) -> Finding:
    matches = [f for f in findings if text in f.problem]
    assert len(matches) == 1, [f.problem for f in findings]
    return matches[0]


def assert_valid_overrides(snippet: str) -> None:
    schema = json.loads((ROOT / "render/schemas/overrides.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(snippet), schema)


def test_a_healthy_tenant_has_only_informational_findings():
    findings = diagnose(snapshot(pods=healthy_pods()), "acme", NOW)
    assert {f.severity for f in findings} == {"info"}
    assert {f.problem for f in findings} == {"scale to zero when idle", "no batch workers running"}


def test_scheduler_messages_are_parsed():
    msg = ("0/5 nodes are available: 3 Insufficient cpu, 2 Insufficient nvidia.com/gpu. preemption: 0/5 nodes are "
           "available: 5 No preemption victims found for incoming pod.")
    assert unschedulable_reasons(msg) == {"cpu": 3, "nvidia.com/gpu": 2}
    assert unschedulable_reasons("0/3 nodes are available: 3 node(s) had untolerated taint {x: y}.") == {}


def test_pending_gpu_pod_says_gpu_unavailable():
    name = f"{CLUSTER}-gpu-workers-worker-x2k9f"
    pods = healthy_pods() + [pod(name, "gpu-workers", "Pending", scheduled=False)]
    events = [event(name, "FailedScheduling", "0/5 nodes are available: 3 Insufficient cpu, 2 Insufficient "
                    "nvidia.com/gpu. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod.")]
    f = only(diagnose(snapshot(pods, events, cluster=ray_cluster({"gpu-workers": 1})), "acme", NOW), "GPU unavailable")
    assert f.severity == "warning" and f.subject == f"pod {name} (gpu-workers)"
    assert f.details[0] == "pending for 12m30s"
    assert "exhausted in the region" in f.fix


def test_pending_pod_with_scale_up_triggered_says_a_node_is_coming():
    name = f"{CLUSTER}-batch-workers-worker-p9n7c"
    pods = healthy_pods() + [pod(name, "batch-workers", "Pending", scheduled=False)]
    events = [event(name, "FailedScheduling", "0/5 nodes are available: 5 Insufficient cpu, 2 Insufficient memory."),
              event(name, "TriggeredScaleUp", "pod triggered scale-up: [{https://www.googleapis.com/compute/v1/projects/"
                    "dp-tenants-prod/zones/us-central1-a/instanceGroups/gke-batch-pool-grp 0->1 (max: 3)}]",
                    component="cluster-autoscaler", etype="Normal", at="2026-11-27T09:01:30Z")]
    f = only(diagnose(snapshot(pods, events, cluster=ray_cluster({"batch-workers": 1})), "acme", NOW),
             "Insufficient resources")
    assert f.severity == "info" and "2-3 minutes" in f.fix
    assert f.problem == "Insufficient resources: cpu on 5 node(s), memory on 2 node(s)"


def test_node_pool_at_max_suggests_lower_max_replicas_elsewhere():
    name = f"{CLUSTER}-cpu-workers-worker-z8r3v"
    pods = healthy_pods() + [pod(name, "cpu-workers", "Pending", scheduled=False)]
    events = [event(name, "FailedScheduling", "0/4 nodes are available: 4 Insufficient cpu."),
              event(name, "NotTriggerScaleUp", "pod didn't trigger scale-up: 1 max node group size reached",
                    component="cluster-autoscaler", etype="Normal")]
    f = only(diagnose(snapshot(pods, events), "acme", NOW), "Resource limits")
    assert yaml.safe_load(f.overrides) == {"cluster": {"batch-workers": {"max_replicas": 2},
                                                       "gpu-workers": {"max_replicas": 1}}}
    assert_valid_overrides(f.overrides)


def test_scheduled_pods_that_are_starting_are_not_reported_as_pending():
    pods = healthy_pods() + [pod(f"{CLUSTER}-cpu-workers-worker-a1b2c", "cpu-workers", "Pending", scheduled=True)]
    assert not [f for f in diagnose(snapshot(pods), "acme", NOW) if "pod" in f.subject and "Pending" in f.problem]


def test_oomkilled_worker_gets_a_memory_override_for_its_group():
    name = f"{CLUSTER}-cpu-workers-worker-d5m4t"
    pods = [p for p in healthy_pods() if p["metadata"]["name"] != name]
    pods.append(pod(name, "cpu-workers", statuses=[oom_status()]))
    f = only(diagnose(snapshot(pods), "acme", NOW), "OOMKilled")
    assert f.severity == "error"
    assert yaml.safe_load(f.overrides) == {"cluster": {"cpu-workers": {"memory": "42Gi"}}}
    assert "restarts 3" in f.details[0] and f.details[1] == "memory limit 28Gi"
    assert_valid_overrides(f.overrides)


def test_oomkilled_head_and_platform_sized_pods():
    pods = [pod(f"{CLUSTER}-head-8xq2m", "head", memory="8Gi", statuses=[oom_status("ray-head")]),
            pod("redis-0", "redis", memory="2Gi", statuses=[oom_status("worker")])]
    findings = [f for f in diagnose(snapshot(pods), "acme", NOW) if "OOMKilled" in f.problem]
    head, redis = sorted(findings, key=lambda f: "redis" in f.subject)
    assert yaml.safe_load(head.overrides) == {"head": {"memory": "12Gi"}}
    assert_valid_overrides(head.overrides)
    assert redis.overrides == "" and "platform team" in redis.fix


def test_crash_looping_container_points_at_its_previous_logs():
    status = {"name": "worker", "restartCount": 7, "ready": False,
              "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
              "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    pods = healthy_pods() + [pod("celery-worker-7d9c8b6f5-m3n4b", "celery-worker", statuses=[status])]
    f = only(diagnose(snapshot(pods), "acme", NOW), "CrashLoopBackOff")
    assert f.command == f"kubectl -n {NS} logs celery-worker-7d9c8b6f5-m3n4b -c worker --previous"


def test_failing_extractor_is_an_error_with_the_serve_message():
    apps = {"image_extractor_v1": {"status": "DEPLOY_FAILED", "message": "Deploying app 'image_extractor_v1' failed",
                                   "serveDeploymentStatuses": {"image_extractor_v1": {
                                       "status": "DEPLOY_FAILED",
                                       "message": "The deployment failed to start 3 times in a row. ImportError: ..."}}}}
    f = only(diagnose(snapshot(service=ray_service(apps)), "acme", NOW), "DEPLOY_FAILED")
    assert f.subject == "extractor image_extractor_v1" and "ImportError" in f.details[0]
    assert f.command == "dataplane ray-dashboard acme"


def test_extractor_replicas_out_of_memory_get_more_memory():
    apps = {"text_extractor_v1": {"status": "UNHEALTHY", "serveDeploymentStatuses": {"text_extractor_v1": {
        "status": "UNHEALTHY", "message": "Replica died: Task was killed due to the node running low on memory."}}}}
    f = only(diagnose(snapshot(service=ray_service(apps)), "acme", NOW), "out of memory")
    assert yaml.safe_load(f.overrides) == {"overrides": {"text_extractor_v1": {"memory": "6Gi"}}}
    assert_valid_overrides(f.overrides)


def test_saturated_extractor_on_a_full_group_raises_the_group_max():
    message = ("Deployment 'image_extractor_v1' in application 'image_extractor_v1' has 2 replicas that have taken "
               "more than 30s to be scheduled. This may be due to waiting for the cluster to auto-scale.")
    apps = {"image_extractor_v1": {"status": "RUNNING", "serveDeploymentStatuses": {
        "image_extractor_v1": {"status": "UPSCALING", "message": message}}}}
    gpu = [pod(f"{CLUSTER}-gpu-workers-worker-{i}", "gpu-workers") for i in ("a1", "b2")]
    f = only(diagnose(snapshot(healthy_pods() + gpu, service=ray_service(apps),
                               cluster=ray_cluster({"gpu-workers": 2})), "acme", NOW), "saturated")
    assert f.severity == "warning" and f.problem == "saturated: gpu-workers is at its max_replicas (2)"
    assert yaml.safe_load(f.overrides) == {"cluster": {"gpu-workers": {"max_replicas": 3}}}
    assert_valid_overrides(f.overrides)


def test_upscaling_with_room_left_is_informational():
    apps = {"image_extractor_v1": {"status": "RUNNING", "serveDeploymentStatuses": {
        "image_extractor_v1": {"status": "UPSCALING", "message": "Upscaling from 0 to 1 replicas."}}}}
    f = only(diagnose(snapshot(service=ray_service(apps)), "acme", NOW), "scaling up")
    assert f.severity == "info" and f.overrides == ""


def test_scale_to_zero_extractors_get_a_min_replicas_snippet():
    f = only(diagnose(snapshot(), "acme", NOW), "scale to zero")
    assert f.subject == "extractors image_extractor_v1"
    assert yaml.safe_load(f.overrides) == {"overrides": {"image_extractor_v1": {"min_replicas": 1}}}
    assert_valid_overrides(f.overrides)


def test_no_batch_workers_suggests_dataplane_scale():
    f = only(diagnose(snapshot(), "acme", NOW), "no batch workers")
    assert f.command == "dataplane scale acme batch-workers --replicas 1"
    assert_valid_overrides(f.overrides)
    running = healthy_pods() + [pod(f"{CLUSTER}-batch-workers-worker-q1", "batch-workers")]
    assert not [f for f in diagnose(snapshot(running), "acme", NOW) if "batch" in f.problem]


def test_missing_or_unready_ray_service():
    missing = Snapshot(NS, healthy_pods(), [], None, [])
    assert diagnose(missing, "acme", NOW)[0].problem == "not found in the namespace"
    f = only(diagnose(snapshot(service=ray_service(ready=False, pending="engine-q4w8z")), "acme", NOW), "not ready")
    assert f.severity == "error" and "ZeroServeEndpoints" in f.details[0]
    assert only(diagnose(snapshot(service=ray_service(pending="engine-q4w8z")), "acme", NOW), "upgrade in progress")


def test_findings_are_sorted_errors_first_and_formatted_for_pasting():
    pods = healthy_pods() + [pod(f"{CLUSTER}-cpu-workers-worker-zz", "cpu-workers", statuses=[oom_status()])]
    findings = diagnose(snapshot(pods), "acme", NOW)
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), key=("error", "warning", "info").index)
    text = format_finding(findings[0], "tenants/acme/overrides.yaml")
    assert text[0].startswith("[error] pod ")
    block = text[text.index("  in tenants/acme/overrides.yaml:") + 1:]
    assert yaml.safe_load("\n".join(line[4:] for line in block)) == {"cluster": {"cpu-workers": {"memory": "42Gi"}}}


def test_more_memory_rounds_up_to_whole_gib():
    assert more_memory("28Gi") == "42Gi"
    assert more_memory("512Mi") == "1Gi"
    assert more_memory(4294967296) == "6Gi"
    assert more_memory("7Gi") == "11Gi"


def test_a_suggested_memory_increase_never_exceeds_a_node():
    from render import capacity
    from render.commands.doctor import node_memory

    root = ROOT
    held = node_memory(root, "acme")  # acme runs on GKE: n2-standard-8 for cpu-workers
    node = capacity.group_node(yaml.safe_load((root / "registry/platform.yaml").read_text()), "gcp", "cpu-workers")
    assert node is not None and held["cpu-workers"] == node.memory
    assert more_memory("20Gi", held["cpu-workers"]) == "26Gi"  # 30Gi wanted, 26.4Gi allocatable
    name = f"{CLUSTER}-cpu-workers-worker-7kq2p"
    at_cap = [pod(name, "cpu-workers", memory="26Gi", statuses=[oom_status()])]
    f = only(diagnose(snapshot(at_cap), "acme", NOW, node_memory=held), "OOMKilled")
    assert not f.overrides and "larger machine type" in f.fix
    below = [pod(name, "cpu-workers", memory="16Gi", statuses=[oom_status()])]
    f = only(diagnose(snapshot(below), "acme", NOW, node_memory=held), "OOMKilled")
    assert yaml.safe_load(f.overrides) == {"cluster": {"cpu-workers": {"memory": "24Gi"}}}
