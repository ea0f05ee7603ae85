"""`dataplane rollout plan|status|advance|rollback`: progressive platform rollouts (the
commands live with the rest of the rollout code in render/rollout/)."""

from render.rollout.cli import add_parser

__all__ = ["add_parser"]
