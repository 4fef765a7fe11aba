"""API Gateway, locally: HTTP request -> authorizer -> REST proxy event -> api function.

The same authorizer and api handlers that run in Lambda; this module only translates.
The stream function's routes go, as in AWS, to its ASGI app with the request context in
the header the Lambda Web Adapter uses, so they really stream.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import uuid
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.api import docs
from functions.api.errors import error_body
from functions.api.handler import app as api_app
from functions.api.handler import handler as api_handler
from functions.api.routes import triggers
from functions.api.viewer import pages as viewer_pages
from functions.authorizer.handler import handler as authorizer_handler
from functions.stream import app as stream_function
from local.aws import ACCOUNT, REGION

API_ID = "local"
STAGE = "local"
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


class _Context:
    function_name = "stepcanvas-api"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stepcanvas-api"
    memory_limit_in_mb = 512
    aws_request_id = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


# Like API Gateway in front of as many Lambda environments as there are requests: each
# request is served on a thread of its own, and the api function's resolver keeps each
# thread's request apart (functions/api/resolver.py). Its middleware stacks are built
# now, while one thread runs, not lazily by two requests at once.
api_app.warm()


def invoke_api(event: dict[str, Any]) -> dict[str, Any]:
    return api_handler(event, _Context())


async def proxy(request: Request) -> Response:
    body = await request.body()
    event = await run_in_threadpool(_authorized_event, request, body)
    if isinstance(event, Response):
        return event
    answer = await run_in_threadpool(invoke_api, event)
    return _response(answer)


async def unauthenticated(request: Request) -> Response:
    """A route API Gateway serves without the key authorizer (webhooks: signed instead)."""
    body = await request.body()
    event = _proxy_event(request, body, dict(request.headers), authorizer={})
    answer = await run_in_threadpool(invoke_api, event)
    return _response(answer)


async def stream(request: Request) -> Response:
    body = await request.body()
    event = await run_in_threadpool(_authorized_event, request, body)
    if isinstance(event, Response):
        return event
    return _Forward(stream_function.app, body, event["requestContext"])


class _Forward(Response):
    """Hands the request to another ASGI app, as the Lambda Web Adapter does: with the
    body already read and the request context in `x-amzn-request-context`."""

    def __init__(self, target: ASGIApp, body: bytes, request_context: dict[str, Any]) -> None:
        super().__init__()
        self._target = target
        self._body = body
        self._context = json.dumps(request_context).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = stream_function.REQUEST_CONTEXT_HEADER.encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != header]
        forwarded = {**scope, "headers": [*headers, (header, self._context)]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": self._body, "more_body": False}
            # Then whatever the client does next (a disconnect ends the stream).
            return await receive()

        await self._target(forwarded, replay, send)


def _authorized_event(request: Request, body: bytes) -> dict[str, Any] | Response:
    method, path = request.method, request.url.path
    headers = dict(request.headers)
    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method}{path}"
    try:
        policy = authorizer_handler(
            {
                "type": "REQUEST",
                "methodArn": method_arn,
                "headers": headers,
                "httpMethod": method,
                "path": path,
            },
            _Context(),
        )
    except PermissionError:
        # API Gateway's own answer (UNAUTHORIZED, in the shape infra/api.py gives it).
        return JSONResponse(error_body(401, "unauthorized", "Unauthorized"), status_code=401)
    if not _allows(policy["policyDocument"], method_arn):
        # API Gateway's own answer (ACCESS_DENIED, in the shape infra/api.py gives it).
        message = "User is not authorized to access this resource"
        return JSONResponse(error_body(403, "forbidden", message), 403)
    authorizer = {**policy["context"], "principalId": policy["principalId"]}
    return _proxy_event(request, body, headers, authorizer)


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """What API Gateway decides from the authorizer's policy: some Allow statement
    matches the method ARN (`*` matches any characters) and no Deny does."""
    verdicts = set()
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        for resource in [resources] if isinstance(resources, str) else resources:
            if fnmatch.fnmatchcase(method_arn, resource):
                verdicts.add(statement.get("Effect"))
    return "Allow" in verdicts and "Deny" not in verdicts


def _proxy_event(
    request: Request, body: bytes, headers: dict[str, str], authorizer: dict[str, Any]
) -> dict[str, Any]:
    event_body, encoded = _event_body(body, headers.get("content-type", ""))
    query = dict(request.query_params)
    # What API Gateway adds to every request it forwards.
    headers = {**headers, "x-forwarded-proto": request.url.scheme}
    return {
        "resource": "/{proxy+}",
        "path": request.url.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {k: request.headers.getlist(k) for k in headers},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: request.query_params.getlist(k) for k in query}
        or None,
        "pathParameters": {"proxy": request.url.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": request.method,
            # As behind a custom domain: local URLs carry no stage segment.
            "path": request.url.path,
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "identity": {"sourceIp": request.client.host if request.client else "127.0.0.1"},
            "authorizer": authorizer,
        },
        "body": event_body,
        "isBase64Encoded": encoded,
    }


def _event_body(body: bytes, content_type: str) -> tuple[str | None, bool]:
    """The proxy event's `body` and `isBase64Encoded`. A text body that is not UTF-8 is
    passed on as sent, as API Gateway does, so it travels base64-encoded: the event is
    JSON and cannot carry those bytes as text; the function decides what they mean."""
    if not body:
        return None, False
    if not content_type or content_type.startswith(_TEXT_TYPES):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _response(answer: dict[str, Any]) -> Response:
    payload = answer.get("body") or ""
    content = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
    headers = {k: v for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(values)
    return Response(content=content, status_code=answer["statusCode"], headers=headers)


async def _refusal(_request: Request, exc: Exception) -> Response:
    """What the gateway itself refuses (a method it does not route), in the API's shape."""
    assert isinstance(exc, HTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse(
        error_body(exc.status_code, code, exc.detail), exc.status_code, headers=exc.headers
    )


def app() -> Starlette:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    streamed = [Route(path, stream, methods=[method]) for path, method in stream_function.SERVED]
    hooks = Route(triggers.HOOK_PATH, unauthenticated, methods=list(triggers.HOOK_METHODS))
    public = (*docs.PUBLIC_PATHS, *viewer_pages.PUBLIC_PATHS)
    described = [Route(path, unauthenticated, methods=["GET"]) for path in public]
    return Starlette(
        routes=[*streamed, hooks, *described, Route("/{path:path}", proxy, methods=methods)],
        exception_handlers={HTTPException: _refusal},
    )
