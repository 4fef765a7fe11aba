"""What a request that starts a run answers, whichever function sends it.

A run route answers JSON or a server-sent event stream. The stream function (ASGI, behind
the Lambda Web Adapter) sends a `StreamReply` as it happens; the api function, which
cannot stream, sends it whole once it has ended (`buffered`), bounded like a blocking run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from functions.core.settings import get_settings
from functions.stream import sse

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # Proxies that buffer (nginx) would hold the events back until the stream ends.
    "X-Accel-Buffering": "no",
}


@dataclass(frozen=True)
class JsonReply:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class StreamReply:
    stream: sse.Stream


Reply = JsonReply | StreamReply


def buffered_seconds() -> float:
    """How long the api function lets a stream run: the answer waits for its end."""
    return get_settings().service_blocking_seconds


def buffered(reply: Reply) -> Response[Any]:
    """The reply as the api function sends it: a stream all at once, when it has ended."""
    if isinstance(reply, StreamReply):
        return Response(
            status_code=200,
            content_type="text/event-stream",
            body="".join(sse.frames(reply.stream)),
            headers=SSE_HEADERS,
        )
    return Response(
        status_code=reply.status, content_type=content_types.APPLICATION_JSON, body=reply.body
    )
