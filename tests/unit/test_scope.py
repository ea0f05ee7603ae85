"""render/workflows/scope.py and render/workflows/events.py: hostile names, paths and refs are refused."""

from __future__ import annotations

import pytest

from render.problems import ProblemsError
from render.workflows import events, scope
from tests.hyp import given, st

ALLOWED = ["tenants/acme/release.yaml", "rendered/acme/rayservice-engine.yaml", "argocd/tenants/acme/application.yaml",
           "argocd/tenants/acme/sub/x.yaml"]
REFUSED = ["tenants/acme/overrides.yaml", "tenants/acme/tenant.yaml", "tenants/globex/release.yaml",
           "rendered/globex/x.yaml", "rendered/acme/../globex/x.yaml", "rendered/acme2/x.yaml", "rendered/acme",
           "rendered/acm\u0435/x.yaml", "rendered/acme/./x.yaml", "rendered//acme/x.yaml", "/rendered/acme/x.yaml",
           "rendered\\acme\\..\\globex\\x.yaml", "argocd/tenants/globex/app.yaml", "argocd/platform/root.yaml",
           "base/ray.yaml.j2", "registry/platform.yaml", ".github/workflows/pr.yml", "", "rendered/acme/x\n.yaml",
           "rendered/acme/cafe\u0301.yaml"]


@pytest.mark.parametrize("path", ALLOWED)
def test_paths_inside_the_scope_are_allowed(path):
    assert scope.check_paths("acme", [path], release=True) == []


@pytest.mark.parametrize("path", REFUSED)
def test_paths_outside_the_scope_are_refused(path):
    problems = scope.check_paths("acme", [path], release=True)
    assert len(problems) == 1 and "outside tenant acme's deploy scope" in problems[0].message


def test_release_yaml_only_when_asked():
    assert scope.check_paths("acme", ["tenants/acme/release.yaml"], release=False)


@pytest.mark.parametrize("name", ["../globex", "acme/../globex", "", "acm\u0435", "\uff41cme", "ACME", "acme\n",
                                  "-acme", "acme-", "a" * 41, "acme globex", "acme\x00", None, 7])
def test_hostile_tenant_names_are_refused_before_any_path_check(name):
    with pytest.raises(ProblemsError) as caught:
        scope.check_paths(name, ["rendered/globex/x.yaml"], release=True)  # type: ignore[arg-type]
    assert caught.value.problems[0].pointer == "tenant"


@given(st.text(max_size=30), st.text(max_size=60))
def test_no_name_reaches_another_tenants_files(name, suffix):
    try:
        problems = scope.check_paths(name, [f"rendered/globex/{suffix}", "tenants/globex/release.yaml"], release=True)
    except ProblemsError:
        return
    assert name == "globex" or len(problems) == 2


@pytest.mark.parametrize("ref", ["main", "v1.2.0", "feature/ocr-2", "release-2026.12", "a" * 40])
def test_good_refs(ref):
    assert events.git_ref(ref) == ref


@pytest.mark.parametrize("ref", ["--upload-pack=x", "-b", "main..x", "x@{1}", "x.lock", "x/", "x.", "a b", "$(id)",
                                 "`id`", "main;id", "a\nb", "/abs", "a//b", "a/.b", "\u0430bc", "", "~1", "a:b"])
def test_hostile_refs(ref):
    with pytest.raises(ProblemsError):
        events.git_ref(ref)


@pytest.mark.parametrize("repo", ["acme-corp/engine", "a/b", "Acme/engine.fork", "x/under_score"])
def test_good_repositories(repo):
    assert events.repository(repo) == repo


@pytest.mark.parametrize("repo", ["acme-corp/../globex", "a/..", "a/.", "https://github.com/a/b", "a/b/c", "a",
                                  "-a/b", "a/b c", "a/b\n", "\u0430/b", "git@github.com:a/b"])
def test_hostile_repositories(repo):
    with pytest.raises(ProblemsError):
        events.repository(repo)


def test_platform_update_events():
    assert events.platform_update("push", {"before": "x"}) == events.PlatformUpdate(None, None)
    assert events.platform_update("repository_dispatch", {"client_payload": {"version": "2026.12.1"}}) == \
        events.PlatformUpdate("2026.12.1", "2026.12.1")
    assert events.platform_update("workflow_dispatch", {"inputs": {"version": "2026.12.1", "tag": "2026.12.1-r2"}}) == \
        events.PlatformUpdate("2026.12.1", "2026.12.1-r2")
    for name, payload in (("pull_request", {}), ("workflow_dispatch", {"inputs": {}}),
                          ("repository_dispatch", {"client_payload": "x"})):
        with pytest.raises(ProblemsError):
            events.platform_update(name, payload)
