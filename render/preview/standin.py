"""The stand-in deployment: deployed under each extractor's rendered name and settings, it
answers like an extractor after a fixed delay and says which replica and node answered.

Imported by Ray's workers through the rewritten `import_path`; never by the renderer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ray
from ray import serve


@serve.deployment
class StandIn:
    def __init__(self, extractor: str, delay_s: float) -> None:
        self.extractor, self.delay_s = extractor, delay_s
        self.user_config: Any = None

    def reconfigure(self, user_config: Any) -> None:
        """Accepts the rendered user_config, as the real extractor would."""
        self.user_config = user_config

    async def __call__(self, request: Any) -> dict[str, Any]:
        await asyncio.sleep(self.delay_s)
        return {"extractor": self.extractor, "status": "ok", "documents": [],
                "replica": serve.get_replica_context().replica_id.unique_id,
                "node_id": ray.get_runtime_context().get_node_id()}


def build(args: dict[str, Any]) -> Any:
    """Serve's application builder: `args` come from the rewritten config's `args`."""
    names = list(args["deployments"])
    if len(names) != 1:
        raise ValueError(f"the preview stand-in serves one deployment per application, not {names}")
    deployment: Any = StandIn  # serve.deployment's return type does not carry .options
    return deployment.options(name=names[0]).bind(str(args["extractor"]), float(args["delay_s"]))
