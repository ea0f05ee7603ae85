"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code.

Modules are imported when needed: a run of one command imports only its module (start-up
time: `render --base` in every pull request), `dataplane --help` imports them all."""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = ("render", "validate", "explain", "new_tenant", "new_cluster", "footprint", "migration", "status", "doctor",
           "scale", "ray_dashboard", "platform_update", "promote", "pin", "fork_deploy", "config_deploy", "check_scope",
           "pr_report", "rollout", "preview", "restore", "offboard", "move", "terminate_op", "merge_gate", "verify_pr",
           "generate", "repository_audit", "authorize", "version", "completion", "crds", "cluster")
# The commands a module registers besides its own name (tests/test_cli.py checks every name).
ALSO = {"fork-image": "fork_deploy", "fork-inputs": "fork_deploy"}
NAMES = {m.replace("_", "-"): m for m in MODULES} | ALSO  # command -> module


def modules(command: str | None = None) -> list[ModuleType]:
    """Every command module, in help order; or only the one registering `command`."""
    names = [NAMES[command]] if command in NAMES else list(MODULES)
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def __getattr__(name: str) -> list[ModuleType]:
    if name == "COMMANDS":  # every command module, imported
        return modules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
