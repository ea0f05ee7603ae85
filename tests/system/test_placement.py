"""render/placement.py and the validate rules over it: numbers worked out by hand."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from render import cli, placement
from render.load import load_repo
from render.pipeline import effective
from render.validate import validate_repo, warnings
from render.workflows import pr_comment
from render.workflows.pr_comment import TenantChange
from tests.lifecycle_repo import make_repo
from tests.support import RELEASE_YAML, ROOT, copy_repo, memory_repo, tenant_yaml

GPU_GROUP = {"min_replicas": 0, "max_replicas": 2, "cpu": "7", "memory": "26Gi", "gpus": 1}
CPU_GROUP = {"min_replicas": 1, "max_replicas": 2, "cpu": "7", "memory": "26Gi", "gpus": 0}


def ext(group: str, cpus: float, gpus: float, memory: str, lo: int, hi: int, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "runtime": "ray_serve", "worker_group": group, "num_cpus": cpus, "num_gpus": gpus,
            "memory": memory, "min_replicas": lo, "max_replicas": hi, **extra}


def values(extractors: dict[str, dict[str, Any]], **groups: dict[str, Any]) -> dict[str, Any]:
    cluster = {"cpu-workers": CPU_GROUP, "batch-workers": {**CPU_GROUP, "min_replicas": 0}, "gpu-workers": GPU_GROUP}
    return {"cluster": {**cluster, **{k.replace("_", "-"): v for k, v in groups.items()}}, "extractors": extractors}


def test_a_minimum_elsewhere_caps_the_reachable_maximum() -> None:
    # 2 pods of 1 GPU: image 0.5 GPU x 4 fills both; face's one replica takes half a GPU first.
    v = values({"image": ext("gpu-workers", 2, 0.5, "6Gi", 0, 4), "face": ext("gpu-workers", 2, 0.5, "8Gi", 1, 2)})
    p = placement.place(v)
    assert (p.reach("image").reachable, p.reach("face").reachable) == (3, 2)  # type: ignore[union-attr]
    gpu = p.group("gpu-workers")
    assert gpu is not None and gpu.min_fits and not gpu.max_fits  # 3 GPUs at max, 2 held
    assert placement.describe(gpu.need_max) == "12 CPU, 40Gi memory, 3 GPU"
    assert placement.pods_for_reach(v, "image") == 3 and placement.pods_for_maximums(v, "gpu-workers") == 3


def test_a_minimum_that_cannot_be_placed() -> None:
    v = values({"image": ext("gpu-workers", 2, 0.5, "6Gi", 5, 6)})
    r = placement.place(v).reach("image")
    assert r is not None and not r.min_fits and r.placed_min == 4 and r.reachable == 4
    assert placement.pods_for_minimums(v, "gpu-workers") == 3


def test_replicas_are_packed_per_pod_not_summed() -> None:
    # 14 CPU in the group, 12 asked: but a 7 CPU pod holds one 4 CPU replica, so only 2 run.
    v = values({"big": ext("cpu-workers", 4, 0, "1Gi", 0, 3)})
    p = placement.place(v)
    assert p.reach("big").reachable == 2 and not p.group("cpu-workers").max_fits  # type: ignore[union-attr]
    assert placement.as_dict(p)["extractors"] == [
        {"extractor": "big", "group": "cpu-workers", "min_replicas": 0, "max_replicas": 3, "reachable_max": 2,
         "minimum_fits": True}]


def test_disabled_and_celery_extractors_take_no_room() -> None:
    v = values({"off": ext("cpu-workers", 7, 0, "1Gi", 2, 2, enabled=False),
                "queue": ext("cpu-workers", 7, 0, "1Gi", 2, 2, runtime="celery"),
                "text": ext("cpu-workers", 7, 0, "1Gi", 1, 2)})
    p = placement.place(v)
    assert [r.extractor for r in p.extractors] == ["text"] and p.reach("text").reachable == 2  # type: ignore[union-attr]


def _repo(tmp_path: Path, overrides: str) -> Path:
    return make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1")}, {"acme": overrides})


def _validate(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["--repo", str(root), "--format", "text", "validate", *args])
    return code, out.getvalue(), err.getvalue()


def test_validate_refuses_a_minimum_that_cannot_be_placed(tmp_path: Path) -> None:
    root = _repo(tmp_path, "overrides:\n  image_extractor:\n    min_replicas: 5\n    max_replicas: 6\n"
                           "cluster:\n  gpu-workers:\n    max_replicas: 2\n")
    [problem] = validate_repo(load_repo(root))
    assert (problem.file, problem.line, problem.pointer) == (
        "tenants/acme/overrides.yaml", 3, "overrides.image_extractor.min_replicas")
    assert problem.message.startswith("min_replicas 5 of image_extractor_v1 cannot all be placed: gpu-workers holds "
                                      "14 CPU, 52Gi memory, 2 GPU at max_replicas 2")
    assert problem.hint == ("lower overrides.image_extractor.min_replicas to 4, or raise "
                            "cluster.gpu-workers.max_replicas to 3")
    code, _, err = _validate(root)
    assert code == 2 and "tenants/acme/overrides.yaml:3:19: overrides.image_extractor.min_replicas" in err


def test_validate_warns_of_a_maximum_that_cannot_be_reached(tmp_path: Path) -> None:
    root = _repo(tmp_path, "overrides:\n  face_identity_extractor:\n    min_replicas: 1\n"
                           "cluster:\n  gpu-workers:\n    max_replicas: 2\n")
    [warning] = warnings(load_repo(root))
    assert (warning.file, warning.line, warning.pointer) == ("tenants/acme/overrides.yaml", 6,
                                                             "cluster.gpu-workers.max_replicas")
    assert "image_extractor_v1 can reach 3 of its max_replicas 4" in warning.message
    code, out, err = _validate(root)
    assert code == 0 and out == ""
    assert "tenants/acme/overrides.yaml:6:19: warning: cluster.gpu-workers.max_replicas: image_extractor_v1" in err


def test_the_platform_defaults_hold_a_fresh_tenant_at_max_replicas(tmp_path: Path) -> None:
    root = _repo(tmp_path, "{}\n")
    repo = load_repo(root)
    assert validate_repo(repo) == [] and warnings(repo) == []
    p = placement.place(effective(repo.tenants["acme"], repo.current).values)
    assert all(g.max_fits for g in p.groups)


def test_every_example_tenant_holds_its_extractors_at_max_replicas() -> None:
    """What `dataplane preview TENANT` needs to exit 0: every group holds all its extractors at once."""
    repo = load_repo(ROOT)
    assert warnings(repo) == []
    for name, files in repo.tenants.items():
        p = placement.place(effective(files, repo.inputs_for(name)).values)
        assert [g.group for g in p.groups if not g.max_fits] == [], name


def test_the_pull_request_comment_says_when_a_reachable_maximum_drops() -> None:
    group = "cluster:\n  gpu-workers:\n    max_replicas: 2\n"
    old = memory_repo({"acme": (tenant_yaml("acme"), group, RELEASE_YAML)})
    new = memory_repo({"acme": (tenant_yaml("acme"), "overrides:\n  face_identity_extractor:\n    min_replicas: 1\n" + group,
                                RELEASE_YAML)})
    shared = old.inputs_for("acme")
    change = TenantChange("acme", effective(old.tenants["acme"], shared), effective(new.tenants["acme"], shared),
                          shared, shared)
    body = pr_comment.comment([change], {}, {})
    assert ("- This change lowers image_extractor's reachable maximum from 4 to 3 (max_replicas 4; its group "
            "gpu-workers is full).") in body
    assert pr_comment.NO_PLATFORM_REVIEW in body


def test_a_fresh_new_tenant_holds_its_extractors(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    assert cli.main(["--repo", str(root), "new-tenant", "hooli", "--cloud", "gcp", "--region", "us-central1",
                     "--organization-id", "org_h00l1"]) == 0
    repo = load_repo(root, ["hooli"])
    assert validate_repo(repo) == [] and warnings(repo) == []
    p = placement.place(effective(repo.tenants["hooli"], repo.current).values)
    assert all(g.max_fits for g in p.groups) and all(r.reachable == r.max_replicas for r in p.extractors)
