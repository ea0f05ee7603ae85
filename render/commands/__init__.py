"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code."""

from render.commands import (check_scope, config_deploy, explain, fork_deploy, new_tenant, platform_update, pr_report,
                             promote, render, validate)

COMMANDS = [render, validate, explain, new_tenant]
COMMANDS += [platform_update, promote, fork_deploy, config_deploy, check_scope, pr_report]
