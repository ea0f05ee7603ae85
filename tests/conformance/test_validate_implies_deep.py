"""Whatever `dataplane validate` accepts renders output that `dataplane validate --deep`
accepts: a tenant can never pass the PR checks with a file the real engines refuse.

Hypothesis writes overrides with odd strings, tiny and fractional numbers and quantities
in every unit; each accepted example is rendered and checked by every deep validator
(Kubernetes, the upstream CRDs, Ray Serve, Celery, yamllint)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.hyp import HealthCheck, at_most, given, settings, st
from tests.support import copy_repo, crds_dir
from tests.validation_repo import run

EXTRACTORS = ["text_extractor", "image_extractor_v1", "universal_extractor", "audio_extractor"]
# Odd but plausible numbers: tiny and fractional floats, and whole numbers.
small = st.one_of(st.integers(1, 4), st.floats(1e-12, 4, allow_nan=False), st.sampled_from([0.5, 0.001, 1e-9, 2.5]))
quantities = st.one_of(st.sampled_from(["512Mi", "1.5Gi", "2G", "100M", "0.5Gi", "64Mi", "1000Mi", "1e3"]),
                       st.floats(0.001, 2, allow_nan=False).map(lambda n: f"{n}Gi"))
odd_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def extractor(draw: st.DrawFn) -> dict:
    """Settings whose ranges are coherent (min <= max), so most examples reach the renderer."""
    high = draw(st.integers(1, 6))
    out = {"num_cpus": draw(small), "memory": draw(quantities), "min_replicas": draw(st.integers(0, high)),
           "max_replicas": high, "max_ongoing_requests": draw(st.integers(4, 64)),
           "target_ongoing_requests": draw(st.one_of(st.integers(1, 4), st.floats(0.01, 4, allow_nan=False))),
           "downscale_delay_s": draw(st.one_of(st.integers(0, 3600), st.floats(0, 3600, allow_nan=False))),
           "upscale_delay_s": draw(st.one_of(st.integers(0, 600), st.floats(0, 600, allow_nan=False)))}
    keep = draw(st.sets(st.sampled_from(sorted(out)), min_size=1))
    return {k: v for k, v in out.items() if k in keep}


overrides = st.fixed_dictionaries({}, optional={
    "env": st.dictionaries(st.sampled_from(["LOG_LEVEL", "FEATURE_X", "TIMEOUT", "MODEL_NAME"]),
                           st.one_of(odd_text, st.sampled_from(["debug", "INFO", "{{ 7*7 }}", "${HOME}", "a: b"])),
                           max_size=3),
    "overrides": st.dictionaries(st.sampled_from(EXTRACTORS), extractor(), max_size=2),
    "head": st.fixed_dictionaries({}, optional={"cpu": st.sampled_from(["2", "1500m", "0.5", "3.25"]),
                                                "memory": st.sampled_from(["4Gi", "6.5Gi", "8G", "5000Mi"])}),
})


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("deep"), outputs=True)


@settings(max_examples=at_most(25), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(overrides)
def test_what_validate_accepts_the_deep_validators_accept(repo: Path, data: dict) -> None:
    (repo / "tenants/acme/overrides.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, _, err = run(repo, "validate", "acme")
    assert code in (0, 2), err
    if code == 2:
        return
    assert run(repo, "render", "--no-cache", "acme")[0] == 0
    code, out, err = run(repo, "validate", "--deep", "--crds", str(crds_dir()), "acme")
    assert code == 0, f"validate accepted, deep refused:\n{yaml.safe_dump(data)}\n{out}\n{err[-3000:]}"
