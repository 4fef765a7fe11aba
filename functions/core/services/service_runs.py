"""Runs of the service API (Dify's workflow app API), on top of the one run service.

A run gets the request's inputs as its trigger data (the start node reads them from
`trigger.data`) and Dify's system variables: `sys.user_id`, `sys.files`, `sys.app_id`
(the workflow) and `sys.workflow_id` (the published version, see apps.py).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from functions.core.catalog import node_types
from functions.core.data import runs as run_store
from functions.core.errors import Conflict, NodeError, NotFound, Refused
from functions.core.model.run import EventType, Run, RunStatus, StepEvent
from functions.core.model.workflow import Graph, NodeType
from functions.core.services import apps, files, runs
from functions.core.settings import get_settings

logger = Logger(service="stepcanvas-service-api")

# Node types that call the model provider: a run of a workflow with one needs a provider.
_MODEL_NODES = frozenset({NodeType.LLM, NodeType.PARAMETER_EXTRACTOR, NodeType.QUESTION_CLASSIFIER})
STOP_CAUSE = "stopped by the user"
# A keyword search reads the app's newest runs, this many at most.
KEYWORD_SEARCH_RUNS = 10_000


@dataclass(frozen=True)
class App:
    tenant_id: str
    workflow_id: str


@dataclass(frozen=True)
class RunRequest:
    inputs: dict[str, Any]
    user: str
    files: list[files.FileRef] = field(default_factory=list)


@dataclass(frozen=True)
class Tally:
    """What Dify reports about a run's steps, counted from its event log."""

    total_steps: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class LogPage:
    runs: list[tuple[Run, Tally]]
    total: int
    has_more: bool


def start(
    app: App, request: RunRequest, version: str | None = None, wait_seconds: float | None = None
) -> Run:
    """Check the request as Dify does (400 before any run exists), then start the run
    (`wait_seconds`: a blocking request's bound, see runs.start)."""
    record = apps.load(app.tenant_id, app.workflow_id)
    number = apps.requested_version(record, version) if version is not None else None
    if not record["enabled"]:
        raise Refused("app_unavailable", f"workflow '{app.workflow_id}' is disabled")
    published = apps.published_snapshot(record, number)
    graph = published.graph_model()
    inputs = _resolve_file_inputs(app, request)
    _check_inputs(graph, inputs)
    _check_model_provider(graph)
    run_files = files.resolve(app.tenant_id, app.workflow_id, request.user, request.files, "files")
    sys_values = {
        "user_id": request.user,
        "files": run_files,
        "app_id": app.workflow_id,
        "workflow_id": apps.version_id(record["id"], published.number),
    }
    try:
        return runs.start(
            app.tenant_id,
            app.workflow_id,
            inputs,
            triggered_by="api",
            sys_values=sys_values,
            pin=published.number,
            workflow=record,
            wait_seconds=wait_seconds,
        )
    except Conflict as exc:  # disabled between the check above and the start
        raise Refused("app_unavailable", str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        raise Refused("workflow_request_error", f"the run could not be started: {exc}") from exc


def _resolve_file_inputs(app: App, request: RunRequest) -> dict[str, Any]:
    """A file input is given as a file reference (or a list of them); the run sees the
    file's descriptor, as `sys.files` shows it."""

    def resolve(value: Any, where: str) -> Any:
        if isinstance(value, dict) and "transfer_method" in value:
            ref = _file_ref(value, where)
            return files.describe(app.tenant_id, app.workflow_id, request.user, ref, where)
        if (
            isinstance(value, list)
            and value
            and all(isinstance(item, dict) and "transfer_method" in item for item in value)
        ):
            return [resolve(item, f"{where}.{i}") for i, item in enumerate(value)]
        return value

    return {name: resolve(value, f"inputs.{name}") for name, value in request.inputs.items()}


def _file_ref(value: dict[str, Any], where: str) -> files.FileRef:
    try:
        return files.FileRef.model_validate(value)
    except ValueError as exc:
        raise Refused("invalid_param", f"{where}: not a valid file reference ({exc})") from exc


def _check_inputs(graph: Graph, inputs: dict[str, Any]) -> None:
    """The start form's rules, with Dify's messages; the start node applies them again."""
    for node in graph.nodes:
        if node.type is NodeType.START:
            try:
                node_types().check_start_inputs(node.config, inputs)
            except NodeError as exc:
                raise Refused("invalid_param", str(exc)) from exc


def _check_model_provider(graph: Graph) -> None:
    if not any(node.type in _MODEL_NODES for node in graph.nodes):
        return
    try:
        node_types().check_model_provider()
    except NodeError as exc:
        raise Refused(
            "provider_not_initialize", f"no model provider is configured for this app: {exc}"
        ) from exc


class Deadline:
    """A blocking request's bound, shared by its start (an Express run's StartSyncExecution)
    and its wait, so that together they never wait longer than the bound."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())


def wait(run: Run, seconds: float) -> Run:
    """The run once it finished, or as it is after `seconds` (then still running)."""
    deadline = time.monotonic() + seconds
    pause = Backoff()
    while not run.status.finished:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # Still running: unless its execution is gone, which settle() records.
            return runs.settle(run)
        mark = run_store.changes()
        run = run_store.get(run.id) or run
        if not run.status.finished:
            run_store.wait_for_change(mark, min(pause.next(), remaining))
    return run


class Backoff:
    """Poll intervals: the minimum after activity, growing to the maximum while idle."""

    def __init__(self) -> None:
        settings = get_settings()
        self._min = settings.service_poll_min_seconds
        self._max = max(settings.service_poll_max_seconds, self._min)
        self._current = self._min

    def next(self) -> float:
        current = self._current
        self._current = min(self._current * 1.5, self._max)
        return current

    def reset(self) -> None:
        self._current = self._min


def get(app: App, run_id: str) -> Run:
    return runs.get(app.tenant_id, app.workflow_id, run_id)


def reload(run_id: str) -> Run | None:
    return run_store.get(run_id)


def settle(run_id: str) -> None:
    """Record the end of a run whose execution ended without finalizing it (see runs)."""
    run = run_store.get(run_id)
    if run is not None:
        runs.settle(run)


def log(run_id: str, after_seq: int) -> list[StepEvent]:
    return run_store.events(run_id, after_seq)


def age_seconds(event: StepEvent) -> float:
    """How long ago the event took its place in the log."""
    return run_store.position_age_seconds(event.seq)


def tally(run: Run) -> Tally:
    events = run_store.events(run.id)
    # Each node execution starts once; it may finish twice (a failure, then the outcome
    # its error strategy gave), so steps are counted by their start.
    steps = sum(1 for e in events if e.type is EventType.NODE_STARTED)
    tokens = sum(e.tokens or 0 for e in events if e.type is EventType.NODE_FINISHED)
    return Tally(total_steps=steps, total_tokens=tokens)


def sequence_number(run: Run) -> int:
    """The run's number among its workflow's runs, from 1 (Dify's `sequence_number`)."""
    return run_store.count_for_workflow(run.tenant_id, run.workflow_id, until=run)


def user_of(run: Run) -> str | None:
    user = run.inputs.get("sys.user_id")
    return str(user) if user is not None else None


def stop(app: App, task_id: str, user: str) -> None:
    """Stop the user's run (the task id is the run id); a finished run stays as it is."""
    run = get(app, task_id)
    if user_of(run) != user:
        # Only the end user who started a task may stop it; to others it does not exist.
        raise NotFound("task", task_id)
    with contextlib.suppress(Conflict):  # Dify: stopping a finished run changes nothing
        runs.cancel(run, STOP_CAUSE)


def logs(
    app: App, *, keyword: str | None, status: RunStatus | None, page: int, limit: int
) -> LogPage:
    """The app's runs, newest first, one page of them; `keyword` searches inputs, outputs,
    the end user and the run id."""
    record = apps.load(app.tenant_id, app.workflow_id)
    wanted = page * limit
    if keyword:
        found = [
            run
            for run in run_store.list_for_workflow(
                app.tenant_id, record["id"], limit=KEYWORD_SEARCH_RUNS, status=status
            )
            if _matches(run, keyword)
        ]
        total = len(found)
    else:
        found = run_store.list_for_workflow(
            app.tenant_id, record["id"], limit=wanted, status=status
        )
        total = run_store.count_for_workflow(app.tenant_id, record["id"], status=status)
    shown = [runs.settle(run) for run in found[wanted - limit : wanted]]
    return LogPage(runs=[(run, tally(run)) for run in shown], total=total, has_more=total > wanted)


def _matches(run: Run, keyword: str) -> bool:
    parts = (run.id, user_of(run), run.trigger_data, run.outputs, run.error)
    text = json.dumps(parts, ensure_ascii=False, default=str)
    return keyword.casefold() in text.casefold()
