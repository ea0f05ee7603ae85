"""One module per command. Each has `add_parser(subparsers)` and a function that takes
keyword arguments and returns an exit code."""

from render.commands import (
    authorize,
    check_scope,
    completion,
    config_deploy,
    doctor,
    explain,
    footprint,
    fork_deploy,
    generate,
    merge_gate,
    migration,
    new_tenant,
    offboard,
    platform_update,
    pr_report,
    preview,
    promote,
    ray_dashboard,
    render,
    repository_audit,
    restore,
    rollout,
    scale,
    status,
    validate,
    verify_pr,
    version,
)

COMMANDS = [render, validate, explain, new_tenant, footprint, migration, status, doctor, scale, ray_dashboard,
            platform_update, promote, fork_deploy, config_deploy, check_scope, pr_report, rollout, preview,
            restore, offboard, merge_gate, verify_pr, generate, repository_audit, authorize, version, completion]
