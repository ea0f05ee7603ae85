"""When any input of the fleet is invalid, `dataplane render` changes no byte anywhere in
the repository and leaves no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import copy_repo
from tests.system.test_corpus import CASES, RENDERED_FROM, apply_case
from tests.validation_repo import leftovers, run


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the repository copy, hidden ones included."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", [c for c in CASES if c.parent.name in RENDERED_FROM
                                  and "# only: validate" not in c.read_text(encoding="latin-1")],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_render_writes_nothing_for_any_corpus_case(case: Path, tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=True)
    apply_case(root, case)
    before = tree(root)
    code, out, err = run(root, "render")
    assert code == 2, out + err
    assert "Traceback" not in err
    assert tree(root) == before
    assert leftovers(root) == []


@pytest.mark.parametrize("args", [["render"], ["render", "acme"], ["render", "globex"], ["render", "--check"]])
def test_one_bad_tenant_stops_every_write(tmp_path: Path, args: list[str]) -> None:
    root = copy_repo(tmp_path, outputs=True)
    # globex's output is stale (it would be rewritten) and acme's input is invalid.
    (root / "tenants/globex/overrides.yaml").write_text("env:\n  LOG_LEVEL: DEBUG\n", encoding="utf-8")
    (root / "tenants/acme/overrides.yaml").write_text("cluster:\n  gpu-worker: {}\n", encoding="utf-8")
    before = tree(root)
    code, _, _ = run(root, *args)
    # Rendering globex alone is valid (and writes); every run that includes acme writes nothing.
    if args == ["render", "globex"]:
        assert code == 0
        return
    assert code == 2
    assert tree(root) == before
    assert leftovers(root) == []


def test_registry_problem_stops_every_write(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=True)
    path = root / "registry/extractors.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    memory: 4Gi\n", "    memory: 4GB\n", 1), encoding="utf-8")
    before = tree(root)
    assert run(root, "render")[0] == 2
    assert tree(root) == before
