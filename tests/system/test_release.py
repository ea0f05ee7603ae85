"""render/workflows/release.py, render/workflows/change_summary.py and the load stage's pinned revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from render.load import load_repo, parse_yaml
from render.merge import Effective, Source, _leaves
from render.pipeline import render_repo
from render.problems import ProblemsError
from render.validate import validate_repo
from render.workflows.change_summary import tenant_changes
from render.workflows.release import Target, fork_image, is_fork, moved, plan_update, release_text, set_scalars
from tests.flow_repo import clone, commit_all, dataplane, git, make_origin, tag_release
from tests.support import set_pin, snapshot

REV1, REV2, PREV = "1" * 40, "2" * 40, "3" * 40
TARGET = Target("2026.12.1", "ghcr.io/x/engine:2026.12.1", REV2)
OLD = {"platform_version": "2026.11.3", "image": "ghcr.io/x/engine:2026.11.3"}


def test_plan_bumps_auto_deploy_and_holds_the_rest():
    fork = {**OLD, "image": "ghcr.io/x/engine:tenant-forky-" + "a" * 40}
    plan = plan_update({"auto": (True, OLD), "held": (False, OLD), "forky": (True, fork),
                        "pinned": (False, {**OLD, "platform_revision": REV1})}, TARGET, PREV)
    assert plan.bumped == {"auto": {"platform_version": "2026.12.1", "image": TARGET.image, "platform_revision": REV2}}
    assert plan.pinned == {"held": {**OLD, "platform_revision": PREV}, "forky": {**fork, "platform_revision": PREV}}
    assert [(p.name, p.reason.split(" ")[0]) for p in plan.pending] == [("forky", "runs"), ("held", "auto_deploy"),
                                                                        ("pinned", "auto_deploy")]


def test_plan_keeps_an_equivalent_revision():
    on_target = {"platform_version": "2026.12.1", "image": TARGET.image, "platform_revision": REV1}
    assert plan_update({"a": (True, on_target)}, TARGET, None, frozenset({REV1})).bumped == {}
    assert plan_update({"a": (True, on_target)}, TARGET, None).bumped["a"]["platform_revision"] == REV2


def test_moved_drops_the_fork_unless_kept():
    fork = {**OLD, "image": "r:tenant-acme-" + "a" * 40, "fork": {"repository": "a/b", "ref": "main", "commit": "a" * 40}}
    assert is_fork(fork) and not is_fork(OLD)
    assert "fork" not in moved(fork, TARGET) and moved(fork, TARGET)["image"] == TARGET.image
    assert moved(fork, TARGET, keep_image=True)["image"] == fork["image"]


def test_fork_image_uses_the_full_commit():
    """...in the tenant's own package, apart from the platform's releases."""
    assert fork_image("ghcr.io/x/engine", "acme", "a" * 40) == "ghcr.io/x/engine-tenant-acme:tenant-acme-" + "a" * 40


def test_release_text_round_trips_in_a_fixed_order():
    data = {"fork": {"commit": "c" * 40, "repository": "a/b", "ref": "main"}, "platform_revision": REV1, **OLD}
    text = release_text(data)
    assert yaml.safe_load(text) == data
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert keys == ["platform_version", "image", "platform_revision", "fork"]


def test_set_scalars_edits_in_place_and_keeps_comments():
    text = '# top\nplatform_version: "1.0"  # the label\nengine:\n  repository: r\n  # tag\n  tag: 1.0\n'
    out = set_scalars(text, parse_yaml(text, "p.yaml"), {("platform_version",): "2.0", ("engine", "tag"): "2.0"})
    assert out == '# top\nplatform_version: "2.0"  # the label\nengine:\n  repository: r\n  # tag\n  tag: "2.0"\n'


def test_set_scalars_refuses_a_missing_key():
    with pytest.raises(ProblemsError):
        set_scalars("a: 1\n", parse_yaml("a: 1\n", "p.yaml"), {("b",): "x"})


def eff(**values) -> Effective:
    base = {"release": OLD, "auto_deploy": True, "extractors": {}, "cluster": {}, "head": {"cpu": "2", "memory": "8Gi"},
            "env": {}}
    merged = {**base, **values}
    # provenance as the merge records it: one entry per leaf (dicts are walked, lists are leaves)
    return Effective(merged, {path: Source("test", "", 0) for path in _leaves(merged)})


def ext(enabled: bool = True, lo: int = 0, hi: int = 2, **kw) -> dict[str, object]:
    return {"enabled": enabled, "min_replicas": lo, "max_replicas": hi, "num_cpus": 1, "num_gpus": 0, "memory": "4Gi", **kw}


def test_summary_sentences():
    before = eff(extractors={"a_v1": ext(), "b_v1": ext(), "c_v1": ext(False)},
                 cluster={"gpu-workers": {"min_replicas": 0, "max_replicas": 2, "replicas": 0, "cpu": "7", "memory": "28Gi", "gpus": 1}})
    after = eff(release={**OLD, "image": "r:new"}, auto_deploy=False,
                extractors={"a_v1": ext(lo=1, hi=4, memory="6Gi"), "b_v1": ext(False), "c_v1": ext(), "d_v1": ext()},
                cluster={"gpu-workers": {"min_replicas": 1, "max_replicas": 3, "replicas": 1, "cpu": "7", "memory": "30Gi", "gpus": 1}},
                head={"cpu": "4", "memory": "8Gi"}, env={"LOG_LEVEL": "DEBUG"})
    assert tenant_changes(before, after) == [
        "Engine image changes from `ghcr.io/x/engine:2026.11.3` to `r:new` (release.yaml).",
        "Extractor a_v1: minimum replicas (`min_replicas`) 0 → 1, maximum replicas (`max_replicas`) 2 → 4, "
        "memory (`memory`) 4Gi → 6Gi.",
        "Extractor b_v1 is disabled.",
        "Extractor c_v1 is enabled.",
        "New extractor d_v1 from the registry (enabled).",
        "Platform updates no longer deploy automatically (`auto_deploy`: false).",
        "Worker group gpu-workers: minimum replicas (`min_replicas`) 0 → 1, maximum replicas (`max_replicas`) 2 → 3, "
        "starting nodes (`replicas`) 0 → 1, memory (`memory`) 28Gi → 30Gi.",
        "Head node: CPU (`cpu`) 2 → 4.",
        "Environment variable `LOG_LEVEL` is set.",
    ]
    assert tenant_changes(before, before) == []
    assert tenant_changes(None, before) == ["New tenant: its data plane is created."]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return clone(make_origin(tmp_path), tmp_path / "work")


def test_a_pinned_tenant_renders_from_its_revision(work):
    template = work / "base/namespace.yaml.j2"
    template.write_text(template.read_text().replace("  labels:\n", "  labels:\n    x: {{ \"y\" | j }}\n", 1))
    set_pin(work, "acme", tag_release(work, commit_all(work, "template change")))  # initech stays where it was

    repo = load_repo(work)
    assert validate_repo(repo) == []
    assert repo.inputs_for("acme").templates == repo.current.templates
    assert repo.inputs_for("initech").templates != repo.current.templates
    out = render_repo(repo)
    assert b"x: y" in out["rendered/acme"]["rendered/acme/namespace-tenant-acme.yaml"]
    assert b"x: y" not in out["rendered/initech"]["rendered/initech/namespace-tenant-initech.yaml"]


@pytest.mark.parametrize("revision", ["0" * 40, "abc", "HEAD", "1" * 40 + "\n"])
def test_an_unknown_or_malformed_revision_is_a_problem_on_its_line(work, revision):
    release = work / "tenants/initech/release.yaml"
    kept = release.read_text().split("platform_revision:")[0]
    release.write_text(kept + f"platform_revision: {revision!r}\n".replace("'", '"'))
    try:
        problems = validate_repo(load_repo(work))
    except ProblemsError as e:
        problems = e.problems
    assert problems and all(p.file == "tenants/initech/release.yaml" for p in problems)
    assert problems[0].pointer == "platform_revision" and problems[0].line == kept.count("\n") + 1


def test_a_pinned_registry_is_validated_against_the_tenants_overrides(work):
    overrides = work / "tenants/initech/overrides.yaml"
    overrides.write_text(overrides.read_text().replace("disabled:\n", "disabled:\n  - sentiment_extractor\n"))  # newer registry
    problems = validate_repo(load_repo(work))
    assert [(p.file, p.message) for p in problems] == [
        ("tenants/initech/overrides.yaml", "unknown extractor 'sentiment_extractor'")]


def test_validate_refuses_a_release_without_a_pin_and_promote_gives_it_one(work, capsys):
    release = work / "tenants/globex/release.yaml"
    release.write_text(release.read_text().split("platform_revision:")[0])
    commit_all(work, "globex without a pin")
    before = snapshot(work)
    capsys.readouterr()
    assert dataplane(work, "validate") == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("tenants/globex/release.yaml:") and \
        ": platform_revision: missing: every tenant pins the platform release it renders from" in first
    assert "`dataplane promote globex` pins the newest release" in err and "1 problem found" in err
    assert dataplane(work, "render") == 2 and snapshot(work) == before  # nothing written
    assert dataplane(work, "promote", "globex") == 0
    pinned = yaml.safe_load((work / "tenants/acme/release.yaml").read_text())["platform_revision"]
    assert yaml.safe_load(release.read_text())["platform_revision"] == pinned  # the newest release
    assert dataplane(work, "render", "--check", "--no-cache") == 0


def test_pin_pins_the_unpinned_tenants_and_refuses_a_revision_that_would_move_them(work, capsys):
    for tenant in ("globex", "initech"):
        release = work / f"tenants/{tenant}/release.yaml"
        release.write_text(release.read_text().split("platform_revision:")[0])
    commit_all(work, "two tenants without a pin")
    acme = (work / "tenants/acme/release.yaml").read_bytes()
    template = work / "base/namespace.yaml.j2"
    template.write_text(template.read_text().replace("  labels:\n", "  labels:\n    x: {{ \"y\" | j }}\n", 1))
    moved = commit_all(work, "a template change")
    head, tags = git(work, "rev-parse", "HEAD"), git(work, "tag", "--list")

    assert dataplane(work, "pin") == 2  # HEAD's template would change their output: nothing written
    assert "would change" in capsys.readouterr().err
    assert (git(work, "rev-parse", "HEAD"), git(work, "tag", "--list"), git(work, "status", "--porcelain")) == (head, tags, "")

    assert dataplane(work, "pin", "--revision", "HEAD~1") == 0
    assert git(work, "diff", "--name-only", "HEAD~1", "HEAD").split() == ["registry/releases.yaml",
                                                                           "tenants/globex/release.yaml",
                                                                           "tenants/initech/release.yaml"]
    assert yaml.safe_load((work / "tenants/initech/release.yaml").read_text())["platform_revision"] == \
        git(work, "rev-parse", f"{moved}~1")
    assert (work / "tenants/acme/release.yaml").read_bytes() == acme  # pinned already: left alone
    assert dataplane(work, "render", "--check", "--no-cache") == 0
    assert dataplane(work, "pin", "--revision", "0" * 40) == 2


def test_a_pin_recorded_in_the_releases_file_holds_in_a_clone_without_tags(work, tmp_path, capsys):
    # Tags need not travel with a clone: `dataplane pin` also records the revision in
    # registry/releases.yaml, which is all a tagless clone has to check the pin against.
    for release in sorted(work.glob("tenants/*/release.yaml")):
        release.write_text(release.read_text().split("platform_revision:")[0])
    commit_all(work, "no tenant pinned")
    head = git(work, "rev-parse", "HEAD")
    assert dataplane(work, "pin") == 0
    recorded = yaml.safe_load((work / "registry/releases.yaml").read_text())["revisions"]
    assert {"revision": head, "version": recorded[-1]["version"]} == recorded[-1]
    bare = tmp_path / "tagless"
    git(tmp_path, "clone", "-q", "--no-tags", str(work), str(bare))
    assert git(bare, "tag", "--list") == ""
    assert dataplane(bare, "render", "--check", "--no-cache") == 0
    # The record is all that stands for the tag: without it the same pin is refused.
    text = (bare / "registry/releases.yaml").read_text()
    (bare / "registry/releases.yaml").write_text(text.replace(head, "0" * 40))
    commit_all(bare, "forget the record")
    capsys.readouterr()
    assert dataplane(bare, "validate") == 2
    assert f"{head[:12]} is not a platform release" in capsys.readouterr().err
