"""Flows: fork deploy, config deploy, and concurrent deploys serialised by push retries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from render import git as engine_git
from render.commands.config_deploy import config_deploy
from render.commands.fork_deploy import fork_deploy
from render.problems import ProblemsError
from render.workflows import deploy
from tests.flow_repo import (
    clone,
    commit_all,
    dataplane,
    event,
    files_under,
    git,
    make_origin,
    origin_head,
    push,
    tenant_of,
    touched,
)

SHA_A = "a" * 40
SHA_B = "b" * 40
DIGEST = "sha256:" + "d" * 64  # what the fork build job pushed
DIGEST_B = "sha256:" + "e" * 64
ENGINE = "ghcr.io/dataplane-platform/engine"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = make_origin(tmp_path)
    return origin, clone(origin, tmp_path / "work")


def fork_event(tmp_path: Path, tenant: str, repository: str = "acme-corp/engine", ref: str = "custom-ocr") -> Path:
    return event(tmp_path, "fork", {"inputs": {"tenant": tenant, "repository": repository, "ref": ref}})


def release(work: Path, tenant: str) -> dict[str, object]:
    return dict(yaml.safe_load((work / f"tenants/{tenant}/release.yaml").read_text()))


def test_fork_deploy_changes_only_that_tenant(repo, tmp_path):
    origin, work = repo
    start = origin_head(origin)
    pinned = release(work, "acme")["platform_revision"]
    others = {t: files_under(work, f"rendered/{t}") | files_under(work, f"tenants/{t}") for t in ("globex", "initech")}

    assert dataplane(work, "fork-deploy", "--event", str(fork_event(tmp_path, "acme")), "--commit", SHA_A, "--digest", DIGEST, "--push") == 0

    assert origin_head(origin) == git(work, "rev-parse", "HEAD") != start
    changed = touched(work, f"{start}..HEAD")
    assert "tenants/acme/release.yaml" in changed
    assert all(p == "tenants/acme/release.yaml" or (tenant_of(p) == "acme" and not p.startswith("tenants/"))
               for p in changed)
    assert release(work, "acme")["image"] == f"{ENGINE}-tenant-acme:tenant-acme-{SHA_A}@{DIGEST}"
    assert release(work, "acme")["fork_builds"] == [{"sha": SHA_A, "digest": DIGEST}]
    assert release(work, "acme")["fork"] == {"repository": "acme-corp/engine", "ref": "custom-ocr", "commit": SHA_A}
    assert release(work, "acme")["platform_revision"] == pinned  # pinned where it was: held on platform updates
    assert f"tenant-acme-{SHA_A}".encode() in (work / "rendered/acme/rayservice-engine.yaml").read_bytes()
    for tenant, files in others.items():
        assert files_under(work, f"rendered/{tenant}") | files_under(work, f"tenants/{tenant}") == files
    assert dataplane(work, "render", "--check") == 0


HOSTILE_TENANTS = ["../globex", "acme/../globex", "", "acm\u0435", "\uff41cme", "ACME", "acme\n", "-acme",
                   "acme/", "globex ", "acme;globex", "tenants/globex"]


@pytest.mark.parametrize("tenant", HOSTILE_TENANTS)
def test_fork_deploy_refuses_hostile_tenant_names(repo, tmp_path, tenant):
    origin, work = repo
    start = origin_head(origin)
    assert dataplane(work, "fork-deploy", "--event", str(fork_event(tmp_path, tenant)), "--commit", SHA_A, "--digest", DIGEST, "--push") == 2
    assert dataplane(work, "fork-inputs", "--event", str(fork_event(tmp_path, tenant))) == 2
    assert origin_head(origin) == start
    assert git(work, "status", "--porcelain") == ""


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "main..globex", "$(id)", "main;id", "a b",
                                 "refs/heads/x@{1}", "x.lock", "", "main\nx", "../../globex", "/etc/passwd"])
def test_fork_deploy_refuses_hostile_refs(repo, tmp_path, ref):
    origin, work = repo
    start = origin_head(origin)
    assert dataplane(work, "fork-deploy", "--event", str(fork_event(tmp_path, "acme", ref=ref)), "--commit", SHA_A, "--digest", DIGEST) == 2
    assert origin_head(origin) == start and git(work, "status", "--porcelain") == ""


@pytest.mark.parametrize("repository", ["acme-corp/../globex", "https://evil.example/x", "a/b/c", "acme-corp",
                                        "acme-corp/..", "-x/engine"])
def test_fork_deploy_refuses_hostile_repositories(repo, tmp_path, repository):
    _origin, work = repo
    assert dataplane(work, "fork-inputs", "--event", str(fork_event(tmp_path, "acme", repository=repository))) == 2


@pytest.mark.parametrize("commit", ["abc1234", "A" * 40, "g" * 40, "--all"])
def test_fork_deploy_refuses_bad_commits(repo, tmp_path, commit):
    _origin, work = repo
    assert dataplane(work, "fork-deploy", "--event", str(fork_event(tmp_path, "acme")), f"--commit={commit}", "--digest", DIGEST) == 2


def test_fork_deploy_aborts_when_anything_outside_the_tenant_would_be_committed(repo, tmp_path):
    origin, work = repo
    start = origin_head(origin)
    victim = work / "rendered/globex/namespace-tenant-globex.yaml"
    victim.write_text("# replaced\n")
    git(work, "add", str(victim))  # something already staged: a compromised step, say

    with pytest.raises(ProblemsError) as caught:  # the precondition: nothing starts over a dirty tree
        fork_deploy(root=work, tenant="acme", repository="acme-corp/engine", ref="main", commit=SHA_A, digest=DIGEST)
    assert [p.message for p in caught.value.problems] == [
        "uncommitted changes: rendered/globex/namespace-tenant-globex.yaml"]

    with pytest.raises(ProblemsError) as caught:  # and the scope check behind it, at the commit
        deploy.commit_tenant(work, "acme", "fork deploy", release=True)
    assert [p.message for p in caught.value.problems] == [
        "'rendered/globex/namespace-tenant-globex.yaml' is outside tenant acme's deploy scope"]
    assert origin_head(origin) == start == git(work, "rev-parse", "HEAD")


def test_a_pushing_deploy_refuses_to_start_over_uncommitted_changes(repo, tmp_path, capsys):
    origin, work = repo
    start = origin_head(origin)
    (work / "rendered/globex/namespace-tenant-globex.yaml").write_text("# replaced\n")

    assert dataplane(work, "fork-deploy", "--tenant", "acme", "--repository", "acme-corp/engine", "--ref", "main",
                     f"--commit={SHA_A}", "--digest", DIGEST, "--push") == 2

    assert "uncommitted changes" in capsys.readouterr().err
    assert origin_head(origin) == start
    assert (work / "rendered/globex/namespace-tenant-globex.yaml").read_text() == "# replaced\n"


def test_check_scope_command(repo, tmp_path):
    _origin, work = repo
    (work / "rendered/acme/namespace-tenant-acme.yaml").write_text("# x\n")
    git(work, "add", "-A")
    assert dataplane(work, "check-scope", "acme") == 0
    assert dataplane(work, "check-scope", "globex") == 2
    assert dataplane(work, "check-scope", "../acme") == 2
    (work / "tenants/acme/overrides.yaml").write_text("{}\n# x\n")
    git(work, "add", "-A")
    assert dataplane(work, "check-scope", "acme", "--release") == 2


def test_a_fork_image_of_one_tenant_is_refused_in_another(repo, capsys):
    _origin, work = repo
    path = work / "tenants/globex/release.yaml"
    path.write_text(path.read_text().replace(f"{ENGINE}:2026.11.3", f"{ENGINE}:tenant-acme-{SHA_A}"))
    assert dataplane(work, "validate") == 2
    assert "is a fork build of tenant acme" in capsys.readouterr().err


def test_fork_image_names_the_full_commit(repo, tmp_path, capsys):
    _origin, work = repo
    out = tmp_path / "out"
    assert dataplane(work, "fork-image", "--tenant", "acme", "--source", str(work), "--output", str(out)) == 0
    head = git(work, "rev-parse", "HEAD")
    assert out.read_text() == (f"commit={head}\nimage={ENGINE}-tenant-acme:tenant-acme-{head}\n"
                               f"repository={ENGINE}-tenant-acme\n")  # the one package the build job may push to


def test_config_deploy_rerenders_one_tenant_and_names_its_application(repo, tmp_path):
    origin, work = repo
    (work / "tenants/acme/overrides.yaml").write_text("disabled: [web_scraper]\n")
    (work / "tenants/globex/overrides.yaml").write_text("{}\n")  # not asked for: must stay unrendered
    start = commit_all(work, "tenant edits without rendering")
    push(work)
    globex = files_under(work, "rendered/globex")
    out = tmp_path / "out"

    assert dataplane(work, "config-deploy", "--event", str(event(tmp_path, "cfg", {"inputs": {"tenant": "acme"}})),
                     "--push", "--output", str(out)) == 0

    changed = touched(work, f"{start}..HEAD")
    assert changed and all(p.startswith("rendered/acme/") or p == "tenants/acme/release.yaml" for p in changed)
    assert b"web_scraper_v1" not in (work / "rendered/acme/rayservice-engine.yaml").read_bytes()
    assert files_under(work, "rendered/globex") == globex
    assert out.read_text() == "tenant=acme\napp=tenant-acme\n"
    assert origin_head(origin) == git(work, "rev-parse", "HEAD")


def test_config_deploy_with_no_input_change_still_commits_the_scaling_reset(repo, tmp_path):
    origin, work = repo
    start = origin_head(origin)
    assert dataplane(work, "config-deploy", "acme", "--push") == 0
    assert origin_head(origin) != start
    assert touched(work, f"{start}..HEAD") == ["rendered/acme/rayservice-engine.yaml", "tenants/acme/release.yaml"]


def test_config_deploy_refuses_uncommitted_inputs_and_names_them(repo, capsys):
    """Regression: an uncommitted edit was rendered and committed, so HEAD's output no longer
    matched HEAD's inputs (`render --check` failed on the new commit)."""
    origin, work = repo
    start = origin_head(origin)
    (work / "tenants/acme/overrides.yaml").write_text("disabled: [web_scraper]\n")
    (work / "registry/notes.yaml").write_text("a: 1\n")
    assert dataplane(work, "--format", "json", "config-deploy", "acme") == 2
    problems = yaml.safe_load(capsys.readouterr().out)
    assert [p["file"] for p in problems] == ["registry/notes.yaml", "tenants/acme/overrides.yaml"]
    assert all(p["message"] == "uncommitted change to an input of the render" for p in problems)
    assert git(work, "rev-parse", "HEAD") == start and not git(work, "status", "--porcelain", "--", "rendered")


def test_a_rejected_push_is_retried_on_the_new_tip(repo, tmp_path):
    """Two deploys race: B's first push loses to A's, B re-renders on top and wins."""
    origin, work_b = repo
    work_a = clone(origin, tmp_path / "work-a")
    raced = []

    def a_pushes_first(attempt: int) -> None:
        if attempt == 1:
            fork_deploy(root=work_a, tenant="acme", repository="acme-corp/engine", ref="main", commit=SHA_A, digest=DIGEST, push=True)
            raced.append(origin_head(origin))

    def apply() -> list[str]:
        (work_b / "tenants/globex/overrides.yaml").write_text("auto_deploy: true\n")
        commit_all(work_b, "globex: reset overrides")
        return [git(work_b, "rev-parse", "HEAD")]

    result = engine_git.deploy(work_b, apply, push=True, before_push=a_pushes_first)

    assert result.attempts == 2
    assert git(origin, "rev-parse", "refs/heads/main^") == raced[0]
    assert f"tenant-acme-{SHA_A}" in git(origin, "show", "refs/heads/main:tenants/acme/release.yaml")
    assert git(origin, "show", "refs/heads/main:tenants/globex/overrides.yaml") == "auto_deploy: true"


def test_concurrent_deploys_are_serialised(repo, tmp_path):
    """Four deploys from four clones at once (two of them to the same tenant): every one
    lands, one after another, each re-rendered on top of the others."""
    origin, _ = repo
    start = origin_head(origin)
    clones = [clone(origin, tmp_path / f"runner-{i}") for i in range(4)]
    jobs = [
        lambda w: fork_deploy(root=w, tenant="acme", repository="acme-corp/engine", ref="a", commit=SHA_A, digest=DIGEST, push=True),
        lambda w: fork_deploy(root=w, tenant="globex", repository="globex/engine", ref="b", commit=SHA_B, digest=DIGEST_B, push=True),
        lambda w: fork_deploy(root=w, tenant="acme", repository="acme-corp/engine", ref="b", commit=SHA_B, digest=DIGEST_B, push=True),
        lambda w: config_deploy(root=w, tenant="initech", push=True),
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job, work: Path) -> None:
        try:
            barrier.wait()
            job(work)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(job, work)) for job, work in zip(jobs, clones, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    log = git(origin, "log", "--format=%s", f"{start}..refs/heads/main").splitlines()
    assert sorted(s.split(":")[0] for s in log) == ["config deploy 1"] + ["fork deploy"] * 3
    assert len(git(origin, "rev-list", "--merges", f"{start}..refs/heads/main")) == 0  # linear history
    final = clone(origin, tmp_path / "final")
    acme = release(final, "acme")["image"]
    own = f"{ENGINE}-tenant-acme:tenant-acme-"
    assert acme in (f"{own}{SHA_A}@{DIGEST}", f"{own}{SHA_B}@{DIGEST_B}")
    assert release(final, "acme")["fork_builds"] == [{"sha": SHA_A, "digest": DIGEST}, {"sha": SHA_B, "digest": DIGEST_B}][
        ::1 if acme.endswith(DIGEST_B) else -1]  # both recorded, the one deployed last newest
    assert release(final, "globex")["image"] == f"{ENGINE}-tenant-globex:tenant-globex-{SHA_B}@{DIGEST_B}"
    assert dataplane(final, "render", "--check") == 0
