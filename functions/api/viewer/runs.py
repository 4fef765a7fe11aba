"""A run by its id alone, for an account key: what the viewer (and any client that holds
only a run id) reads, without having to know the run's workflow first.

- `GET /v1/runs/{run_id}`: the v1 run view (`workflowId`, `status`, `stepResults`, …).
- `GET /v1/runs/{run_id}/events`: the run's event stream, the same server-sent events the
  service API streams (`node_started`, `node_finished` with inputs, outputs, error and
  elapsed time, `workflow_finished`; ids `<log seq>.<chunk>`), from its start or after
  `Last-Event-ID`. The stream function serves it (functions/stream/app.py RUN_EVENTS_PATH);
  the api function answers it too, whole once the run ended, as it does Dify's resume route.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions import cost
from functions.api import replies, v1_views
from functions.api.context import check, principal, require
from functions.api.contract import Face, documented
from functions.api.replies import StreamReply
from functions.core.errors import Conflict, NotFound
from functions.core.model.run import Run
from functions.core.model.workflow import Graph
from functions.core.services import runs, workflows
from functions.core.services.keys import Principal, Scope
from functions.stream.sse import RunStream, parse_event_id

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


def events(
    caller: Principal, stream_seconds: float, *, run_id: str, last_event_id: str | None
) -> StreamReply:
    """The run's stream, for an account key with `read` (another tenant's run is 404)."""
    check(caller, Scope.READ)
    resume_after = parse_event_id(last_event_id)
    run = runs.get(caller.tenant_id, None, run_id)
    return StreamReply(RunStream(run, _graph(caller, run), stream_seconds, resume_after))


def _graph(caller: Principal, run: Run) -> Graph | None:
    """The graph of the version the run executed (it names each node's predecessor in
    the stream). A discoverable workflow's run belongs to the caller but the workflow to
    its owner; a workflow deleted since leaves the run's log, streamed without it."""
    try:
        record = workflows.discoverable(run.workflow_id) or workflows.get(
            caller.tenant_id, run.workflow_id
        )
        return workflows.snapshot(record, run.version).graph_model()
    except (NotFound, Conflict):
        return None


@router.get("/v1/runs/<run_id>")
@documented(Face.ACCOUNT, "v1")
def get_run(run_id: str) -> dict[str, Any]:
    """The v1 view of a run (its `workflowId`, status and step results) by its id alone."""
    caller = require(router, Scope.READ)
    run = runs.get(caller.tenant_id, None, run_id)
    events = runs.node_events(run.id)
    return v1_views.run_detail(run, events, cost.run_usage(run, events))


@router.get("/v1/runs/<run_id>/events")
@documented(Face.ACCOUNT, "v1", errors=(400,), streams=True)
def run_events(run_id: str) -> Response[Any]:
    """The run's events as server-sent events, from its start or after `Last-Event-ID`."""
    # In AWS the stream function serves this; here the whole stream, once it ended.
    headers = {k.lower(): v for k, v in (router.current_event.headers or {}).items()}
    reply = events(
        principal(router),
        replies.buffered_seconds(),
        run_id=run_id,
        last_event_id=headers.get("last-event-id"),
    )
    return replies.buffered(reply)
