"""A run's event log as a Dify server-sent event stream, shared by every transport.

`RunStream.poll` reads what the log gained since the last poll and returns it as SSE
chunks; the drivers below call it in a loop. The stream function (ASGI, behind the
Lambda Web Adapter) and the local gateway use `aframes`; the api function, which cannot
stream, uses `frames` and answers with the whole stream at once. Reading the log, never
the execution, is what lets a client leave and come back (GET /v1/workflows/run/{id}):
the run does not depend on anyone listening.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import anyio
from aws_lambda_powertools import Logger

from functions.api.dify_views import StreamMapper
from functions.core.errors import Refused
from functions.core.model.run import EventType, Run, StepEvent
from functions.core.model.workflow import Graph
from functions.core.services import service_runs
from functions.core.settings import get_settings

logger = Logger(service="stepcanvas-stream")

PING = "event: ping\n\n"
# A writer takes its log position (its clock), then stores the event: a concurrent
# branch's event can become visible just after a later-positioned one. Events younger than
# this are held back, so the stream follows the log's order and a resumed one misses none.
SETTLE_SECONDS = 0.2
# While the log is quiet, the run is checked this often for an execution that ended
# without finalizing it (then settled as failed, which ends the stream).
SETTLE_EVERY_SECONDS = 5.0


def chunk(payload: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """A `Last-Event-ID` as (log sequence number, chunk index); None: from the start."""
    if not value:
        return None
    seq, _, index = value.strip().partition(".")
    try:
        parsed = (int(seq), int(index or "0"))
    except ValueError as exc:
        raise Refused("invalid_param", f"Last-Event-ID: {value!r} is not an event id") from exc
    if min(parsed) < 0:
        raise Refused("invalid_param", f"Last-Event-ID: {value!r} is not an event id")
    return parsed


class Stream(Protocol):
    """What the drivers below send: chunks a poll at a time, until `done`."""

    done: bool

    def poll(self) -> list[str]: ...

    def pause(self) -> float: ...


class RunStream:
    """A run's stream from its start, or from just after `resume_after` (a `Last-Event-ID`):
    the log is read from its first event either way, so what the stream numbers and links
    (node indexes, predecessors) reads the same, and the chunks up to that id are dropped.
    Each chunk's id is `<log seq>.<chunk of that event>`; `0.0` is the announcement."""

    def __init__(
        self,
        run: Run,
        graph: Graph | None,
        seconds: float,
        resume_after: tuple[int, int] | None = None,
    ) -> None:
        settings = get_settings()
        now = time.monotonic()
        self.run = run
        self.done = False
        self._mapper = StreamMapper(run, graph)
        self._announced = False
        self._after = 0
        self._deadline = now + seconds
        self._ping_every = settings.service_ping_seconds
        self._last_ping = now
        self._last_news = now
        self._backoff = service_runs.Backoff()
        self._resume_after = resume_after

    def poll(self) -> list[str]:
        """The chunks since the last poll (maybe none); sets `done` after the last one."""
        try:
            chunks = self._read()
        except Exception:
            logger.exception("the stream could not read the run", extra={"run_id": self.run.id})
            self.done = True
            return [self._error(500, "internal_server_error", "the stream failed; the run goes on")]
        now = time.monotonic()
        if chunks:
            self._last_news = now
            self._backoff.reset()
        elif now - self._last_news >= SETTLE_EVERY_SECONDS:
            self._last_news = now
            service_runs.settle(self.run.id)
        if not self.done and now >= self._deadline:
            self.done = True
            chunks.append(
                self._error(
                    504,
                    "stream_timeout",
                    "the stream ended before the run; it goes on: "
                    f"GET /v1/workflows/run/{self.run.id} shows how it ends",
                )
            )
        if not self.done and now - self._last_ping >= self._ping_every:
            self._last_ping = now
            chunks.append(PING)
        return chunks

    def pause(self) -> float:
        """How long to wait before the next poll."""
        return self._backoff.next()

    def _read(self) -> list[str]:
        chunks: list[str] = []
        if not self._announced:
            # The run exists once its record does: say so at once, with the task id a
            # client needs to stop it, rather than when the execution's first task runs.
            self._announced = True
            number = service_runs.sequence_number(self.run)
            chunks += self._identified(0, [self._mapper.workflow_started(number)])
        events = service_runs.log(self.run.id, self._after)
        # Once the run's end is logged, every task before it has stored its events.
        ended = any(e.type is EventType.WORKFLOW_FINISHED for e in events)
        for event in events:
            if not ended and service_runs.age_seconds(event) < SETTLE_SECONDS:
                break
            self._after = event.seq
            chunks += self._identified(event.seq, self._chunks(event))
            if event.type is EventType.WORKFLOW_FINISHED:
                self.done = True
                break
        return chunks

    def _identified(self, seq: int, payloads: list[dict[str, Any]]) -> list[str]:
        """The event's chunks with their ids, but those a resumed client already has."""
        resume = self._resume_after
        return [
            chunk(payload, f"{seq}.{index}")
            for index, payload in enumerate(payloads)
            if resume is None or (seq, index) > resume
        ]

    def _chunks(self, event: StepEvent) -> list[dict[str, Any]]:
        if event.type is EventType.WORKFLOW_STARTED:
            return []  # announced already
        if event.type is EventType.WORKFLOW_FINISHED:
            run = service_runs.reload(self.run.id) or self.run
            return [self._mapper.workflow_finished(run, service_runs.tally(run))]
        return self._mapper.node_chunks(event)

    def _error(self, status: int, code: str, message: str) -> str:
        return chunk(
            {
                "event": "error",
                "task_id": self.run.id,
                "workflow_run_id": self.run.id,
                "status": status,
                "code": code,
                "message": message,
            }
        )


def frames(stream: Stream) -> Iterator[str]:
    """The whole stream, polling in this thread (for a transport that cannot stream)."""
    while True:
        yield from stream.poll()
        if stream.done:
            return
        time.sleep(stream.pause())


async def aframes(stream: Stream) -> AsyncIterator[str]:
    """The stream as it happens. Polls run in a worker thread and the waits hold none, so
    a client that disconnects cancels the wait and nothing more (the run goes on)."""
    while True:
        for item in await anyio.to_thread.run_sync(stream.poll):
            yield item
        if stream.done:
            return
        await anyio.sleep(stream.pause())
