"""The loop function: `init` before the body's first round, `check` after each round."""

from __future__ import annotations

import json
from typing import Any

from functions.core.model.task import LoopTask, StepAction
from functions.core.observability import traced
from functions.nodes import runtime
from functions.nodes.loop.entities import LoopConfig
from functions.nodes.loop.node import check, init


@traced
@runtime.logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    task = LoopTask.model_validate(event)
    runtime.logger.append_keys(run_id=task.run.runId, node_id=task.node.id)
    config = LoopConfig.model_validate(json.loads(task.node.config))
    if task.action is StepAction.INIT:
        return init(task, config)
    return check(task, config, task.body, task.ends)
