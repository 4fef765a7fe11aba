"""The Parallel of a fork's branches, and the merge of the `vars` each branch extended."""

from __future__ import annotations

from typing import Any

from statemachines.compiler.asl import state_name, then

# At most this many intrinsic calls in one field (Step Functions' documented limit on
# nesting them), so one field merges at most MERGE_FANIN branch results.
MAX_INTRINSIC_CALLS = 10
MERGE_FANIN = MAX_INTRINSIC_CALLS + 1


def join(
    branches: list[dict[str, Any]], name: str, follow: str | None, item_root: dict[str, Any]
) -> dict[str, Any]:
    """The Parallel that runs `branches` concurrently and merges the `vars` each extended.

    Every branch adds its own nodes to a copy of `vars` and ends with that copy alone
    (OutputPath `$.vars` on its last states), so the Parallel's result is a list of `vars`
    objects, merged in its ResultSelector by nested `States.JsonMerge` calls: no state of
    its own up to MERGE_FANIN branches; each further factor of MERGE_FANIN costs one Pass
    merging the previous round's parts. Plain `$[i]` paths only, because moto's
    interpreter reads `$[i].vars` as a one-element list. `run`, `trigger` and `sys` never
    change during an execution, so they come from its input; `item_root`: what else the
    state carries (inside an iteration body, its item).
    """
    for branch in branches:
        for state in branch["States"].values():
            if state.get("End"):
                assert "OutputPath" not in state, state
                state["OutputPath"] = "$.vars"
    context = {f"{key}.$": f"$$.Execution.Input.{key}" for key in ("run", "trigger", "sys")}
    parts = _merged([f"$[{i}]" for i in range(len(branches))])
    parallel: dict[str, Any] = {"Type": "Parallel", "Branches": branches}
    states: dict[str, Any] = {name: parallel}
    fields = {"vars.$": parts[0]} if len(parts) == 1 else _parts(parts)
    parallel["ResultSelector"] = {**context, **fields, **item_root}
    previous, round_number = name, 1
    while len(parts) > 1:
        parts = _merged([f"$.v{i}" for i in range(len(parts))])
        merge = state_name(name, f"Merge {round_number} of ")
        states[previous]["Next"] = merge
        fields = {"vars.$": parts[0]} if len(parts) == 1 else _parts(parts)
        carried = {f"{key}.$": f"$.{key}" for key in ("run", "trigger", "sys")}
        carried |= {f"{key}.$": f"$.{key}" for key in item_root}
        states[merge] = {"Type": "Pass", "Parameters": {**carried, **fields}}
        previous, round_number = merge, round_number + 1
    then(states[previous], follow)
    return states


def _merged(terms: list[str]) -> list[str]:
    """`terms` (paths to objects) merged in groups of MERGE_FANIN, each group by a balanced
    tree of shallow `States.JsonMerge` calls, later terms winning as before."""
    groups = []
    for start in range(0, len(terms), MERGE_FANIN):
        group = terms[start : start + MERGE_FANIN]
        while len(group) > 1:
            group = [
                f"States.JsonMerge({group[i]}, {group[i + 1]}, false)"
                if i + 1 < len(group)
                else group[i]
                for i in range(0, len(group), 2)
            ]
        groups.append(group[0])
    return groups


def _parts(parts: list[str]) -> dict[str, str]:
    return {f"v{i}.$": part for i, part in enumerate(parts)}
