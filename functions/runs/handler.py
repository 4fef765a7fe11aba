"""The runs function: bookkeeping tasks of every compiled state machine."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.core.model.task import RunsTask, StepAction
from functions.core.observability import traced
from functions.core.services import lifecycle

logger = Logger(service="stepcanvas-runs")


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any] | None:
    task = RunsTask.model_validate(event)
    run_id, event_ttl = task.run.runId, task.run.eventTtl or None
    logger.append_keys(run_id=run_id, action=task.action.value)
    match task.action:
        case StepAction.BEGIN:
            lifecycle.begin(run_id)
        case StepAction.SUCCEED:
            lifecycle.succeed(run_id, task.vars, task.sinks, task.ends)
        case StepAction.FAIL:
            lifecycle.fail(run_id, task.error, event_ttl)
        case StepAction.RECOVER:
            if task.node is None:
                raise ValueError("recover names no node")
            return lifecycle.recover(run_id, task.node, task.error, event_ttl)
    return None
