"""End-to-end rendering: golden files, determinism, atomicity, pruning."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from render import emit
from tests.support import ROOT, copy_repo, dataplane, snapshot, write


def test_committed_output_is_current(tmp_path: Path) -> None:
    """The committed output folders are the golden files."""
    root = copy_repo(tmp_path, outputs=False)
    assert dataplane(root, "render") == 0
    fresh = snapshot(root)  # every output folder (layout.OUTPUT_DIRS)
    golden = snapshot(ROOT)
    if fresh != golden:
        diff = []
        for path in sorted(set(fresh) | set(golden)):
            if fresh.get(path) != golden.get(path):
                diff += difflib.unified_diff(golden.get(path, b"").decode().splitlines(),
                                             fresh.get(path, b"").decode().splitlines(),
                                             f"committed/{path}", f"fresh/{path}", lineterm="")
        pytest.fail("committed output differs from a fresh render:\n" + "\n".join(diff[:200]))


def test_render_twice_gives_identical_bytes(tmp_path: Path) -> None:
    a, b = copy_repo(tmp_path / "a", outputs=False), copy_repo(tmp_path / "b", outputs=False)
    assert dataplane(a, "render") == 0
    assert dataplane(b, "render") == 0
    assert snapshot(a) == dict(snapshot(b).items())
    assert dataplane(a, "render") == 0
    assert snapshot(a) == snapshot(b)


def test_check_reports_stale_missing_and_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "render", "--check") == 0
    (root / "rendered/acme/statefulset-redis.yaml").write_text("edited by hand\n")
    (root / "rendered/acme/service-redis.yaml").unlink()
    (root / "rendered/acme/configmap-stray.yaml").write_text("stray\n")
    capsys.readouterr()
    assert dataplane(root, "render", "--check") == 1
    out = capsys.readouterr().out
    assert "stale: rendered/acme/statefulset-redis.yaml" in out
    assert "missing: rendered/acme/service-redis.yaml" in out
    assert "extra: rendered/acme/configmap-stray.yaml" in out
    assert (root / "rendered/acme/configmap-stray.yaml").exists(), "--check must not write"


def test_render_prunes_files_no_longer_produced(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    assert (root / "rendered/acme/statefulset-mongodb.yaml").exists()
    tenant = root / "tenants/acme/tenant.yaml"
    tenant.write_text(tenant.read_text().replace("mode: dedicated_instance", "mode: shared_instance"))
    assert dataplane(root, "render") == 0
    assert not (root / "rendered/acme/statefulset-mongodb.yaml").exists()
    assert not (root / "rendered/acme/service-mongodb.yaml").exists()


def test_deleting_a_tenant_removes_its_output(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    import shutil

    shutil.rmtree(root / "tenants/globex")
    assert dataplane(root, "render") == 0
    assert not (root / "rendered/globex").exists()
    assert not any(p.name == "globex" for p in (root / "argocd").rglob("*"))
    assert (root / "rendered/acme").is_dir()


def test_rendering_one_tenant_leaves_others_alone(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    overrides = root / "tenants/acme/overrides.yaml"
    overrides.write_text("disabled: [web_scraper]\n")
    assert dataplane(root, "render", "acme") == 0
    after = snapshot(root)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and all("/acme/" in p or p.endswith("/acme") for p in changed)


def test_interrupted_write_leaves_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure midway through writing leaves the old folders whole and no temp files."""
    root = copy_repo(tmp_path)
    before = snapshot(root)
    (root / "tenants/acme/overrides.yaml").write_text("disabled: [web_scraper]\n")
    real_write_new = emit._write_new
    calls = {"n": 0}

    def flaky(path: str, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        real_write_new(path, data)

    monkeypatch.setattr(emit, "_write_new", flaky)
    with pytest.raises(OSError):
        emit.write(root, _outputs(root), [])
    monkeypatch.undo()
    assert calls["n"] == 5
    assert snapshot(root) == before


def test_recover_restores_a_scope_caught_mid_swap(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    retired = root / "rendered/.acme.old-k3j9x0ab"
    retired.mkdir()
    (retired / "scope").write_text("rendered/acme")
    (root / "rendered/acme").rename(retired / "x")
    (root / "rendered/.acme.new-y7q2m1cd").mkdir()  # named as the engine names them
    emit.recover(root)
    assert snapshot(root) == before


def _outputs(root: Path) -> emit.Outputs:
    from render.load import load_repo
    from render.pipeline import render_repo

    return render_repo(load_repo(root))


def test_invalid_input_writes_nothing(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    before = snapshot(root)
    write(root, {"tenants/acme/overrides.yaml": "overrides:\n  text_extractor:\n    max_replicas: three\n"})
    (root / "tenants/globex/overrides.yaml").write_text("disabled: [text_extractor]\n")
    assert dataplane(root, "render") == 2
    assert snapshot(root) == before
