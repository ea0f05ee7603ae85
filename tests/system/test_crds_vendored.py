"""The CRDs of every custom kind the output uses ship with the project (render/crds/), at
the upstream versions render/crds/SOURCES.md pins, byte for byte; and one command
refreshes them from the upstream folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from render import crds
from render.conformance.crds import CrdSchemas
from render.crds import vendor
from tests.support import ROOT, crds_dir
from tests.validation_repo import run

ROW = re.compile(r"^\| (?P<kinds>[^|]+) \| (?P<file>[^|]+) \| (?P<upstream>[^|]+) \| (?P<version>[^|]+) \| "
                 r"(?P<path>[^|]+) \| (?P<sha>[0-9a-f]{64}) \|$", re.MULTILINE)


def _rows() -> list[dict[str, str]]:
    return [m.groupdict() for m in ROW.finditer((crds.VENDORED / crds.SOURCES_FILE).read_text(encoding="utf-8"))]


def test_every_rendered_custom_kind_has_a_vendored_schema() -> None:
    used = vendor.used_kinds(ROOT)
    vendored = CrdSchemas.from_folder(crds.VENDORED)
    assert len(used) >= 10
    assert sorted(k for k in used if k not in vendored.files) == []
    assert {kind for _, kind in used} == {k.strip() for row in _rows() for k in row["kinds"].split(",")}


def test_sources_lists_every_vendored_file_with_its_sha256() -> None:
    files = sorted(p.relative_to(crds.VENDORED).as_posix() for p in crds.VENDORED.rglob("*.yaml"))
    rows = {row["file"]: row for row in _rows()}
    assert sorted(rows) == files
    for rel, row in rows.items():
        assert vendor.sha256(crds.VENDORED / rel) == row["sha"], rel
        assert "/" in row["upstream"] and re.search(r"`[0-9a-f]{12}`", row["version"]), row


def test_only_the_kinds_the_output_uses_are_vendored() -> None:
    used = {kind for _, kind in vendor.used_kinds(ROOT)}
    assert {kind for _, kind in CrdSchemas.from_folder(crds.VENDORED).files} == used


def test_the_locator_prefers_the_flag_then_the_environment_then_the_vendored_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crds.ENV, raising=False)
    assert crds.locate() == crds.VENDORED
    monkeypatch.setenv(crds.ENV, "/somewhere")
    assert crds.locate() == Path("/somewhere")
    assert crds.locate(Path("/flag")) == Path("/flag")


def test_one_command_refreshes_the_vendored_crds_from_upstream(tmp_path: Path) -> None:
    upstream = crds_dir()
    dest = tmp_path / "crds"
    dest.mkdir()
    (dest / "stale").mkdir()
    (dest / "stale" / "old.yaml").write_text("kind: CustomResourceDefinition\n")
    written = vendor.vendor(ROOT, upstream, dest)
    assert not (dest / "stale").exists()
    for rel in written:
        assert (dest / rel).read_bytes() == (crds.VENDORED / rel).read_bytes()
    assert (dest / crds.SOURCES_FILE).read_text() == (crds.VENDORED / crds.SOURCES_FILE).read_text()


def test_vendoring_refuses_a_file_that_does_not_match_its_recorded_sha256(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(crds_dir(), upstream)
    (upstream / "keda" / "keda.sh_scaledobjects.yaml").write_text(
        (upstream / "keda" / "keda.sh_scaledobjects.yaml").read_text() + "# edited\n")
    code, _, err = run(ROOT, "crds", "vendor", "--from", str(upstream), "--dry-run")
    assert code == 2 and "keda/keda.sh_scaledobjects.yaml does not match the sha256" in err
    assert err.startswith("--from: ")


def test_crds_where_names_the_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crds.ENV, raising=False)
    assert run(ROOT, "crds", "where") == (0, f"{crds.VENDORED}\n", "")
