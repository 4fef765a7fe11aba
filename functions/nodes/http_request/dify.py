"""A request from Dify's http-request config: every text is a template (`{{#a.b#}}`),
headers and params are "key:value" lines, the body is typed and auth adds a header."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

from functions.core.errors import NodeError
from functions.nodes.entities import NodeContext
from functions.nodes.http_request.entities import (
    Authorization,
    DifyBody,
    DifyTimeouts,
    HttpRequestConfig,
)

BODY_ERROR = "HttpRequestBodyError"
# Dify's HTTP_REQUEST_MAX_READ_TIMEOUT default, and the function's own bound.
DEFAULT_TIMEOUT = 60.0
MAX_TIMEOUT = 300.0

_CONTENT_TYPES = {
    "json": "application/json",
    "raw-text": "text/plain",
    "x-www-form-urlencoded": "application/x-www-form-urlencoded",
}


def headers(config: HttpRequestConfig, ctx: NodeContext) -> dict[str, str]:
    text = config.headers if isinstance(config.headers, str) else ""
    found = dict(key_values(ctx.render(text, dify=True)))
    if config.authorization is not None:
        found.update(_auth_header(config.authorization, ctx))
    return found


def query(config: HttpRequestConfig, ctx: NodeContext) -> str:
    return urlencode(key_values(ctx.render(config.params, dify=True)))


def body(config: HttpRequestConfig, ctx: NodeContext) -> tuple[bytes | None, str | None]:
    """The encoded body and its content type."""
    spec = config.body if isinstance(config.body, DifyBody) else DifyBody()
    if spec.type == "none":
        return None, None
    if spec.type in ("form-data", "binary"):
        raise NodeError(
            f"a '{spec.type}' body carries files, which the HTTP node does not send yet",
            BODY_ERROR,
        )
    if spec.type == "x-www-form-urlencoded":
        fields = [
            (ctx.render(item.key, dify=True), ctx.render(item.value, dify=True))
            for item in spec.data
        ]
        return urlencode(fields).encode(), _CONTENT_TYPES[spec.type]
    text = ctx.render(spec.data[0].value, dify=True) if spec.data else ""
    if spec.type == "json" and text.strip():
        try:
            json.loads(text, strict=False)
        except ValueError as exc:
            raise NodeError(f"Failed to parse JSON: {text[:200]}", BODY_ERROR) from exc
    return text.encode(), _CONTENT_TYPES[spec.type]


def timeout(config: HttpRequestConfig) -> float:
    limits = config.timeout if isinstance(config.timeout, DifyTimeouts) else DifyTimeouts()
    chosen = [t for t in (limits.read, limits.max_read_timeout) if t and t > 0]
    return min(chosen[0] if chosen else DEFAULT_TIMEOUT, MAX_TIMEOUT)


def key_values(text: str) -> list[tuple[str, str]]:
    """Dify's "key:value" lines; a line without a colon is a key with an empty value."""
    pairs = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        key, _, value = stripped.partition(":")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _auth_header(auth: Authorization, ctx: NodeContext) -> dict[str, str]:
    if auth.type != "api-key":
        return {}
    if auth.config is None:
        raise NodeError("authorization api-key needs a config {type, api_key}")
    key = ctx.render(auth.config.api_key, dify=True)
    header = auth.config.header or "Authorization"
    match auth.config.type:
        case "bearer":
            return {header: f"Bearer {key}"} if key else {}
        case "basic":
            # Dify sends `user:password` base64-encoded and an already encoded key as is.
            encoded = base64.b64encode(key.encode()).decode() if ":" in key else key
            return {header: f"Basic {encoded}"}
    return {header: key}
