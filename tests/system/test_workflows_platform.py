"""Flow: platform updates (new engine image, merge to base/ or registry/) and promote.

Each test runs the subcommand the platform-update workflow runs, on a clone of a bare
repository in tmp_path, with a simulated event payload, then inspects the commits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from render.workflows.release import release_text
from tests.flow_repo import (
    AUTO_DEPLOY,
    clone,
    commit_all,
    dataplane,
    event,
    files_under,
    git,
    make_origin,
    origin_head,
    push,
    tag_release,
    tenant_of,
    touched,
)
from tests.support import RELEASE_DIGEST

ENGINE = "ghcr.io/dataplane-platform/engine"
NEW_DIGEST = "sha256:" + "1" * 64  # what the release job pushed for 2026.12.1
NEW_IMAGE = f"{ENGINE}:2026.12.1@{NEW_DIGEST}"
OLD_IMAGE = f"{ENGINE}:2026.10.2@sha256:d848818de00f3064a64b006756a67d6cf9af7301106f7cde4eab6bb9fdaeb01b"
FORK_DIGEST = "sha256:" + "f" * 64

NEW_EXTRACTOR = """
  sentiment_extractor_v1:
    name: sentiment_extractor
    version: v1
    description: Sentiment of short texts.
    modalities: [text]
    runtime: ray_serve
    worker_group: cpu-workers
    import_path: engine.extractors.sentiment_extractor.v1:app
    num_cpus: 1
    num_gpus: 0
    memory: 2Gi
    min_replicas: 0
    max_replicas: 2
    target_ongoing_requests: 4
    upscale_delay_s: 30
    downscale_delay_s: 600
    max_ongoing_requests: 8
    capabilities: [sentiment]
    enabled_by_default: true
"""


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    # Without a rollout plan a platform update moves every auto_deploy tenant at once
    # (the waves of registry/rollout.yaml are tested in test_rollout_flow.py).
    origin = make_origin(tmp_path, without=("registry/rollout.yaml",))
    return origin, clone(origin, tmp_path / "work")


def release(work: Path, tenant: str) -> dict[str, object]:
    return dict(yaml.safe_load((work / f"tenants/{tenant}/release.yaml").read_text()))


def pin(work: Path, tenant: str) -> str:
    """Pin `tenant` to HEAD's platform (what a first platform update does) and push."""
    rev = git(work, "rev-parse", "HEAD")
    data = release(work, tenant)
    (work / f"tenants/{tenant}/release.yaml").write_text(release_text({**data, "platform_revision": tag_release(work, rev)}))
    commit_all(work, f"pin {tenant}")
    push(work)
    return rev


def serve_apps(work: Path, tenant: str) -> list[str]:
    ray = yaml.safe_load((work / f"rendered/{tenant}/rayservice-engine.yaml").read_text())
    return [app["name"] for app in yaml.safe_load(ray["spec"]["serveConfigV2"])["applications"]]


def test_new_engine_image_bumps_auto_deploy_tenants_and_leaves_pinned_ones_untouched(repo, tmp_path):
    origin, work = repo
    pin(work, "initech")
    initech_before = files_under(work, "tenants/initech") | files_under(work, "rendered/initech")
    start = git(work, "rev-parse", "HEAD")
    payload = event(tmp_path, "dispatch", {"action": "engine-published",
                                           "client_payload": {"version": "2026.12.1", "tag": "2026.12.1"}})
    summary = tmp_path / "summary.md"

    assert dataplane(work, "platform-update", "--event-name", "repository_dispatch", "--event", str(payload),
                     "--digest", NEW_DIGEST, "--push", "--summary", str(summary)) == 0

    assert git(work, "rev-parse", "HEAD") == origin_head(origin)
    engine_commit = git(work, "rev-parse", "HEAD^")
    assert touched(work, f"{start}..{engine_commit}") == ["registry/platform.yaml", "registry/releases.yaml"]
    release_files = touched(work, f"{engine_commit}..HEAD")
    assert {tenant_of(p) for p in release_files} == set(AUTO_DEPLOY)
    assert all(p.endswith("release.yaml") or not p.startswith("tenants/") for p in release_files)
    for tenant in AUTO_DEPLOY:
        assert release(work, tenant) == {"platform_version": "2026.12.1", "image": NEW_IMAGE,
                                         "platform_revision": engine_commit}
        rendered = b"".join(files_under(work, f"rendered/{tenant}").values())
        assert b"engine:2026.12.1" in rendered and b"engine:2026.11.3" not in rendered
    assert files_under(work, "tenants/initech") | files_under(work, "rendered/initech") == initech_before
    report = summary.read_text()
    assert "**initech** stays on 2026.10.2: auto_deploy is false" in report and "**acme**" in report
    assert dataplane(work, "render", "--check") == 0


def test_an_update_leaves_held_tenants_on_their_pin(repo, tmp_path):
    _origin, work = repo
    initech_rendered = files_under(work, "rendered/initech")
    pinned = release(work, "initech")

    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", NEW_DIGEST, "--push") == 0

    assert release(work, "initech") == pinned and pinned["image"] == OLD_IMAGE
    assert files_under(work, "rendered/initech") == initech_rendered
    assert dataplane(work, "render", "--check") == 0


def test_merge_changing_a_template_rolls_out_to_auto_deploy_tenants_only(repo, tmp_path):
    _origin, work = repo
    pin(work, "initech")
    assert dataplane(work, "platform-update", "--version", "2026.11.3", "--digest", RELEASE_DIGEST, "--push") == 0  # pins acme, globex too
    initech_before = files_under(work, "tenants/initech") | files_under(work, "rendered/initech")
    template = work / "base/namespace.yaml.j2"
    template.write_text(template.read_text().replace("  labels:\n", "  labels:\n    dataplane.io/tier: {{ \"enterprise\" | j }}\n", 1))
    merge = commit_all(work, "platform: tier label on namespaces")
    push(work)
    payload = event(tmp_path, "push", {"ref": "refs/heads/main", "before": "0" * 40, "after": merge})

    assert dataplane(work, "platform-update", "--event-name", "push", "--event", str(payload), "--push") == 0

    assert git(work, "rev-parse", "HEAD^") == merge
    for tenant in AUTO_DEPLOY:
        assert release(work, tenant)["platform_revision"] == merge
        assert "dataplane.io/tier: enterprise" in (work / f"rendered/{tenant}/namespace-tenant-{tenant}.yaml").read_text()
    assert files_under(work, "tenants/initech") | files_under(work, "rendered/initech") == initech_before
    assert "dataplane.io/tier" not in (work / "rendered/initech/namespace-tenant-initech.yaml").read_text()
    assert dataplane(work, "render", "--check") == 0


def test_registry_change_adds_extractor_for_auto_deploy_then_promote_for_pinned(repo, tmp_path, capsys):
    _origin, work = repo
    pin(work, "initech")
    (work / "registry/extractors.yaml").write_text((work / "registry/extractors.yaml").read_text() + NEW_EXTRACTOR)
    commit_all(work, "registry: sentiment extractor")
    push(work)

    assert dataplane(work, "platform-update", "--event-name", "push", "--event",
                     str(event(tmp_path, "push", {"before": "0" * 40})), "--push") == 0

    assert "sentiment_extractor_v1" in serve_apps(work, "acme")
    assert "sentiment_extractor_v1" in serve_apps(work, "globex")
    assert "sentiment_extractor_v1" not in serve_apps(work, "initech")
    assert "passthrough_extractor_v1" not in serve_apps(work, "globex")  # globex's disabled one stays disabled

    capsys.readouterr()
    assert dataplane(work, "promote", "initech") == 0
    said = capsys.readouterr().out
    assert "New extractor sentiment_extractor_v1 from the registry (enabled)." in said
    assert "sentiment_extractor_v1" in serve_apps(work, "initech")
    assert not {"face_identity_extractor_v1", "web_scraper_v1"} & set(serve_apps(work, "initech"))
    # The release the update recorded (what acme now runs), not the release commit itself.
    assert release(work, "initech")["platform_revision"] == release(work, "acme")["platform_revision"]
    assert git(work, "tag", "--points-at", release(work, "acme")["platform_revision"]).startswith("platform/")
    changed = git(work, "status", "--porcelain").splitlines()
    assert changed and all("initech" in line for line in changed)
    assert dataplane(work, "render", "--check") == 0


def test_update_is_idempotent(repo):
    origin, work = repo
    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", NEW_DIGEST, "--push") == 0
    head = origin_head(origin)
    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", NEW_DIGEST, "--push") == 0
    assert origin_head(origin) == head


def test_update_off_main_refuses_before_writing_and_pushes_nothing(repo, capsys):
    origin, work = repo
    head, tags = origin_head(origin), git(work, "tag", "--list")
    git(work, "checkout", "-q", "-b", "feature")
    (work / "tenants/acme/overrides.yaml").write_text("auto_deploy: false\n")
    unreviewed = commit_all(work, "unreviewed change")

    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", NEW_DIGEST, "--push") == 2

    assert "HEAD is on feature, not on main" in capsys.readouterr().err
    assert origin_head(origin) == head
    assert git(work, "rev-parse", "HEAD") == unreviewed and git(work, "status", "--porcelain") == ""
    assert git(work, "tag", "--list") == tags  # no release tagged


def test_promote_refuses_uncommitted_platform_changes(repo, capsys):
    _origin, work = repo
    (work / "base/namespace.yaml.j2").write_text((work / "base/namespace.yaml.j2").read_text() + "\n")
    assert dataplane(work, "promote", "initech") == 2
    assert "uncommitted changes" in capsys.readouterr().err


def test_hostile_platform_versions_are_refused(repo, tmp_path):
    origin, work = repo
    head = origin_head(origin)
    for version, tag in (("2026.12.1; rm -rf /", None), ("../x", None), ("2026.12.1", "tenant-acme-abc")):
        payload = {"inputs": {"version": version, **({"tag": tag} if tag else {})}}
        assert dataplane(work, "platform-update", "--event-name", "workflow_dispatch", "--event",
                         str(event(tmp_path, "dispatch", payload)), "--push") == 2
    assert origin_head(origin) == head


def test_a_tenant_running_its_fork_is_held_even_with_auto_deploy(repo, tmp_path):
    _origin, work = repo
    assert dataplane(work, "fork-deploy", "--tenant", "acme", "--repository", "acme-corp/engine", "--ref", "main",
                     f"--commit={'a' * 40}", "--digest", FORK_DIGEST, "--push") == 0
    acme = files_under(work, "tenants/acme") | files_under(work, "rendered/acme")
    summary = tmp_path / "summary.md"

    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", NEW_DIGEST, "--push", "--summary", str(summary)) == 0

    assert files_under(work, "tenants/acme") | files_under(work, "rendered/acme") == acme
    assert "**acme** stays on 2026.11.3: runs its fork image" in summary.read_text()
    assert release(work, "globex")["image"] == NEW_IMAGE
    assert dataplane(work, "promote", "acme", "--keep-image") == 0
    assert release(work, "acme")["image"] == f"{ENGINE}-tenant-acme:tenant-acme-{'a' * 40}@{FORK_DIGEST}"
    assert release(work, "acme")["platform_version"] == "2026.12.1"


@pytest.mark.parametrize("args, pointer, message", [
    (("--version", "2026.12.1"), "digest", "release 2026.12.1: no digest"),
    (("--version", "2026.12.1", "--digest", "sha256:abc"), "digest", "release 2026.12.1: 'sha256:abc' is not an image"),
    (("--version", "latest", "--digest", NEW_DIGEST), "version", "'latest' is not a platform release version"),
    (("--version", "2026.12.1", "--tag", "latest", "--digest", NEW_DIGEST), "tag",
     "tag 'latest' is not the release's version '2026.12.1'"),
    (("--version", "2026.10.9", "--digest", NEW_DIGEST), "version", "2026.10.9 is older than the current release 2026.11.3"),
    (("--version", "2026.11.3", "--digest", NEW_DIGEST), "digest", "release 2026.11.3 is recorded with another digest"),
    (("--digest", NEW_DIGEST), "digest", "a digest without a version"),
])
def test_a_release_without_a_digest_a_downgrade_or_latest_is_refused_and_nothing_written(
        repo, capsys, args, pointer, message):
    origin, work = repo
    head = origin_head(origin)
    capsys.readouterr()
    assert dataplane(work, "platform-update", *args, "--push") == 2
    [line, *_] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"workflow inputs:1:1: {pointer}: {message}")
    assert origin_head(origin) == head == git(work, "rev-parse", "HEAD") and git(work, "status", "--porcelain") == ""


def test_a_dispatched_release_takes_its_digest_from_the_flag_and_records_it(repo, tmp_path):
    _origin, work = repo
    payload = event(tmp_path, "dispatch", {"inputs": {"version": "2026.12.1", "digest": "sha256:" + "9" * 64}})
    assert dataplane(work, "platform-update", "--event-name", "workflow_dispatch", "--event", str(payload),
                     "--digest", NEW_DIGEST, "--push") == 0
    recorded = yaml.safe_load((work / "registry/releases.yaml").read_text())["releases"]
    assert recorded[-1] == {"version": "2026.12.1", "digest": NEW_DIGEST, "ray": "2.60.0", "kuberay": "1.7.0"}
    platform = yaml.safe_load((work / "registry/platform.yaml").read_text())
    assert platform["engine"] == {"repository": ENGINE, "tag": "2026.12.1", "digest": NEW_DIGEST}
    assert "# Automation-owned" in (work / "registry/releases.yaml").read_text()  # edited in place
    assert dataplane(work, "validate") == 0
