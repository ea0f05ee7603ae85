"""`dataplane validate [--deep]`: check every input file; with --deep, every rendered object too."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path

from render import exitcodes, layout, output, tombstones, versions
from render.crds import locate as locate_crds
from render.load import load_repo, read_yaml
from render.ownership import ownership_problems
from render.pipeline import built_problems
from render.problems import Problem, ProblemsError
from render.rollout.plan import budget_file_problems, plan_file_problems
from render.rollout.state import state_file_problems
from render.validate import validate_prices, validate_repo, warnings

EXIT_FAILED = exitcodes.FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate", help="check every input file; with --deep, every rendered object too",
        description="Load and check registry/ and tenants/ (schemas and semantic rules). Prints nothing and exits 0 "
                    "when every file is valid; otherwise prints every problem of every file as "
                    "FILE:LINE:COL: KEY: MESSAGE with a hint, and exits 2. Fleet-wide checks (one organization id "
                    "per tenant, ...) always see every tenant. With --deep, also check every object under rendered/ "
                    "and argocd/ with the real engines' rules (Kubernetes OpenAPI schemas, upstream CRDs, Ray Serve, "
                    "Celery, yamllint), print one summary line per validator and exit 1 on any failure. "
                    "See docs/validation.md.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to check (default: all)")
    # Also accepted after the command name; SUPPRESS keeps a value given before it.
    p.add_argument("--format", choices=("text", "json", "github"), default=argparse.SUPPRESS,
                   help="how problems are printed (default: github under GitHub Actions, else text)")
    output.add(p)
    p.add_argument("--deep", action="store_true",
                   help="also validate the rendered output with the real engines' own validators")
    p.add_argument("--crds", type=Path, default=None, metavar="DIR",
                   help="folder of CustomResourceDefinitions for --deep (default: $DATAPLANE_CRDS, else the CRDs "
                        "vendored in render/crds/; `dataplane crds where` prints which)")
    p.add_argument("--require-crds", action="store_true", default=os.environ.get("DATAPLANE_REQUIRE_CRDS") == "1",
                   help="with --deep, fail instead of skipping when no CRD folder is given "
                        "(default: on when DATAPLANE_REQUIRE_CRDS=1)")
    p.add_argument("--against", metavar="REF",
                   help="also compare with git revision REF (the pull request's base): refuse changes the API server "
                        "would refuse (immutable fields), data-holding objects removed, and a tenant's cluster, region "
                        "or database mode changed outside the migration flow")
    p.set_defaults(run=lambda a: validate(root=a.repo, tenants=a.tenants, deep=a.deep, crds=a.crds,
                                          require_crds=a.require_crds, fmt=a.format, against=a.against,
                                          out=getattr(a, "output", None)))


def validate(*, root: Path, tenants: list[str], deep: bool = False, crds: Path | None = None,
             require_crds: bool = False, fmt: str | None = None, against: str | None = None,
             out: str | None = None) -> int:
    """Problems exit 2; warnings (valid, but will not behave as written: a maximum its worker
    group cannot reach) are printed and exit 0. `out` json/yaml: one document
    {"valid", "problems", "warnings"}, each problem {file, line, column, pointer, message, hint};
    with --deep also "deep": [{validator, ok, checked, unit, skipped, failures}]."""
    repo = load_repo(root, tenants or None)
    problems = (validate_repo(repo) + validate_prices(repo, read_yaml(root, layout.PRICES_FILE))
                + plan_file_problems(root) + state_file_problems(root) + ownership_problems(root)
                + versions.problems(root, repo))
    docs = {name: files.tenant for name, files in repo.tenants.items()} | repo.peers
    problems += tombstones.problems(root, docs, repo.current.platform)
    problems += built_problems(repo, problems)  # the rules over built objects (the contract)
    if not problems:  # what a tenant's upgrade starts needs its valid, merged values
        problems = budget_file_problems(root, repo)
    if not problems and against is not None:
        from render.gate import against as gate  # renders the fleet: only when asked

        problems = gate.check(root, repo if not tenants else load_repo(root), against)
    problems = sorted(set(problems))
    found = [] if problems else warnings(repo)
    doc = {"valid": not problems, "problems": [asdict(p) for p in problems], "warnings": [asdict(w) for w in found]}
    structured = out in ("json", "yaml")
    if structured and (problems or not deep):
        output.emit(doc, str(out))
        return exitcodes.INVALID if problems else 0
    if problems:
        raise ProblemsError(problems)
    if not structured:
        print_warnings(found, fmt)
    if not deep:
        return 0
    crds = locate_crds(crds)
    if not crds.is_dir():
        raise ProblemsError([Problem("--crds", 0, 0, "", f"{crds} is not a folder",
                                     "give a folder of CRDs, or leave --crds and $DATAPLANE_CRDS unset for the vendored ones")])
    from render.conformance import deep as deep_validation  # heavy imports only when asked

    outcomes = deep_validation.run(root, tenants=tenants or None, crds=crds, require_crds=require_crds)
    if structured:
        doc["deep"] = [{"validator": o.name, "ok": not o.failed, "checked": o.checked, "unit": o.unit,
                        "skipped": o.skipped or None, "failures": [asdict(p) for p in o.failures]} for o in outcomes]
        output.emit(doc, str(out))
        return EXIT_FAILED if any(o.failed for o in outcomes) else 0
    github = (fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")) == "github"
    for outcome in outcomes:
        for problem in outcome.failures:
            if github:
                print(problem.github())
            print(problem.format(), file=sys.stderr)
    for outcome in outcomes:
        print(f"{outcome.status:<5}{outcome.line()}")
    return EXIT_FAILED if any(o.failed for o in outcomes) else 0


def print_warnings(found: list[Problem], fmt: str | None) -> None:
    github = (fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")) == "github"
    for w in found:
        if github:
            print(w.github().replace("::error ", "::warning ", 1))
        print(w.format().replace(": ", ": warning: ", 1), file=sys.stderr)
