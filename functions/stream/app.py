"""The stream function: POST /v1/workflows/run and POST /v1/workflows/{id}/run, streamed.

Python Lambdas cannot stream a response themselves, so in AWS this ASGI app runs under
uvicorn behind the Lambda Web Adapter (`run.sh`, AWS_LWA_INVOKE_MODE=response_stream),
and API Gateway sends these two routes here with `responseTransferMode: STREAM`. The
adapter forwards the proxy event's request context, with the authorizer's verdict, in
the `x-amzn-request-context` header. The local gateway calls this same app the same way.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from functions.api import bodies, errors, run_requests
from functions.api.context import principal_from
from functions.core.errors import DomainError
from functions.core.services.keys import Principal
from functions.core.settings import get_settings
from functions.stream import sse

logger = Logger(service="stepcanvas-stream")

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
# The routes API Gateway (and local/gateway.py) sends to this function.
PATHS = ("/v1/workflows/run", "/v1/workflows/{workflow_id}/run")
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # Proxies that buffer (nginx) would hold the events back until the stream ends.
    "X-Accel-Buffering": "no",
}


def caller(request: Request) -> Principal:
    raw = request.headers.get(REQUEST_CONTEXT_HEADER)
    context: dict[str, Any] = json.loads(raw) if raw else {}
    return principal_from(context.get("authorizer"))


async def run(request: Request) -> Response:
    body = bodies.Body(request.headers.get("content-type", ""), await request.body())
    try:
        reply = await run_in_threadpool(
            run_requests.handle,
            caller(request),
            request.path_params.get("workflow_id"),
            body,
            get_settings().service_stream_seconds,
        )
    except DomainError as exc:
        answer = errors.answer_for(exc)
        return JSONResponse(answer, status_code=answer["status"])
    if isinstance(reply, run_requests.StreamReply):
        return StreamingResponse(
            sse.aframes(reply.stream), media_type="text/event-stream", headers=SSE_HEADERS
        )
    return JSONResponse(reply.body, status_code=reply.status)


async def _internal_error(_request: Request, exc: Exception) -> Response:
    logger.exception("the stream function failed", exc_info=exc)
    return JSONResponse(errors.error_body(500, "internal_server_error", "internal error"), 500)


app = Starlette(
    routes=[Route(path, run, methods=["POST"]) for path in PATHS],
    exception_handlers={Exception: _internal_error},
)
