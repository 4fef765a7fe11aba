"""The caller, as the authorizer described it in the request context."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from functions.core.errors import Forbidden
from functions.core.services.keys import Principal, Scope


def principal(router: BaseRouter) -> Principal:
    context = router.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}
    return Principal(
        key_id=str(context.get("keyId", "")),
        tenant_id=str(context.get("tenantId", "")),
        scopes=frozenset(Scope(s) for s in str(context.get("scopes", "")).split(",") if s),
    )


def require(router: BaseRouter, scope: Scope) -> Principal:
    caller = principal(router)
    if not caller.tenant_id:
        raise Forbidden("no credentials in the request context")
    if not caller.allows(scope):
        raise Forbidden(f"this key lacks the '{scope.value}' scope")
    return caller
