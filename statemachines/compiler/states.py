"""The Task states of a node: the Task that runs it (its parameters, what it receives,
where its result goes), the Task that recovers it per its error strategy, and the Task
and Choice of its `condition`."""

from __future__ import annotations

import json
from typing import Any

from functions.core.model.task import StepAction
from functions.core.model.workflow import CONTAINER_TYPES, Node, NodeType, state_key
from statemachines.compiler.asl import SERVICE_RETRY, Targets, state_name, then
from statemachines.compiler.structure import Structure
from statemachines.compiler.task_vars import ITEM_ROOT, TaskVars

ITERATION_INLINE_LIMIT = 1024


def item_of(iteration: Node) -> dict[str, Any]:
    """The ITEM_ROOT of an iteration's Map item: the iteration node's outputs, the item and
    its index, as `vars` would hold them."""
    item = {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
    return {state_key(iteration.id): {"outputs": item}}


def node_parameter(node: Node, *, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `node` parameter of the node's Tasks; `config` replaces its own (a task that
    another node type's function runs for it)."""
    parameter: dict[str, Any] = {
        "id": node.id,
        "type": node.type.value,
        "title": node.title,
        # JSON text, so no key of the user's config is read as a path ending in ".$".
        "config": json.dumps(
            node.config if config is None else config, ensure_ascii=False, sort_keys=True
        ),
    }
    if node.error_strategy is not None:
        parameter["errorStrategy"] = node.error_strategy.value
        parameter["defaultOutputs"] = json.dumps(node.default_outputs, ensure_ascii=False)
    return parameter


class TaskStates:
    def __init__(self, structure: Structure, targets: Targets, task_vars: TaskVars) -> None:
        self.structure = structure
        self.targets = targets
        self.task_vars = task_vars

    def task(
        self,
        node: Node,
        follow: str | None,
        extra: dict[str, Any],
        *,
        function: NodeType | None = None,
        config: dict[str, Any] | None = None,
        per_item: bool = False,
    ) -> dict[str, Any]:
        """A Task of `node` (run by the function of `function`, default the node's type,
        with `config` instead of the node's own); `per_item`: one run of a Map's items."""
        parameter = node_parameter(node, config=config)
        if per_item or self.structure.enclosing_iteration(node) is not None:
            # Every item's output comes back in one Map result (256 KB in all), so in a
            # body anything but small outputs travels as an S3 reference.
            parameter["inlineLimit"] = ITERATION_INLINE_LIMIT
        return then(
            {
                "Type": "Task",
                "Resource": self.targets.node_functions[(function or node.type).value],
                "Parameters": {
                    "node": parameter,
                    **self.task_vars.task(
                        node,
                        function or node.type,
                        node.config if config is None else config,
                        extra,
                    ),
                },
                "ResultPath": f"$.vars.{state_key(node.id)}",
                "Retry": [SERVICE_RETRY],
            },
            follow,
        )

    def item_root(self, node_id: str) -> dict[str, Any]:
        """The item root of the state in the scope of `node_id` (rebuilt from the Map's
        context object by a state that replaces the whole state), or {} outside any
        iteration."""
        iteration = self.structure.enclosing_iteration(self.structure.nodes[node_id])
        return {} if iteration is None else {ITEM_ROOT: item_of(iteration)}

    def recover(
        self, node: Node, caught: list[dict[str, Any]], follow: str | None
    ) -> dict[str, Any]:
        """A failure of any of `caught` goes on per the node's error strategy."""
        recover = state_name(node.id, "Recover ")
        for state in caught:
            state["Catch"] = [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": f"$.vars.{state_key(node.id)}",
                    "Next": recover,
                }
            ]
        return {
            recover: then(
                {
                    "Type": "Task",
                    "Resource": self.targets.runs_function,
                    "Parameters": {
                        "action": StepAction.RECOVER.value,
                        "run.$": "$.run",
                        "node": node_parameter(node),
                        "error.$": f"$.vars.{state_key(node.id)}",
                    },
                    "ResultPath": f"$.vars.{state_key(node.id)}",
                    "Retry": [SERVICE_RETRY],
                },
                follow,
            )
        }

    def conditional(
        self, node: Node, run_state: str, skip: str, follow: str | None, states: dict[str, Any]
    ) -> str:
        """The node's `condition`, evaluated by the if-else function (which records
        nothing for it but a failure), then a Choice: run the node, or go to `skip`.
        Returns the first state's name."""
        evaluate = state_name(node.id, "Condition of ")
        holds = state_name(node.id, "Condition holds? ")
        parameter = node_parameter(node, config={"expression": node.condition})
        parameter["evaluates"] = "conditional"
        task = then(
            {
                "Type": "Task",
                "Resource": self.targets.node_functions[NodeType.IF_ELSE.value],
                "Parameters": {
                    "node": parameter,
                    **self.task_vars.task(
                        node, NodeType.IF_ELSE, {"expression": node.condition}, {}
                    ),
                },
                # Only the handle: the state must not look as if the node had run.
                "ResultSelector": {"handle.$": "$.handle"},
                "ResultPath": "$.scratch",
                "Retry": [SERVICE_RETRY],
            },
            holds,
        )
        if node.error_strategy is not None and node.type not in CONTAINER_TYPES:
            # The condition failing is the node failing.
            states.update(self.recover(node, [task], follow))
        states[evaluate] = task
        states[holds] = {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.scratch.handle", "StringEquals": "true", "Next": run_state}
            ],
            "Default": skip,
        }
        return evaluate
