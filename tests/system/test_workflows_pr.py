"""Flow: pull-request validation and its one comment, against a local fake of GitHub's API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from render import layout
from render.workflows import pr_comment
from render.workflows.pr_comment import MARKER, TenantChange
from tests.flow_repo import clone, commit_all, dataplane, event, git, make_origin
from tests.http_standin import Answer, serve_json
from tests.support import ROOT

NEW_EXTRACTOR = (ROOT / "tests" / "system" / "test_workflows_platform.py").read_text().split('NEW_EXTRACTOR = """')[1].split('"""')[0]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return clone(make_origin(tmp_path), tmp_path / "work")


def pr_event(tmp_path: Path, base: str, head_repo: str = "org/dataplane") -> Path:
    return event(tmp_path, "pull_request", {
        "pull_request": {"number": 7, "base": {"sha": base}, "head": {"repo": {"full_name": head_repo}}},
        "repository": {"full_name": "org/dataplane"}})


def test_report_describes_a_tenant_change_in_plain_words_then_the_diff(work, tmp_path):
    base = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "pr")
    (work / "tenants/globex/overrides.yaml").write_text(
        (work / "tenants/globex/overrides.yaml").read_text()
        .replace("  - passthrough_extractor\n", "  - passthrough_extractor\n  - web_scraper\n")
        .replace("max_replicas: 8", "max_replicas: 10")
        .replace("  gpu-workers:\n    min_replicas: 1\n    max_replicas: 6", "  gpu-workers:\n    min_replicas: 1\n    max_replicas: 3")
        .replace("  cpu: \"4\"\n  memory: 16Gi", "  cpu: \"6\"\n  memory: 16Gi"))
    assert dataplane(work, "render") == 0
    commit_all(work, "globex: tune")
    out = tmp_path / "comment.md"

    assert dataplane(work, "pr-report", "--event", str(pr_event(tmp_path, base)), "--out", str(out)) == 0

    body = out.read_text()
    assert body.startswith(MARKER)
    words = body.split("<details>")[0]
    assert "### globex" in words and "### acme" not in words and "### initech" not in words
    for sentence in ("Extractor web_scraper_v1 is disabled.",
                     "Extractor image_extractor_v1: maximum replicas (`max_replicas`) 8 → 10.",
                     "Worker group gpu-workers: maximum replicas (`max_replicas`) 6 → 3.",
                     "Head node: CPU (`cpu`) 4 → 6."):
        assert sentence in words
    # The GPU pool's ceiling falls from 6 to 3 L4 nodes: the footprint section says so.
    assert "#### Footprint of `globex` (gcp europe-west4)" in words
    assert "| GPUs (L4) | 2 | 2 | 0 | 6 | 3 | -3 |" in words  # extractor minimums keep 2 nodes on
    assert "<summary>Rendered diff:" in body and "```diff" in body
    assert "+++ b/rendered/globex/rayservice-engine.yaml" in body and "-    - name: web_scraper_v1" in body


def test_report_on_a_platform_change_names_who_moves_now_later_and_never(work, tmp_path):
    """Every tenant pins a release: a registry change (versions.ray) moves no tenant in the
    pull request; the report names the waves that move them later and the held tenant."""
    base = git(work, "rev-parse", "HEAD")
    (work / "registry/platform.yaml").write_text((work / "registry/platform.yaml").read_text()
                                                 .replace('ray: "2.60.0"', 'ray: "2.61.0"', 1))
    (work / "registry/extractors.yaml").write_text((work / "registry/extractors.yaml").read_text() + NEW_EXTRACTOR)
    commit_all(work, "registry: Ray 2.61.0, sentiment extractor")
    assert dataplane(work, "render", "--check", "--no-cache") == 0  # no tenant's output moves

    body = tmp_path / "comment.md"
    assert dataplane(work, "pr-report", "--base", base, "--out", str(body)) == 0
    text = body.read_text()
    assert "### Platform-owned changes: need platform review" in text
    assert "Platform inputs change: `registry/extractors.yaml`, `registry/platform.yaml`." in text
    assert "- Moves now, in this pull request: no tenant." in text
    assert ("- Moves later, by wave (registry/rollout.yaml): canary (acme) by `dataplane platform-update` on merge; "
            "then wave-1 (umbrella), wave-2 (globex) by `dataplane rollout advance`") in text
    assert "- Held: initech (auto_deploy is false: only `dataplane promote initech` moves it" in text
    assert "### acme\n\n- Moves later: wave canary, moved by `dataplane platform-update` on merge." in text
    assert "### globex\n\n- Moves later: wave wave-2 (3 of 3), moved by `dataplane rollout advance`" in text
    assert "### initech\n\n- Held: auto_deploy is false: only `dataplane promote initech` moves it" in text
    assert "sentiment_extractor" not in text and "<details>" not in text  # no tenant's values or files change


def test_a_tenants_own_change_in_a_platform_pull_request_moves_it_now(work, tmp_path):
    base = git(work, "rev-parse", "HEAD")
    (work / "registry/platform.yaml").write_text((work / "registry/platform.yaml").read_text()
                                                 .replace('ray: "2.60.0"', 'ray: "2.61.0"', 1))
    overrides = work / "tenants/globex/overrides.yaml"
    overrides.write_text(overrides.read_text().replace("downscale_delay_s: 1200", "downscale_delay_s: 120"))
    assert dataplane(work, "render") == 0
    commit_all(work, "registry and globex")
    body = tmp_path / "comment.md"
    assert dataplane(work, "pr-report", "--base", base, "--out", str(body)) == 0
    text = body.read_text()
    assert "- Moves now, in this pull request: globex (their own files or release change)." in text
    assert "rendered/globex/" in text and "rendered/acme/" not in text
    assert "rayVersion" not in text.split("<details>")[1]  # globex moves with its own change, not the platform's


def test_report_with_no_change(work, tmp_path):
    base = git(work, "rev-parse", "HEAD")
    out = tmp_path / "c.md"
    assert dataplane(work, "pr-report", "--base", base, "--out", str(out)) == 0
    assert "No input, effective value or rendered file changes." in out.read_text()
    assert "<details>" not in out.read_text()


def test_a_routing_only_change_is_reported_for_its_tenant_and_as_platform_owned(work, tmp_path):
    """Regression: the comment said no tenant changed when only control-plane/ output did."""
    base = git(work, "rev-parse", "HEAD")
    tenant = work / "tenants/acme/tenant.yaml"
    tenant.write_text(tenant.read_text() + "suspended: true\n")
    assert dataplane(work, "render") == 0
    changed = git(work, "status", "--porcelain", "--", *layout.OUTPUT_DIRS).split()
    assert "control-plane/routing/acme/configmap-routing-acme.yaml" in changed
    out = tmp_path / "c.md"

    assert dataplane(work, "pr-report", "--base", base, "--out", str(out)) == 0

    text = out.read_text()
    assert "No input" not in text and "no tenant" not in text.lower()
    assert "### Platform-owned changes: need platform review" in text
    assert "- **acme**: Organization org_7f3a9c21 is suspended: the control plane refuses its requests" in text
    assert "- **acme**: The control plane's routing changes (`control-plane/routing/acme/configmap-routing-acme.yaml`)" in text
    assert "+++ b/control-plane/routing/acme/configmap-routing-acme.yaml" in text


def test_tenant_of_covers_every_tenant_output_folder():
    for scope in layout.tenant_scopes("acme"):
        assert pr_comment.tenant_of(f"{scope}/x.yaml") == "acme"
    assert pr_comment.tenant_of("argocd/platform/appproject-tenants.yaml") is None


def test_an_input_change_with_no_effect_is_still_named(work, tmp_path):
    base = git(work, "rev-parse", "HEAD")
    overrides = work / "tenants/globex/overrides.yaml"
    overrides.write_text("# reordered\n" + overrides.read_text())
    out = tmp_path / "c.md"
    assert dataplane(work, "pr-report", "--base", base, "--out", str(out)) == 0
    assert "### globex\n\n- `tenants/globex/overrides.yaml` change(s), but no effective value does" in out.read_text()


def test_base_accepts_any_revision_git_accepts(work, tmp_path):
    overrides = work / "tenants/globex/overrides.yaml"
    overrides.write_text(overrides.read_text().replace("downscale_delay_s: 1200", "downscale_delay_s: 120"))
    assert dataplane(work, "render") == 0
    commit_all(work, "globex: faster scale-down")
    out = tmp_path / "c.md"
    assert dataplane(work, "pr-report", "--base", "HEAD~1", "--out", str(out)) == 0
    assert "scale-down delay (s) (`downscale_delay_s`) 1200 → 120" in out.read_text()


def test_a_missing_or_unknown_base_points_at_the_flag(work, capsys):
    assert dataplane(work, "pr-report") == 2
    err = capsys.readouterr()
    assert "--base: base: no base revision" in err.out + err.err and ":1:1" not in err.err
    assert "workflow inputs" not in err.out + err.err
    assert dataplane(work, "pr-report", "--base", "HEAD~99") == 2
    err = capsys.readouterr()
    assert "--base: base: 'HEAD~99' names no commit of this repository" in err.out + err.err


def test_bad_input_is_annotated_on_the_exact_line(work, capsys):
    (work / "tenants/acme/overrides.yaml").write_text("cluster:\n  cpu-workers:\n    max_replicas: three\n")
    assert dataplane(work, "--format", "github", "validate") == 2
    out = capsys.readouterr().out
    assert out.startswith("::error file=tenants/acme/overrides.yaml,line=3,col=19::cluster.cpu-workers.max_replicas: expected a whole number")


def test_section_builders_can_append_a_section(monkeypatch):
    monkeypatch.setattr(pr_comment, "SECTION_BUILDERS", pr_comment.SECTION_BUILDERS + (lambda c: [f"- footprint of {c.name}"],))
    body = pr_comment.comment([TenantChange("acme", None, None, None, None, ["rendered/acme/x.yaml"])],
                          {}, {"rendered/acme/x.yaml": b"a: 1\n"})
    assert ("### acme\n\n- 1 rendered file(s) change with every configuration value unchanged: the change comes "
            "from the platform's templates or the engine.\n- footprint of acme\n") in body


def test_a_long_diff_is_truncated_below_githubs_limit():
    after = {f"rendered/acme/f{i}.yaml": ("x: " + "y" * 200 + "\n").encode() * 50 for i in range(20)}
    body = pr_comment.comment([TenantChange("acme", None, None, None, None, sorted(after))], {}, after, limit=20_000)
    assert len(body) <= 20_000
    assert "diff truncated" in body and body.endswith("```\n\n</details>\n")


def github_answer(state: dict[str, Any]) -> Answer:
    """Just the issue-comment endpoints of GitHub's API, over `state`."""

    def answer(method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        url = urlsplit(path)
        if method == "GET":
            state["auth"].append(headers["Authorization"])
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            return 200, state["comments"][(page - 1) * 100: page * 100]
        if method == "POST":
            comment = {"id": 1000 + len(state["comments"]), "body": json.loads(body)["body"],
                       "user": {"login": "github-actions[bot]"}}
            state["comments"].append(comment)
            return 201, comment
        if method == "PATCH":
            cid = int(url.path.rsplit("/", 1)[1])
            for c in state["comments"]:
                if c["id"] == cid:
                    c["body"] = json.loads(body)["body"]
                    state["patched"].append(cid)
            return 200, {}
        return 405, {}

    return answer


@pytest.fixture
def github() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"comments": [], "patched": [], "auth": []}
    with serve_json(github_answer(state), with_query=True) as url:
        yield url, state


def test_one_comment_is_created_then_updated_in_place(work, tmp_path, github, monkeypatch):
    api, state = github
    # Somebody else's comment quoting the marker: never edited.
    state["comments"] += [{"id": i, "body": "lgtm", "user": {"login": "someone"}} for i in range(120)]
    state["comments"].append({"id": 500, "body": f"{MARKER} fake", "user": {"login": "mallory"}})
    monkeypatch.setenv("GITHUB_API_URL", api)
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/dataplane")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    payload = pr_event(tmp_path, git(work, "rev-parse", "HEAD"))

    assert dataplane(work, "pr-report", "--event", str(payload), "--post", "--summary", str(tmp_path / "s.md")) == 0
    ours = [c for c in state["comments"] if c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and ours[0]["body"].startswith(MARKER)

    (work / "tenants/acme/overrides.yaml").write_text("disabled: [web_scraper]\n")
    assert dataplane(work, "render") == 0
    assert dataplane(work, "pr-report", "--event", str(payload), "--post") == 0

    ours = [c for c in state["comments"] if c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and state["patched"] == [ours[0]["id"]]
    assert "Extractor web_scraper_v1 is disabled." in ours[0]["body"]
    assert state["comments"][120]["body"] == f"{MARKER} fake"
    assert set(state["auth"]) == {"Bearer t0ken"}


def test_a_pull_request_from_a_fork_gets_the_report_in_the_job_summary(work, tmp_path, github, monkeypatch, capsys):
    api, state = github
    monkeypatch.setenv("GITHUB_API_URL", api)
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/dataplane")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    summary = tmp_path / "summary.md"
    payload = pr_event(tmp_path, git(work, "rev-parse", "HEAD"), head_repo="someone/dataplane")
    assert dataplane(work, "pr-report", "--event", str(payload), "--post", "--summary", str(summary)) == 0
    assert state["comments"] == [] and summary.read_text().startswith(MARKER)
    assert "from a fork" in capsys.readouterr().out


def test_pr_report_and_check_scope_print_json(work, tmp_path, capsys):
    base = git(work, "rev-parse", "HEAD")
    (work / "tenants/acme/overrides.yaml").write_text(
        "overrides:\n  face_identity_extractor:\n    min_replicas: 1\ncluster:\n  gpu-workers:\n    max_replicas: 2\n")
    commit_all(work, "acme: a warm face extractor on two GPU nodes")  # the output is the automation's to render
    capsys.readouterr()
    assert dataplane(work, "-o", "json", "pr-report", "--base", base) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["base"] == base and report["platform_review"] is False
    assert "- This change lowers image_extractor's reachable maximum from 4 to 3" in report["body"]
    assert pr_comment.NO_PLATFORM_REVIEW in report["body"]
    assert dataplane(work, "check-scope", "--base", base, "-o", "yaml") == 0
    scope = yaml.safe_load(capsys.readouterr().out)
    assert scope["base"] == base and scope["platform_review"] is False
    assert {"path": "tenants/acme/overrides.yaml", "owner": "tenant", "tenant": "acme"} in scope["changes"]
    assert [c["owner"] for c in scope["changes"]] == ["tenant"] and scope["refused"] == []
