"""yamllint over the repository's YAML with the project's strict config (.yamllint.yaml).

Strict: a warning fails like an error. The folders are the hand-written inputs
(tenants/, registry/) and the generated output (rendered/, argocd/).
"""

from __future__ import annotations

from pathlib import Path

from render import layout
from render.conformance.manifests import yaml_files
from render.conformance.report import Outcome
from render.problems import Problem

CONFIG_FILE = ".yamllint.yaml"
FOLDERS = (layout.RENDERED_DIR, layout.ARGOCD_DIR, layout.TENANTS_DIR, layout.REGISTRY_DIR)


def check(root: Path, tenants: list[str] | None = None, config_root: Path | None = None) -> Outcome:
    """Lint every YAML file under FOLDERS of `root` with `<config_root or root>/.yamllint.yaml`."""
    import yamllint
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config_file = (config_root or root) / CONFIG_FILE
    if not config_file.is_file():
        return Outcome("yamllint", 0, "files", [Problem(CONFIG_FILE, 1, 1, "", "missing: the strict yamllint config")])
    config = YamlLintConfig(file=str(config_file))
    files = [rel for rel in yaml_files(root, FOLDERS, tenants) if not config.is_file_ignored(rel)]
    failures = []
    for rel in files:
        text = (root / rel).read_text(encoding="utf-8")
        for p in linter.run(text, config, rel):
            failures.append(Problem(rel, p.line, p.column, "", f"{p.desc} ({p.rule or 'syntax'}, {p.level})"))
    return Outcome(f"yamllint {yamllint.__version__} (strict, {CONFIG_FILE})", len(files), "files", failures)
