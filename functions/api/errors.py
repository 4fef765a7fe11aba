"""Domain errors and request validation errors as HTTP answers: `{code, message, status}`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.core.errors import Conflict, Forbidden, InvalidWorkflow, NotFound


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"code": code, "message": message, "status": status, **extra},
    )


def describe_validation_errors(errors: list[Any]) -> str:
    """`body.nodes.0.id: Field required`; the location names the field at fault."""
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def register(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response[Any]:
        return error_response(400, "invalid_param", describe_validation_errors(list(exc.errors())))

    @app.exception_handler(InvalidWorkflow)
    def _invalid_workflow(exc: InvalidWorkflow) -> Response[Any]:
        return error_response(
            400,
            "invalid_workflow",
            str(exc),
            problems=[{"where": p.where, "reason": p.reason} for p in exc.problems],
        )

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response[Any]:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response[Any]:
        return error_response(403, "forbidden", str(exc))

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response[Any]:
        return error_response(409, "conflict", str(exc))
