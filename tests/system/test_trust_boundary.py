"""A hostile tenant's pull request or deploy reaches only what that tenant owns.

Each test replays one attack from the security review (docs/security.md) on a copy of
this repository and asserts the refusal: a clear problem, and nothing written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from render import cache, emit, fleet
from tests.flow_repo import clone, commit_all, git, make_origin, tag_release
from tests.http_standin import serve_json
from tests.support import copy_repo, dataplane, set_pin, snapshot, write


def test_a_committed_cache_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A forged .cache/dataplane/ entry committed with hand-edited output (another
    tenant's secret keys) cannot stand in for rendering: the cache lives outside the
    checkout, so --check renders acme and sees the edit."""
    root = copy_repo(tmp_path / "repo")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("DATAPLANE_CACHE_DIR")
    honest = fleet.render_fleet(root, ["acme"], use_cache=False)
    forged = {scope: dict(files) for scope, files in honest.outputs.items()}
    path = next(p for p, data in sorted(forged["rendered/acme"].items()) if b"dataplane_tenants_acme_" in data)
    forged["rendered/acme"][path] = forged["rendered/acme"][path].replace(b"dataplane_tenants_acme_", b"dataplane_tenants_globex_")
    (root / path).write_bytes(forged["rendered/acme"][path])
    cache.Store(root / ".cache" / "dataplane").put(honest.keys["rendered/acme"], forged)  # as the old default had it
    capsys.readouterr()
    assert dataplane(root, "render", "--check") == 1
    assert f"stale: {path}" in capsys.readouterr().out


def test_a_cache_folder_inside_the_repository_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    before = snapshot(root)
    monkeypatch.setenv("DATAPLANE_CACHE_DIR", str(root / ".cache" / "dataplane"))
    assert dataplane(root, "render") == 2
    err = capsys.readouterr().err
    assert "inside the repository" in err and "DATAPLANE_CACHE_DIR" in err and "Traceback" not in err
    assert snapshot(root) == before and not (root / ".cache").exists()
    assert dataplane(root, "render", "--no-cache", "--check") == 0  # without a cache there is nothing to refuse


@pytest.mark.parametrize("planted", [
    "argocd/tenants/zz.yaml",  # a file beside the tenants' folders
    "argocd/extra/app.yaml",  # a folder of no tenant
    "control-plane/extra/routing.yaml",
    "rendered/.hidden/daemonset.yaml",  # a dot-name
    "rendered/acme/.x/daemonset.yaml",  # inside a tenant's own folder
    "control-plane/routing/ghost/configmap.yaml",  # a tenant that does not exist
    "argocd/root.yaml",
])
def test_foreign_files_in_the_generated_trees_fail_check_and_are_removed(
        tmp_path: Path, planted: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    write(root, {planted: "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"})
    capsys.readouterr()
    assert dataplane(root, "render", "--check") == 1
    assert f"extra: {planted}" in capsys.readouterr().out
    assert dataplane(root, "render") == 0
    assert snapshot(root) == before


def test_a_symlink_in_the_generated_trees_is_removed_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the engine's")
    os.symlink(outside, root / "argocd/tenants/evil")
    os.symlink(outside / "keep.txt", root / "rendered/acme/link.yaml")
    capsys.readouterr()
    assert dataplane(root, "render", "--check") == 1
    out = capsys.readouterr().out
    assert "extra: argocd/tenants/evil" in out and "extra: rendered/acme/link.yaml" in out
    assert dataplane(root, "render") == 0
    assert not os.path.lexists(root / "argocd/tenants/evil") and not os.path.lexists(root / "rendered/acme/link.yaml")
    assert (outside / "keep.txt").read_text() == "not the engine's"


@pytest.mark.parametrize("recorded", ["../../escape", "/tmp/escape", "rendered/../../escape", "tenants/acme",
                                      "rendered/globex", ".git/hooks"])
def test_a_committed_staging_folder_cannot_name_a_destination(tmp_path: Path, recorded: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """rendered/.x.old-k3j9x0ab/ with a `scope` file: recovery used to rename its `x`
    folder to whatever the file said (a git hooks folder outside the checkout, say)."""
    root = copy_repo(tmp_path / "repo")
    before = snapshot(root)
    planted = root / "rendered/.x.old-k3j9x0ab"
    (planted / "x").mkdir(parents=True)
    (planted / "x" / "post-checkout").write_text("#!/bin/sh\necho pwned\n")
    (planted / "scope").write_text(recorded)
    assert dataplane(root, "render", "--check") == 1  # checking writes nothing, and names it
    assert "extra: rendered/.x.old-k3j9x0ab/" in capsys.readouterr().out
    assert planted.is_dir()
    assert dataplane(root, "render") == 0
    assert "removed rendered/.x.old-k3j9x0ab" in capsys.readouterr().err
    assert snapshot(root) == before
    assert not (tmp_path / "escape").exists() and not (root / ".git").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_recovery_refuses_a_symlink_on_the_way(tmp_path: Path) -> None:
    root = copy_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "control-plane/routing").rename(tmp_path / "routing-moved")
    os.symlink(outside, root / "control-plane/routing")  # control-plane/routing -> outside the checkout
    retired = root / "control-plane/.acme.old-abcdefgh"
    (retired / "x").mkdir(parents=True)
    (retired / "scope").write_text("control-plane/routing/acme")
    emit.recover(root)
    assert list(outside.iterdir()) == [] and not retired.exists()


DAEMONSET = """---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: miner
  namespace: {{ namespace | j }}
spec:
  selector: {matchLabels: {app: miner}}
  template:
    metadata: {labels: {app: miner}}
    spec:
      hostPID: true
      containers:
        - name: miner
          image: docker.io/evil/miner:latest
          securityContext: {privileged: true}
"""


def test_a_pull_request_cannot_pin_its_own_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Commit 1 rewrites base/ (a privileged DaemonSet); commit 2 restores base/ and pins
    acme to commit 1. The PR's net diff is one line of release.yaml."""
    work = clone(make_origin(tmp_path), tmp_path / "work")
    git(work, "checkout", "-q", "-b", "attack")
    (work / "base/miner.yaml.j2").write_text(DAEMONSET)
    evil = commit_all(work, "innocent refactor")
    (work / "base/miner.yaml.j2").unlink()
    set_pin(work, "acme", evil)
    commit_all(work, "pin acme")
    before = snapshot(work)
    capsys.readouterr()
    assert dataplane(work, "validate") == 2
    err = capsys.readouterr().err
    assert f"tenants/acme/release.yaml:7:1: platform_revision: {evil[:12]} is not a platform release" in err
    assert dataplane(work, "render") == 2 and snapshot(work) == before
    # Even a tag on it does not help: a release must be on main.
    tag_release(work, evil, publish=False)
    capsys.readouterr()
    assert dataplane(work, "validate") == 2
    assert "is not on main" in capsys.readouterr().err
    # A lightweight tag is no release either (platform-update writes annotated ones).
    git(work, "checkout", "-q", "main")
    git(work, "tag", "platform/9.9.9/lightweight", "HEAD")
    set_pin(work, "acme", git(work, "rev-parse", "HEAD"))
    assert dataplane(work, "validate") == 2


def test_a_template_rendering_a_kind_outside_tenant_kinds_is_refused(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    write(root, {"base/miner.yaml.j2": DAEMONSET})
    capsys.readouterr()
    assert dataplane(root, "render") == 2
    err = capsys.readouterr().err
    assert "rendered/acme/daemonset-miner.yaml is a apps/DaemonSet, which no tenant Application may sync" in err
    assert snapshot(root) == before
    projects = (root / "argocd/tenants/acme/appproject-tenant-acme.yaml").read_text()
    assert "DaemonSet" not in projects


@pytest.mark.parametrize("link", ["tenants/acme/overrides.yaml", "tenants/acme", "base/ray.yaml.j2"])
def test_inputs_that_are_symlinks_are_refused(tmp_path: Path, link: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    before = snapshot(root)
    moved = tmp_path / "elsewhere"
    (root / link).rename(moved)
    os.symlink(moved, root / link)
    capsys.readouterr()
    assert dataplane(root, "render", "--no-cache") == 2
    err = capsys.readouterr().err
    assert f"{link} is a symbolic link; inputs must be plain files" in err and "Traceback" not in err
    assert snapshot(root) == before


@pytest.mark.parametrize("overrides, message", [
    ('env:\n  "MONGO_URI\\n": "mongodb://evil"\n', "contains a control or invisible character"),
    ('env:\n  "MONGO_URI\\u200b": "mongodb://evil"\n', "contains a control or invisible character"),
    ('overrides:\n  "text_extractor\\t":\n    max_replicas: 3\n', "contains a control or invisible character"),
    ('env:\n  mongo_uri: "mongodb://evil"\n', "is set by the platform and cannot be overridden"),
])
def test_protected_keys_are_matched_whole(tmp_path: Path, overrides: str, message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused_overrides(tmp_path, capsys, overrides)
    assert "tenants/acme/overrides.yaml:2:" in err and message in err


def _refused_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: str) -> str:
    """acme's overrides.yaml replaced by `overrides`: validate refuses it; what it printed."""
    root = copy_repo(tmp_path)
    write(root, {"tenants/acme/overrides.yaml": overrides})
    capsys.readouterr()
    assert dataplane(root, "validate") == 2
    return capsys.readouterr().err


RECORDED = "sha256:a66ae721e056cec20cdea6607e05cbb6ec6f44d002a6b7c8063fce4dcc73ed2c"  # registry/releases.yaml, 2026.11.3
FORK_BUILD = f'fork_builds:\n  - {{sha: "{"a" * 40}", digest: "sha256:{"b" * 64}"}}\n'


@pytest.mark.parametrize("image, accepted", [
    (f"ghcr.io/dataplane-platform/engine:2026.11.3@{RECORDED}", True),
    ("ghcr.io/dataplane-platform/engine-tenant-acme:tenant-acme-" + "a" * 40 + "@sha256:" + "b" * 64, True),
    ("ghcr.io/dataplane-platform/engine:2026.11.3", False),
    ("ghcr.io/dataplane-platform/engine:tenant-acme-" + "a" * 40, False),
    ("ghcr.io/dataplane-platform/engine:tenant-acme-" + "a" * 40 + "@sha256:" + "b" * 64, False),
    ("ghcr.io/dataplane-platform/engine:2026.11.3@sha256:" + "b" * 64, False),  # a fork's digest behind a release tag
    (f"ghcr.io/dataplane-platform/engine:latest@{RECORDED}", False),
    ("docker.io/evil/miner:latest", False),
    (f"ghcr.io/dataplane-platform/engine-evil:2026.11.3@{RECORDED}", False),
    ("ghcr.io/dataplane-platform/engine-tenant-globex:tenant-globex-" + "a" * 40 + "@sha256:" + "b" * 64, False),
])
def test_images_come_from_the_platform_registry_only(tmp_path: Path, image: str, accepted: bool,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    (root / "tenants/acme/release.yaml").write_text(f'platform_version: "2026.11.3"\nimage: {image}\n{FORK_BUILD}')
    capsys.readouterr()
    assert dataplane(root, "validate") == (0 if accepted else 2)
    if not accepted:
        assert "tenants/acme/release.yaml:2:8: image:" in capsys.readouterr().err


def test_no_tenant_prefix_starts_another_tenants(tmp_path: Path) -> None:
    """acme and acme--prod: the vector prefix used to be acme__ and acme__prod__."""
    from render import layout

    names = ["acme", "acme--prod", "acme-prod", "acme0", "a", "a-b", "a--b"]
    for make in (layout.vector_prefix, layout.queue_prefix, layout.redis_key_prefix):
        values = [make(n) for n in names]
        assert not [(x, y) for x in values for y in values if x != y and y.startswith(x)], make.__name__
    root = copy_repo(tmp_path)
    for name, org in (("acme--prod", "org_00000001"), ("acme-prod", "org_00000002")):
        (root / "tenants" / name).mkdir()
        for file in ("overrides.yaml", "release.yaml"):
            (root / "tenants" / name / file).write_bytes((root / "tenants/acme" / file).read_bytes())
        tenant = (root / "tenants/acme/tenant.yaml").read_text().replace("name: acme", f"name: {name}")
        tenant = tenant.replace("org_7f3a9c21", org)
        (root / "tenants" / name / "tenant.yaml").write_text(tenant)
    assert dataplane(root, "validate") == 0


def test_the_fleet_check_refuses_a_prefix_claim(tmp_path: Path) -> None:
    from render.load import Document
    from render.validate import fleet_rules

    a = Document("tenants/a/tenant.yaml", {"name": "a"}, {("name",): (2, 7)})
    b = Document("tenants/b/tenant.yaml", {"name": "b"}, {("name",): (2, 7)})
    problems = fleet_rules.prefix_conflicts([("queue prefix", "acme.", a, ("name",)), ("queue prefix", "acme.x.", b, ("name",))])
    assert [(p.file, p.message) for p in problems] == [
        ("tenants/b/tenant.yaml", "queue prefix 'acme.x.' starts with 'acme.', claimed by tenants/a/tenant.yaml:2")]


def test_codeowners_is_generated_from_the_ownership_map_and_checked(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    owners = (root / ".github/CODEOWNERS").read_text()
    assert "* @dataplane-platform/platform\n" in owners
    assert "/tenants/acme/overrides.yaml @dataplane-platform/tenant-acme\n" in owners
    assert "tenant.yaml" not in owners and "release.yaml" not in owners  # the platform team's, by the * line
    # Issue 23 item 4: no tenant team co-owns a generated folder; the last lines give them to the platform alone.
    generated = ("/rendered/", "/argocd/", "/control-plane/", "/.github/CODEOWNERS")
    for line in owners.splitlines():
        if line.startswith(("/rendered", "/argocd", "/control-plane", "/.github")):
            assert line.split()[1:] == ["@dataplane-platform/platform"], line
    assert [line.split()[0] for line in owners.splitlines()[-4:]] == list(generated)
    (root / ".github/CODEOWNERS").write_text(owners.replace("tenant-acme", "tenant-globex"))  # a hand edit
    capsys.readouterr()
    assert dataplane(root, "render", "--check") == 1
    assert "stale: .github/CODEOWNERS" in capsys.readouterr().out
    assert dataplane(root, "render") == 0
    assert (root / ".github/CODEOWNERS").read_text() == owners


def test_a_pull_request_editing_platform_owned_files_is_named_for_platform_review(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Attack 6: a tenant PR edits its tenant.yaml (another organization's id) and its
    release.yaml; check-scope lists both and fails, naming the rules."""
    work = clone(make_origin(tmp_path), tmp_path / "work")
    base = git(work, "rev-parse", "HEAD")
    tenant = work / "tenants/acme/tenant.yaml"
    tenant.write_text(tenant.read_text().replace("org_7f3a9c21", "org_00000000"))
    release = work / "tenants/acme/release.yaml"
    release.write_text(release.read_text().replace('platform_version: "2026.11.3"', 'platform_version: "2026.11.4"'))
    overrides = work / "tenants/acme/overrides.yaml"
    overrides.write_text("auto_deploy: false\n")
    commit_all(work, "acme: settings")
    summary = tmp_path / "summary.md"
    capsys.readouterr()
    assert dataplane(work, "check-scope", "--base", base, "--summary", str(summary)) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "refused by rule generated-by-automation: 'tenants/acme/release.yaml'" in captured.err
    assert "refused by rule tenant-files-only: 'tenants/acme/tenant.yaml'" in captured.err
    platform = out.split("Platform-owned changes: need platform review:\n")[1].split(":\n")[0]
    assert "tenants/acme/tenant.yaml" in platform and "overrides.yaml" not in platform
    assert "Automation-owned files changed by hand: need platform review:\n  - tenants/acme/release.yaml (acme)" in out
    assert "Tenant-owned (self-service):\n  - tenants/acme/overrides.yaml (acme)" in out
    assert "## Changes by owner" in summary.read_text()


def test_the_pull_request_workflow_runs_the_scope_and_migration_checks_without_a_cache() -> None:
    import yaml

    from tests.support import ROOT

    steps = yaml.safe_load((ROOT / ".github/workflows/pr.yml").read_text())["jobs"]["validate"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    # The output renders, with no cache: what differs from the base, the rest proven equal by git.
    assert 'dataplane render --base "$BASE_SHA"' in runs
    assert 'dataplane check-scope --base "$BASE_SHA"' in runs and 'dataplane migration --against "$BASE_SHA"' in runs


TEAM_MEMBERS = {("dataplane-platform", "tenant-globex", "globex-dev")}


@pytest.fixture
def teams_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str | None]]]:
    """A stand-in GitHub API: GET /orgs/<org>/teams/<team>/memberships/<login>; records each call."""
    seen: list[tuple[str, str | None]] = []

    def answer(method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        seen.append((path, headers.get("Authorization")))
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 6 and parts[0] == "orgs" and (parts[1], parts[3], parts[5]) in TEAM_MEMBERS:
            return 200, {"state": "active", "role": "member"}
        return 404, {"message": "Not Found"}

    with serve_json(answer) as url:
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("DATAPLANE_TEAMS_TOKEN", "t0ken")
        yield seen


def _dispatch(tmp_path: Path, tenant: str, repository: str, sender: str | None) -> Path:
    payload: dict[str, object] = {"inputs": {"tenant": tenant, "repository": repository, "ref": "main"}}
    if sender is not None:
        payload["sender"] = {"login": sender}
    path = tmp_path / "dispatch.json"
    path.write_text(json.dumps(payload))
    return path


SHA = "c" * 40


def test_a_fork_deploy_into_another_tenant_is_refused(tmp_path: Path, teams_api: list[tuple[str, str | None]],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Attack 2: tenant globex, repository acme-corp/engine: acme's code with globex's credentials."""
    origin = make_origin(tmp_path)
    work = clone(origin, tmp_path / "work")
    start = git(work, "rev-parse", "HEAD")
    event = _dispatch(tmp_path, "globex", "acme-corp/engine", "globex-dev")
    capsys.readouterr()
    assert dataplane(work, "fork-inputs", "--event", str(event)) == 2
    assert "acme-corp/engine is not a fork globex may deploy from" in capsys.readouterr().err
    assert dataplane(work, "fork-deploy", "--event", str(event), f"--commit={SHA}", f"--digest=sha256:{'d' * 64}",
                     "--push") == 2
    assert git(origin, "rev-parse", "refs/heads/main") == start and git(work, "status", "--porcelain") == ""


# Who may dispatch a fork deploy (the run's triggering actor, never the payload's sender):
# tests/system/test_authority.py.


def test_a_fork_deploy_records_the_image_by_digest(tmp_path: Path) -> None:
    work = clone(make_origin(tmp_path), tmp_path / "work")
    digest = "sha256:" + "d" * 64
    assert dataplane(work, "fork-deploy", "--tenant", "acme", "--repository", "acme-corp/engine", "--ref", "main",
                     f"--commit={SHA}", f"--digest={digest}") == 0
    release = (work / "tenants/acme/release.yaml").read_text()
    assert f"engine-tenant-acme:tenant-acme-{SHA}@{digest}" in release  # the tenant's own package
    assert f'- sha: "{SHA}"\n    digest: "{digest}"' in release  # recorded: admission admits it
    assert dataplane(work, "validate") == 0 and dataplane(work, "render", "--check") == 0
    assert dataplane(work, "fork-deploy", "--tenant", "acme", "--repository", "acme-corp/engine", "--ref", "main",
                     f"--commit={SHA}", "--digest=sha256:short") == 2


@pytest.mark.parametrize("overrides, message", [
    ('env:\n  LOG_LEVEL: "{{ 7*7 }}"\n', "is not a LOG_LEVEL the engine understands"),
    ("overrides:\n  text_extractor:\n    num_cpus: 1.0e-300\n", "is read by YAML as 1e-300"),
    ("overrides:\n  universal_extractor:\n    target_ongoing_requests: 0.5\n", "is not a whole number of queued tasks"),
])
def test_values_the_deep_validators_refuse_are_refused_by_validate(tmp_path: Path, overrides: str, message: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Each was accepted by validate and rendered output that validate --deep refused."""
    assert message in _refused_overrides(tmp_path, capsys, overrides)


@pytest.mark.parametrize("folder", ["rendered", "argocd/tenants", "control-plane", ".github"])
@pytest.mark.parametrize("check", [True, False])
def test_an_output_folder_that_is_a_symlink_is_refused_not_followed(tmp_path: Path, folder: str, check: bool,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A committed `rendered -> /elsewhere` would make a render write (or a check read) outside the checkout."""
    root = copy_repo(tmp_path / "repo")
    outside = tmp_path / "outside"
    (root / folder).rename(outside)
    os.symlink(outside, root / folder)
    before = sorted(p.relative_to(outside).as_posix() for p in outside.rglob("*"))
    capsys.readouterr()
    assert dataplane(root, "render", *(["--check"] if check else [])) == 2
    err = capsys.readouterr().err
    assert f"{folder}: {folder} is (or lies under) a symbolic link" in err.replace(":1:1", "") and "Traceback" not in err
    assert sorted(p.relative_to(outside).as_posix() for p in outside.rglob("*")) == before


def test_a_broken_ownership_map_is_a_problem_and_nothing_is_written(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    owners = (root / ".github/CODEOWNERS").read_bytes()
    path = root / "registry/ownership.yaml"
    path.write_text(path.read_text().replace('tenant_team: "@dataplane-platform/tenant-{tenant}"', 'tenant_team: "*"'))
    for args in (["validate"], ["render"]):
        capsys.readouterr()
        assert dataplane(root, *args) == 2
        err = capsys.readouterr().err
        assert "registry/ownership.yaml:" in err and "tenant_team" in err
    assert snapshot(root) == before and (root / ".github/CODEOWNERS").read_bytes() == owners
