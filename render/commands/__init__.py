"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code."""

from render.commands import explain, footprint, migration, new_tenant, render, validate

COMMANDS = [render, validate, explain, new_tenant, footprint, migration]
