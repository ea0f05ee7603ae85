"""Loading the repository: size, encoding, top-level shape, missing and stray files."""

from __future__ import annotations

from pathlib import Path

import pytest

from render import layout, load
from render.load import load_repo, read_yaml
from render.problems import Problem, ProblemsError
from tests.support import copy_repo


def write(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def read_problems(root: Path, rel: str) -> list[Problem]:
    with pytest.raises(ProblemsError) as info:
        read_yaml(root, rel)
    return info.value.problems


def test_file_size_limit(tmp_path: Path) -> None:
    write(tmp_path, "big.yaml", b"a: " + b"x" * load.MAX_FILE_BYTES + b"\n")
    [problem] = read_problems(tmp_path, "big.yaml")
    assert problem.message.endswith(f"over the {load.MAX_FILE_BYTES}-byte limit")


def test_non_utf8_points_at_the_line(tmp_path: Path) -> None:
    write(tmp_path, "f.yaml", "a: 1\nb: caf\xe9\n".encode("latin-1"))
    assert read_problems(tmp_path, "f.yaml") == [Problem("f.yaml", 2, 1, "", "file is not valid UTF-8", "save the file as UTF-8")]


def test_utf16_is_not_utf8(tmp_path: Path) -> None:
    write(tmp_path, "f.yaml", "a: 1\n".encode("utf-16"))
    assert read_problems(tmp_path, "f.yaml")[0].message == "file is not valid UTF-8"


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "f.yaml", "\ufeffa: 1\n".encode("utf-8"))
    assert read_yaml(tmp_path, "f.yaml").data == {"a": 1}


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just words\n", "string"), ("42\n", "number"),
                                        ("true\n", "boolean")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    write(tmp_path, "f.yaml", ("# comment\n" + text).encode())
    assert read_problems(tmp_path, "f.yaml") == [Problem(
        "f.yaml", 2, 1, "", f"the top level must be a mapping of keys to values, not a {kind}",
        "start the file with `key: value` lines")]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_file_is_an_empty_mapping(tmp_path: Path, text: str) -> None:
    write(tmp_path, "f.yaml", text.encode())
    assert read_yaml(tmp_path, "f.yaml").data == {}


def test_missing_file_and_folder_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    assert read_problems(tmp_path, "gone.yaml")[0].message == "file is missing"
    assert read_problems(tmp_path, "dir.yaml")[0].message.startswith("cannot read file")


def test_load_repo_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, "tenants/acme/overrides.yaml", b"a: [\n")
    write(root, "tenants/globex/release.yaml", b"- x\n")
    (root / "tenants/initech/tenant.yaml").unlink()
    with pytest.raises(ProblemsError) as info:
        load_repo(root)
    assert [p.file for p in info.value.problems] == [
        "tenants/acme/overrides.yaml", "tenants/globex/release.yaml", "tenants/initech/tenant.yaml"]


def test_misspelt_file_in_a_tenant_folder(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, "tenants/acme/overides.yaml", b"{}\n")
    write(root, "tenants/acme/README.md", b"notes\n")
    with pytest.raises(ProblemsError) as info:
        load_repo(root)
    assert info.value.problems == [Problem("tenants/acme/overides.yaml", 1, 1, "", "unexpected file: it would be ignored",
                                           "did you mean 'overrides.yaml'?")]


def test_unknown_tenant_and_unreadable_template(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, f"{layout.BASE_DIR}/broken.yaml.j2", b"\xff\xfe")
    with pytest.raises(ProblemsError) as info:
        load_repo(root, ["nobody"])
    assert [(p.file, p.message[:20]) for p in info.value.problems] == [
        ("base/broken.yaml.j2", "cannot read template"), ("tenants/nobody", "no tenant named 'nob")]
