"""`render --base REF` (render/base_diff.py) on temporary repositories with real git: only
what differs from the base revision renders, the rest is proven identical by git, and the
outcome is always the full render's (`render --check --no-cache`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from render import layout
from render.yamlstrict import parse_simple
from tests.flow_repo import git
from tests.support import ROOT, copy_repo, dataplane, pin_to_first_commit, set_pin, snapshot

Capsys = pytest.CaptureFixture[str]
ENGINE = (layout.ENGINE_DIR, "pyproject.toml", "constraints.txt")


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One commit of main: this checkout's inputs, committed output and engine."""
    seed = copy_repo(tmp_path_factory.mktemp("origin"))
    for rel in ENGINE:
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, seed / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / rel, seed / rel)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "main")
    pin_to_first_commit(seed)
    return seed


@pytest.fixture
def repo(origin: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    return work


def _commit(root: Path, files: dict[str, str | None]) -> str:
    """A pull request's commit: `files` written (None: removed); returns the base it started from."""
    base = git(root, "rev-parse", "HEAD")
    for rel, text in files.items():
        path = root / rel
        if text is None:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pull request")
    return base


def _check(root: Path, capsys: Capsys, *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = dataplane(root, "render", "--check", *args, "-o", "json")
    return code, json.loads(capsys.readouterr().out)


def _same_as_full(root: Path, capsys: Capsys, base: str) -> dict[str, Any]:
    """`--check --base` reports exactly what the full check reports; returns its "base" section."""
    code, against = _check(root, capsys, "--base", base)
    full_code, full = _check(root, capsys, "--no-cache")
    assert (code, against["files"]) == (full_code, full["files"])
    section: dict[str, Any] = against["base"]
    return section


def _append(root: Path, rel: str, text: str) -> str:
    return (root / rel).read_text(encoding="utf-8") + text


def test_a_pull_request_that_edits_one_tenants_overrides_renders_that_tenant_only(repo: Path, capsys: Capsys) -> None:
    base = _commit(repo, {"tenants/acme/overrides.yaml": "env:\n  LOG_LEVEL: DEBUG\n"})
    section = _same_as_full(repo, capsys, base)
    assert section["full"] is None and section["rendered"] == ["acme"]
    assert section["identical"] == len(list((repo / "tenants").iterdir())) - 1
    # The pull request carries no output: acme's is stale, and a render against the base writes it.
    code, found = _check(repo, capsys, "--base", base)
    assert code == 1 and {f["path"].split("/")[1] for f in found["files"]} == {"acme"}
    assert dataplane(repo, "render", "--base", base) == 0
    assert dataplane(repo, "render", "--check", "--no-cache") == 0


def test_a_hand_edit_of_another_tenants_committed_output_is_caught(repo: Path, capsys: Capsys) -> None:
    victim = "rendered/globex/namespace-tenant-globex.yaml"
    base = _commit(repo, {"tenants/acme/overrides.yaml": _append(repo, "tenants/acme/overrides.yaml", "# a note\n"),
                          victim: _append(repo, victim, "# edited by hand\n")})
    section = _same_as_full(repo, capsys, base)
    assert sorted(section["rendered"]) == ["acme", "globex"]
    code, found = _check(repo, capsys, "--base", base)
    assert code == 1 and found["files"] == [{"path": victim, "state": "stale"}]


def test_an_uncommitted_or_untracked_output_file_is_caught_too(repo: Path, capsys: Capsys) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "argocd/tenants/initech/extra.yaml").write_text("kind: Secret\n")
    (repo / "control-plane/routing/umbrella").joinpath("configmap-routing-umbrella.yaml").unlink()
    section = _same_as_full(repo, capsys, base)
    assert sorted(section["rendered"]) == ["initech", "umbrella"]
    code, found = _check(repo, capsys, "--base", base)
    assert code == 1 and [f["state"] for f in found["files"]] == ["missing", "extra"]


def test_committed_checks_heads_commit_and_still_sees_the_working_trees_inputs(repo: Path, capsys: Capsys) -> None:
    """pr.yml's `--committed`: on a fresh checkout it reports what the full check reports; an
    uncommitted input still renders its tenant, and only the output folders of the tenants
    that do not render are taken to be HEAD's (an uncommitted edit there is not looked at)."""
    base = _commit(repo, {"tenants/acme/overrides.yaml": "env:\n  LOG_LEVEL: DEBUG\n"})
    code, against = _check(repo, capsys, "--base", base, "--committed")
    full_code, full = _check(repo, capsys, "--no-cache")
    assert (code, against["files"]) == (full_code, full["files"]) and against["base"]["rendered"] == ["acme"]
    (repo / "tenants/globex/overrides.yaml").write_text(_append(repo, "tenants/globex/overrides.yaml", "# a note\n"))
    (repo / "argocd/tenants/initech/extra.yaml").write_text("kind: Secret\n")
    code, against = _check(repo, capsys, "--base", base, "--committed")
    assert sorted(against["base"]["rendered"]) == ["acme", "globex"]
    assert "argocd/tenants/initech/extra.yaml" not in {f["path"] for f in against["files"]}
    capsys.readouterr()
    assert dataplane(repo, "render", "--committed") == 2  # qualifies --base only


@pytest.mark.parametrize("rel", ["base/namespace.yaml.j2", "registry/platform.yaml"])
def test_a_platform_change_renders_no_pinned_tenant(repo: Path, capsys: Capsys, rel: str) -> None:
    """Every tenant renders from the release it pins: a change to base/ or registry/ moves none."""
    base = _commit(repo, {rel: _append(repo, rel, "\n# touched\n")})
    section = _same_as_full(repo, capsys, base)
    assert section["full"] is None and section["rendered"] == []


def test_a_platform_change_renders_a_tenant_whose_pin_moves_with_it(repo: Path, capsys: Capsys) -> None:
    base = _commit(repo, {"base/namespace.yaml.j2": _append(repo, "base/namespace.yaml.j2", "\n# touched\n")})
    release = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "platform release", f"platform/test/{release[:12]}", release)
    set_pin(repo, "globex", release)
    _commit(repo, {})
    section = _same_as_full(repo, capsys, base)
    assert section["full"] is None and section["rendered"] == ["globex"]


@pytest.mark.parametrize("rel", ["render/pipeline.py", "constraints.txt"])
def test_an_engine_change_renders_every_tenant(repo: Path, capsys: Capsys, rel: str) -> None:
    assert (repo / rel).is_file()
    base = _commit(repo, {rel: _append(repo, rel, "\n# touched\n")})
    section = _same_as_full(repo, capsys, base)
    assert section["full"] and rel in str(section["full"])
    assert sorted(section["rendered"]) == sorted(p.name for p in (repo / "tenants").iterdir())


def test_an_engine_that_is_not_the_bases_renders_every_tenant(repo: Path, capsys: Capsys) -> None:
    """The running engine is compared with the base's render/, whatever the checkout holds."""
    git(repo, "rm", "-q", "-r", "render/pipeline.py")
    git(repo, "commit", "-q", "-m", "an engine without the pipeline")
    base = git(repo, "rev-parse", "HEAD")
    section = _same_as_full(repo, capsys, base)
    assert "render/pipeline.py" in str(section["full"])


def test_a_deleted_tenant_is_pruned_and_an_added_one_rendered(repo: Path, capsys: Capsys) -> None:
    base = _commit(repo, {"tenants/umbrella": None})
    assert dataplane(repo, "new-tenant", "hooli", "--cloud", "aws", "--region", "eu-west-1",
                     "--organization-id", "org_h00l1", "--cloud-account", "123456789012") == 0
    section = _same_as_full(repo, capsys, base)
    assert section["rendered"] == ["hooli"]
    code, found = _check(repo, capsys, "--base", base)
    files: list[dict[str, str]] = found["files"]
    extra = {f["path"] for f in files if f["state"] == "extra"}
    assert code == 1 and extra and all("/umbrella/" in path for path in extra)
    assert any(f["state"] == "missing" and f["path"].startswith("rendered/hooli/") for f in files)
    assert dataplane(repo, "render", "--base", base) == 0
    assert not (repo / "rendered/umbrella").exists() and (repo / "rendered/hooli").is_dir()
    assert dataplane(repo, "render", "--check", "--no-cache") == 0


def test_fleet_wide_claims_still_see_every_peer(repo: Path, capsys: Capsys) -> None:
    """Only acme renders, yet its organization id is checked against the other tenants'."""
    taken = next(line for line in (repo / "tenants/globex/tenant.yaml").read_text().splitlines()
                 if line.startswith("organization_id:"))
    text = "\n".join(taken if line.startswith("organization_id:") else line
                     for line in (repo / "tenants/acme/tenant.yaml").read_text().splitlines()) + "\n"
    base = _commit(repo, {"tenants/acme/tenant.yaml": text})
    before = snapshot(repo)
    capsys.readouterr()
    assert dataplane(repo, "render", "--base", base) == 2
    assert "organization" in capsys.readouterr().err
    assert snapshot(repo) == before


def test_a_claim_taken_from_a_peer_is_reported_as_the_full_check_reports_it(repo: Path, capsys: Capsys) -> None:
    """Peers are read by the fast path (render/yamlstrict.py parse_simple); the problem names
    the peer's line exactly as the full check's strict reading does."""
    assert parse_simple((repo / "tenants/globex/tenant.yaml").read_text(), "globex") is not None
    taken = next(line for line in (repo / "tenants/globex/tenant.yaml").read_text().splitlines()
                 if line.startswith("organization_id:"))
    text = "\n".join(taken if line.startswith("organization_id:") else line
                     for line in (repo / "tenants/acme/tenant.yaml").read_text().splitlines()) + "\n"
    base = _commit(repo, {"tenants/acme/tenant.yaml": text})
    capsys.readouterr()
    assert dataplane(repo, "render", "--check", "--base", base, "-o", "json") == 2
    against = json.loads(capsys.readouterr().out)
    assert dataplane(repo, "render", "--check", "--no-cache", "-o", "json") == 2
    full = json.loads(capsys.readouterr().out)
    line = (repo / "tenants/globex/tenant.yaml").read_text().splitlines().index(taken) + 1
    assert [p["file"] for p in against] == ["tenants/acme/tenant.yaml"]
    assert f"tenants/globex/tenant.yaml:{line}" in against[0]["message"] and against[0] in full


def test_a_base_that_is_unknown_or_not_an_ancestor_is_refused(repo: Path, capsys: Capsys) -> None:
    assert dataplane(repo, "render", "--check", "--base", "0" * 40) == 2
    assert "--base" in capsys.readouterr().err
    side = _commit(repo, {"tenants/acme/overrides.yaml": _append(repo, "tenants/acme/overrides.yaml", "# side\n")})
    ahead = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", side)
    assert dataplane(repo, "render", "--check", "--base", ahead) == 2
    assert "not an ancestor" in capsys.readouterr().err
    assert dataplane(repo, "render", "--base", side, "acme") == 2


def test_outside_a_repository_it_says_so(tmp_path: Path, capsys: Capsys) -> None:
    root = copy_repo(tmp_path / "plain")
    assert dataplane(root, "render", "--check", "--base", "main") == 2
    assert "--base main" in capsys.readouterr().err
