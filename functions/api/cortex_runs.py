"""The Cortex routes that start a run (run, replay, run a discoverable workflow), whichever
transport serves them.

They answer as the body asks: at once with `background`, as server-sent events of the
growing run object with `stream`, else when the run ends (up to the blocking bound, then
RUNNING). API Gateway cannot route on a body, so these paths go to the stream function
whatever they ask; the api function serves them too, sending a stream whole once it ended
(functions/api/replies.py). The other Cortex routes (functions/api/routes/cortex.py) share
the views and checks defined here.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from functions.api import cortex_views
from functions.api.bodies import Body, parse
from functions.api.context import check
from functions.api.idempotent import start_once
from functions.api.replies import JsonReply, Reply, StreamReply
from functions.core.errors import NotFound
from functions.core.model.run import Run, StepEvent
from functions.core.model.version import Version
from functions.core.services import runs, service_runs, workflows
from functions.core.services.keys import Principal, Scope
from functions.core.settings import get_settings
from functions.stream.sse import chunk

# An SSE comment: clients ignore it, proxies and load balancers see a live connection.
KEEP_ALIVE = ": keep-alive\n\n"


class RunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: Any = None
    # A published version number to pin (default: the latest).
    version: int | None = Field(default=None, ge=1)
    stream: StrictBool = False
    background: StrictBool = False


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stepKey: str = Field(min_length=1)
    stream: StrictBool = False
    background: StrictBool = False


def app_caller(caller: Principal, app_id: str, scope: Scope) -> Principal:
    """An account key holding `scope`, in the app (tenant) the path names."""
    check(caller, scope)
    if app_id != caller.tenant_id:
        raise NotFound("app", app_id)
    return caller


def discoverable(workflow_id: str) -> dict[str, Any]:
    record = workflows.discoverable(workflow_id)
    if record is None:
        raise NotFound("workflow", workflow_id)
    return record


def version_view(record: dict[str, Any], found: Version) -> dict[str, Any]:
    return cortex_views.version(found, record["tenantId"], record.get("description") or "")


def run_view(
    record: dict[str, Any], found: Run, events: list[StepEvent] | None = None
) -> dict[str, Any]:
    """The run object; `events` are its node events when the caller has read them."""
    version = None
    if isinstance(found.version, int):
        version = version_view(record, workflows.version_of(record, found.version))
    return cortex_views.run(
        found,
        runs.node_events(found.id) if events is None else events,
        workflow_app_id=record["tenantId"],
        workflow_version=version,
    )


def start(caller: Principal, raw: Body, seconds: float, *, app_id: str, workflow_id: str) -> Reply:
    """POST /apps/{app_id}/workflows/{workflow_id}/runs; `seconds` bounds a stream."""
    app_caller(caller, app_id, Scope.WRITE)
    body = parse(RunBody, raw)
    return _started(caller, workflows.get(caller.tenant_id, workflow_id), raw, body, seconds)


def start_discoverable(
    caller: Principal, raw: Body, seconds: float, *, app_id: str, workflow_id: str
) -> Reply:
    """POST /apps/{app_id}/workflows/discover/{workflow_id}/runs: the owner's published
    version, run inside the caller's app."""
    app_caller(caller, app_id, Scope.WRITE)
    body = parse(RunBody, raw)
    return _started(caller, discoverable(workflow_id), raw, body, seconds)


def replay(
    caller: Principal, raw: Body, seconds: float, *, app_id: str, workflow_id: str, run_id: str
) -> Reply:
    """POST /apps/{app_id}/workflows/{workflow_id}/runs/{run_id}/replay."""
    app_caller(caller, app_id, Scope.WRITE)
    body = parse(ReplayBody, raw)
    record = workflows.get(caller.tenant_id, workflow_id)
    original = runs.get(caller.tenant_id, workflow_id, run_id)
    run = start_once(
        caller.tenant_id,
        f"POST /apps/workflows/{workflow_id}/runs/{run_id}/replay",
        raw,
        lambda: runs.replay(record, original, body.stepKey),
    )
    return _answer(record, run, body, seconds, _bound(body))


def _started(
    caller: Principal, record: dict[str, Any], raw: Body, body: RunBody, seconds: float
) -> Reply:
    bound = _bound(body)
    run = start_once(
        caller.tenant_id,
        f"POST /apps/workflows/{record['id']}/runs",
        raw,
        lambda: runs.start(
            caller.tenant_id,
            record["id"],
            body.input,
            pin=body.version,
            workflow=record,
            wait_seconds=bound.left() if bound else None,
        ),
    )
    return _answer(record, run, body, seconds, bound)


def _bound(body: RunBody | ReplayBody) -> service_runs.Deadline | None:
    """How long the answer may wait for the run's end (None: it does not wait)."""
    if body.stream or body.background:
        return None
    return service_runs.Deadline(get_settings().service_blocking_seconds)


def _answer(
    record: dict[str, Any],
    run: Run,
    body: RunBody | ReplayBody,
    seconds: float,
    bound: service_runs.Deadline | None,
) -> Reply:
    if body.stream:
        return StreamReply(RunObjects(record, run, seconds))
    if bound is not None:
        run = service_runs.wait(run, bound.left())
    return JsonReply(200, run_view(record, run))


class RunObjects:
    """The run object each time its log grows, and once more when the run ends; a
    keep-alive comment while nothing happens (and a check then for an execution that ended
    without finalizing the run, which settles it as failed). After `seconds` the stream
    ends with the run as it is then (RUNNING: it goes on, and GET …/runs/{run_id} shows
    how it ends)."""

    def __init__(self, record: dict[str, Any], run: Run, seconds: float) -> None:
        now = time.monotonic()
        self.done = False
        self._record = record
        self._run = run
        self._logged = -1
        self._deadline = now + seconds
        self._ping_every = get_settings().service_ping_seconds
        self._last_sent = now
        self._backoff = service_runs.Backoff()

    def poll(self) -> list[str]:
        self._run = service_runs.reload(self._run.id) or self._run
        events = runs.node_events(self._run.id)
        now = time.monotonic()
        if self._run.status.finished or now >= self._deadline:
            self.done = True
        if len(events) == self._logged and not self.done:
            if now - self._last_sent < self._ping_every:
                return []
            self._last_sent = now
            self._run = runs.settle(self._run)
            return [KEEP_ALIVE]
        self._logged = len(events)
        self._last_sent = now
        self._backoff.reset()
        return [chunk(run_view(self._record, self._run, events))]

    def pause(self) -> float:
        return self._backoff.next()
