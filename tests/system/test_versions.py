"""One source for versions (issue #29, item 3): a tenant's rayVersion is its release's Ray
(registry/releases.yaml), a release outside the KubeRay table is refused, and the KubeRay
operator of every cluster is an ArgoCD Application at the version every tenant on it runs under."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from render import layout, versions
from render.argocd import operator_apps
from render.cli import main
from render.conformance import deep
from tests.support import ROOT, copy_repo, edit, snapshot

RAYSERVICE = "rendered/{}/rayservice-engine.yaml"


def ray_version(root: Path, tenant: str) -> str:
    return yaml.safe_load((root / RAYSERVICE.format(tenant)).read_text())["spec"]["rayClusterConfig"]["rayVersion"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def test_ray_version_follows_the_release_each_tenant_runs(repo: Path, capsys) -> None:
    """initech runs 2026.10.2: its rayVersion is that release's Ray, whatever the next release's is."""
    edit(repo, layout.RELEASES_FILE, '  - version: "2026.10.2"\n    digest: "sha256:d848818de00f3064a64b006756a67d6cf9af7301106f7cde4eab6bb9fdaeb01b"\n'
                                     '    ray: "2.60.0"', '  - version: "2026.10.2"\n    digest: '
                                     '"sha256:d848818de00f3064a64b006756a67d6cf9af7301106f7cde4eab6bb9fdaeb01b"\n    ray: "2.59.1"')
    edit(repo, layout.PLATFORM_FILE, 'ray: "2.60.0"', 'ray: "2.61.0"')  # the next release's, not yet any tenant's
    before = snapshot(repo, (layout.RENDERED_DIR,))
    assert main(["--repo", str(repo), "render"]) == 0, capsys.readouterr().err
    after = snapshot(repo, (layout.RENDERED_DIR,))
    assert ray_version(repo, "initech") == "2.59.1"
    assert {t: ray_version(repo, t) for t in ("acme", "globex", "umbrella")} == dict.fromkeys(("acme", "globex", "umbrella"), "2.60.0")
    assert sorted(p for p in after if after[p] != before.get(p)) == [RAYSERVICE.format("initech")]
    # `validate --deep` checks each tenant's Serve config with its own release's Ray.
    rays = deep.release_rays(repo, yaml.safe_load((repo / layout.PLATFORM_FILE).read_text()))
    assert rays[layout.namespace("initech")] == "2.59.1" and rays[layout.namespace("acme")] == "2.60.0"


def test_a_fork_build_inherits_its_base_releases_versions() -> None:
    releases = yaml.safe_load((ROOT / layout.RELEASES_FILE).read_text())
    platform = {"versions": {"ray": "9.9.9", "kuberay": "9.9.9"}}
    fork = {"platform_version": "2026.10.2", "image": "ghcr.io/x/engine-tenant-acme:tenant-acme-abcdef1@sha256:" + "0" * 64}
    assert versions.of_release(fork, releases, platform) == versions.Versions("2.60.0", "1.7.0")
    assert versions.of_release({"platform_version": "2099.1.1"}, releases, platform) == versions.Versions("9.9.9", "9.9.9")


@pytest.mark.parametrize(("rel", "old", "new", "where", "said"), [
    (layout.PLATFORM_FILE, 'kuberay: "1.7.0"', 'kuberay: "0.9.0"', "versions.kuberay",
     "KubeRay 0.9.0 is not in registry/kuberay.yaml"),
    (layout.RELEASES_FILE, 'ray: "2.60.0"', 'ray: "2.30.0"', "releases[0].kuberay",
     "release 2026.9.1: KubeRay 1.7.0 supports Ray 2.38.0 and later, not Ray 2.30.0"),
])
def test_a_ray_kuberay_pair_outside_the_table_is_one_line_and_nothing_is_written(repo: Path, capsys, rel, old, new,
                                                                                 where, said) -> None:
    edit(repo, rel, old, new)
    before = snapshot(repo)
    for args in (["render"], ["validate"], ["render", "--check"]):
        assert main(["--repo", str(repo), "--format", "text", *args]) == 2
        lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(rel)]
        assert len(lines) == 1 and f": {where}: " in lines[0] and said in lines[0], lines
    assert snapshot(repo) == before


def test_every_cluster_gets_the_operator_at_the_derived_version(repo: Path, capsys) -> None:
    platform = yaml.safe_load((repo / layout.PLATFORM_FILE).read_text())
    folder = repo / layout.ARGOCD_PLATFORM_DIR
    for cluster in platform["clusters"]:
        app = yaml.safe_load((folder / f"application-{operator_apps.APP_PREFIX}{cluster}.yaml").read_text())
        source = app["spec"]["source"]
        assert (source["repoURL"], source["chart"]) == ("https://ray-project.github.io/kuberay-helm/", "kuberay-operator")
        assert source["targetRevision"] == platform["versions"]["kuberay"] == "1.7.0"
        assert source["helm"]["skipCrds"] is False  # the CRDs upgrade with the operator
        assert app["spec"]["destination"] == {"name": cluster, "namespace": "ray-system"}
        assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    # Changing the operator's version changes those Applications and nothing else.
    edit(repo, layout.PLATFORM_FILE, 'kuberay: "1.7.0"', 'kuberay: "1.6.1"')
    before = snapshot(repo)
    assert main(["--repo", str(repo), "render"]) == 0, capsys.readouterr().err
    after = snapshot(repo)
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert changed == sorted(f"{layout.ARGOCD_PLATFORM_DIR}/application-{operator_apps.APP_PREFIX}{c}.yaml"
                             for c in platform["clusters"])
    assert all(b"targetRevision: 1.6.1" in after[p] for p in changed)


def test_a_cluster_whose_tenants_need_another_operator_is_refused(repo: Path, capsys) -> None:
    """The next release moves to KubeRay 1.8, which drops Ray 2.60: every cluster's operator
    would change under tenants still on 2.60, so validate refuses, naming each tenant."""
    edit(repo, layout.KUBERAY_FILE, '  - kuberay: "1.7"\n    ray: {min: "2.38.0"}\n',
         '  - kuberay: "1.7"\n    ray: {min: "2.38.0"}\n  - kuberay: "1.8"\n    ray: {min: "2.65.0"}\n')
    edit(repo, layout.PLATFORM_FILE, 'kuberay: "1.7.0"', 'kuberay: "1.8.0"')
    edit(repo, layout.PLATFORM_FILE, 'ray: "2.60.0"', 'ray: "2.66.0"')
    assert main(["--repo", str(repo), "--format", "text", "validate"]) == 2
    err = capsys.readouterr().err
    for tenant in ("acme", "globex", "initech", "umbrella"):
        [line] = [ln for ln in err.splitlines() if ln.startswith(f"tenants/{tenant}/release.yaml")]
        cluster = yaml.safe_load((repo / layout.tenant_file(tenant, "tenant.yaml")).read_text())["cluster"]
        assert "platform_version: release 20" in line and f"cluster {cluster}'s operator is KubeRay 1.8.0" in line
        assert "KubeRay 1.8.0 supports Ray 2.65.0 and later, not Ray 2.60.0" in line
    # A release that needs a newer KubeRay than the clusters run is refused too.
    edit(repo, layout.PLATFORM_FILE, 'kuberay: "1.8.0"', 'kuberay: "1.7.0"')
    edit(repo, layout.PLATFORM_FILE, 'ray: "2.66.0"', 'ray: "2.60.0"')
    edit(repo, layout.RELEASES_FILE, 'kuberay: "1.7.0"', 'kuberay: "1.8.0"')  # 2026.9.1, which nobody runs
    edit(repo, layout.RELEASES_FILE, 'ray: "2.60.0"', 'ray: "2.66.0"')
    assert main(["--repo", str(repo), "--format", "text", "validate"]) == 0, capsys.readouterr().err
    for _ in range(2):  # platform_version and the image's tag
        edit(repo, layout.tenant_file("initech", layout.RELEASE_FILE), "2026.10.2", "2026.9.1")
    edit(repo, layout.tenant_file("initech", layout.RELEASE_FILE), "sha256:d848818de00f3064a64b006756a67d6cf9af7301106f7cde4eab6bb9fdaeb01b",
         "sha256:19cd4c238715793264fc9fcbd847e942009460623ed27dad5ca467fe59905753")
    assert main(["--repo", str(repo), "--format", "text", "validate"]) == 2
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tenants/initech/release.yaml")]
    assert "cluster dp-eks-us-east-1's operator is KubeRay 1.7.0" in line and "it needs KubeRay 1.8.0" in line


def test_the_repository_validates_and_the_table_covers_the_local_control_planes_kuberay() -> None:
    doc = yaml.safe_load((ROOT / layout.KUBERAY_FILE).read_text())
    ranges = [versions.Range(e["kuberay"], e["ray"]["min"], e["ray"].get("max")) for e in doc["compatibility"]]
    assert versions.unsupported(ranges, "1.6.1", "2.60.0") is None  # tools/cluster runs KubeRay 1.6.1
    assert versions.unsupported(ranges, "1.3.0", "2.20.0") == "KubeRay 1.3.0 supports Ray 2.38.0 and later, not Ray 2.20.0"


def test_one_cluster_may_run_its_own_operator_and_is_checked_against_its_own_tenants(repo: Path, capsys) -> None:
    """An operator upgrade tried on one cluster first: only that cluster's Application
    changes, and only its tenants are checked against it."""
    edit(repo, layout.KUBERAY_FILE, '  - kuberay: "1.7"\n    ray: {min: "2.38.0"}\n',
         '  - kuberay: "1.7"\n    ray: {min: "2.38.0"}\n  - kuberay: "1.8"\n    ray: {min: "2.38.0"}\n')
    edit(repo, layout.PLATFORM_FILE, "  dp-eks-us-east-1:\n    cloud: aws\n",
         '  dp-eks-us-east-1:\n    cloud: aws\n    kuberay: "1.8.0"\n')
    before = snapshot(repo)
    assert main(["--repo", str(repo), "render"]) == 0, capsys.readouterr().err
    assert main(["--repo", str(repo), "validate"]) == 0, capsys.readouterr().err
    after = snapshot(repo)
    app = f"{layout.ARGOCD_PLATFORM_DIR}/application-{operator_apps.APP_PREFIX}dp-eks-us-east-1.yaml"
    assert sorted(p for p in after if after[p] != before.get(p)) == [app]
    assert yaml.safe_load(after[app])["spec"]["source"]["targetRevision"] == "1.8.0"
    # KubeRay 1.8 dropping Ray 2.60 refuses initech (the only tenant there), nobody else.
    edit(repo, layout.KUBERAY_FILE, '  - kuberay: "1.8"\n    ray: {min: "2.38.0"}', '  - kuberay: "1.8"\n    ray: {min: "2.65.0"}')
    assert main(["--repo", str(repo), "--format", "text", "validate"]) == 2
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tenants/")]
    assert line.startswith("tenants/initech/release.yaml:")
    assert "cluster dp-eks-us-east-1's operator is KubeRay 1.8.0 (registry/platform.yaml clusters.dp-eks-us-east-1.kuberay)" in line
    assert "KubeRay 1.8.0 supports Ray 2.65.0 and later, not Ray 2.60.0" in line
    # Held back below what its tenants' release needs: refused too.
    edit(repo, layout.PLATFORM_FILE, 'kuberay: "1.8.0"', 'kuberay: "1.6.1"')
    assert main(["--repo", str(repo), "--format", "text", "validate"]) == 2
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("tenants/")]
    assert "tenants/initech/release.yaml" in line and "it needs KubeRay 1.7.0" in line
    # A cluster's operator outside the table is the registry's own problem.
    edit(repo, layout.PLATFORM_FILE, 'kuberay: "1.6.1"', 'kuberay: "0.6.0"')
    assert main(["--repo", str(repo), "--format", "text", "render"]) == 2
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(layout.PLATFORM_FILE)]
    assert ": clusters.dp-eks-us-east-1.kuberay: KubeRay 0.6.0 is not in registry/kuberay.yaml" in line
