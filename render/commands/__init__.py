"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code."""

from render.commands import (
    check_scope,
    cluster,
    config_deploy,
    doctor,
    explain,
    footprint,
    fork_deploy,
    migration,
    new_tenant,
    platform_update,
    pr_report,
    preview,
    promote,
    ray_dashboard,
    render,
    rollout,
    scale,
    status,
    validate,
)

COMMANDS = [render, validate, explain, new_tenant, footprint, migration, status, doctor, scale, ray_dashboard,
            platform_update, promote, fork_deploy, config_deploy, check_scope, pr_report, rollout, preview, cluster]
