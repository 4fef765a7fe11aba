"""Every Task the compiler writes fits the model its function reads (functions/core/model/
task.py): each parameter names a field of that model, and each action is one it serves.
Workflows: the Dify corpus and generated ones (iterations, loops, branches, error
strategies), compiled as a save compiles them."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from functions.core.errors import InvalidWorkflow
from functions.core.model.dify_format import import_document
from functions.core.model.task import IterationTask, LoopTask, RunsTask, StepAction, TaskInput
from functions.core.model.workflow import NodeType
from functions.core.services.definitions import build_definition
from tests.conformance.corpus import dify_files
from tests.differential.generator import generate
from tests.unit.core.deploy_env import NODE_ARNS, RUNS_ARN

pytestmark = pytest.mark.usefixtures("deploy_env")

MODELS: dict[str, type[BaseModel]] = {
    RUNS_ARN: RunsTask,
    NODE_ARNS[NodeType.ITERATION.value]: IterationTask,
    NODE_ARNS[NodeType.LOOP.value]: LoopTask,
}


def _documents() -> Iterator[tuple[str, str]]:
    for path in dify_files():
        yield path.name, path.read_text(encoding="utf-8")
    for seed in range(40):
        yield f"generated {seed}", generate(seed).yaml()


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key]["States"])


def _actions(model: type[BaseModel]) -> set[str]:
    field = model.model_fields.get("action")
    return set() if field is None else {a.value for a in typing.get_args(field.annotation)}


def _compiled() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, text in _documents():
        try:
            draft = import_document(text)
        except InvalidWorkflow:
            continue  # a file using a node type not supported: its own test covers it
        yield name, build_definition(draft.graph, draft.entry)


def test_every_task_parameter_is_a_field_and_every_action_one_its_function_serves() -> None:
    seen_actions: set[str] = set()
    checked = 0
    for name, definition in _compiled():
        for task in _tasks(definition["States"]):
            model = MODELS.get(task["Resource"], TaskInput)
            parameters = {key.removesuffix(".$") for key in task["Parameters"]}
            unknown = parameters - set(model.model_fields)
            assert not unknown, f"{name}: {model.__name__} has no field {unknown}"
            action = task["Parameters"].get("action")
            assert (action is None) == ("action" not in model.model_fields), (name, task)
            if action is not None:
                assert action in _actions(model), f"{name}: {model.__name__} serves no {action}"
                seen_actions.add(action)
            checked += 1
    assert checked > 500
    # Every action of the contract is one the compiler writes, but `begin`: the run's start
    # does its work now, and only machines compiled before that still call it.
    assert seen_actions == {a.value for a in StepAction} - {StepAction.BEGIN.value}


@pytest.mark.parametrize("model", [RunsTask, IterationTask, LoopTask])
def test_an_unknown_action_is_refused_loudly(model: type[BaseModel]) -> None:
    event = {
        "action": "apply",
        "run": {"runId": "r", "workflowId": "w", "tenantId": "t"},
        "node": {"id": "n", "type": "loop", "config": "{}"},
    }
    with pytest.raises(ValueError, match="action"):
        model.model_validate(event)
