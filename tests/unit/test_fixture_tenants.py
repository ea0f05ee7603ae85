"""The unit tier's fixture tenants (tests/fixtures/tenants/) are valid, render, and stand
apart from the example tenants: a unit test that fails on them fails on the engine."""

from __future__ import annotations

from render import layout
from render.pipeline import render_repo
from render.validate import validate_repo
from tests.support import FIXTURE_TENANTS, ROOT, fixture_repo


def test_the_fixture_tenants_validate_and_render_on_both_clouds() -> None:
    repo = fixture_repo()
    assert validate_repo(repo) == []
    scopes = render_repo(repo)
    assert {f"rendered/{name}" for name in repo.tenants} <= set(scopes)
    assert {repo.tenants[n].tenant.data["cloud"] for n in repo.tenants} == {"gcp", "aws"}


def test_no_fixture_tenant_is_an_example_tenant() -> None:
    fixtures = {p.name for p in FIXTURE_TENANTS.iterdir() if p.is_dir()}
    examples = {p.name for p in (ROOT / layout.TENANTS_DIR).iterdir() if p.is_dir()}
    assert fixtures and not fixtures & examples
