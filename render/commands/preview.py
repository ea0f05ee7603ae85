"""`dataplane preview TENANT`: the tenant's rendered Serve applications on a real local Ray.

Everything Ray-related is imported inside render.preview's run, never on the render path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from render import layout, output
from render.preview import PreviewError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("preview", help="run a tenant's rendered Serve applications on a local Ray, shaped like its cluster",
                       description="Start a local Ray (head + one node per worker group, with the group's rendered "
                                   "resources and labels), deploy the tenant's rendered serveConfigV2 through Ray "
                                   "Serve's API with stand-in code, and check per extractor: RUNNING, placement on "
                                   "its group, scale-up under load, scale-down after downscale_delay_s, cold start "
                                   "from zero. Exits 1 when anything differs from the rendered intent. Needs the "
                                   "conformance extra (ray[serve]).")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--extractor", metavar="NAME", action="append",
                   help="preview this extractor only (repeatable; default: all Ray Serve extractors)")
    p.add_argument("--load", type=_positive_int, metavar="N",
                   help="requests in flight per extractor (default: enough to reach max_replicas)")
    p.add_argument("--time-scale", type=_positive_float, default=0.05, metavar="F",
                   help="multiply autoscaling delays by F (default 0.05: 600s becomes 30s)")
    p.add_argument("--delay", type=_positive_float, default=0.5, metavar="S",
                   help="seconds the stand-in extractor takes to answer (default 0.5)")
    p.add_argument("--keep", action="store_true", help="leave Ray running after the checks until Ctrl-C")
    output.add(p, "--format")
    p.set_defaults(run=lambda a: preview(root=a.repo, tenant=a.tenant, extractor=a.extractor, load=a.load,
                                         time_scale=a.time_scale, delay_s=a.delay, keep=a.keep, output=output.chosen(a)))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def preview(*, root: Path, tenant: str, extractor: list[str] | None = None, load: int | None = None,
            time_scale: float = 0.05, delay_s: float = 0.5, keep: bool = False, output: str = "text") -> int:
    from render.preview.run import Options
    from render.preview.run import preview as run

    try:
        if not layout.DNS1123_LABEL.match(tenant) or len(tenant) > layout.TENANT_NAME_MAX:
            raise PreviewError(f"{tenant!r} is not a tenant name", "tenant names are DNS-1123 labels, e.g. acme")
        return run(root, Options(tenant, tuple(extractor or ()), load, time_scale, delay_s, keep,
                                 output in ("json", "yaml"), output == "yaml"))
    except PreviewError as e:
        print(f"dataplane: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"    hint: {e.hint}", file=sys.stderr)
        return e.exit_code
