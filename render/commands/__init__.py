"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code."""

from render.commands import (doctor, explain, footprint, migration, new_tenant, ray_dashboard, render, scale,
                             status, validate)

COMMANDS = [render, validate, explain, new_tenant, footprint, migration, status, doctor, scale, ray_dashboard]
