"""Property: whatever one value of one valid input becomes, `dataplane validate` and
`dataplane validate --deep` exit 0 or 2, and a 2 comes with problems that name a file, a
line and the key; never a traceback (exit 3). Every input the pipeline and the workflows
read is mutated: the registry, the price table, the rollout plan and state, the ownership
map and the tenants' files.

Each example takes one valid file, replaces, deletes or adds one value anywhere in it
(scalars of every type, CIDRs out of range, YAML 1.1 words, bad URLs, regions with
typos, nested values), and runs the CLI on it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hyp import HealthCheck, at_most, given, settings, st
from tests.support import copy_repo, crds_dir
from tests.validation_repo import run

STATE = """\
version: 2026.12.1
image: ghcr.io/dataplane-platform/engine:2026.12.1
revision: 0123456789abcdef0123456789abcdef01234567
status: rolling
started: "2026-12-01T15:00:00Z"
timeout_minutes: 30
waves:
- {name: canary, tenants: [acme], soak_minutes: 120, base: 89abcdef0123456789abcdef0123456789abcdef, moved_at: "2026-12-01T15:00:00Z"}
- {name: wave-1, tenants: [globex], soak_minutes: 60}
"""
FILES = ["registry/platform.yaml", "registry/prices.yaml", "registry/rollout.yaml", "registry/ownership.yaml",
         "registry/kuberay.yaml", "registry/releases.yaml",
         "rollout/state.yaml", "tenants/acme/tenant.yaml", "tenants/initech/tenant.yaml", "tenants/acme/overrides.yaml",
         "tenants/globex/overrides.yaml", "tenants/acme/release.yaml"]
ODD = st.sampled_from([
    None, True, False, 0, -1, 10**12, 0.5, "", "yes", "on", "no", "10.48.0.0/33", "10.0.0.1/8", "10.0.0.0", "::1/200",
    "https://x:99999", "https://", "http://[::1", "us-west2", "us-east-1", "1234567890", "dp-tenants", "DP_Tenants",
    "2026-13-45T00:00:00Z", "halted", "é" * 3, "a" * 300, "-", "*", "{tenant}", [], {}, ["x"], {"k": "v"},
    [None], {"cpu": "7"}])
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
WHERE = re.compile(r"^[^\s:][^:]*:\d+:\d+: ", re.MULTILINE)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, path + (i,))
    return out


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str]:
    """(file, its new text): one value replaced, deleted, or a key added beside it."""
    rel = draw(st.sampled_from(FILES))
    data = yaml.safe_load(STATE if rel == "rollout/state.yaml" else (_ORIGINALS[rel]))
    data = data if isinstance(data, dict) else {}
    path = draw(st.sampled_from(_paths(data) or [("extra",)]))
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if op == "replace" or not isinstance(parent, (dict, list)):
        if isinstance(parent, list) and not isinstance(path[-1], int):
            return rel, yaml.safe_dump(data)
        parent[path[-1]] = draw(ODD)
    elif op == "delete" and (isinstance(parent, list) or path[-1] in parent):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["extra", "regoin", "cidr", "enabled"]))] = draw(ODD)
    else:
        parent.append(draw(ODD))
    return rel, yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_ORIGINALS: dict[str, str] = {}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(tmp_path_factory.mktemp("inputs"), outputs=True)
    (root / "rollout").mkdir(exist_ok=True)
    (root / "rollout/state.yaml").write_text(STATE, encoding="utf-8")
    _ORIGINALS.update({rel: (root / rel).read_text(encoding="utf-8") for rel in FILES})
    return root


def _check(code: int, out: str, err: str) -> None:
    assert code in (0, 2), err[-3000:]
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        problems = json.loads(out)
        assert problems
        for p in problems:
            assert p["file"] and p["line"] >= 0, p
            assert p["pointer"] or "'" in p["message"] or p["file"].startswith("-"), p  # the key, or the key named


def _put(root: Path, rel: str, text: str) -> None:
    (root / rel).write_text(text, encoding="utf-8")


@settings(max_examples=at_most(100), derandomize=True, suppress_health_check=HEALTH)
@given(mutation())
def test_validate_answers_every_mutated_input_with_problems(repo: Path, change: tuple[str, str]) -> None:
    rel, text = change
    _put(repo, rel, text)
    try:
        _check(*run(repo, "--format", "json", "validate"))
    finally:
        _put(repo, rel, _ORIGINALS[rel])


@settings(max_examples=at_most(6), derandomize=True, suppress_health_check=HEALTH)
@given(mutation())
def test_validate_deep_answers_every_mutated_input(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                   change: tuple[str, str]) -> None:
    """--deep on a fresh copy: an input it accepts is rendered first, then every engine runs.
    A deep check may fail (exit 1, its problems printed) on odd values validate accepts;
    it may never crash."""
    rel, text = change
    root = tmp_path_factory.mktemp("deep")
    for folder in ("registry", "base", "tenants", "rendered", "argocd", "control-plane", "rollout", ".github"):
        shutil.copytree(repo / folder, root / folder)
    shutil.copy(repo / ".yamllint.yaml", root / ".yamllint.yaml")
    _put(root, rel, text)
    code, out, err = run(root, "--format", "json", "validate", "acme")
    _check(code, out, err)
    if code == 0:
        assert run(root, "render", "--no-cache", "acme")[0] == 0
    code, out, err = run(root, "--format", "json", "validate", "--deep", "--crds", str(crds_dir()), "acme")
    assert code in (0, 1, 2), err[-3000:]
    assert "Traceback" not in err and "internal error" not in err
    shutil.rmtree(root)
