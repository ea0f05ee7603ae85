"""docs/security.md's actor x action table: every cell allowed with a reason or forbidden
with its control and a test that exists; and no doc asks for tenant write access."""

from __future__ import annotations

import re

from tests.support import ROOT

DOC = (ROOT / "docs/security.md").read_text(encoding="utf-8")
SECTION = DOC.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
ACTORS = ["tenant member", "tenant's fork", "branch workflow", "platform engineer", "automation"]
ACTIONS = ["merge to main", "`platform/*` tag", "dispatch a release", "rollout advance, rollback or supersede",
           "fork deploy", "config deploy", "release package", "tenant's package", "required check",
           "`automation` / `platform` secrets", "`release` secrets", "`tenant-<name>` secrets", "`argocd` secrets"]


def rows() -> list[list[str]]:
    lines = [line for line in SECTION.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def notes() -> dict[str, str]:
    return dict(re.findall(r"^- \*\*([AF]\d+)\*\* (.*?)(?=^- \*\*|\Z)", SECTION, re.MULTILINE | re.DOTALL))


def test_the_table_has_every_actor_and_action():
    header, *body = rows()
    assert header[1:] == ACTORS
    for action in ACTIONS:
        assert sum(action in row[0] for row in body) == 1, action
    assert all(len(row) == len(ACTORS) + 1 for row in body)


def test_every_cell_names_a_reason_or_a_control_that_is_written_down():
    defined = notes()
    for row in rows()[1:]:
        for cell in row[1:]:
            cited = re.findall(r"\(([AF]\d+)\)", cell)
            assert cited, f"{row[0]}: {cell!r} names no note"
            assert all(c in defined for c in cited), f"{row[0]}: {cell!r}"
            assert not cell.startswith("no") or all(c.startswith("F") for c in cited), f"{row[0]}: {cell!r}"


def test_every_forbidden_cell_names_a_test_that_exists():
    for name, text in notes().items():
        tests = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
        if name.startswith("F"):
            assert tests, f"{name} names no test"
        for path, function in tests:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"^def {function}\(", source, re.MULTILINE), f"{name}: {path}::{function} does not exist"


def test_no_doc_asks_for_tenant_write_access():
    """Issue 23: the docs gave every tenant team write access (for CODEOWNERS and deploys)."""
    docs = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    for path in docs:
        text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
        for sentence in re.split(r"(?<=[.:])\s", text):
            if "tenant" not in sentence.lower():
                continue
            for found in re.finditer("write access", sentence):  # said of tenants: only to deny it
                before = sentence[max(0, found.start() - 30):found.start()]
                assert re.search(r"\b(no|never|not|without)\b", before, re.IGNORECASE), f"{path.name}: {sentence}"
