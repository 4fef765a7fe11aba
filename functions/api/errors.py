"""Domain errors and request validation errors as HTTP answers: `{code, message, status}`.

One mapping for both transports: the api function's resolver and the stream function.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.core.errors import (
    Conflict,
    DomainError,
    DraftNotSync,
    Forbidden,
    InvalidWorkflow,
    NotFound,
    Refused,
)

# The status of each refusal code the service API documents; any other code answers 400.
REFUSAL_STATUS = {
    "unauthorized": 401,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "file_too_large": 413,
    "unsupported_file_type": 415,
    "unsupported_media_type": 415,
}


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status, **extra}


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(status, code, message, **extra),
    )


def describe_validation_errors(errors: list[Any], prefix: str = "") -> str:
    """`body.nodes.0.id: Field required`; the location names the field at fault."""
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in (prefix, *error.get("loc", ())) if p != "")
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def answer_for(exc: DomainError) -> dict[str, Any]:
    """The error body (with its status) a domain error answers with."""
    if isinstance(exc, Refused):
        return error_body(REFUSAL_STATUS.get(exc.code, 400), exc.code, str(exc))
    if isinstance(exc, InvalidWorkflow):
        problems = [{"where": p.where, "reason": p.reason} for p in exc.problems]
        return error_body(400, "invalid_workflow", str(exc), problems=problems)
    status, code = next(
        (answer for kind, answer in _ANSWERS if isinstance(exc, kind)), (400, "invalid_param")
    )
    return error_body(status, code, str(exc))


# The status and code of each kind of domain error, the most specific kind first.
_ANSWERS: tuple[tuple[type[DomainError], tuple[int, str]], ...] = (
    (NotFound, (404, "not_found")),
    (Forbidden, (403, "forbidden")),
    # Dify's console code for it, which editors built for Dify already handle.
    (DraftNotSync, (409, "draft_workflow_not_sync")),
    (Conflict, (409, "conflict")),
)


def register(app: APIGatewayRestResolver) -> None:
    # Powertools' decorator is unannotated; the handlers keep their own signatures.
    @app.not_found  # type: ignore[untyped-decorator]
    def _no_route(_exc: NotFoundError) -> Response[Any]:
        # Powertools' own answer would be `{statusCode, message}`; a wrong method on a
        # known path also lands here, as Powertools matches method and path together.
        event = app.current_event
        return error_response(404, "not_found", f"no route {event.http_method} {event.path}")

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        return error_response(400, "invalid_param", describe_validation_errors(list(exc.errors())))

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(exc: DomainError) -> Response[Any]:
        body = answer_for(exc)
        return Response(
            status_code=body["status"], content_type=content_types.APPLICATION_JSON, body=body
        )
