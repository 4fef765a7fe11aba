"""The HTTP node, with Dify's semantics: any status the server answers is a result (the
workflow branches on `status_code`); only failing to get an answer is a node error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from functions.core.errors import NodeError
from functions.core.expressions.templates import to_text
from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.http_request import client, dify
from functions.nodes.http_request.entities import (
    HttpRequestConfig,
    bad_header_name,
    is_header_name,
)
from functions.nodes.http_request.guard import AllowList

USER_AGENT = "stepcanvas-http-request/1.0"
# Values of these headers are secrets; the event log shows that they were sent, not them.
_REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# Characters left as they are when escaping a templated path or query: the URL delimiters
# and `%`, so text that is already escaped is not escaped twice.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass
class _Request:
    url: str
    headers: dict[str, str]
    body: bytes | None
    content_type: str | None
    timeout: float
    shown_body: Any


def run(config: HttpRequestConfig, ctx: NodeContext) -> NodeResult:
    request = _dify_request(config, ctx) if config.is_dify else _v1_request(config, ctx)
    headers = request.headers
    for name, value in headers.items():
        # http.client sends any name without a colon or line break (`X Bad`) as it is.
        if not is_header_name(name):
            raise NodeError(bad_header_name(name))
        if "\r" in value or "\n" in value:
            raise NodeError(f"header '{name}' contains a line break")
    present = {name.lower() for name in headers}
    if request.content_type and "content-type" not in present:
        headers["Content-Type"] = request.content_type
    if "user-agent" not in present:
        headers["User-Agent"] = USER_AGENT

    response = client.send(
        config.method,
        request.url,
        headers=headers,
        body=request.body,
        timeout=request.timeout,
        allow=AllowList(get_settings().http_allow_list),
    )
    text = _decode(response.body, response.charset)
    outputs: dict[str, Any] = {
        "status_code": response.status,
        "headers": response.headers,
        "body": text,
    }
    if config.is_dify:
        outputs["files"] = []  # Dify's file outputs: responses are read as text here
    else:
        outputs["result"] = _parse(text, response.content_type)
    return NodeResult(
        outputs=outputs,
        inputs={
            "method": config.method,
            "url": request.url,
            "headers": {
                name: "***" if name.lower() in _REDACTED_HEADERS else value
                for name, value in headers.items()
            },
            "body": request.shown_body,
        },
    )


def _v1_request(config: HttpRequestConfig, ctx: NodeContext) -> _Request:
    resolved: dict[str, Any] = ctx.resolve(config.model_dump())
    query = urlencode({k: to_text(v) for k, v in resolved["query"].items()})
    body, content_type = _encode(resolved["body"])
    return _Request(
        url=_request_url(to_text(resolved["url"]), query),
        headers={name: to_text(value) for name, value in resolved["headers"].items()},
        body=body,
        content_type=content_type,
        timeout=float(config.timeout) if isinstance(config.timeout, int | float) else 10,
        shown_body=resolved["body"],
    )


def _dify_request(config: HttpRequestConfig, ctx: NodeContext) -> _Request:
    body, content_type = dify.body(config, ctx)
    return _Request(
        url=_request_url(ctx.render(config.url, dify=True), dify.query(config, ctx)),
        headers=dify.headers(config, ctx),
        body=body,
        content_type=content_type,
        timeout=dify.timeout(config),
        shown_body=body.decode("utf-8", "replace") if body else None,
    )


def _request_url(raw: str, query: str) -> str:
    """The URL with its templated path and query escaped and `query` (encoded) appended;
    the fragment is dropped because it is never sent."""
    parts = urlsplit(raw.strip())
    path = quote(parts.path, safe=_PATH_SAFE)
    search = quote(parts.query, safe=_QUERY_SAFE)
    if query:
        search = f"{search}&{query}" if search else query
    return urlunsplit((parts.scheme, parts.netloc, path, search, ""))


def _encode(body: Any) -> tuple[bytes | None, str | None]:
    if body is None or body == "":
        return None, None
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body, ensure_ascii=False).encode(), "application/json"


def _decode(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return data.decode("utf-8", "replace")


def _parse(text: str, content_type: str) -> Any:
    """The body as JSON when the server says it is JSON and it parses; else the text."""
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
