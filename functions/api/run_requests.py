"""POST /v1/workflows/run and POST /v1/workflows/{id}/run, whichever transport serves them.

The credential chooses the face (DESIGN §7): an app key gets Dify's semantics (body
`{inputs, response_mode, user, files}`; `{id}` names a published version of its own
workflow); an account key on `/v1/workflows/{id}/run` gets the v1 run (`{data}` ->
`{runId, status, message}`). The api function's resolver and the stream function both
call `handle`; they differ only in how they send a `StreamReply` (functions/api/replies.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.api import dify_views, v1_views
from functions.api.bodies import Body, parse
from functions.api.context import check, check_app
from functions.api.idempotent import start_once
from functions.api.replies import JsonReply, Reply, StreamReply
from functions.core.model.run import Run
from functions.core.services import runs, service_runs, workflows
from functions.core.services.files import FileRef
from functions.core.services.keys import KeyKind, Principal, Scope
from functions.core.settings import get_settings
from functions.stream.sse import RunStream, parse_event_id


class ServiceRunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inputs: dict[str, Any]
    response_mode: Literal["blocking", "streaming"] = "blocking"
    user: str = Field(min_length=1)
    files: list[FileRef] = Field(default_factory=list)


class V1RunBody(BaseModel):
    data: Any = None


def handle(
    caller: Principal, raw: Body, stream_seconds: float, *, workflow_id: str | None = None
) -> Reply:
    """Start the run the request asks for; `stream_seconds` bounds a streaming answer."""
    if caller.kind is KeyKind.ACCOUNT and workflow_id is not None:
        return _v1_run(caller, workflow_id, raw)
    app_caller = check_app(caller)
    app = service_runs.App(tenant_id=app_caller.tenant_id, workflow_id=app_caller.workflow_id)
    body = parse(ServiceRunBody, raw)
    request = service_runs.RunRequest(inputs=body.inputs, user=body.user, files=body.files)
    streaming = body.response_mode == "streaming"
    bound = service_runs.Deadline(get_settings().service_blocking_seconds)
    run = start_once(
        app.tenant_id,
        f"POST /v1/workflows/run:{workflow_id or app.workflow_id}",
        raw,
        lambda: service_runs.start(
            app, request, version=workflow_id, wait_seconds=None if streaming else bound.left()
        ),
    )
    if streaming:
        return _stream(app, run, stream_seconds)
    finished = service_runs.wait(run, bound.left())
    return JsonReply(200, dify_views.blocking(finished, service_runs.tally(finished)))


def resume(
    caller: Principal, stream_seconds: float, *, workflow_run_id: str, last_event_id: str | None
) -> StreamReply:
    """GET /v1/workflows/run/{id}/events: a run's stream again, from its start or after
    `Last-Event-ID` (a client that lost its stream resumes it, missing and repeating none)."""
    app_caller = check_app(caller)
    app = service_runs.App(tenant_id=app_caller.tenant_id, workflow_id=app_caller.workflow_id)
    run = service_runs.get(app, workflow_run_id)
    return _stream(app, run, stream_seconds, parse_event_id(last_event_id))


def _stream(
    app: service_runs.App,
    run: Run,
    seconds: float,
    resume_after: tuple[int, int] | None = None,
) -> StreamReply:
    # The graph of the version the run executes: it names the nodes the stream reports.
    record = workflows.get(app.tenant_id, app.workflow_id)
    graph = workflows.snapshot(record, run.version).graph_model()
    return StreamReply(RunStream(run, graph, seconds, resume_after))


def _v1_run(caller: Principal, workflow_id: str, raw: Body) -> JsonReply:
    check(caller, Scope.WRITE)
    body = parse(V1RunBody, raw)
    run = start_once(
        caller.tenant_id,
        f"POST /v1/workflows/{workflow_id}/run",
        raw,
        lambda: runs.start(caller.tenant_id, workflow_id, body.data),
    )
    return JsonReply(200, v1_views.run_started(run))
