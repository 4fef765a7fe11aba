"""The iteration function: `prepare` before the Map, `collect` after it."""

from __future__ import annotations

import json
from typing import Any

from functions.core.errors import NodeError
from functions.core.model import express
from functions.core.model.task import IterationTask, StepAction
from functions.core.observability import traced
from functions.nodes import runtime
from functions.nodes.iteration.entities import IterationConfig
from functions.nodes.iteration.node import collect, prepare


@traced
@runtime.logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    task = IterationTask.model_validate(event)
    runtime.logger.append_keys(run_id=task.run.runId, node_id=task.node.id)
    config = IterationConfig.model_validate(json.loads(task.node.config))
    if task.action is StepAction.PREPARE:
        step = runtime.start(task)
        try:
            items = prepare(config, runtime.context(task))
            if task.run.express and len(items) > express.MAX_ITEMS:
                # The bound the Express check measured the workflow's worst case with.
                raise NodeError(
                    f"an Express run's iteration takes at most {express.MAX_ITEMS} items; "
                    f"this one got {len(items)}"
                )
        except Exception as exc:
            raise runtime.fail(task, step, exc) from exc
        return {"items": items, "startedAt": step.startedAt}
    if task.results is None:
        raise ValueError(f"iteration '{task.node.id}': collect has no results to collect")
    step = runtime.Step(startedAt=task.results.startedAt)
    return runtime.finish(task, step, collect(config, task.results.items))
