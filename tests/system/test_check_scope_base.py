"""`check-scope --base`: a pull request's changes by owner; exit 1 when it carries what no
pull request may (render/workflows/pr_scope.py), and file names that cannot forge the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from render.workflows.actions import markdown_text
from tests.flow_repo import clone, commit_all, dataplane, git, make_origin


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return clone(make_origin(tmp_path), tmp_path / "work")


def _change(work: Path, files: dict[str, str]) -> str:
    base = git(work, "rev-parse", "HEAD")
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    commit_all(work, "change")
    return base


@pytest.mark.parametrize("files, rule", [
    ({"registry/rollout.yaml": "# canaries: []\n"}, None),  # a platform pull request: the platform reviews it
    ({"tenants/acme/overrides.yaml": "auto_deploy: false\n"}, None),
    ({"tenants/acme/overrides.yaml": "auto_deploy: false\n", "registry/rollout.yaml": "# x\n"}, "tenant-files-only"),
    ({"tenants/acme/overrides.yaml": "auto_deploy: false\n", "tenants/globex/overrides.yaml": "{}\n"}, "one-tenant"),
    ({"rendered/acme/extra.yaml": "kind: DaemonSet\n"}, "generated-by-automation"),
    ({"argocd/tenants/acme/appproject.yaml": "kind: AppProject\n"}, "generated-by-automation"),
    ({"control-plane/routing/acme/x.yaml": "{}\n"}, "generated-by-automation"),
    ({".github/CODEOWNERS": "* @someone\n"}, "generated-by-automation"),
    ({"tenants/acme/release.yaml": "image: x\n"}, "generated-by-automation"),
])
def test_a_pull_request_carrying_what_no_pull_request_may_fails(work: Path, capsys: pytest.CaptureFixture[str],
                                                                files: dict[str, str], rule: str | None) -> None:
    base = _change(work, files)
    capsys.readouterr()
    assert dataplane(work, "check-scope", "--base", base) == (1 if rule else 0)
    err = capsys.readouterr().err
    assert (f"refused by rule {rule}:" in err) if rule else err == ""


def test_a_new_tenants_first_release_is_not_a_hand_edit(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    acme = work / "tenants/acme"
    base = _change(work, {f"tenants/zeta/{f.name}": f.read_text() for f in acme.iterdir() if f.is_file()})
    assert dataplane(work, "check-scope", "--base", base) == 0


def test_file_names_cannot_forge_the_summary(work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue item 8: a name printed raw into the Markdown summary hid the rest of the list."""
    crafted = "registry/x<!--\n- all clear -->`*[a](evil)"
    base = _change(work, {crafted: "x\n", "registry/rollout.yaml": "# changed\n"})
    summary = tmp_path / "summary.md"
    assert dataplane(work, "check-scope", "--base", base, "--summary", str(summary)) == 1
    text = summary.read_text()
    assert "<!--" not in text and "\n- all clear" not in text and "](evil" not in text
    assert "registry/rollout\\.yaml" in text  # the list goes on after the crafted name
    assert "refused by rule plain\\-path" in text
    out = capsys.readouterr().out
    assert "\n- all clear" not in out and "x<!--\\n- all clear" in out  # one terminal line per path


@pytest.mark.parametrize("text, shown", [
    ("a_b*c", "a\\_b\\*c"), ("<!--", "&lt;\\!\\-\\-"), ("x\ny", "x\\\\u000ay"), ("a\u200bb", "a\\\\u200bb"),
    ("[x](y)", "\\[x\\]\\(y\\)"), ("`code`", "\\`code\\`"),
])
def test_markdown_text_is_literal(text: str, shown: str) -> None:
    assert markdown_text(text) == shown
