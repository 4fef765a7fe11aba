"""The states of containers: an iteration (a Map over the items, its body per item), a
loop (its body and a Choice back to it), and a node's own `loop` (a Map of its Task)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core.expressions.templates import single_reference
from functions.core.model.task import StepAction
from functions.core.model.workflow import LOOP_ROOT, Node, NodeType, state_key
from statemachines.compiler.asl import CompileError, state_name
from statemachines.compiler.liveness import Live
from statemachines.compiler.states import TaskStates, item_of
from statemachines.compiler.structure import Structure
from statemachines.compiler.task_vars import ITEM_ROOT

# The states of a container's body ending in the given exit state, inside the given
# number of nested Parallel/Map states: its entry (None when nothing runs) and the states.
Body = Callable[[Node, str | None, int], tuple[str | None, dict[str, Any]]]


class Containers:
    def __init__(self, structure: Structure, tasks: TaskStates, body: Body) -> None:
        self.structure = structure
        self.tasks = tasks
        self.body = body

    def iteration(self, node: Node, follow: str | None, depth: int) -> tuple[str, dict[str, Any]]:
        """prepare (Task) -> Map over the items, the body per item -> collect (Task).

        Each item runs only its body's states: the item reaches the body through the Map's
        ItemSelector (ITEM_ROOT), and the body's last states give back the output node's
        state (OutputPath). Only an output node that may be skipped, or no output node, or
        an empty body needs a state to say what the item gives back.
        """
        prepare = state_name(node.id)
        each = state_name(node.id, "Each ")
        collect = state_name(node.id, "Collect ")
        emit = state_name(node.id, "Emit ")
        output_node = _selector_root(node.config.get("output_selector"))
        always = output_node is not None and self._always_runs_in_body(node, output_node)
        if always:
            body_entry, body_states = self.body(node, None, depth + 1)  # inside the Map
        else:
            body_entry, body_states = self.body(node, emit, depth + 1)
        if always and body_entry is not None:
            for state in body_states.values():
                if state.get("End"):
                    assert "OutputPath" not in state, state
                    state["OutputPath"] = f"$.vars.{state_key(str(output_node))}"
        elif output_node and always:
            body_states[emit] = {
                "Type": "Pass",
                "OutputPath": f"$.vars.{state_key(output_node)}",
                "End": True,
            }
        elif output_node:
            emit_output = state_name(node.id, "Emit output of ")
            emit_nothing = state_name(node.id, "Emit nothing of ")
            body_states[emit] = {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"$.vars.{state_key(output_node)}",
                        "IsPresent": True,
                        "Next": emit_output,
                    }
                ],
                "Default": emit_nothing,
            }
            body_states[emit_output] = {
                "Type": "Pass",
                "OutputPath": f"$.vars.{state_key(output_node)}",
                "End": True,
            }
            body_states[emit_nothing] = {"Type": "Pass", "Result": {}, "End": True}
        else:
            body_states[emit] = {"Type": "Pass", "Result": {}, "End": True}
        tolerant = node.config.get("error_handle_mode") in (
            "continue-on-error",
            "remove-abnormal-output",
        )
        if tolerant:
            _catch_item_failures(body_states, state_name(node.id, "Item failed in "))
        parallel = bool(node.config.get("is_parallel"))
        states: dict[str, Any] = {
            prepare: self.tasks.task(node, each, {"action": StepAction.PREPARE.value})
            | {"ResultPath": "$.scratch"},
            each: _map(
                # After the body is laid out: it says what the items must carry.
                {**self.tasks.task_vars.items(node), ITEM_ROOT: item_of(node)},
                body_entry or emit,
                body_states,
                int(node.config.get("parallel_nums") or 10) if parallel else 1,
                collect,
            ),
            collect: self.tasks.task(
                node,
                follow,
                {"action": StepAction.COLLECT.value, "results.$": "$.scratch"},
            ),
        }
        return prepare, states

    def _always_runs_in_body(self, container: Node, node_id: str) -> bool:
        scope = self.structure.body(container.id)
        start = self.structure.body_start(scope)
        if start is None:
            return False
        return Live(self.structure, start, self.structure.order(scope)).ran(node_id)

    def looped(self, node: Node, follow: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """A node with a `loop`, as an iteration whose body is the node itself: prepare
        (the iteration function evaluates the list) -> Map running the node's Task once
        per element, in order -> collect (the list of the elements' `result`s).

        Returns the per-element Task (for Retry and TimeoutSeconds) and the states, the
        prepare Task, named by the node's id, first. The element is the Map's ItemSelector
        merged into the Task's `vars` as the outputs of `loop`: no state of its own.
        """
        prepare = state_name(node.id)
        each = state_name(node.id, "Each ")
        collect = state_name(node.id, "Collect ")
        item_task = state_name(node.id, "Item of ")
        over = single_reference(node.loop or "")
        if over is None:
            raise CompileError(f"node '{node.id}': loop must be one reference to a list")
        lists = {
            "iterator_selector": list(over),
            "output_selector": [node.id, "result"],
            # The results as they are, lists too: one per element.
            "flatten_output": False,
        }
        task = self.tasks.task(
            node,
            None,
            {"vars.$": f"States.JsonMerge($.vars, $.{LOOP_ROOT}, false)"},
            per_item=True,
        )
        task["OutputPath"] = f"$.vars.{state_key(node.id)}"
        element = {"outputs": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}}
        states = {
            prepare: self.tasks.task(
                node,
                each,
                {"action": StepAction.PREPARE.value},
                function=NodeType.ITERATION,
                config=lists,
            )
            | {"ResultPath": "$.scratch"},
            each: _map(
                # What the node's task reads, the element aside.
                {
                    **self.tasks.task_vars.task(node, node.type, node.config, {}),
                    LOOP_ROOT: {state_key(LOOP_ROOT): element},
                },
                item_task,
                {item_task: task},
                1,
                collect,
            ),
            collect: self.tasks.task(
                node,
                follow,
                {"action": StepAction.COLLECT.value, "results.$": "$.scratch"},
                function=NodeType.ITERATION,
                config=lists,
            ),
        }
        return task, states

    def loop(self, node: Node, follow: str | None, depth: int) -> tuple[str, dict[str, Any]]:
        """init (Task) -> Choice -> body -> check (Task) -> Choice ... -> follow.

        Like Dify, the break conditions are checked before the first round too: `init`
        reports `done` when they already hold, and the body never runs.
        """
        key = state_key(node.id)
        init = state_name(node.id)
        check = state_name(node.id, "Check ")
        again = state_name(node.id, "Again? ")
        after = state_name(node.id, "After ")
        # The body's states sit beside the loop's own, in the same scope.
        body_entry, body_states = self.body(node, check, depth)
        body_nodes = self.structure.order(self.structure.body(node.id))
        task_check = self.tasks.task(
            node,
            again,
            # In run order, so the check applies assigner updates as the body made them.
            {"action": StepAction.CHECK.value, "body": [state_key(n) for n in body_nodes]},
        )
        task_check["ResultPath"] = "$.vars"
        states = {
            init: self.tasks.task(node, again, {"action": StepAction.INIT.value}),
            **body_states,
            check: task_check,
            again: {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"$.vars.{key}.done",
                        "BooleanEquals": False,
                        "Next": body_entry or check,
                    }
                ],
                "Default": follow or after,
            },
        }
        if follow is None:
            states[after] = {"Type": "Pass", "End": True}
        return init, states


def _selector_root(selector: Any) -> str | None:
    if isinstance(selector, list) and selector and isinstance(selector[0], str):
        return selector[0]
    return None


def _map(
    item_selector: dict[str, Any],
    start: str,
    states: dict[str, Any],
    concurrency: int,
    next_state: str,
) -> dict[str, Any]:
    """The Map of an iteration (or a looping node) over `$.scratch.items` (prepared by its
    first Task), each item running `states` from `start`."""
    return {
        "Type": "Map",
        "ItemsPath": "$.scratch.items",
        "MaxConcurrency": concurrency,
        "ItemSelector": item_selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": start,
            "States": states,
        },
        # The results replace the items: the state keeps only what is still needed.
        "ResultPath": "$.scratch.items",
        "Next": next_state,
    }


def _catch_item_failures(states: dict[str, Any], failed_state: str) -> None:
    """Within an iteration that tolerates errors, a failing body task ends only its item."""
    for state in states.values():
        if state.get("Type") == "Task" and "Catch" not in state:
            state["Catch"] = [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": failed_state}
            ]
    states[failed_state] = {
        "Type": "Pass",
        "Parameters": {"failed": True, "error.$": "$.failure"},
        "End": True,
    }
