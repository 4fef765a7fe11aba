"""A run as it happens: one line per node as it starts and as it finishes, under them a
progress bar of the nodes that ran, and a last line with how the run ended.

Two sources feed the same view. `follow` starts a run through the service API with
`response_mode: streaming` and reads Dify's server-sent events (workflow_started,
node_started, node_finished, workflow_finished); the service API takes an app key, so it
makes one for the workflow and revokes it when the stream ends. `tail` watches a run that
exists already from its own stream, `GET /v1/runs/{id}/events` (account key): the same
events, from the run's start; a stream that ends before the run (its time bound) is
resumed with `Last-Event-ID`, and so is a `--follow` stream that ends early.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from tools.cli.client import ApiError, Client, Event, Unreachable

# What a finished run or node may say; a run ends well when it says one of SUCCESS.
SUCCESS = frozenset({"succeeded", "partial-succeeded"})
# The v1 face's words, in the service API's.
V1_RUN_STATUS = {"completed": "succeeded", "failed": "failed"}
V1_STEP_STATUS = {"success": "succeeded", "failed": "failed", "running": "running"}
STATUS_STYLE = {
    "started": "cyan",
    "succeeded": "green",
    "partial-succeeded": "yellow",
    "failed": "red",
    "stopped": "red",
}
# Graph nodes that never run (canvas notes, iteration and loop body markers).
_NOT_RUN = frozenset({"iteration-start", "loop-start"})
APP_KEY_NAME = "stepcanvas run --follow (temporary)"
SERVICE_USER = "stepcanvas-cli"
# A stream that ends before its run (its time bound) is resumed after its last event id;
# this many in a row that bring nothing new mean the server cannot stream it.
RESUME_ATTEMPTS = 3
STREAM_TIMEOUT = "stream_timeout"
RESUME_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class NodeInfo:
    title: str
    type: str


def node_infos(workflow: dict[str, Any]) -> dict[str, NodeInfo]:
    """The nodes a workflow (as `GET /v1/workflows/{id}` shows it) can run, by id."""
    found: dict[str, NodeInfo] = {}
    for node in workflow.get("nodes") or []:  # a v1 document
        if isinstance(node, dict) and "id" in node:
            node_id = str(node["id"])
            found[node_id] = NodeInfo(str(node.get("name") or node_id), str(node.get("type", "")))
    for node in (workflow.get("graph") or {}).get("nodes") or []:  # a Dify or canvas graph
        if not isinstance(node, dict) or "id" not in node or node.get("type") == "custom-note":
            continue
        data = _mapping(node.get("data"))
        kind = str(data.get("type", ""))
        if kind and kind not in _NOT_RUN:
            node_id = str(node["id"])
            found[node_id] = NodeInfo(str(data.get("title") or node_id), kind)
    return found


class RunView:
    """What the terminal shows of one run. Lines go to `console`; the bar stays under them
    (on a terminal; piped, it is printed once, at the end)."""

    def __init__(self, console: Console, nodes: dict[str, NodeInfo]) -> None:
        self.console = console
        self.nodes = nodes
        self.started: set[str] = set()
        self.finished: set[str] = set()
        self.status: str | None = None
        self._shown = False
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("nodes"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._progress.add_task("running", total=max(len(nodes), 1))

    def __enter__(self) -> RunView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._shown:
            self._progress.stop()

    def _print(self, line: Text) -> None:
        # The bar appears with the first line: a refusal before the run shows none.
        if not self._shown:
            self._shown = True
            self._progress.start()
        self._progress.console.print(line, soft_wrap=True, highlight=False)

    def _line(self, offset: float, *parts: Text | str) -> None:
        line = Text()
        line.append(f"{_seconds(offset):>8}  ", style="dim")
        for part in parts:
            line.append(part)
        self._print(line)

    def _label(self, node_id: str, title: str | None, kind: str | None) -> Text:
        # The document's own words first (a v1 `tool-call`, not the engine's `tool`).
        known = self.nodes.get(node_id)
        title = (known.title if known else None) or title or node_id
        kind = (known.type if known else None) or kind or ""
        label = Text()
        label.append(title, style="bold")
        if title != node_id:
            label.append(f" [{node_id}]", style="dim")
        if kind:
            label.append(f"  {kind}", style="dim")
        return label

    def note(self, message: str) -> None:
        self._print(Text(message, style="dim"))

    def run_started(self, offset: float, run_id: str, workflow_id: str, version: Any) -> None:
        shown = f" version {version}" if version not in (None, "") else ""
        self._line(offset, f"run {run_id} of workflow {workflow_id}{shown} started")

    def node_started(
        self, offset: float, node_id: str, title: str | None = None, kind: str | None = None
    ) -> None:
        self.started.add(node_id)
        self._line(offset, _status("started"), self._label(node_id, title, kind))

    def node_finished(
        self,
        offset: float,
        node_id: str,
        status: str,
        *,
        seconds: float | None = None,
        error: str | None = None,
        title: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.started.add(node_id)
        if node_id not in self.finished:
            self.finished.add(node_id)
            task = self._progress.tasks[0]
            if len(self.finished) > (task.total or 0):
                self._progress.update(self._task, total=len(self.finished))
            self._progress.update(self._task, completed=len(self.finished))
        parts: list[Text | str] = [_status(status), self._label(node_id, title, kind)]
        if seconds is not None:
            parts.append(Text(f"  in {_seconds(seconds, signed=False)}", style="dim"))
        if error:
            parts.append(Text(f"  {error}", style="red"))
        self._line(offset, *parts)

    def run_finished(
        self, offset: float, run_id: str, status: str, seconds: float | None, error: str | None
    ) -> None:
        self.status = status
        ran = len(self.finished)
        self._progress.update(
            self._task, description=status, total=max(ran, 1), completed=max(ran, 1)
        )
        took = f" in {_seconds(seconds, signed=False)}" if seconds is not None else ""
        of = f" of {len(self.nodes)}" if self.nodes else ""
        line: list[Text | str] = [
            f"run {run_id} ",
            _status(status, pad=False),
            f"{took} · {ran}{of} nodes ran",
        ]
        if error:
            line.append(Text(f"\n{'':10}{error}", style="red"))
        self._line(offset, *line)


def follow(client: Client, view: RunView, workflow_id: str, inputs: dict[str, Any]) -> str:
    """Start a run of the workflow and show it from its event stream; its final status."""
    made = client.post(f"/v1/workflows/{workflow_id}/keys", {"name": APP_KEY_NAME})
    try:
        return _stream(client, view, workflow_id, inputs, str(made["key"]))
    finally:
        try:
            client.delete(f"/v1/workflows/{workflow_id}/keys/{made['keyId']}")
        except (ApiError, Unreachable) as exc:
            print(
                f"warning: the temporary app key {made['keyId']} could not be revoked ({exc}); "
                f"DELETE /v1/workflows/{workflow_id}/keys/{made['keyId']} revokes it",
                file=sys.stderr,
            )


class _Reader:
    """Shows a run's server-sent events in a view; remembers the last event id, so a
    stream that ends before the run can be resumed just after it."""

    def __init__(self, view: RunView, workflow_id: str, version: Any = None) -> None:
        self.view = view
        self.workflow_id = workflow_id
        # The run view names its version; the service stream only as `<workflow>-v<n>`.
        self.version = version
        self.started = time.monotonic()
        self.run_id: str | None = None
        self.last_id: str | None = None
        self.status: str | None = None

    def read(self, events: Iterator[Event]) -> Event | None:
        """Show events until the run finishes (then `status` is set) or the stream ends;
        the `error` event that ended it early, if one did."""
        for event in events:
            if event.id is not None:
                self.last_id = event.id
            if event.data.get("event") == "error":
                return event
            self._show(event.data)
            if self.status is not None:
                return None
        return None

    def _show(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = _mapping(event.get("data"))
        offset = time.monotonic() - self.started
        view = self.view
        if kind == "workflow_started":
            if self.run_id is None:
                self.run_id = str(data.get("id") or event.get("workflow_run_id"))
                version = self.version
                if version is None:
                    version = str(data.get("workflow_id") or "").rpartition("-v")[2]
                view.run_started(offset, self.run_id, self.workflow_id, version)
        elif kind == "node_started":
            view.node_started(
                offset, str(data["node_id"]), data.get("title"), data.get("node_type")
            )
        elif kind == "node_finished":
            view.node_finished(
                offset,
                str(data["node_id"]),
                str(data.get("status") or "failed"),
                seconds=data.get("elapsed_time"),
                error=data.get("error"),
                title=data.get("title"),
                kind=data.get("node_type"),
            )
        elif kind == "workflow_finished":
            self.status = str(data.get("status") or "failed")
            view.run_finished(
                offset, self.run_id or "", self.status, data.get("elapsed_time"), data.get("error")
            )


def _stream(
    client: Client, view: RunView, workflow_id: str, inputs: dict[str, Any], app_key: str
) -> str:
    reader = _Reader(view, workflow_id)
    body = {"inputs": inputs, "response_mode": "streaming", "user": SERVICE_USER}
    ended = reader.read(client.events("/v1/workflows/run", body, bearer=app_key))
    if reader.status is not None:
        return reader.status
    if reader.run_id is None:
        error = ended.data if ended is not None else {}
        raise ApiError(
            int(error.get("status") or 502),
            str(error.get("code") or "stream_ended"),
            str(error.get("message") or "the stream ended before the run started"),
        )
    # The stream ended first (its time bound, or a reader's failure): the run goes on, and
    # its own stream picks up after the last event shown.
    view.note("the stream ended before the run; following the run's own stream")
    return _resume(client, reader)


def tail(client: Client, view: RunView, run: dict[str, Any]) -> str:
    """Show an existing run (as `GET /v1/runs/{id}` shows it) from its event stream until
    it ends, from its first event; its final status."""
    reader = _Reader(view, str(run.get("workflowId") or ""), run.get("version"))
    return _resume(client, reader, str(run["id"]))


def _resume(client: Client, reader: _Reader, run_id: str | None = None) -> str:
    """Read `GET /v1/runs/{id}/events` until the run ends, reconnecting after the last event
    id each time a stream ends first; give up after RESUME_ATTEMPTS streams in a row that
    ended otherwise than at their time bound and brought nothing new."""
    run_id = run_id or reader.run_id or ""
    idle = 0
    while True:
        before = reader.last_id
        ended = reader.read(client.follow(f"/v1/runs/{run_id}/events", reader.last_id))
        if reader.status is not None:
            return reader.status
        # A stream that reached its time bound is resumed however long the run takes.
        timed_out = ended is not None and ended.data.get("code") == STREAM_TIMEOUT
        idle = 0 if reader.last_id != before or timed_out else idle + 1
        if idle >= RESUME_ATTEMPTS:
            error = ended.data if ended is not None else {}
            raise ApiError(
                int(error.get("status") or 502),
                str(error.get("code") or "stream_ended"),
                str(error.get("message") or f"run {run_id}: its stream keeps ending early"),
            )
        time.sleep(RESUME_PAUSE_SECONDS * idle)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _status(status: str, pad: bool = True) -> Text:
    return Text(f"{status:<10} " if pad else status, style=STATUS_STYLE.get(status, "yellow"))


def _seconds(value: float, signed: bool = True) -> str:
    return f"{'+' if signed else ''}{value:.2f}s"


def _moment(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return None


def between(start: Any, end: Any) -> float | None:
    first, last = _moment(start), _moment(end)
    return (last - first).total_seconds() if first and last else None
