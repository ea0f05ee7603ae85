"""emit.Writer stages scopes while rendering goes on, swaps them in at the end, and
`recover` repairs what an interrupted write leaves behind."""

from __future__ import annotations

import os
from pathlib import Path

from render import emit


def files(scope: str, text: str) -> dict[str, bytes]:
    return {f"{scope}/a.yaml": text.encode(), f"{scope}/b.yaml": b"b: 1\n"}


def test_nothing_is_visible_until_finish_and_abort_leaves_old_output(tmp_path: Path) -> None:
    emit.write(tmp_path, {"rendered/t1": files("rendered/t1", "old")}, [])
    writer = emit.Writer(tmp_path)
    writer.add("rendered/t1", files("rendered/t1", "new"))
    writer.add("rendered/t2", files("rendered/t2", "new"))
    assert (tmp_path / "rendered/t1/a.yaml").read_text() == "old" and not (tmp_path / "rendered/t2").exists()
    writer.abort()
    assert sorted(p.name for p in (tmp_path / "rendered").iterdir()) == ["t1"]
    writer = emit.Writer(tmp_path)
    writer.add("rendered/t2", files("rendered/t2", "new"))
    writer.add("rendered/t1", files("rendered/t1", "new"))
    report = writer.finish([])
    assert report.written == ["rendered/t1/a.yaml", "rendered/t2/a.yaml", "rendered/t2/b.yaml"]
    assert report.scopes_changed == ["rendered/t1", "rendered/t2"] and report.unchanged == 1
    assert (tmp_path / "rendered/t1/a.yaml").read_text() == "new"


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    writer = emit.Writer(tmp_path, check=True)
    writer.add("argocd/tenants/t1", files("argocd/tenants/t1", "x"))
    assert writer.finish([]).written == ["argocd/tenants/t1/a.yaml", "argocd/tenants/t1/b.yaml"]
    assert not (tmp_path / "argocd").exists()


def test_recover_drops_staging_and_restores_a_scope_caught_mid_swap(tmp_path: Path) -> None:
    emit.write(tmp_path, {"argocd/tenants/t1": files("argocd/tenants/t1", "old")}, [])
    # A write interrupted between its two renames: the old folder retired, the new one staged.
    staging = emit._stage(tmp_path, "argocd/tenants/t1", files("argocd/tenants/t1", "new"))
    retired = emit._temp_dir(tmp_path, "argocd/tenants/t1", "old")
    (retired / "scope").write_text("argocd/tenants/t1")
    os.rename(tmp_path / "argocd/tenants/t1", retired / "x")
    assert staging.parent == retired.parent == tmp_path / "argocd"
    emit.recover(tmp_path)
    assert sorted(p.name for p in (tmp_path / "argocd").iterdir()) == ["tenants"]
    assert (tmp_path / "argocd/tenants/t1/a.yaml").read_text() == "old"
