"""A compiled machine made ready to run as Express, and what in it Express cannot run.

Pure, like the compiler: it walks the ASL generically (Parallel branches, Map item
processors), so it needs no knowledge of how the compiler lays a graph out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from functions.core.model.express import QUIET_ERRORS

# Express starts an execution at least once and does not deduplicate execution names: a
# node Task is told which execution it belongs to, so the first one to reach the run owns
# it and any other ends without a trace (functions/nodes/runtime.py).
EXECUTION_PARAMETER = {"execution.$": "$$.Execution.Id"}
# Retried never, whatever the node's retry policy: the run is over, or another's.
_NO_RETRY = {"ErrorEquals": sorted(QUIET_ERRORS), "MaxAttempts": 0}
# Where an execution whose run is over, or another execution's, ends: a Succeed, so it is
# not counted in ExecutionsFailed (the alarms) though it ran nothing. The name has a
# space, which no node's state can (validation).
ENDED_ELSEWHERE = "Run ended elsewhere"
# Service integrations that wait for a callback or for a job's end (`.waitForTaskToken`,
# `.sync`): Express supports neither.
_WAITING_SUFFIXES = (".waitForTaskToken", ".sync")


def for_express(definition: Mapping[str, Any]) -> dict[str, Any]:
    """`definition` with every node Task (one that carries a `node` and the run) given the
    execution's id, and never retrying the errors of a run that is not its own; those
    errors end the execution at ENDED_ELSEWHERE (a failure in a branch or an item fails
    its Parallel or Map with the same error, so the top level's catchers see them all)."""
    machine = copy.deepcopy(dict(definition))
    for _, state in _named_states(machine):
        parameters = state.get("Parameters")
        if not isinstance(parameters, dict) or state.get("Type") != "Task":
            continue
        if {"node", "run.$"} <= parameters.keys():
            parameters.update(EXECUTION_PARAMETER)
            state["Retry"] = [_NO_RETRY, *state.get("Retry", [])]
    ended = {"ErrorEquals": sorted(QUIET_ERRORS), "Next": ENDED_ELSEWHERE}
    for state in machine["States"].values():
        if state.get("Catch"):
            state["Catch"] = [ended, *state["Catch"]]
    machine["States"][ENDED_ELSEWHERE] = {"Type": "Succeed"}
    return machine


def waits(definition: Mapping[str, Any]) -> list[str]:
    """The states that wait (a Wait state, a callback or a job-run integration)."""
    found = []
    for name, state in _named_states(definition):
        resource = str(state.get("Resource", ""))
        if state.get("Type") == "Wait" or resource.endswith(_WAITING_SUFFIXES):
            found.append(name)
    return found


def _named_states(machine: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _named_states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _named_states(processor)
