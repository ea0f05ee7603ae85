"""The bad-input corpus: each file in tests/corpus/ holds one mistake, and its header says
which problem `dataplane validate` must report for it.

Header lines (before the YAML):
  # expect: LINE: FRAGMENT         the one problem, in the file the corpus folder maps to
  # also: FILE:LINE:FRAGMENT       (optional) a problem the same mistake causes in another file
FRAGMENT is matched against "pointer: message (hint: hint)".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support import ROOT, copy_repo
from tests.validation_repo import run

CORPUS = ROOT / "tests" / "corpus"
TARGETS = {
    "overrides": "tenants/acme/overrides.yaml",
    "yaml": "tenants/acme/overrides.yaml",
    "tenant": "tenants/acme/tenant.yaml",
    "release": "tenants/acme/release.yaml",
    "platform": "registry/platform.yaml",
    "prices": "registry/prices.yaml",
    "rollout": "registry/rollout.yaml",
    "rollout_state": "rollout/state.yaml",
    "ownership": "registry/ownership.yaml",
}
# Inputs `dataplane render` reads (the others: `validate`, `footprint` and the workflows).
RENDERED_FROM = {"overrides", "yaml", "tenant", "release", "platform", "ownership"}
CASES = sorted(CORPUS.glob("*/*.yaml"))
PATCH = re.compile(r"^# patch: (.*)\n# with: (.*)$", re.MULTILINE)


def apply_case(root: Path, case: Path) -> None:
    """Put the case in place: the whole file, or (`# patch:` / `# with:` header pairs) one
    line of the repository's own file replaced, for files too long to copy per case."""
    target = root / TARGETS[case.parent.name]
    target.parent.mkdir(parents=True, exist_ok=True)
    patches = PATCH.findall(case.read_text(encoding="latin-1"))
    if not patches:
        target.write_bytes(case.read_bytes())
        return
    text = target.read_text(encoding="utf-8")
    for old, new in patches:
        assert old in text, f"{case}: {old!r} is not in {target}"
        text = text.replace(old, new.replace("\\n", "\n"), 1)
    target.write_text(text, encoding="utf-8")


def expectations(path: Path) -> list[tuple[str, int, str]]:
    """(file, line, fragment) of every problem the case must produce, and no others."""
    out = []
    for raw in path.read_bytes().splitlines():
        text = raw.decode("latin-1")
        if m := re.match(r"^# expect: (\d+|@[-+]?\d*): (.+)$", text):
            out.append((TARGETS[path.parent.name], _line(path, m[1]), m[2]))
        elif m := re.match(r"^# also: ([^:]+):(\d+|@[^@]+@):(.+)$", text):
            out.append((m[1], _line_of(m[1], m[2]), m[3]))
        elif not text.startswith("#") or text.startswith("# patch: "):
            break
    return out


def _line(case: Path, where: str) -> int:
    """A line number, or `@` (plus or minus N): the line the case's first patch replaces."""
    if not where.startswith("@"):
        return int(where)
    old = PATCH.findall(case.read_text(encoding="latin-1"))[0][0]
    before = (ROOT / TARGETS[case.parent.name]).read_text(encoding="utf-8").split(old, 1)[0]
    return before.count("\n") + 1 + int(where[1:] or 0)


def _line_of(rel: str, where: str) -> int:
    """A line number, or @TEXT@: the line of the repository's `rel` that holds TEXT."""
    if not where.startswith("@"):
        return int(where)
    lines = (ROOT / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if where.strip("@") in line)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    for case in CASES:
        assert case.parent.name in TARGETS, case
        assert expectations(case), f"{case} has no '# expect:' header"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_case(case: Path, tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    apply_case(root, case)
    code, out, err = run(root, "--format", "json", "validate")
    assert code == 2, err
    problems = json.loads(out)
    got = [(p["file"], p["line"], f"{p['pointer']}: {p['message']}" + (f" (hint: {p['hint']})" if p["hint"] else ""))
           for p in problems]
    wanted = expectations(case)
    assert len(got) == len(wanted), "\n".join(map(str, got))
    for file, line, fragment in wanted:
        assert any(g[0] == file and g[1] == line and fragment in g[2] for g in got), (
            f"wanted {file}:{line}: ...{fragment}...\ngot:\n" + "\n".join(f"{f}:{ln}: {t}" for f, ln, t in got))


DOCS = ROOT / "docs" / "tenants.md"


# Mistakes validate accepts with a warning (exit 0), so no corpus case can hold them:
# {overrides.yaml text: the warning's start}.
WARNING_INPUTS = {
    "overrides:\n  face_identity_extractor:\n    min_replicas: 1\ncluster:\n  gpu-workers:\n    max_replicas: 2\n":
        "warning: cluster.gpu-workers.max_replicas: image_extractor_v1 can reach 3 of its max_replicas 4",
}


def produced_messages(tmp_path: Path) -> list[str]:
    """'pointer: message (hint: hint)' of every problem the corpus produces, and
    'warning: pointer: message' of every warning of WARNING_INPUTS."""
    root = copy_repo(tmp_path, outputs=False)
    out = []
    for case in CASES:
        target = root / TARGETS[case.parent.name]
        if case.parent.name not in ("overrides", "yaml", "tenant", "release"):
            continue  # docs/tenants.md lists a tenant's mistakes
        original = target.read_bytes()
        target.write_bytes(case.read_bytes())
        _, text, _ = run(root, "--format", "json", "validate", "acme")
        target.write_bytes(original)
        out += [f"{p['pointer']}: {p['message']} (hint: {p['hint']})" for p in json.loads(text)]
    target = root / TARGETS["overrides"]
    for text, start in WARNING_INPUTS.items():
        original = target.read_bytes()
        target.write_text(text, encoding="utf-8")
        code, _, err = run(root, "--format", "json", "validate", "acme")
        target.write_bytes(original)
        warned = ["warning: " + line.split(": warning: ", 1)[1] for line in err.splitlines() if ": warning: " in line]
        assert code == 0 and any(w.startswith(start) for w in warned), err
        out += warned
    return out


def test_documented_common_mistakes_are_the_real_messages(tmp_path: Path) -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Common mistakes", 1)[1]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Mistake")]
    messages = produced_messages(tmp_path)
    fragments = [f for row in rows for f in re.findall(r"`([^`]+)`", row[1])]
    assert len(rows) >= 25 and fragments
    missing = [f for f in fragments if not any(f in m for m in messages)]
    assert missing == []
