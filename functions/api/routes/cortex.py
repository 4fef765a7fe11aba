"""The Cortex face (specs/cortex-workflows-api.txt): apps, workflows, versions, runs with
replay, cancel and retention, and discoverable workflows.

An app is a tenant: `GET /apps` tells a key its app id, and any other app id answers 404.
A discoverable workflow is readable by every app and runs the owner's published version
inside the caller's app: the run is the caller's alone. The `discover` routes are
registered before `{workflow_id}` so the static segment wins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from functions.api import bodies, cortex_views
from functions.api.context import require
from functions.core.errors import NotFound
from functions.core.model.retention import RetentionBody
from functions.core.model.run import Run
from functions.core.model.version import Version
from functions.core.services import apps, retention, runs, service_runs, workflows
from functions.core.services.keys import Principal, Scope
from functions.core.settings import get_settings
from functions.stream.sse import chunk

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

Page = Annotated[int, Query(ge=1, le=10_000)]
Take = Annotated[int, Query(ge=1, le=100)]
# How many runs a runs list reads, newest first, to page through.
RUNS_LISTED = 1000


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


def _caller(app_id: str, scope: Scope) -> Principal:
    caller = require(router, scope)
    if app_id != caller.tenant_id:
        raise NotFound("app", app_id)
    return caller


def _readable(caller: Principal, workflow_id: str) -> dict[str, Any]:
    """The caller's own workflow, or another app's discoverable one (whose runs the
    caller reads are its own only)."""
    return workflows.discoverable(workflow_id) or workflows.get(caller.tenant_id, workflow_id)


def _version_number(record: dict[str, Any], wanted: str) -> int | None:
    """`3` or `<workflow id>-v3` (None: the workflow's own id, so its latest)."""
    return int(wanted) if wanted.isdigit() else apps.requested_version(record, wanted)


def _version_view(record: dict[str, Any], found: Version) -> dict[str, Any]:
    return cortex_views.version(found, record["tenantId"], record.get("description") or "")


def _run_view(record: dict[str, Any], found: Run) -> dict[str, Any]:
    version = None
    if isinstance(found.version, int):
        version = _version_view(record, workflows.version_of(record, found.version))
    return cortex_views.run(
        found,
        runs.node_events(found.id),
        workflow_app_id=record["tenantId"],
        workflow_version=version,
    )


def _start(caller: Principal, record: dict[str, Any], body: RunBody) -> Any:
    """A run of `record` in the caller's app, answered as `body` asks."""
    started = runs.start(
        caller.tenant_id, record["id"], body.input, pin=body.version, workflow=record
    )
    return _answer(record, started, body)


def _answer(record: dict[str, Any], started: Run, body: RunBody | ReplayBody) -> Any:
    """At once in the background; as server-sent events of the growing run object with
    `stream`; else when the run ends (up to the blocking bound, then RUNNING)."""
    if body.stream:
        return Response(
            status_code=200,
            content_type="text/event-stream",
            body="".join(_run_objects(record, started)),
            headers={"Cache-Control": "no-cache"},
        )
    if not body.background:
        started = service_runs.wait(started, get_settings().service_blocking_seconds)
    return _run_view(record, started)


def _run_objects(record: dict[str, Any], run: Run) -> Iterator[str]:
    """The run object each time its log grows, the last one when it ends. The api
    function cannot stream: the events are sent together, bounded like a blocking run."""
    deadline = time.monotonic() + get_settings().service_blocking_seconds
    pause = service_runs.Backoff()
    seen = -1
    while True:
        run = service_runs.reload(run.id) or run
        logged = len(runs.node_events(run.id))
        if logged != seen or run.status.finished:
            seen = logged
            yield chunk(_run_view(record, run))
        if run.status.finished or time.monotonic() >= deadline:
            return
        time.sleep(pause.next())


# --- apps --------------------------------------------------------------------------------


@router.get("/apps")
def list_apps() -> dict[str, Any]:
    caller = require(router, Scope.READ)
    return cortex_views.page([cortex_views.app(caller.tenant_id)], 1, 1)


# --- discoverable workflows (before {workflow_id}) ----------------------------------------


def _discoverable(workflow_id: str) -> dict[str, Any]:
    record = workflows.discoverable(workflow_id)
    if record is None:
        raise NotFound("workflow", workflow_id)
    return record


@router.get("/apps/<app_id>/workflows/discover")
def discover(app_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    found = [cortex_views.workflow(r) for r in workflows.list_discoverable()]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/discover/<workflow_id>")
def get_discoverable(app_id: str, workflow_id: str) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    return cortex_views.workflow(_discoverable(workflow_id))


@router.get("/apps/<app_id>/workflows/discover/<workflow_id>/versions/<version>")
def get_discoverable_version(app_id: str, workflow_id: str, version: str) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    record = _discoverable(workflow_id)
    return _version_view(record, workflows.version_of(record, _version_number(record, version)))


@router.post("/apps/<app_id>/workflows/discover/<workflow_id>/runs")
def run_discoverable(app_id: str, workflow_id: str) -> Any:
    body = bodies.read(RunBody, router)
    caller = _caller(app_id, Scope.WRITE)
    # The owner's published version, inside the caller's app.
    return _start(caller, _discoverable(workflow_id), body)


@router.post("/apps/<app_id>/workflows/discover/<workflow_id>/runs/<run_id>/cancel")
def cancel_discoverable_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.WRITE)
    record = _discoverable(workflow_id)
    return _run_view(record, runs.cancel(runs.get(caller.tenant_id, workflow_id, run_id)))


# --- the app's own workflows --------------------------------------------------------------


@router.get("/apps/<app_id>/workflows")
def list_workflows(app_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    found = [cortex_views.workflow(r) for r in workflows.list_all(caller.tenant_id)]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/<workflow_id>")
def get_workflow(app_id: str, workflow_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    return cortex_views.workflow(workflows.get(caller.tenant_id, workflow_id))


@router.get("/apps/<app_id>/workflows/<workflow_id>/versions")
def list_versions(app_id: str, workflow_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = workflows.get(caller.tenant_id, workflow_id)
    found = [_version_view(record, v) for v in workflows.versions(caller.tenant_id, workflow_id)]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/<workflow_id>/versions/<version>")
def get_version(app_id: str, workflow_id: str, version: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = workflows.get(caller.tenant_id, workflow_id)
    return _version_view(record, workflows.version_of(record, _version_number(record, version)))


@router.get("/apps/<app_id>/workflows/<workflow_id>/runs")
def list_runs(app_id: str, workflow_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = _readable(caller, workflow_id)
    found = runs.list_for_workflow(caller.tenant_id, workflow_id, RUNS_LISTED)
    shown = cortex_views.page([{"run": r} for r in found], page, take)
    shown["data"] = [_run_view(record, item["run"]) for item in shown["data"]]
    return shown


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs")
def run_workflow(app_id: str, workflow_id: str) -> Any:
    body = bodies.read(RunBody, router)
    caller = _caller(app_id, Scope.WRITE)
    return _start(caller, workflows.get(caller.tenant_id, workflow_id), body)


@router.get("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>")
def get_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = _readable(caller, workflow_id)
    return _run_view(record, runs.get(caller.tenant_id, workflow_id, run_id))


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/replay")
def replay_run(app_id: str, workflow_id: str, run_id: str) -> Any:
    body = bodies.read(ReplayBody, router)
    caller = _caller(app_id, Scope.WRITE)
    record = workflows.get(caller.tenant_id, workflow_id)
    original = runs.get(caller.tenant_id, workflow_id, run_id)
    started = runs.replay(record, original, body.stepKey)
    return _answer(record, started, body)


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/cancel")
def cancel_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.WRITE)
    record = workflows.get(caller.tenant_id, workflow_id)
    return _run_view(record, runs.cancel(runs.get(caller.tenant_id, workflow_id, run_id)))


@router.patch("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/retention")
def set_retention(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    body = bodies.read(RetentionBody, router)
    caller = _caller(app_id, Scope.WRITE)
    record = workflows.get(caller.tenant_id, workflow_id)
    updated = retention.patch_for_run(caller.tenant_id, run_id, body, workflow_id=workflow_id)
    return _run_view(record, updated)
