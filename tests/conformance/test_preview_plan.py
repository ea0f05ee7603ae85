"""The preview's pure parts: the cluster shape read from a rendered RayService, the config
rewrite (checked with Ray Serve's own schema), the capacity check, and the report."""

from __future__ import annotations

import copy
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from render.load import parse_yaml
from render.preview import config as cfg
from render.preview import report
from render.preview import shape as shp
from render.preview.observe import parse_details
from render.problems import ProblemsError
from tests.support import ROOT, need

RAYSERVICE = "rendered/acme/rayservice-engine.yaml"


def acme() -> shp.Shape:
    return shp.read(ROOT, "acme")


def from_obj(obj: dict) -> shp.Shape:
    return shp.parse(parse_yaml(yaml.safe_dump(obj, sort_keys=False), "rendered/t/rayservice-engine.yaml"))


def acme_obj() -> dict:
    return yaml.safe_load((ROOT / RAYSERVICE).read_text())


def test_the_shape_is_read_the_way_kuberay_starts_each_group():
    s = acme()
    rendered = acme_obj()["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    assert [g.name for g in s.groups] == [g["groupName"] for g in rendered]
    cpu = s.groups[0]
    limits = rendered[0]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert cpu.max_pods == rendered[0]["maxReplicas"]
    assert cpu.cpu == Decimal(limits["cpu"]) and cpu.memory == int(Decimal(limits["memory"][:-2]) * 2**30)
    assert cpu.resources == {k: Decimal(v) for k, v in rendered[0]["resources"].items()}
    assert cpu.labels[shp.GROUP_LABEL] == "cpu-workers"
    assert s.head_cpu == 0  # rayStartParams num-cpus "0": nothing is placed on the head
    gpu = next(g for g in s.groups if g.name == "gpu-workers")
    assert gpu.capacity()[shp.GPU_STANDIN] == gpu.gpus * gpu.max_pods > 0


def test_fractional_cpus_are_multiplied_to_whole_numbers_on_nodes_and_replicas_alike():
    obj = acme_obj()
    obj["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1500m"
    obj["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["maxReplicas"] = 1
    s = from_obj(obj)
    factor = shp.cpu_factor(s)
    assert factor == 10
    assert shp.node_resources(s.groups[0], factor)["num_cpus"] == 15
    assert cfg.scale_actor({"num_cpus": 0.5}, factor)["num_cpus"] == 5.0
    assert shp.cpu_factor(acme()) == 1


def test_the_rewrite_changes_only_code_cpus_gpus_delays_and_the_proxy():
    s = acme()
    original = cfg.load(s)
    before = copy.deepcopy(original)
    out = cfg.rewrite(original, ["face_identity_extractor_v1", "text_extractor_v1"], cpu_factor=Decimal(10),
                      time_scale=0.1, delay_s=0.2, port=18000)
    assert original == before  # the rendered config itself is untouched
    assert [a["name"] for a in out["applications"]] == ["face_identity_extractor_v1", "text_extractor_v1"]
    assert out["http_options"]["port"] == 18000 and out["http_options"]["host"] == "127.0.0.1"
    assert out["logging_config"] == before["logging_config"]
    rendered = {a["name"]: a for a in before["applications"]}
    for app in out["applications"]:
        want = rendered[app["name"]]
        assert app["import_path"] == cfg.STANDIN_BUILDER
        assert app["args"] == {"extractor": app["name"], "deployments": [app["name"]], "delay_s": 0.2}
        assert app["route_prefix"] == want["route_prefix"]
        d, w = app["deployments"][0], want["deployments"][0]
        assert d["name"] == w["name"] and d["max_ongoing_requests"] == w["max_ongoing_requests"]
        a, wa = d["autoscaling_config"], w["autoscaling_config"]
        for key in ("min_replicas", "initial_replicas", "max_replicas", "target_ongoing_requests"):
            assert a[key] == wa[key]
        assert a["downscale_delay_s"] == pytest.approx(wa["downscale_delay_s"] * 0.1)
        assert a["upscale_delay_s"] == pytest.approx(wa["upscale_delay_s"] * 0.1)
        assert a["look_back_period_s"] == pytest.approx(cfg.RAY_LOOK_BACK_S * 0.1)
        opts, wo = d["ray_actor_options"], w["ray_actor_options"]
        assert opts["num_cpus"] == pytest.approx(wo["num_cpus"] * 10) and opts["memory"] == wo["memory"]
        assert "num_gpus" not in opts
        for k, v in wo["resources"].items():
            assert opts["resources"][k] == v
        if wo["num_gpus"]:
            assert opts["resources"][shp.GPU_STANDIN] == wo["num_gpus"]


def test_a_runtime_env_is_dropped_so_nothing_is_downloaded():
    s = acme()
    config = cfg.load(s)
    config["applications"][0]["runtime_env"] = {"pip": ["tenant-package"]}
    config["applications"][0]["deployments"][0]["ray_actor_options"]["runtime_env"] = {"pip": ["other"]}
    out = cfg.rewrite(config, [config["applications"][0]["name"]], cpu_factor=Decimal(1), time_scale=1.0,
                      delay_s=0.1, port=18000)
    assert "runtime_env" not in out["applications"][0]
    assert "runtime_env" not in out["applications"][0]["deployments"][0]["ray_actor_options"]


def test_a_tenant_without_rendered_ray_service_is_a_problem(tmp_path):
    with pytest.raises(ProblemsError) as e:
        shp.read(tmp_path, "acme")
    p = e.value.problems[0]
    assert p.file == "rendered/acme/rayservice-*.yaml" and "dataplane render" in p.hint


def test_a_bad_tenant_name_is_refused_before_anything_starts(capsys):
    from render.commands import preview as command

    assert command.preview(root=ROOT, tenant="../acme") == 2
    assert "is not a tenant name" in capsys.readouterr().err


def test_ray_serve_accepts_the_rewritten_config():
    need("ray.serve")
    from ray.serve.schema import ServeDeploySchema

    s = acme()
    out = cfg.rewrite(cfg.load(s), cfg.select(s, cfg.load(s), ()), cpu_factor=Decimal(1), time_scale=0.05,
                      delay_s=0.5, port=18000)
    schema = ServeDeploySchema.model_validate(out) if hasattr(ServeDeploySchema, "model_validate") else ServeDeploySchema.parse_obj(out)
    assert len(schema.applications) == len(out["applications"])
    assert all(a.import_path == cfg.STANDIN_BUILDER for a in schema.applications)


def test_the_stand_in_builds_an_application_under_the_rendered_deployment_name():
    need("ray.serve")
    from render.preview import standin

    app = standin.build({"extractor": "text_extractor_v1", "deployments": ["text_extractor_v1"], "delay_s": 0.1})
    assert app._bound_deployment.name == "text_extractor_v1"
    with pytest.raises(ValueError, match="one deployment per application"):
        standin.build({"extractor": "x", "deployments": ["a", "b"], "delay_s": 0.1})


def test_an_unknown_extractor_is_a_problem_with_a_suggestion():
    s = acme()
    with pytest.raises(ProblemsError) as e:
        cfg.select(s, cfg.load(s), ("text_extractor_v2",))
    assert "did you mean 'text_extractor_v1'" in e.value.problems[0].hint
    assert e.value.problems[0].file == RAYSERVICE


def test_a_group_too_small_for_its_extractors_max_replicas_names_both():
    obj = acme_obj()
    obj["spec"]["rayClusterConfig"]["workerGroupSpecs"][1]["maxReplicas"] = 1  # batch-workers: 15 CPU
    s = from_obj(obj)
    reasons = cfg.unplaceable(s, cfg.intents(s, cfg.load(s)))
    batch = [i for i in cfg.intents(s, cfg.load(s)) if i.group == "batch-workers"]
    assert batch and all(i.extractor in reasons for i in batch)
    reason = reasons[batch[0].extractor]
    assert "group batch-workers holds 15 CPU" in reason and "(1 pods)" in reason
    for i in batch:
        assert f"{i.extractor} {i.max_replicas} x" in reason


def test_a_replica_bigger_than_a_pod_is_unplaceable():
    obj = acme_obj()
    obj["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1"
    s = from_obj(obj)
    chosen = [i for i in cfg.intents(s, cfg.load(s)) if i.extractor == "text_extractor_v1"]  # 2 CPU a replica
    assert "one replica needs 2 CPU, more than a pod of group cpu-workers has (1 CPU)" in cfg.unplaceable(s, chosen)["text_extractor_v1"]


def test_the_load_that_reaches_max_replicas_and_what_a_given_load_should_reach():
    i = next(i for i in cfg.intents(acme(), cfg.load(acme())) if i.extractor == "passthrough_extractor_v1")
    assert cfg.expected_peak(i, cfg.default_load(i)) == i.max_replicas
    assert cfg.expected_peak(i, 1) == i.min_replicas


def test_serve_details_become_replica_counts_and_nodes():
    i = next(i for i in cfg.intents(acme(), cfg.load(acme())) if i.extractor == "passthrough_extractor_v1")
    details = {"applications": {i.extractor: {"status": "RUNNING", "message": "", "deployments": {i.deployment: {
        "target_num_replicas": 3, "message": "1 replica pending",
        "replicas": [{"state": "RUNNING", "node_id": "n1"}, {"state": "STARTING", "node_id": None},
                     {"state": "STOPPING", "node_id": "n2"}]}}}}}
    s = parse_details(details, [i])[i.extractor]
    assert (s.status, s.target, s.running, s.unplaced, s.others) == ("RUNNING", 3, ("n1",), 1, 1)
    assert s.message == "1 replica pending"
    assert parse_details({}, [i])[i.extractor].status == "NOT_STARTED"


def test_the_report_lists_every_difference_and_fails_on_any():
    i = next(i for i in cfg.intents(acme(), cfg.load(acme())) if i.extractor == "passthrough_extractor_v1")
    good = report.Outcome(i, status="RUNNING", groups_seen={"cpu-workers"}, start_replicas=1, expected_peak=2,
                          peak=2, load=17, requests_ok=40, scale_down_s=9.0, final_replicas=1)
    assert good.differences(0.02) == [] and report.exit_code([good], 0.02) == 0
    bad = report.Outcome(i, status="RUNNING", groups_seen={"cpu-workers", "head"}, start_replicas=1, expected_peak=2,
                         peak=1, unplaced=1, load=17, scale_down_s=1.0, final_replicas=1, capacity="too small")
    found = bad.differences(0.02)
    assert any("not only on cpu-workers" in d for d in found)
    assert any("rose to 1, not 2" in d and "1 replica(s) found no node in cpu-workers" in d for d in found)
    unsettled = report.Outcome(i, status="RUNNING", groups_seen={"cpu-workers"}, expected_peak=2, peak=2,
                               final_replicas=2)
    assert any("2 replicas remained, not min_replicas 1" in d for d in unsettled.differences(0.02))
    text = report.table([good, bad], 0.02)
    assert "passthrough_extractor_v1: cannot be placed" in text and text.splitlines()[1].endswith("ok")
    assert "2->1 in 9.0s (delay 6.0s)" in text.splitlines()[1]
    assert report.exit_code([good, bad], 0.02) == 1
    twice = report.table([bad, bad], 0.02)
    assert twice.count("too small") == 1 and "the same shortfall of cpu-workers as above" in twice


def test_the_render_path_never_imports_ray():
    code = "import sys, render.cli; render.cli.parser(); assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
