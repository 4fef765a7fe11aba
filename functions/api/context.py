"""The caller, as the authorizer described it in the request context.

The api function reads it from the proxy event (`requestContext.authorizer`); the stream
function gets the same request context from the Lambda Web Adapter. Either way the
authorizer has already refused unknown keys; these checks decide which face a key opens.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from functions.core.errors import Forbidden
from functions.core.services.keys import KeyKind, Principal, Scope


@dataclass(frozen=True)
class AppCaller:
    """An app key's caller: the service API of exactly one workflow."""

    tenant_id: str
    workflow_id: str
    key_id: str


def principal_from(authorizer: Mapping[str, Any] | None) -> Principal:
    context = authorizer or {}
    return Principal(
        key_id=str(context.get("keyId", "")),
        tenant_id=str(context.get("tenantId", "")),
        scopes=frozenset(Scope(s) for s in str(context.get("scopes", "")).split(",") if s),
        kind=KeyKind(context.get("kind") or KeyKind.ACCOUNT.value),
        workflow_id=str(context.get("workflowId") or "") or None,
    )


def principal(router: BaseRouter) -> Principal:
    request_context = router.current_event.raw_event.get("requestContext") or {}
    return principal_from(request_context.get("authorizer"))


def check(caller: Principal, scope: Scope) -> Principal:
    """An account key holding `scope`; anything else is refused with the reason."""
    if not caller.tenant_id:
        raise Forbidden("no credentials in the request context")
    if caller.kind is KeyKind.APP:
        raise Forbidden(
            "an app key opens only its workflow's service API (/v1/workflows/run, "
            "/v1/parameters, …); this route needs an account key"
        )
    if not caller.allows(scope):
        raise Forbidden(f"this key lacks the '{scope.value}' scope")
    return caller


def require(router: BaseRouter, scope: Scope) -> Principal:
    return check(principal(router), scope)


def check_app(caller: Principal) -> AppCaller:
    if not caller.tenant_id:
        raise Forbidden("no credentials in the request context")
    if caller.kind is not KeyKind.APP or not caller.workflow_id:
        raise Forbidden(
            "this is a service API route: call it with an app key "
            "(create one with POST /v1/workflows/{id}/keys), not an account key"
        )
    return AppCaller(
        tenant_id=caller.tenant_id, workflow_id=caller.workflow_id, key_id=caller.key_id
    )


def require_app(router: BaseRouter) -> AppCaller:
    return check_app(principal(router))


def raw_body(router: BaseRouter) -> bytes:
    """The request body as sent: API Gateway base64-encodes binary media types."""
    event = router.current_event
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def base_url(router: BaseRouter) -> str:
    """The URL the caller reached the API at, so answers can name absolute URLs: the
    stage segment is kept when the request came through API Gateway's own domain."""
    event = router.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host", "localhost")
    request_context = event.raw_event.get("requestContext") or {}
    stage, path = str(request_context.get("stage", "")), str(request_context.get("path", ""))
    stage_path = f"/{stage}" if stage and path.startswith(f"/{stage}/") else ""
    return f"{scheme}://{host}{stage_path}"
