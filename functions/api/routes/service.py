"""The service API (specs/dify-workflow-app-api.*): Dify's workflow app API, app keys only.

Registered before the v1 router: its static segments (`run`, `logs`, `tasks`) must win
over the v1 routes' `{id}`, and POST /v1/workflows/{id}/run is one route for both faces.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from functions.api import bodies, dify_views, multipart, replies, run_requests
from functions.api.context import principal, raw_body, require_app
from functions.api.contract import Face, Media, documented
from functions.api.replies import buffered_seconds
from functions.core.errors import Refused
from functions.core.model.run import RunStatus
from functions.core.services import apps, files, service_runs

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

# Dify's end user when a form upload names none.
DEFAULT_USER = "DEFAULT-USER"
LOG_STATUSES = ("running", "succeeded", "partial-succeeded", "failed", "stopped")


class StopBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user: str = Field(min_length=1)


@router.post("/v1/workflows/run")
@documented(Face.APP, "service", body=run_requests.ServiceRunBody, starts_run=True, streams=True)
def run_published() -> Response[Any]:
    reply = run_requests.handle(principal(router), bodies.of(router), buffered_seconds())
    return replies.buffered(reply)


@router.get("/v1/workflows/run/<workflow_run_id>/events")
@documented(Face.APP, "service", errors=(400,), streams=True)
def run_events(workflow_run_id: str) -> Response[Any]:
    # In AWS the stream function serves this; here the whole stream, once it ended.
    headers = {k.lower(): v for k, v in (router.current_event.headers or {}).items()}
    reply = run_requests.resume(
        principal(router),
        buffered_seconds(),
        workflow_run_id=workflow_run_id,
        last_event_id=headers.get("last-event-id"),
    )
    return replies.buffered(reply)


@router.get("/v1/workflows/run/<workflow_run_id>")
@documented(Face.APP, "service")
def run_detail(workflow_run_id: str) -> dict[str, Any]:
    run = service_runs.get(_app(), workflow_run_id)
    return dify_views.run_detail(run, service_runs.tally(run))


@router.post("/v1/workflows/tasks/<task_id>/stop")
@documented(Face.APP, "service", body=StopBody, errors=(409,))
def stop_task(task_id: str) -> dict[str, Any]:
    app = _app()
    body = bodies.read(StopBody, router)
    service_runs.stop(app, task_id, body.user)
    return {"result": "success"}


@router.get("/v1/workflows/logs")
@documented(Face.APP, "service")
def workflow_logs(
    keyword: str | None = None,
    status: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    app = _app()
    status = status or None  # `?status=` (empty) filters nothing, as Dify reads it
    if status is not None and status not in LOG_STATUSES:
        raise Refused("invalid_param", f"status: must be one of {', '.join(LOG_STATUSES)}")
    found = service_runs.logs(
        app,
        keyword=keyword or None,
        status=RunStatus(status) if status else None,
        page=page,
        limit=limit,
    )
    return {
        "page": page,
        "limit": limit,
        "total": found.total,
        "has_more": found.has_more,
        "data": [
            dify_views.log_entry(run, tally, _end_user(app, service_runs.user_of(run)))
            for run, tally in found.runs
        ],
    }


@router.post("/v1/workflows/<workflow_id>/run")
@documented(
    Face.EITHER,
    "service",
    body=(run_requests.V1RunBody, run_requests.ServiceRunBody),
    starts_run=True,
    streams=True,
)
def run_workflow(workflow_id: str) -> Response[Any]:
    # Both faces: an account key gets the v1 run, an app key Dify's (see run_requests).
    caller = principal(router)
    reply = run_requests.handle(
        caller, bodies.of(router), buffered_seconds(), workflow_id=workflow_id
    )
    return replies.buffered(reply)


@router.get("/v1/parameters")
@documented(Face.APP, "service")
def parameters() -> dict[str, Any]:
    app = _app()
    return apps.parameters(apps.load(app.tenant_id, app.workflow_id))


@router.get("/v1/info")
@documented(Face.APP, "service")
def info() -> dict[str, Any]:
    app = _app()
    return apps.info(apps.load(app.tenant_id, app.workflow_id))


@router.post("/v1/files/upload")
@documented(
    Face.APP,
    "service",
    success=201,
    body=multipart.UploadForm,
    media=Media.MULTIPART,
    errors=(413,),
)
def upload_file() -> tuple[dict[str, Any], int]:
    app = _app()
    event = router.current_event
    parts = multipart.parse(event.headers.get("content-type") or "", raw_body(router))
    uploads = [part for part in parts if part.filename is not None]
    if not any(part.name == "file" for part in uploads):
        raise Refused("no_file_uploaded", "no file in the form: send it as the part 'file'")
    if len(uploads) > 1:
        raise Refused("too_many_files", f"one file per request: the form has {len(uploads)}")
    user = next((p.text() for p in parts if p.name == "user" and p.filename is None), "")
    file = uploads[0]
    record = files.upload(
        app.tenant_id,
        app.workflow_id,
        user or DEFAULT_USER,
        files.Upload(filename=file.filename or "", content_type=file.content_type, data=file.data),
    )
    return dify_views.uploaded_file(record), 201


def _app() -> service_runs.App:
    caller = require_app(router)
    return service_runs.App(tenant_id=caller.tenant_id, workflow_id=caller.workflow_id)


def _end_user(app: service_runs.App, user: str | None) -> str | None:
    return apps.end_user_id(app.tenant_id, app.workflow_id, user) if user is not None else None
