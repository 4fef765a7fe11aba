"""The compiled machine made ready for Express: node Tasks learn their execution and never
retry the errors of a run that is not theirs; states that wait are found."""

from __future__ import annotations

from typing import Any

from functions.core.model.workflow import Edge, Graph, Node, NodeType
from statemachines import express
from statemachines.compiler import Targets, compile_workflow

TARGETS = Targets(
    node_functions={t.value: f"arn:fn:{t.value}" for t in NodeType},
    runs_function="arn:fn:runs",
)


def _tasks(machine: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in machine["States"].values():
        if state["Type"] == "Task":
            found.append(state)
        for branch in state.get("Branches", []):
            found += _tasks(branch)
        if "ItemProcessor" in state:
            found += _tasks(state["ItemProcessor"])
    return found


def _graph() -> Graph:
    nodes = [
        Node(id="a", type=NodeType.TEMPLATE_TRANSFORM, config={"template": "x"}),
        Node(id="it", type=NodeType.ITERATION, config={"iterator_selector": ["a", "output"]}),
        Node(id="is", type=NodeType.ITERATION_START, parent="it"),
        Node(id="each", type=NodeType.TEMPLATE_TRANSFORM, parent="it", config={"template": "y"}),
    ]
    edges = [Edge(source="a", target="it"), Edge(source="is", target="each")]
    return Graph(nodes=nodes, edges=edges)


def test_every_node_task_gets_the_execution_id_and_the_run_tasks_do_not() -> None:
    standard = compile_workflow(_graph(), entry="a", targets=TARGETS)
    machine = express.for_express(standard)
    node_tasks = [t for t in _tasks(machine) if "node" in t["Parameters"]]
    assert {t["Parameters"]["node"]["id"] for t in node_tasks} >= {"a", "it", "each"}
    for task in node_tasks:
        assert task["Parameters"]["execution.$"] == "$$.Execution.Id"
        assert task["Retry"][0] == {
            "ErrorEquals": ["DuplicateExecution", "RunEnded"],
            "MaxAttempts": 0,
        }
    finalize = [t for t in _tasks(machine) if t["Resource"] == "arn:fn:runs"]
    assert finalize and all("execution.$" not in t["Parameters"] for t in finalize)
    # A run that is over, or another execution's, ends the execution quietly (no failure
    # for the alarms), caught before the States.ALL that would finalize the run failed.
    for state in machine["States"].values():
        if "Catch" in state:
            assert state["Catch"][0] == {
                "ErrorEquals": ["DuplicateExecution", "RunEnded"],
                "Next": express.ENDED_ELSEWHERE,
            }
            assert "States.ALL" in state["Catch"][-1]["ErrorEquals"]
    assert machine["States"][express.ENDED_ELSEWHERE] == {"Type": "Succeed"}
    # The Standard definition is left as it was.
    assert all("execution.$" not in t["Parameters"] for t in _tasks(standard))


def test_waiting_states_are_named() -> None:
    machine = {
        "StartAt": "w",
        "States": {
            "w": {"Type": "Wait", "Seconds": 1, "Next": "p"},
            "p": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "cb",
                        "States": {
                            "cb": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                                "End": True,
                            }
                        },
                    }
                ],
                "End": True,
            },
        },
    }
    assert express.waits(machine) == ["w", "cb"]
    assert express.waits(compile_workflow(_graph(), entry="a", targets=TARGETS)) == []
