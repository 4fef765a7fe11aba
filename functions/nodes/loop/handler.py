"""The loop function: `init` before the body's first round, `check` after each round,
and `apply` right after a body assigner (when the compiler places one)."""

from __future__ import annotations

import json
from typing import Any

from functions.nodes import runtime
from functions.nodes.loop.entities import LoopConfig
from functions.nodes.loop.node import apply, check, init


@runtime.logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    task = runtime.TaskInput.model_validate(event)
    runtime.logger.append_keys(run_id=task.run.runId, node_id=task.node.id)
    config = LoopConfig.model_validate(json.loads(task.node.config))
    if event.get("action") == "init":
        return init(task, config)
    if event.get("action") == "apply":
        return apply(task, str(event["assigner"]))
    return check(task, config, list(event.get("body") or []), list(event.get("ends") or []))
