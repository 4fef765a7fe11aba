"""The Cortex face (specs/cortex-workflows-api.txt): apps, workflows, versions, runs with
replay, cancel and retention, and discoverable workflows.

An app is a tenant: `GET /apps` tells a key its app id, and any other app id answers 404.
A discoverable workflow is readable by every app and runs the owner's published version
inside the caller's app: the run is the caller's alone. The `discover` routes are
registered before `{workflow_id}` so the static segment wins. The routes that start a run
live in functions/api/cortex_runs.py, shared with the stream function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.api import bodies, cortex_runs, cortex_views, replies
from functions.api.context import principal, require
from functions.api.contract import Face, documented
from functions.api.cortex_runs import discoverable, run_view, version_view
from functions.api.replies import buffered_seconds
from functions.core.model.retention import RetentionBody
from functions.core.services import apps, retention, runs, workflows
from functions.core.services.keys import Principal, Scope

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

Page = Annotated[int, Query(ge=1, le=10_000)]
Take = Annotated[int, Query(ge=1, le=100)]
# How many runs a runs list reads, newest first, to page through.
RUNS_LISTED = 1000


def _caller(app_id: str, scope: Scope) -> Principal:
    return cortex_runs.app_caller(principal(router), app_id, scope)


def _readable(caller: Principal, workflow_id: str) -> dict[str, Any]:
    """The caller's own workflow, or another app's discoverable one (whose runs the
    caller reads are its own only)."""
    return workflows.discoverable(workflow_id) or workflows.get(caller.tenant_id, workflow_id)


def _version_number(record: dict[str, Any], wanted: str) -> int | None:
    """`3` or `<workflow id>-v3` (None: the workflow's own id, so its latest)."""
    return int(wanted) if wanted.isdigit() else apps.requested_version(record, wanted)


def _buffered(start: Callable[..., replies.Reply], **path: str) -> Response[Any]:
    """A route that starts a run, as the api function answers it (a stream whole, once it
    ended); in AWS the stream function serves these paths."""
    return replies.buffered(start(principal(router), bodies.of(router), buffered_seconds(), **path))


# --- apps --------------------------------------------------------------------------------


@router.get("/apps")
@documented(Face.ACCOUNT, "cortex")
def list_apps() -> dict[str, Any]:
    caller = require(router, Scope.READ)
    return cortex_views.page([cortex_views.app(caller.tenant_id)], 1, 1)


# --- discoverable workflows (before {workflow_id}) ----------------------------------------


@router.get("/apps/<app_id>/workflows/discover")
@documented(Face.ACCOUNT, "cortex")
def discover(app_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    found = [cortex_views.workflow(r) for r in workflows.list_discoverable()]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/discover/<workflow_id>")
@documented(Face.ACCOUNT, "cortex")
def get_discoverable(app_id: str, workflow_id: str) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    return cortex_views.workflow(discoverable(workflow_id))


@router.get("/apps/<app_id>/workflows/discover/<workflow_id>/versions/<version>")
@documented(Face.ACCOUNT, "cortex")
def get_discoverable_version(app_id: str, workflow_id: str, version: str) -> dict[str, Any]:
    _caller(app_id, Scope.READ)
    record = discoverable(workflow_id)
    return version_view(record, workflows.version_of(record, _version_number(record, version)))


@router.post("/apps/<app_id>/workflows/discover/<workflow_id>/runs")
@documented(Face.ACCOUNT, "cortex", body=cortex_runs.RunBody, starts_run=True, streams=True)
def run_discoverable(app_id: str, workflow_id: str) -> Response[Any]:
    return _buffered(cortex_runs.start_discoverable, app_id=app_id, workflow_id=workflow_id)


@router.post("/apps/<app_id>/workflows/discover/<workflow_id>/runs/<run_id>/cancel")
@documented(Face.ACCOUNT, "cortex", errors=(409,))
def cancel_discoverable_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.WRITE)
    record = discoverable(workflow_id)
    return run_view(record, runs.cancel(runs.get(caller.tenant_id, workflow_id, run_id)))


# --- the app's own workflows --------------------------------------------------------------


@router.get("/apps/<app_id>/workflows")
@documented(Face.ACCOUNT, "cortex")
def list_workflows(app_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    found = [cortex_views.workflow(r) for r in workflows.list_all(caller.tenant_id)]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/<workflow_id>")
@documented(Face.ACCOUNT, "cortex")
def get_workflow(app_id: str, workflow_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    return cortex_views.workflow(workflows.get(caller.tenant_id, workflow_id))


@router.get("/apps/<app_id>/workflows/<workflow_id>/versions")
@documented(Face.ACCOUNT, "cortex")
def list_versions(app_id: str, workflow_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = workflows.get(caller.tenant_id, workflow_id)
    found = [version_view(record, v) for v in workflows.versions(caller.tenant_id, workflow_id)]
    return cortex_views.page(found, page, take)


@router.get("/apps/<app_id>/workflows/<workflow_id>/versions/<version>")
@documented(Face.ACCOUNT, "cortex")
def get_version(app_id: str, workflow_id: str, version: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = workflows.get(caller.tenant_id, workflow_id)
    return version_view(record, workflows.version_of(record, _version_number(record, version)))


@router.get("/apps/<app_id>/workflows/<workflow_id>/runs")
@documented(Face.ACCOUNT, "cortex")
def list_runs(app_id: str, workflow_id: str, page: Page = 1, take: Take = 20) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = _readable(caller, workflow_id)
    found = runs.list_for_workflow(caller.tenant_id, workflow_id, RUNS_LISTED)
    shown = cortex_views.page([{"run": r} for r in found], page, take)
    shown["data"] = [run_view(record, item["run"]) for item in shown["data"]]
    return shown


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs")
@documented(Face.ACCOUNT, "cortex", body=cortex_runs.RunBody, starts_run=True, streams=True)
def run_workflow(app_id: str, workflow_id: str) -> Response[Any]:
    return _buffered(cortex_runs.start, app_id=app_id, workflow_id=workflow_id)


@router.get("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>")
@documented(Face.ACCOUNT, "cortex")
def get_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.READ)
    record = _readable(caller, workflow_id)
    return run_view(record, runs.get(caller.tenant_id, workflow_id, run_id))


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/replay")
@documented(Face.ACCOUNT, "cortex", body=cortex_runs.ReplayBody, starts_run=True, streams=True)
def replay_run(app_id: str, workflow_id: str, run_id: str) -> Response[Any]:
    return _buffered(cortex_runs.replay, app_id=app_id, workflow_id=workflow_id, run_id=run_id)


@router.post("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/cancel")
@documented(Face.ACCOUNT, "cortex", errors=(409,))
def cancel_run(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = _caller(app_id, Scope.WRITE)
    record = workflows.get(caller.tenant_id, workflow_id)
    return run_view(record, runs.cancel(runs.get(caller.tenant_id, workflow_id, run_id)))


@router.patch("/apps/<app_id>/workflows/<workflow_id>/runs/<run_id>/retention")
@documented(Face.ACCOUNT, "cortex", body=RetentionBody, errors=(409,))
def set_retention(app_id: str, workflow_id: str, run_id: str) -> dict[str, Any]:
    body = bodies.read(RetentionBody, router)
    caller = _caller(app_id, Scope.WRITE)
    record = workflows.get(caller.tenant_id, workflow_id)
    updated = retention.patch_for_run(caller.tenant_id, run_id, body, workflow_id=workflow_id)
    return run_view(record, updated)
