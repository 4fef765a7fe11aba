"""The HTTP node, with Dify's semantics: any status the server answers is a result (the
workflow branches on `status_code`); only failing to get an answer is a node error."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from functions.core.errors import NodeError
from functions.core.expressions.templates import to_text
from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.http_request import client
from functions.nodes.http_request.entities import HttpRequestConfig
from functions.nodes.http_request.guard import AllowList

USER_AGENT = "stepcanvas-http-request/1.0"
# Values of these headers are secrets; the event log shows that they were sent, not them.
_REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# Characters left as they are when escaping a templated path or query: the URL delimiters
# and `%`, so text that is already escaped is not escaped twice.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def run(config: HttpRequestConfig, ctx: NodeContext) -> NodeResult:
    resolved: dict[str, Any] = ctx.resolve(config.model_dump())
    url = _request_url(
        to_text(resolved["url"]), {k: to_text(v) for k, v in resolved["query"].items()}
    )
    headers = {name: to_text(value) for name, value in resolved["headers"].items()}
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise NodeError(f"header '{name}' contains a line break")
    present = {name.lower() for name in headers}
    body, content_type = _encode(resolved["body"])
    if content_type and "content-type" not in present:
        headers["Content-Type"] = content_type
    if "user-agent" not in present:
        headers["User-Agent"] = USER_AGENT

    response = client.send(
        config.method,
        url,
        headers=headers,
        body=body,
        timeout=config.timeout,
        allow=AllowList(get_settings().http_allow_list),
    )
    text = _decode(response.body, response.charset)
    return NodeResult(
        outputs={
            "status_code": response.status,
            "headers": response.headers,
            "body": text,
            "result": _parse(text, response.content_type),
        },
        inputs={
            "method": config.method,
            "url": url,
            "headers": {
                name: "***" if name.lower() in _REDACTED_HEADERS else value
                for name, value in headers.items()
            },
            "body": resolved["body"],
        },
    )


def _request_url(raw: str, query: dict[str, str]) -> str:
    """The URL with its templated path and query escaped and the `query` map appended; the
    fragment is dropped because it is never sent."""
    parts = urlsplit(raw.strip())
    path = quote(parts.path, safe=_PATH_SAFE)
    search = quote(parts.query, safe=_QUERY_SAFE)
    if query:
        search = f"{search}&{urlencode(query)}" if search else urlencode(query)
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
