"""Errors point at the real mistake: indentation, product wording for extractors, explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from render.load import parse_yaml
from render.problems import ProblemsError
from tests.support import copy_repo, dataplane


def _problems(root: Path, overrides: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    (root / "tenants/acme/overrides.yaml").write_text(overrides)
    assert dataplane(root, "--format", "json", "validate") == 2
    return json.loads(capsys.readouterr().out)


def test_a_line_deeper_than_its_sibling_gets_an_indentation_hint():
    with pytest.raises(ProblemsError) as e:
        parse_yaml("overrides:\n  image_extractor:\n    min_replicas: 2\n      max_replicas: 6\n", "o.yaml")
    [problem] = e.value.problems
    assert (problem.file, problem.line) == ("o.yaml", 4)
    assert problem.hint.startswith("indentation: this line is indented deeper than `min_replicas` on line 3")
    assert "quoted" not in problem.hint


def test_a_line_between_two_levels_gets_an_indentation_hint():
    with pytest.raises(ProblemsError) as e:
        parse_yaml("overrides:\n  image_extractor:\n    min_replicas: 2\n   max_replicas: 6\n", "o.yaml")
    [problem] = e.value.problems
    assert problem.line == 4 and problem.hint.startswith("indentation: this line is indented by 3 spaces")


def test_a_value_with_a_colon_still_gets_the_quoting_hint():
    with pytest.raises(ProblemsError) as e:
        parse_yaml("env:\n  A: b: c\n", "o.yaml")
    assert "must be quoted" in e.value.problems[0].hint


def test_settings_not_indented_under_their_extractor_are_one_problem(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    found = _problems(root, "overrides:\n  image_extractor:\n  min_replicas: 2\n  max_replicas: 6\n"
                            "  target_ongoing_requests: 3\n", capsys)
    assert len(found) == 1, found
    [p] = found
    assert (p["file"], p["line"], p["pointer"]) == ("tenants/acme/overrides.yaml", 3, "overrides.min_replicas")
    assert "are settings of `image_extractor` (line 2)" in p["message"]
    assert p["hint"] == "indentation: indent them by 4 spaces, under `image_extractor`"


def test_a_worker_group_setting_at_the_wrong_level_is_one_problem_and_others_still_show(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    found = _problems(root, "cluster:\n  cpu-workers:\n    min_replicas: 1\n  max_replicas: 4\n"
                            "overrides:\n  text_extractor:\n    max_replicas: lots\n", capsys)
    assert [(p["line"], p["pointer"]) for p in found] == [(4, "cluster.max_replicas"),
                                                          (7, "overrides.text_extractor.max_replicas")]
    assert "setting of `cpu-workers` (line 2)" in found[0]["message"]


@pytest.mark.parametrize("written, name", [("face_recognition", "face_identity_extractor"),
                                           ("audio_embeddings", "audio_fingerprint_extractor"),
                                           ("audio embeddings", "audio_fingerprint_extractor"),
                                           ("web scraping", "web_scraper"), ("web_scrapper", "web_scraper")])
def test_product_wording_gets_the_registry_name(tmp_path, capsys, written, name):
    root = copy_repo(tmp_path, outputs=False)
    [p] = _problems(root, f"disabled:\n  - {written}\n", capsys)
    assert (p["file"], p["line"]) == ("tenants/acme/overrides.yaml", 2)
    assert p["hint"].startswith(f"did you mean {name!r}? (")  # and what it does, in one line


def test_an_alias_that_names_two_extractors_is_refused(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    registry = root / "registry/extractors.yaml"
    registry.write_text(registry.read_text().replace("[web scraping, web crawler, crawler, scraper]",
                                                     "[web scraping, face recognition]"))
    assert dataplane(root, "--format", "json", "validate") == 2
    [p] = json.loads(capsys.readouterr().out)
    assert p["file"] == "registry/extractors.yaml" and "also names face_identity_extractor" in p["message"]


def test_explain_an_unknown_extractor_names_the_registry_and_a_name(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    assert dataplane(root, "--format", "json", "explain", "acme", "web_scrapper") == 2
    [p] = json.loads(capsys.readouterr().out)
    assert p["file"] == "registry/extractors.yaml" and p["line"] > 1
    assert p["hint"].startswith("did you mean 'web_scraper'?")


def test_explain_fits_100_columns_and_has_json(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    assert dataplane(root, "explain", "globex") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and max(map(len, lines)) <= 100
    assert any(line.startswith("    ") for line in lines)  # long values are folded, not cut
    assert dataplane(root, "explain", "globex", "image_extractor", "--format", "json") == 0
    rows = {r["path"]: r for r in json.loads(capsys.readouterr().out)["values"]}
    assert rows["extractors.image_extractor_v1.min_replicas"] == {
        "path": "extractors.image_extractor_v1.min_replicas", "value": 2, "layer": "overrides",
        "file": "tenants/globex/overrides.yaml", "line": 10, "label": "minimum replicas"}


def test_a_tenant_yaml_setting_at_the_wrong_level_is_one_problem(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    tenant = root / "tenants/acme/tenant.yaml"
    tenant.write_text(tenant.read_text().replace("database:\n  mode: dedicated_instance", "database:\nmode: dedicated_instance"))
    assert dataplane(root, "--format", "json", "validate") == 2
    [p] = json.loads(capsys.readouterr().out)
    assert (p["file"], p["pointer"]) == ("tenants/acme/tenant.yaml", "mode")
    assert "is a setting of `database`" in p["message"] and p["hint"].startswith("indentation:")
