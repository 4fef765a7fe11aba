"""Traces from a run's event log: execution order, predecessors, cut-short nodes."""

from __future__ import annotations

from functions.api import canvas_views
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.workflow import Edge, Graph, Node, NodeType

GRAPH = Graph(
    nodes=[
        Node(id="start", type=NodeType.START),
        Node(id="slow", type=NodeType.HTTP_REQUEST),
        Node(id="end", type=NodeType.END),
    ],
    edges=[Edge(source="start", target="slow"), Edge(source="slow", target="end")],
)


def _run(status: RunStatus) -> Run:
    return Run(
        id="r",
        workflow_id="w",
        tenant_id="t",
        status=status,
        created_at="2026-12-01T10:00:00.000Z",
        started_at="2026-12-01T10:00:00.000Z",
        finished_at="2026-12-01T10:00:05.000Z" if status.finished else None,
    )


def _event(seq: int, kind: EventType, node: str, at: str, **fields: object) -> StepEvent:
    return StepEvent(
        seq=seq,
        type=kind,
        at=f"2026-12-01T10:00:0{at}.000Z",
        node_id=node,
        node_type="http-request" if node == "slow" else node,
        title=node,
        **fields,  # type: ignore[arg-type]
    )


EVENTS = [
    _event(1, EventType.NODE_STARTED, "start", "0", status=StepStatus.RUNNING),
    _event(
        2,
        EventType.NODE_FINISHED,
        "start",
        "1",
        status=StepStatus.SUCCEEDED,
        outputs={"q": "x"},
        started_at="2026-12-01T10:00:00.000Z",
        elapsed_ms=1000,
    ),
    _event(3, EventType.NODE_STARTED, "slow", "1", status=StepStatus.RUNNING),
]


def test_a_node_open_when_the_run_was_stopped_ends_stopped() -> None:
    trace = canvas_views.trace(_run(RunStatus.STOPPED), EVENTS, GRAPH)

    assert [(t["nodeId"], t["status"]) for t in trace["traces"]] == [
        ("start", "succeeded"),
        ("slow", "stopped"),
    ]
    assert trace["traces"][1]["predecessorNodeId"] == "start"
    assert trace["traces"][1]["elapsedTime"] == 4000  # from its start to the stop
    assert trace["totalElapsedTime"] == 5000


def test_a_node_of_a_running_run_is_running_and_never_reached_nodes_have_no_trace() -> None:
    trace = canvas_views.trace(_run(RunStatus.RUNNING), EVENTS, GRAPH)

    assert [t["status"] for t in trace["traces"]] == ["succeeded", "running"]
    assert trace["total"] == 2
    assert trace["traces"][0]["outputs"] == {"q": "x"}
    assert trace["traces"][0]["elapsedTime"] == 1000
