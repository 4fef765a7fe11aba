"""The iteration function: `prepare` before the Map, `collect` after it."""

from __future__ import annotations

import json
from typing import Any

from functions.nodes import runtime
from functions.nodes.iteration.entities import IterationConfig
from functions.nodes.iteration.node import collect, prepare


@runtime.logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    task = runtime.TaskInput.model_validate(event)
    config = IterationConfig.model_validate(json.loads(task.node.config))
    if event["action"] == "prepare":
        step = runtime.start(task)
        try:
            items = prepare(config, runtime.context(task))
        except Exception as exc:
            raise runtime.fail(task, step, exc) from exc
        return {"items": items, "startedAt": step.startedAt}
    step = runtime.Step(startedAt=event["results"]["startedAt"])
    return runtime.finish(task, step, collect(config, event["results"]["items"]))
