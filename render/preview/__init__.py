"""`dataplane preview TENANT`: the tenant's rendered Serve applications on a real local Ray.

One module per job: `shape` (the cluster a rendered RayService asks for, scaled down),
`config` (the rendered serveConfigV2 with stand-in code and scaled delays), `standin`
(the deployment that answers in place of an extractor), `cluster` (the local Ray, started
and always stopped), `observe` (load and what Ray reports), `report` (the verdict).
Only `standin`, `cluster` and `observe` import ray, and only when a preview runs.
"""

from __future__ import annotations


class PreviewError(Exception):
    """Something stops the preview before it can say anything about the tenant."""

    def __init__(self, message: str, hint: str = "", exit_code: int = 2) -> None:
        super().__init__(message)
        self.message, self.hint, self.exit_code = message, hint, exit_code
