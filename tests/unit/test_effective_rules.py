"""render/validate/effective_rules.py: rules on effective values, who is blamed, and where."""

from __future__ import annotations

from render import layout
from render.load import TenantFiles
from render.validate import effective_rules
from render.yamlstrict import parse_yaml
from tests.support import fixture_repo

REPO = fixture_repo()


def tenant(overrides: str) -> TenantFiles:
    files = REPO.tenants["fixture-gcp"]
    return TenantFiles("fixture-gcp", files.tenant, parse_yaml(overrides, "tenants/fixture-gcp/overrides.yaml"), files.release)


def test_registry_defaults_are_consistent() -> None:
    assert effective_rules.registry_rules(REPO.current.platform, REPO.current.extractors) == []


def test_the_fixture_tenants_pass() -> None:
    for files in REPO.tenants.values():
        assert effective_rules.tenant_rules(files, REPO.current.platform, REPO.current.extractors) == []


def test_tenant_is_blamed_only_for_its_own_lines() -> None:
    found = effective_rules.tenant_rules(tenant("overrides:\n  image_extractor:\n    min_replicas: 9\n"), REPO.current.platform, REPO.current.extractors)
    assert [(p.file, p.line, p.pointer) for p in found] == [
        ("tenants/fixture-gcp/overrides.yaml", 3, "overrides.image_extractor.min_replicas")]


def test_id_entry_wins_over_name_entry_when_blaming() -> None:
    text = "overrides:\n  text_extractor:\n    num_cpus: 30\n  text_extractor_v1:\n    num_cpus: 3\n"
    assert effective_rules.tenant_rules(tenant(text), REPO.current.platform, REPO.current.extractors) == []
    text = "overrides:\n  text_extractor:\n    num_cpus: 3\n  text_extractor_v1:\n    num_cpus: 30\n"
    [problem] = effective_rules.tenant_rules(tenant(text), REPO.current.platform, REPO.current.extractors)
    assert (problem.line, problem.pointer) == (5, "overrides.text_extractor_v1.num_cpus")


def test_every_worker_group_is_checked() -> None:
    text = "cluster:\n" + "".join(f"  {g}:\n    min_replicas: 5\n    max_replicas: 4\n" for g in layout.WORKER_GROUPS)
    found = effective_rules.tenant_rules(tenant(text), REPO.current.platform, REPO.current.extractors)
    assert [p.pointer for p in found] == [f"cluster.{g}.max_replicas" for g in layout.WORKER_GROUPS]
