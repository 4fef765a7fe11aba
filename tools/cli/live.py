"""A run as it happens: one line per node as it starts and as it finishes, under them a
progress bar of the nodes that ran, and a last line with how the run ended.

Two sources feed the same view. `follow` starts a run through the service API with
`response_mode: streaming` and reads Dify's server-sent events (workflow_started,
node_started, node_finished, workflow_finished); the service API takes an app key, so it
makes one for the workflow and revokes it when the stream ends. `tail` watches a run that
exists already: no route streams an existing run's events, so it polls the v1 run view and
reports each step result as it appears and as it finishes.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from tools.cli.client import ApiError, Client, Unreachable

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
POLL_SECONDS = 0.3


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


def _stream(
    client: Client, view: RunView, workflow_id: str, inputs: dict[str, Any], app_key: str
) -> str:
    started = time.monotonic()
    run_id: str | None = None
    body = {"inputs": inputs, "response_mode": "streaming", "user": SERVICE_USER}
    for event in client.events("/v1/workflows/run", body, bearer=app_key):
        kind = event.get("event")
        data = _mapping(event.get("data"))
        offset = time.monotonic() - started
        if kind == "workflow_started":
            run_id = str(data.get("id") or event.get("workflow_run_id"))
            version = str(data.get("workflow_id") or "").rpartition("-v")[2]
            view.run_started(offset, run_id, workflow_id, version)
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
            status = str(data.get("status") or "failed")
            view.run_finished(
                offset, run_id or "", status, data.get("elapsed_time"), data.get("error")
            )
            return status
        elif kind == "error":
            if run_id is None:
                raise ApiError(
                    int(event.get("status") or 500),
                    str(event.get("code") or "error"),
                    str(event.get("message") or "the stream failed"),
                )
            view.note(f"the stream ended before the run ({event.get('message')}); polling it")
            break
    if run_id is None:
        raise ApiError(502, "stream_ended", "the stream ended before the run started")
    # The stream ended first (its time bound, or a reader's failure): the run goes on.
    return tail(client, view, workflow_id, run_id, announce=False)


def tail(
    client: Client, view: RunView, workflow_id: str, run_id: str, *, announce: bool = True
) -> str:
    """Show the run's steps as they appear in its v1 view, until it ends; its final status."""
    path = f"/v1/workflows/{workflow_id}/runs/{run_id}"
    while True:
        run = client.get(path)
        origin = _moment(run.get("createdAt"))
        if announce:
            announce = False
            view.run_started(
                _since(origin, run.get("createdAt")), run_id, workflow_id, run.get("version")
            )
        for step in run.get("stepResults") or []:
            node_id = str(step.get("nodeId"))
            status = V1_STEP_STATUS.get(str(step.get("status")), str(step.get("status")))
            if node_id not in view.started:
                view.node_started(_since(origin, step.get("startedAt")), node_id)
            if status != "running" and node_id not in view.finished:
                took = between(step.get("startedAt"), step.get("completedAt"))
                at = _since(origin, step.get("completedAt"))
                view.node_finished(at, node_id, status, seconds=took, error=step.get("error"))
        finished = V1_RUN_STATUS.get(str(run.get("status")))
        if finished is not None:
            took = between(run.get("createdAt"), run.get("completedAt"))
            at = _since(origin, run.get("completedAt"))
            view.run_finished(at, run_id, finished, took, run.get("error"))
            return finished
        time.sleep(POLL_SECONDS)


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


def _since(origin: datetime | None, stamp: Any) -> float:
    moment = _moment(stamp)
    return (moment - origin).total_seconds() if origin and moment else 0.0
