"""One render path: every command writes output through fleet.render_to_disk, every
list of output folders comes from layout, and user mistakes never surface as tracebacks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from render import cache, layout
from tests.flow_repo import clone, commit_all, git, make_origin
from tests.flow_repo import dataplane as flow_dataplane
from tests.support import ROOT, copy_repo, dataplane, snapshot, write


def test_the_engine_digest_covers_every_file_of_the_package() -> None:
    """Editing a Lua health script (or any other engine file) must invalidate the cache."""
    covered = {name for name, _ in cache._package_files(resources.files("render"), "")}
    package = ROOT / "render"
    on_disk = {p.relative_to(package).as_posix() for p in package.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert covered == on_disk
    assert any(name.endswith(".lua") for name in covered) and any(name.endswith(".json") for name in covered)


def test_promote_outside_a_git_repository_is_a_problem_not_a_bug(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    capsys.readouterr()
    assert dataplane(root, "promote", "acme") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err and "git" in err


def test_render_removes_a_deleted_tenants_output_in_every_folder(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    for scope in layout.tenant_scopes("initech"):
        assert (root / scope).is_dir()
    _remove_tenant(root, "initech")
    assert dataplane(root, "render") == 0
    assert not any((root / scope).exists() for scope in layout.tenant_scopes("initech"))


def test_a_deploy_prunes_a_deleted_tenants_routing_output(tmp_path: Path) -> None:
    """deploy.render used to skip control-plane/: the removed tenant's routing stayed."""
    from render.workflows import deploy

    root = copy_repo(tmp_path)
    _remove_tenant(root, "initech")
    report = deploy.render(root, None)
    assert not (root / layout.routing_dir("initech")).exists()
    assert any(p.startswith(layout.routing_dir("initech") + "/") for p in report.pruned)


def test_platform_update_commits_routing_changes(tmp_path: Path) -> None:
    """A platform change that moves routing output (the secret store name) must land in
    the release commit, so `render --check` holds on the new HEAD. (No rollout plan: every
    auto_deploy tenant moves in that commit, umbrella, whose routing names the store, too.)"""
    origin = make_origin(tmp_path, without=("registry/rollout.yaml",))
    work = clone(origin, tmp_path / "work")
    platform = work / "registry/platform.yaml"
    platform.write_text(platform.read_text().replace("secret_store: platform-secrets", "secret_store: platform-secrets-v2"))
    commit_all(work, "platform: new secret store")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    assert flow_dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", "sha256:" + "1" * 64,
                          "--push") == 0
    assert git(work, "status", "--porcelain") == ""
    assert flow_dataplane(work, "render", "--check") == 0
    changed = git(work, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert any(p.startswith(layout.ROUTING_DIR + "/") for p in changed)


def test_determinism_covers_every_output_folder(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    assert dataplane(root, "render") == 0
    first = snapshot(root)
    assert {p.split("/", 1)[0] for p in first} == set(layout.OUTPUT_DIRS)
    write(root, {"tenants/acme/overrides.yaml": "auto_deploy: false\n"})
    write(root, {"tenants/acme/overrides.yaml": (ROOT / "tenants/acme/overrides.yaml").read_text()})
    assert dataplane(root, "render", "--no-cache") == 0
    assert snapshot(root) == first


def _remove_tenant(root: Path, name: str) -> None:
    for file in layout.TENANT_FILES:
        (root / layout.tenant_file(name, file)).unlink()
    (root / layout.tenant_dir(name)).rmdir()
