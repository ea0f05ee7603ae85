"""Every test file sits in the tier of its cost (CONTRIBUTING.md, "Tests"), so choosing a
folder chooses what runs: a file at tests/ itself, or in a folder that is no tier, belongs
to no run; a marked file outside its tier would run where its engine is missing; a unit
test that copies the repository, starts a process or reads an example tenant is not one."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import ROOT

TESTS = ROOT / "tests"
TIERS = ("unit", "system", "conformance", "ray", "cluster")
# The markers that select a tier's tests by what they start, and the tier that holds them.
MARKED = {"ray_cluster": "ray", "cluster": "cluster"}
# What a unit test never does (CONTRIBUTING.md): start a process, copy or load the
# repository, or read an example tenant or the committed output.
NOT_UNIT = re.compile(r"\bsubprocess\b|from tests\.processes import"
                      r"|(?<![\w.])(copy_repo|committed_copy|git|dataplane|need_binary)\("
                      r"|\b(?!relative_to\b)\w+\(ROOT\b|ROOT\s*/\s*\"(tenants|rendered|argocd|control-plane)\b")
# What only the conformance tier (or ray, cluster) asks for: the engines `validate --deep`
# runs, and the other real engines a test's verdict comes from.
ENGINES = re.compile(r"need_deep_engines\(|need\(\"(kubernetes_validate|celpy|lupa|promql_parser|ray\.serve|celery|"
                     r"yamllint|nca\.nca_cli|render\.conformance\.cel)\"")


def modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if not p.is_relative_to(TESTS / "fixtures"))


def tier(path: Path) -> str:
    return path.relative_to(TESTS).parts[0] if len(path.relative_to(TESTS).parts) == 2 else ""


def test_every_test_file_sits_in_a_tier() -> None:
    astray = [p.relative_to(ROOT).as_posix() for p in modules() if tier(p) not in TIERS]
    assert astray == [], "move each into tests/<tier>/ (CONTRIBUTING.md, Tests): " + ", ".join(astray)
    assert all((TESTS / t / "__init__.py").is_file() for t in TIERS)


def test_a_marked_test_sits_in_its_marker_s_tier_and_only_there() -> None:
    wrong = []
    for path in modules():
        marks = set(re.findall(r"pytest\.mark\.(\w+)", path.read_text(encoding="utf-8"))) & set(MARKED)
        module_mark = re.search(r"^pytestmark\s*=.*pytest\.mark\.(\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        expected = {MARKED[m] for m in marks}
        if expected - {tier(path)} or (tier(path) in MARKED.values() and not module_mark):
            wrong.append(f"{path.relative_to(ROOT).as_posix()} ({', '.join(sorted(marks)) or 'no marker'})")
    assert wrong == [], "tests/ray holds the ray_cluster tests, tests/cluster the cluster ones: " + ", ".join(wrong)


def test_unit_tests_start_nothing_and_read_no_example_tenant() -> None:
    found = [f"{p.relative_to(ROOT).as_posix()}:{n} {m.group(0)}" for p in modules() if tier(p) == "unit"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if (m := NOT_UNIT.search(line))]
    assert found == [], "move the file to tests/system, or use the fixture tenants (fixture_repo): " + ", ".join(found)


def test_only_the_slow_tiers_ask_for_a_real_engine() -> None:
    found = [f"{p.relative_to(ROOT).as_posix()}:{n} {m.group(0)}" for p in modules() if tier(p) in ("unit", "system")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if (m := ENGINES.search(line))]
    assert found == [], "move the file to tests/conformance: " + ", ".join(found)


def test_the_checks_see_every_tier() -> None:
    tiers = {tier(p) for p in modules()}
    assert tiers == set(TIERS), tiers
    assert len(modules()) > 100
