"""Every JSON request body, read one way, whichever route or transport serves it.

The routes declare no Powertools body parameters: Powertools would pick a parser by
Content-Type (form and multipart parsing included, which fail in their own ways) and
let decoding and nesting errors escape as 500s. Here a JSON route's body is
- refused with 415 unless it is sent as JSON (no Content-Type counts as JSON);
- refused with 400 unless it is UTF-8, nests at most `nesting.MAX_DEPTH` levels and parses;
- validated against the route's model, each error naming the field (`body.name: …`).
The upload route reads multipart bodies (functions/api/multipart.py); webhooks read raw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from pydantic import BaseModel, ValidationError

from functions.api.context import raw_body
from functions.api.errors import describe_validation_errors
from functions.core import nesting
from functions.core.errors import Refused

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Body:
    """A request body as sent, with the Content-Type it was sent as (and, for the routes
    that start runs, the Idempotency-Key a retry carries)."""

    content_type: str
    data: bytes
    idempotency_key: str | None = None


def of(router: BaseRouter) -> Body:
    headers = {k.lower(): v for k, v in (router.current_event.headers or {}).items()}
    return Body(
        content_type=headers.get("content-type") or "",
        data=raw_body(router),
        idempotency_key=headers.get("idempotency-key"),
    )


def read(model: type[Model], router: BaseRouter) -> Model:
    """The current request's body as `model`."""
    return parse(model, of(router))


def parse(model: type[Model], body: Body) -> Model:
    """The JSON body as `model`; no body validates as `{}` (each field missing or default)."""
    data = load(body)
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise Refused(
            "invalid_param", describe_validation_errors(list(exc.errors()), prefix="body")
        ) from exc


def load(body: Body) -> Any:
    """The JSON value of the body, None when there is none; a bad body is refused."""
    if not body.data.strip():
        return None
    media_type = body.content_type.split(";", maxsplit=1)[0].strip().lower()
    if not is_json(media_type):
        raise Refused(
            "unsupported_media_type",
            f"Content-Type {media_type}: this route takes a JSON body (application/json)",
        )
    try:
        text = body.data.decode("utf-8-sig")  # a byte order mark is allowed, and dropped
    except UnicodeDecodeError as exc:
        raise Refused("invalid_param", f"body: not valid UTF-8 (byte {exc.start})") from exc
    try:
        return nesting.loads(text)
    except nesting.TooDeep as exc:
        raise Refused("invalid_param", f"body: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise Refused("invalid_param", f"body: not valid JSON ({exc})") from exc


def is_json(media_type: str) -> bool:
    """No media type, application/json or a JSON-based one (application/problem+json)."""
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
