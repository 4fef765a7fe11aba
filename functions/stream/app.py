"""The stream function: the routes that start a run, which may answer as a server-sent
event stream (Dify's `response_mode: streaming`, Cortex's `stream: true`).

Python Lambdas cannot stream a response themselves, so in AWS this ASGI app runs under
uvicorn behind the Lambda Web Adapter (`run.sh`, AWS_LWA_INVOKE_MODE=response_stream),
and API Gateway sends these routes here with `responseTransferMode: STREAM`. The
adapter forwards the proxy event's request context, with the authorizer's verdict, in
the `x-amzn-request-context` header. The local gateway calls this same app the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aws_lambda_powertools import Logger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from functions.api import bodies, cortex_runs, errors, run_requests
from functions.api.context import principal_from
from functions.api.replies import SSE_HEADERS, Reply, StreamReply
from functions.api.viewer import runs as viewer_runs
from functions.core.errors import DomainError
from functions.core.services.keys import Principal
from functions.core.settings import get_settings
from functions.stream import sse

logger = Logger(service="stepcanvas-stream")

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
# A request that starts a run: its caller, body, how long a stream may last, and the
# path's parameters by name.
Handler = Callable[..., Reply]
# The routes API Gateway (and local/gateway.py) sends to this function, and what serves
# each (the api function serves them too, sending a stream whole).
ROUTES: dict[str, Handler] = {
    "/v1/workflows/run": run_requests.handle,
    "/v1/workflows/{workflow_id}/run": run_requests.handle,
    "/apps/{app_id}/workflows/{workflow_id}/runs": cortex_runs.start,
    "/apps/{app_id}/workflows/{workflow_id}/runs/{run_id}/replay": cortex_runs.replay,
    "/apps/{app_id}/workflows/discover/{workflow_id}/runs": cortex_runs.start_discoverable,
}
# A stream resumed: GET, with the client's Last-Event-ID.
RESUME_PATH = "/v1/workflows/run/{workflow_run_id}/events"
# A run's stream for an account key (the run viewer's), also with Last-Event-ID.
RUN_EVENTS_PATH = "/v1/runs/{run_id}/events"
# Every (path, method) this function serves.
SERVED = frozenset(
    {*((path, "POST") for path in ROUTES), (RESUME_PATH, "GET"), (RUN_EVENTS_PATH, "GET")}
)


def caller(request: Request) -> Principal:
    raw = request.headers.get(REQUEST_CONTEXT_HEADER)
    context: dict[str, Any] = json.loads(raw) if raw else {}
    return principal_from(context.get("authorizer"))


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        body = bodies.Body(
            request.headers.get("content-type", ""),
            await request.body(),
            request.headers.get("idempotency-key"),
        )
        return await _answer(
            handler,
            caller(request),
            body,
            get_settings().service_stream_seconds,
            **request.path_params,
        )

    return serve


def _resumable(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A GET that streams an existing run from after the client's Last-Event-ID."""

    async def serve(request: Request) -> Response:
        return await _answer(
            handler,
            caller(request),
            get_settings().service_stream_seconds,
            last_event_id=request.headers.get("last-event-id"),
            **request.path_params,
        )

    return serve


async def _answer(handler: Handler, *args: Any, **kwargs: Any) -> Response:
    try:
        reply = await run_in_threadpool(handler, *args, **kwargs)
    except DomainError as exc:
        answer = errors.answer_for(exc)
        return JSONResponse(answer, status_code=answer["status"])
    if isinstance(reply, StreamReply):
        return StreamingResponse(
            sse.aframes(reply.stream), media_type="text/event-stream", headers=SSE_HEADERS
        )
    return JSONResponse(reply.body, status_code=reply.status)


async def _internal_error(_request: Request, exc: Exception) -> Response:
    logger.exception("the stream function failed", exc_info=exc)
    return JSONResponse(errors.error_body(500, "internal_server_error", "internal error"), 500)


app = Starlette(
    routes=[
        *(Route(path, _endpoint(handler), methods=["POST"]) for path, handler in ROUTES.items()),
        Route(RESUME_PATH, _resumable(run_requests.resume), methods=["GET"]),
        Route(RUN_EVENTS_PATH, _resumable(viewer_runs.events), methods=["GET"]),
    ],
    exception_handlers={Exception: _internal_error},
)
