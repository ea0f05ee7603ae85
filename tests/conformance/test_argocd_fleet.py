"""ArgoCD at fleet scale (issue 29, items 4-6): bounded syncs, adoption on AWS, manifest paths,
ArgoCD's own settings from one fleet-size input, admission policies on every cluster, and
`dataplane terminate-op` against the ArgoCD stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout
from render.argocd import install, platform_apps, sizing
from render.load import load_repo
from render.pipeline import render_repo
from tests.argocd_standin import TOKEN, FakeArgoCD, serve
from tests.support import ROOT, copy_repo, dataplane, need, snapshot

PLATFORM = yaml.safe_load((ROOT / layout.PLATFORM_FILE).read_text())
# KubeRay's accepted forms (ray-operator/controllers/ray/utils/validation.go validateInitializingTimeout):
# a Go duration or whole seconds, positive.
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^[0-9]+$")
# ACK's adoption policies (aws-controllers-k8s/runtime pkg/runtime/util.go GetAdoptionPolicy).
ACK_ADOPTION_POLICIES = ("adopt", "adopt-or-create")


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    out = render_repo(load_repo(ROOT))
    return {path: yaml.safe_load(data) for files in out.values() for path, data in files.items()}


def of_kind(objs: dict[str, Any], kind: str) -> dict[str, Any]:
    return {p: o for p, o in objs.items() if o["kind"] == kind}


def test_every_rayservice_has_the_platform_initializing_timeout(outputs: dict[str, Any]) -> None:
    services = of_kind(outputs, "RayService")
    assert services
    want = PLATFORM["argocd"]["ray_initializing_timeout_s"]
    for path, obj in services.items():
        value = obj["metadata"]["annotations"]["ray.io/initializing-timeout"]
        assert GO_DURATION.match(value), f"{path}: KubeRay refuses {value!r}"
        assert value == f"{want}s", path


def test_every_application_retries_and_fits_in_the_sync_timeout(outputs: dict[str, Any]) -> None:
    apps = of_kind(outputs, "Application")
    params = outputs[f"{layout.ARGOCD_PLATFORM_DIR}/configmap-{install.CMD_PARAMS_CM}.yaml"]["data"]
    timeout = int(params["controller.sync.timeout.seconds"])
    init = PLATFORM["argocd"]["ray_initializing_timeout_s"]
    assert timeout > 0, "0 means no timeout: an operation could run for ever"
    for path, app in apps.items():
        retry = app["spec"]["syncPolicy"]["retry"]
        assert 1 <= retry["limit"] <= 10, path
        # The timeout counts from the operation's start, retries included: KubeRay's verdict
        # (after the initializing timeout) and every retry must come before it.
        assert init + sizing.retry_total_s(retry) < timeout, path


def test_every_application_names_the_paths_its_output_depends_on(outputs: dict[str, Any]) -> None:
    for path, app in of_kind(outputs, "Application").items():
        source = app["spec"]["source"]
        if "chart" in source:  # a Helm repository, not this one: no commit here regenerates it
            assert platform_apps.MANIFEST_PATHS not in app["metadata"]["annotations"], path
            assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", source["targetRevision"]), f"{path}: pin the chart version"
            continue
        value = app["metadata"]["annotations"][platform_apps.MANIFEST_PATHS]
        for item in value.split(";"):
            target = Path(item[1:]) if item.startswith("/") else Path(source["path"]) / item
            assert (ROOT / target).exists(), f"{path}: {item} names nothing in the repository"
            # Every path lies inside what the Application reads: a commit elsewhere never regenerates it.
            assert layout.is_inside(target.as_posix(), source["path"]) or target.as_posix() == source["path"], path
        if layout.is_inside(path, layout.ARGOCD_TENANTS_DIR):
            assert value == ".", path


def test_root_paths_cover_every_folder_the_root_syncs() -> None:
    folders = {f"{layout.ARGOCD_DIR}/{p.name}" for p in (ROOT / layout.ARGOCD_DIR).iterdir() if p.is_dir()}
    assert folders == set(platform_apps.ROOT_PATHS) | set(platform_apps.ROOT_EXCLUDED)


def test_rendered_settings_are_the_sizing_of_the_fleet_size_input(outputs: dict[str, Any]) -> None:
    z = sizing.from_platform(PLATFORM)
    assert z.tenants == PLATFORM["argocd"]["fleet_size"]
    base = layout.ARGOCD_PLATFORM_DIR
    assert outputs[f"{base}/configmap-{install.CMD_PARAMS_CM}.yaml"]["data"] == install.cmd_params(z)
    cm = outputs[f"{base}/configmap-argocd-cm.yaml"]["data"]
    assert {k: cm[k] for k in install.cm_settings(z)} == install.cm_settings(z)
    controller = outputs[f"{base}/statefulset-{install.CONTROLLER}.yaml"]
    assert controller["spec"]["replicas"] == z.controller_replicas
    [container] = controller["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": install.REPLICAS_ENV, "value": str(z.controller_replicas)}]
    assert outputs[f"{base}/deployment-{install.REPO_SERVER}.yaml"]["spec"]["replicas"] == z.repo_server_replicas


def test_a_larger_fleet_changes_the_settings_and_restarts_the_pods() -> None:
    small, large = sizing.size(100, 1800), sizing.size(10000, 1800)
    assert large.controller_replicas > small.controller_replicas
    assert large.repo_server_replicas > small.repo_server_replicas
    assert (small.sharding_algorithm, large.sharding_algorithm) == ("legacy", "consistent-hashing")
    assert install.settings_hash(small) != install.settings_hash(large)
    assert install.settings_hash(small) == install.settings_hash(sizing.size(100, 1800))
    # upstream's guidance for one controller of 1,000 Applications (high_availability.md)
    assert (sizing.size(500, 1800).status_processors, sizing.size(500, 1800).operation_processors) == (50, 25)


def test_docs_sizing_table_is_the_function_output() -> None:
    docs = (ROOT / "docs/argocd.md").read_text()
    block = re.search(r"<!-- sizing-table:[^\n]*-->\n(.*?)\n<!-- /sizing-table -->", docs, re.S)
    assert block, "docs/argocd.md has no sizing table"
    assert block.group(1) == sizing.table(PLATFORM["argocd"]["ray_initializing_timeout_s"])
    assert f"{sizing.sync_timeout_s(PLATFORM['argocd']['ray_initializing_timeout_s'])} s" in docs


def test_admission_policies_reach_every_registered_cluster(outputs: dict[str, Any]) -> None:
    clusters = sorted(load_repo(ROOT).current.platform.data["clusters"])
    apps = {o["spec"]["destination"]["name"]: o for o in of_kind(outputs, "Application").values()
            if o["spec"]["source"].get("path") == layout.ADMISSION_DIR}
    assert sorted(apps) == clusters
    for cluster, app in apps.items():
        assert app["metadata"]["name"] == platform_apps.ADMISSION_APP_PREFIX + cluster
        assert app["spec"]["project"] == platform_apps.ADMISSION_APP
    project = outputs[f"{layout.ARGOCD_PLATFORM_DIR}/appproject-{platform_apps.ADMISSION_APP}.yaml"]
    assert sorted(d["name"] for d in project["spec"]["destinations"]) == clusters


def test_a_newly_registered_cluster_gets_the_admission_policies(tmp_path: Path) -> None:
    root = copy_repo(tmp_path / "repo")
    path = root / layout.PLATFORM_FILE
    data = yaml.safe_load(path.read_text())
    data["clusters"]["dp-gke-asia-east1"] = {**data["clusters"]["dp-gke-us-east4"], "region": "asia-east1",
                                            "serve_domain": "asia-east1.dp.internal"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert dataplane(root, "render") == 0
    app = yaml.safe_load((root / layout.ARGOCD_PLATFORM_DIR / "application-dataplane-admission-dp-gke-asia-east1.yaml")
                         .read_text())
    assert app["spec"]["destination"]["name"] == "dp-gke-asia-east1"


def test_retained_aws_resources_adopt_instead_of_already_exists(outputs: dict[str, Any]) -> None:
    ack = {p: o for p, o in outputs.items() if o["apiVersion"].split("/")[0].endswith(".services.k8s.aws")}
    assert {o["kind"] for o in ack.values()} == {"Bucket", "Role"}
    for path, obj in ack.items():
        assert obj["metadata"]["annotations"]["services.k8s.aws/adoption-policy"] in ACK_ADOPTION_POLICIES, path
        # adopt-or-create reads the resource the spec names (no adoption-fields annotation needed)
        assert obj["metadata"]["annotations"]["services.k8s.aws/adoption-policy"] == "adopt-or-create"
        assert obj["spec"]["name"], path


@pytest.mark.parametrize(("key", "value"), [("fleet_size", 0), ("ray_initializing_timeout_s", -5)])
def test_a_bad_argocd_input_is_one_line_with_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          key: str, value: int) -> None:
    root = copy_repo(tmp_path / "repo")
    path = root / layout.PLATFORM_FILE
    path.write_text(path.read_text().replace(f"  {key}: {PLATFORM['argocd'][key]}\n", f"  {key}: {value}\n"))
    before = snapshot(root)
    assert dataplane(root, "render") == 2
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if layout.PLATFORM_FILE in x]
    assert f"argocd.{key}" in line or f"argocd/{key}" in line, line
    assert snapshot(root) == before


def test_partial_workloads_are_checked_as_patches() -> None:
    need("kubernetes_validate")
    from render.conformance.k8s import KubernetesSchemas
    from render.conformance.manifests import Manifest
    from render.load import Document

    k8s = KubernetesSchemas(PLATFORM["versions"]["kubernetes"])
    obj = yaml.safe_load((ROOT / layout.ARGOCD_PLATFORM_DIR / f"statefulset-{install.CONTROLLER}.yaml").read_text())

    def check(o: dict[str, Any]) -> list[Any]:
        return k8s.check(Manifest(Document("x.yaml", o, {})))

    assert check(obj) == []
    whole = yaml.safe_load(yaml.safe_dump(obj))
    del whole["metadata"]["annotations"][layout.ANNOTATION_PARTIAL]
    assert check(whole), "as a whole object it lacks the selector and template: the schema must say so"
    wrong = yaml.safe_load(yaml.safe_dump(obj))
    wrong["spec"]["replicas"] = "two"
    wrong["spec"]["template"]["spec"]["containers"][0]["envv"] = []
    assert len(check(wrong)) >= 2, "a partial object's fields are still checked"


@pytest.fixture
def argocd() -> Iterator[FakeArgoCD]:
    yield from serve(FakeArgoCD())


def test_terminate_op_ends_only_the_running_operation(argocd: FakeArgoCD, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", TOKEN)
    argocd.set("tenant-acme", health="Progressing", operation="Running",
               operation_message="waiting for healthy state of ray.io/RayService/engine")
    assert dataplane(ROOT, "terminate-op", "acme", "--argocd-url", argocd.url) == 0
    assert argocd.terminated == ["tenant-acme"]
    out = capsys.readouterr().out
    assert "terminated the running sync of tenant-acme" in out and "RayService/engine" in out
    assert "tenant-acme-guardrails (no operation)" in out
    # ArgoCD's answer with the operation ended; a second run changes nothing.
    assert dataplane(ROOT, "terminate-op", "-n", "tenant-acme", "--argocd-url", argocd.url) == 0
    assert argocd.terminated == ["tenant-acme"]
    assert ("DELETE", "/api/v1/applications/tenant-acme/operation", f"Bearer {TOKEN}") in argocd.requests


def test_terminate_op_on_a_platform_app(argocd: FakeArgoCD, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", TOKEN)
    argocd.set(platform_apps.ROOT_APP, operation="Running")
    assert dataplane(ROOT, "terminate-op", "--app", platform_apps.ROOT_APP, "--argocd-url", argocd.url) == 0
    assert argocd.terminated == [platform_apps.ROOT_APP]


@pytest.mark.parametrize(("args", "token", "expected"), [
    (["acmee"], TOKEN, "no tenant 'acmee'"),
    (["acme"], "wrong-token", "HTTP 401"),
    (["acme"], "", "no ArgoCD token"),
])
def test_terminate_op_refuses_in_one_line(argocd: FakeArgoCD, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], args: list[str], token: str,
                                          expected: str) -> None:
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", token)
    argocd.set("tenant-acme", operation="Running")
    assert dataplane(ROOT, "terminate-op", *args, "--argocd-url", argocd.url) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert TOKEN not in err and (not token or token not in err)
    assert argocd.terminated == []


def test_a_rayservice_that_never_gets_ready_ends_degraded_in_argocd() -> None:
    """The rendered RayService with KubeRay's status before and after its initializing
    timeout, judged by the health script exactly as committed in argocd-cm (Lua 5.1, ArgoCD's
    sandbox): Progressing holds the sync wave; Degraded fails it (gitops-engine sync_context.go),
    so the operation ends and auto-sync can apply the next commit."""
    from tests.conformance.test_health_lua import cond, run, shipped_script

    obj = yaml.safe_load((ROOT / "rendered/acme/rayservice-engine.yaml").read_text())
    timeout = obj["metadata"]["annotations"]["ray.io/initializing-timeout"]
    script = shipped_script("ray.io", "RayService")
    obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1),
                     "conditions": [cond("Ready", "False", "Initializing"),
                                    cond("UpgradeInProgress", "False", "Initializing")]}
    assert run(script, obj)[0] == "Progressing"
    # KubeRay's markFailedOnInitializingTimeout (rayservice_controller.go): reason and message.
    message = (f"RayService failed to become ready within the configured timeout of {timeout}. "
               "Time spent initializing: 30m0.4s")
    obj["status"]["conditions"] = [cond("Ready", "False", "InitializingTimeout", message),
                                   cond("UpgradeInProgress", "False", "InitializingTimeout")]
    health, said = run(script, obj)
    assert health == "Degraded" and "configured timeout" in said


def test_clusters_are_registered_as_the_identity_the_admission_policies_trust() -> None:
    """The policies now run on every tenant cluster: ArgoCD must write there as
    admission.deploy_identity, which the registration command in docs/argocd.md sets."""
    docs = (ROOT / "docs/argocd.md").read_text()
    namespace = re.search(r"argocd cluster add .*?--system-namespace (\S+)", docs, re.S)
    account = re.search(r"argocd cluster add .*?--service-account (\S+)", docs, re.S)
    assert namespace and account
    assert PLATFORM["admission"]["deploy_identity"] == f"system:serviceaccount:{namespace.group(1)}:{account.group(1)}"


def test_more_tenants_than_the_fleet_size_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    path = root / layout.PLATFORM_FILE
    path.write_text(path.read_text().replace("  fleet_size: 1000\n", "  fleet_size: 3\n"))
    assert dataplane(root, "validate") == 0
    err = capsys.readouterr().err
    assert "warning: argocd.fleet_size: 4 tenants, but ArgoCD is sized for 3" in err
