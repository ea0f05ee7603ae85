"""The tests' shared helpers stand in one place (tests/support.py, tests/processes.py): a
second copy of the repository root, of `copy_repo` or of the CRD lookup is how one of them
goes stale."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from tests import processes, support
from tests.support import ROOT, need

HERE = ROOT / "tests" / "unit" / "test_helpers_once.py"
# Shared helpers that no other test module may define again, by the module that has them.
ONCE = {support: ("copy_repo", "crds_dir", "need", "need_binary", "need_deep_engines", "missing", "required",
                  "memory_repo", "rendered_objects", "tenant_yaml"),
        processes: ("stop", "wait_for", "free_port", "redis_server")}
ROOT_ASSIGNMENT = re.compile(r"^\s*(ROOT|REPO|REPO_ROOT|HERE)\s*=\s*Path\(", re.MULTILINE)


def modules_but(*homes: object) -> list[Path]:
    """Every Python file under tests/ except this one and the helpers' own modules."""
    skip = {HERE, *(Path(getattr(m, "__file__", "")) for m in homes)}
    return [p for p in sorted((ROOT / "tests").rglob("*.py")) if p not in skip]


def test_only_support_locates_the_repository() -> None:
    # The root, and every folder of the checkout, is reached from support.ROOT.
    found = [f"{p.relative_to(ROOT)}:{n}" for p in modules_but(support)
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "__file__" in line or ROOT_ASSIGNMENT.match(line)]
    assert found == [], "use `from tests.support import ROOT` instead: " + ", ".join(found)


def test_support_helpers_are_not_defined_again() -> None:
    names = {name for module, defined in ONCE.items() for name in defined if callable(getattr(module, name))}
    assert len(names) == sum(map(len, ONCE.values()))
    found = [f"{p.relative_to(ROOT)}:{node.lineno} {node.name}" for p in modules_but(*ONCE)
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef) and node.name in names]
    assert found == [], "import these from tests.support or tests.processes: " + ", ".join(found)


def test_ci_runs_the_thorough_hypothesis_profile() -> None:
    settings = need("hypothesis").settings
    chosen = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if support.required() else "dev")
    assert settings.default.max_examples == settings.get_profile(chosen).max_examples
    assert settings.get_profile("ci").max_examples >= 100 > settings.get_profile("dev").max_examples
    assert settings.get_profile("ci").deadline is None is settings.get_profile("dev").deadline


@pytest.mark.parametrize("ask", [lambda: support.need("no_such_package_here.sub"),
                                 lambda: support.need_binary("no-such-program-here")])
def test_a_missing_dependency_skips_locally_and_fails_under_ci(ask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DATAPLANE_REQUIRE_ALL", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no.such.(package|program).here"):
        ask()
    for name, value in (("DATAPLANE_REQUIRE_ALL", "1"), ("CI", "true")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(pytest.fail.Exception, match="CI makes it mandatory"):
                ask()


def test_our_own_code_is_never_optional() -> None:
    with pytest.raises(ModuleNotFoundError):
        support.need("render.no_such_module")
    assert support.need("render.quantity").parse("1Ki") == 1024
