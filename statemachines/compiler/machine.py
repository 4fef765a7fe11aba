"""The whole machine: the top level's states and the frame around them.

Shape of every compiled machine:

    node states ... -> Finalize succeeded
      (every top-level Task, Parallel and Map: Catch States.ALL -> Finalize failed -> Run failed)

The run is recorded `running` (with its `workflow_started` event) by the call that starts
the execution (functions/core/services/runs.py), so no task begins it; a failure inside a
Parallel branch or a Map item fails that state, whose Catch routes it. Budget (DESIGN.md
§4): 1.05 transitions per executed node plus 2 per run; bench/transitions.py measures it.
"""

from __future__ import annotations

from typing import Any

from functions.core.model.graph import MAX_BODY_DEPTH, body_depths
from functions.core.model.task import StepAction
from functions.core.model.workflow import BODY_START_TYPES, Graph, NodeType
from statemachines.compiler.asl import (
    FAILED,
    FINALIZE_FAILED,
    FINALIZE_SUCCEEDED,
    CompileError,
    Targets,
    runs_task,
)
from statemachines.compiler.layout import Layout
from statemachines.compiler.structure import Structure
from statemachines.compiler.task_vars import Reads, TaskVars


def compile_workflow(
    graph: Graph, *, entry: str, targets: Targets, reads: Reads | None = None
) -> dict[str, Any]:
    """`reads`: what each node type's function reads of `vars` (the catalogue's), so each
    task receives only that (task_vars.py); without it, all of `vars`."""
    executable = {n.type.value for n in graph.nodes if n.type not in BODY_START_TYPES}
    # A node's `conditional` is evaluated by the if-else function, its `loop` prepared and
    # collected by the iteration function.
    if any(n.condition is not None for n in graph.nodes):
        executable.add(NodeType.IF_ELSE.value)
    if any(n.loop is not None for n in graph.nodes):
        executable.add(NodeType.ITERATION.value)
    missing = sorted(executable - set(targets.node_functions))
    if missing:
        raise CompileError(f"no function deployed for node types: {', '.join(missing)}")
    _check_body_depth(graph)
    structure = Structure(graph)
    top_level = [n.id for n in graph.nodes if n.parent is None]
    task_vars = TaskVars(graph, entry, reads)
    entry_state, states = Layout(structure, targets, task_vars).sequence(
        top_level, head=entry, exit_state=FINALIZE_SUCCEEDED, depth=1
    )
    _route_failures(states, FINALIZE_FAILED)
    ends = [n.id for n in graph.nodes if n.parent is None and n.type is NodeType.END]
    sinks = [n for n in top_level if not structure.outgoing(n)]
    return {
        "Comment": "Compiled by Stepcanvas; one Task per workflow node.",
        "StartAt": entry_state or FINALIZE_SUCCEEDED,
        "States": {
            **states,
            FINALIZE_SUCCEEDED: runs_task(
                targets,
                {
                    "action": StepAction.SUCCEED.value,
                    "run.$": "$.run",
                    **task_vars.finalize(entry, sinks, ends),
                    "sinks": sinks,
                    "ends": ends,
                },
                None,
            ),
            FINALIZE_FAILED: runs_task(
                targets,
                {"action": StepAction.FAIL.value, "run.$": "$.run", "error.$": "$.error"},
                FAILED,
            ),
            FAILED: {
                "Type": "Fail",
                "Error": "WorkflowFailed",
                "Cause": "A node failed; the run record names it.",
            },
        },
    }


def _route_failures(states: dict[str, Any], failed: str) -> None:
    """Every top-level state that can fail goes to `failed` when it does (States.ALL: a
    failure inside a Parallel branch or a Map item fails that Parallel or Map, whose Catch
    routes it). One Catch per state instead of a Parallel around the whole body saves
    that Parallel's transition on every run. A state that already catches States.ALL (an
    error strategy's) leads to its recover task, which is caught in turn."""
    for state in states.values():
        if state["Type"] not in ("Task", "Parallel", "Map"):
            continue
        catchers = state.setdefault("Catch", [])
        if not any("States.ALL" in c["ErrorEquals"] for c in catchers):
            catchers.append(
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed}
            )


def _check_body_depth(graph: Graph) -> None:
    """The layout recurses once per body. Validation refuses these graphs with a Problem;
    a caller that skipped it gets a CompileError here, never a RecursionError."""
    depths, on_loops = body_depths({n.id: n.parent for n in graph.nodes})
    if on_loops:
        raise CompileError(f"nodes {', '.join(on_loops)} contain each other")
    if max(depths.values(), default=0) > MAX_BODY_DEPTH:
        raise CompileError(
            f"bodies are nested more than {MAX_BODY_DEPTH} deep; at most {MAX_BODY_DEPTH} may nest"
        )
