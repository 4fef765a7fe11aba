"""The wrapper every node function shares.

It turns the task input built by the compiler (functions/core/model/task.py) into a typed
config and a variable pool, writes `node_started`, runs the node, writes `node_finished`
(inputs, outputs, status, error, elapsed time, tokens) and returns the outputs for the
state machine to carry.
A node error is recorded and re-raised, so the state machine's Retry/Catch decide what
happens next.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

from functions.core import clock, observability, payloads
from functions.core.data import runs as run_store
from functions.core.errors import NodeError
from functions.core.model import express
from functions.core.model.run import EventType, StepEvent, StepStatus
from functions.core.model.task import TaskInput
from functions.core.model.workflow import state_key
from functions.core.services import environment
from functions.core.variables import VariablePool
from functions.nodes.entities import NodeConfig, NodeContext, NodeResult

logger = Logger(service="stepcanvas-node")

C = TypeVar("C", bound=NodeConfig)
NodeRun = Callable[[C, NodeContext], NodeResult]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def node_handler(run: NodeRun[C], config_model: type[C]) -> LambdaHandler:
    @observability.traced
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        task = TaskInput.model_validate(event)
        logger.append_keys(run_id=task.run.runId, node_id=task.node.id)
        return execute(task, run, config_model)

    return handler


def execute(task: TaskInput, run: NodeRun[C], config_model: type[C]) -> dict[str, Any]:
    step = start(task)
    replay = task.run.replay
    if replay is not None and task.node.id in replay.reuse and task.node.evaluates is None:
        # A replay reuses what the node gave the first time: nothing it does happens again.
        return _reused(task, step, replay.states[state_key(task.node.id)])
    try:
        result = run(config_model.model_validate(json.loads(task.node.config)), context(task))
    except Exception as exc:
        raise fail(task, step, exc) from exc
    return finish(task, step, result)


class Step(BaseModel):
    """When a node started; containers carry it from their first task to their last."""

    startedAt: str

    def elapsed_ms(self) -> int:
        return int((clock.now() - clock.parse_iso(self.startedAt)).total_seconds() * 1000)


def context(task: TaskInput) -> NodeContext:
    return NodeContext(
        node_id=task.node.id,
        node_type=task.node.type,
        run_id=task.run.runId,
        workflow_id=task.run.workflowId,
        tenant_id=task.run.tenantId,
        pool=VariablePool(
            node_states=task.vars,
            trigger=task.trigger,
            system=task.sys,
            environment=lambda: environment.values(task.run.workflowId, task.run.version),
        ),
    )


def start(task: TaskInput) -> Step:
    if task.run.express:
        _own(task)
    step = Step(startedAt=clock.iso())
    if task.node.evaluates is None:
        _record(task, EventType.NODE_STARTED, StepStatus.RUNNING, started_at=step.startedAt)
    return step


def _own(task: TaskInput) -> None:
    """Before a task of an Express run does anything: end the execution if the run was
    stopped (Step Functions cannot stop an Express execution), or if another execution of
    the run owns it (Express may start one twice)."""
    found = run_store.claim(task.run.runId, task.execution or "")
    if found is None or found[0].finished:
        raise express.RunEnded(f"run '{task.run.runId}' has ended")
    if found[1] != (task.execution or ""):
        raise express.DuplicateExecution(
            f"run '{task.run.runId}' is run by execution {found[1]}, not this one"
        )


def finish(task: TaskInput, step: Step, result: NodeResult) -> dict[str, Any]:
    """Record the node's success; return its state for `$.vars` (outputs or a reference)."""
    state = payloads.pack(task.run.runId, task.node.id, result.outputs, task.node.inlineLimit)
    if result.handle is not None:
        state["handle"] = result.handle
    if task.node.evaluates is None:
        _record_success(task, step, state, inputs=result.inputs, tokens=result.tokens)
        observability.node_finished(task.node.type, step.elapsed_ms(), result.tokens)
    return state


def _reused(task: TaskInput, step: Step, state: dict[str, Any]) -> dict[str, Any]:
    """The state the node gave in the replayed run (the replay put it in `$.run`),
    recorded as this run's step and passed on unchanged."""
    _record_success(task, step, state)
    return state


def _record_success(
    task: TaskInput,
    step: Step,
    state: dict[str, Any],
    *,
    inputs: dict[str, Any] | None = None,
    tokens: int | None = None,
) -> None:
    _record(
        task,
        EventType.NODE_FINISHED,
        StepStatus.SUCCEEDED,
        started_at=step.startedAt,
        elapsed_ms=step.elapsed_ms(),
        inputs=inputs,
        outputs=state.get("outputs"),
        outputs_ref=state.get("ref"),
        tokens=tokens,
        handle=state.get("handle"),
    )


def fail(task: TaskInput, step: Step, exc: Exception) -> NodeFailed:
    """Record the node's failure; the caller raises what this returns."""
    message = _message(exc)
    if task.node.evaluates is not None:
        message = f"{task.node.evaluates}: {message}"
    _record(
        task,
        EventType.NODE_FINISHED,
        StepStatus.FAILED,
        started_at=step.startedAt,
        elapsed_ms=step.elapsed_ms(),
        error=message,
        handled=task.node.errorStrategy is not None or None,
    )
    observability.node_failed(task.node.type, step.elapsed_ms())
    logger.warning("node failed", extra={"error": message})
    return NodeFailed(message, _error_type(exc))


class NodeFailed(Exception):
    """What the Lambda raises; Step Functions sees `errorType` = the original error's kind."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"config.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    return str(exc) or type(exc).__name__


def _error_type(exc: Exception) -> str:
    return exc.error_type if isinstance(exc, NodeError) else type(exc).__name__


def _record(task: TaskInput, kind: EventType, status: StepStatus, **fields: Any) -> None:
    event = StepEvent(
        type=kind,
        at=clock.iso(),
        node_id=task.node.id,
        node_type=task.node.type,
        title=task.node.title or task.node.id,
        status=status,
        **fields,
    )
    run_store.append_event(task.run.runId, event, task.run.eventTtl or None)
