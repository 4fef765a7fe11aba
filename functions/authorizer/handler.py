"""API Gateway REQUEST authorizer: `X-API-Key: <key>` or `Authorization: Bearer <key>`.

The local server runs this same function before each route.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.core.observability import traced
from functions.core.services import keys

logger = Logger(service="stepcanvas-authorizer")


def credential(headers: dict[str, str] | None) -> str | None:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if lowered.get("x-api-key"):
        return lowered["x-api-key"].strip()
    scheme, _, token = (lowered.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    token = credential(event.get("headers"))
    principal = keys.authenticate(token) if token else None
    if principal is None:
        # The exact message API Gateway turns into a 401.
        raise PermissionError("Unauthorized")
    # methodArn: arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>
    api_arn = "/".join(event["methodArn"].split("/")[:2])
    if principal.kind is keys.KeyKind.APP:
        resources = [f"{api_arn}/{method}{path}" for method, path in keys.APP_KEY_ROUTES]
    else:
        resources = [f"{api_arn}/*"]
    return {
        "principalId": principal.key_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}
            ],
        },
        # Authorizer context values must be strings, numbers or booleans.
        "context": {
            "keyId": principal.key_id,
            "tenantId": principal.tenant_id,
            "scopes": ",".join(sorted(principal.scopes)),
            # Which face the key opens: an app key reaches only its workflow's service API.
            "kind": principal.kind.value,
            "workflowId": principal.workflow_id or "",
        },
    }
