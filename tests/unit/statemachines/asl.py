"""Test helpers for compiled machines: structural checks, a tiny interpreter of the states the
compiler emits, and Dify's skip rule computed straight from the graph to compare against."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from graphlib import TopologicalSorter
from typing import Any

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from functions.core.model.graph import Adjacency, ancestors
from functions.core.model.workflow import BRANCHING_TYPES, Edge, Graph, Node, NodeType, state_key
from statemachines import compiler
from statemachines.compiler import Targets
from tests.unit.core.deploy_env import NODE_ARNS, RUNS_ARN

TARGETS = Targets(node_functions=NODE_ARNS, runs_function=RUNS_ARN)

# Reference paths the compiler writes: `$` then plain member names only.
_REFERENCE_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def graph(nodes: Sequence[str | tuple[str, NodeType]], edges: Sequence[tuple[Any, ...]]) -> Graph:
    """Nodes as ids (llm) or (id, type); edges as (source, target[, handle])."""
    built = []
    for item in nodes:
        node_id, kind = (item, NodeType.LLM) if isinstance(item, str) else item
        config = {"expression": "1 == 1"} if kind == NodeType.IF_ELSE else {"prompt": "p"}
        built.append(Node(id=node_id, type=kind, config=config))
    return Graph(nodes=built, edges=[_edge(*spec) for spec in edges])


def _edge(source: str, target: str, handle: str | None = None) -> Edge:
    return Edge(source=source, target=target, source_handle=handle)


def parse_with_moto(definition: Mapping[str, Any]) -> None:
    AmazonStateLanguageParser.parse(json.dumps(definition, ensure_ascii=False))


FRAME = (compiler.FINALIZE_SUCCEEDED, compiler.FINALIZE_FAILED, compiler.FAILED)


def body(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level scope without the frame (the finalize tasks and the Fail state)."""
    states = {k: v for k, v in definition["States"].items() if k not in FRAME}
    return {"StartAt": definition["StartAt"], "States": states}


def body_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of the body, those inside nested Parallel branches included."""
    stack = [body(definition)]
    while stack:
        scope = stack.pop()
        for name, state in scope["States"].items():
            yield name, state
            stack.extend(state.get("Branches", []))


def node_tasks(definition: Mapping[str, Any]) -> dict[str, str]:
    """Node id -> the name of its Task state."""
    return {
        state["Parameters"]["node"]["id"]: name
        for name, state in body_states(definition)
        if state["Type"] == "Task" and "node" in state.get("Parameters", {})
    }


def guard_names(definition: Mapping[str, Any]) -> dict[str, str]:
    """Name of a guard Choice -> the state it lets run."""
    return {
        name: state["Choices"][0]["Next"]
        for name, state in body_states(definition)
        if state["Type"] == "Choice"
    }


def guards(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Run-state name -> the rule of the Choice that guards it."""
    found = {}
    for _, state in body_states(definition):
        if state["Type"] == "Choice":
            (rule,) = state["Choices"]
            found[rule["Next"]] = rule
    return found


def variables(rule: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(Variable, test, operand) of every leaf in a Choice rule."""
    for key in ("And", "Or"):
        for part in rule.get(key, []):
            yield from variables(part)
    if "Variable" in rule:
        for test in ("IsPresent", "StringEquals"):
            if test in rule:
                yield rule["Variable"], test, rule[test]


# --- structure ---------------------------------------------------------------------------


def check_structure(definition: Mapping[str, Any]) -> None:
    """What the Step Functions service checks and moto's parser does not."""
    names: list[str] = []
    _check_scope(definition, names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"state names must be unique in the whole machine: {duplicates}"


def _check_scope(scope: Mapping[str, Any], names: list[str]) -> None:
    states = scope["States"]
    assert scope["StartAt"] in states
    for name, state in states.items():
        names.append(name)
        assert 1 <= len(name) <= 80, f"state name too long ({len(name)}): {name!r}"
        targets = _targets(state)
        for target in targets:
            assert target in states, f"{name!r} goes to missing state {target!r}"
        if state["Type"] == "Choice":
            assert "End" not in state and "Next" not in state
        elif state["Type"] != "Fail":
            assert ("Next" in state) != bool(state.get("End")), f"{name!r}: Next xor End"
        for key in ("ResultPath",):
            if state.get(key) is not None:
                assert _REFERENCE_PATH.match(state[key]), f"{name!r}: bad {key} {state[key]}"
        for rule in state.get("Choices", []):
            for variable, _, _ in variables(rule):
                assert _REFERENCE_PATH.match(variable), f"{name!r}: bad Variable {variable}"
        for branch in state.get("Branches", []):
            _check_scope(branch, names)
    reached = set()
    stack = [scope["StartAt"]]
    while stack:
        current = stack.pop()
        if current not in reached:
            reached.add(current)
            stack.extend(_targets(states[current]))
    assert reached == set(states), f"unreachable states: {sorted(set(states) - reached)}"


def _targets(state: Mapping[str, Any]) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [rule["Next"] for rule in state.get("Choices", [])]
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


# --- interpretation ----------------------------------------------------------------------


class Run:
    """One simulated execution of the body: which node tasks ran, in order, and what
    `$.vars` each saw."""

    def __init__(self, handles: Mapping[str, str]) -> None:
        self.handles = handles
        self.order: list[str] = []
        self.seen: dict[str, set[str]] = {}
        # Per node task run: its node (`<id>?` when it evaluates the node's condition), the
        # `vars` it received (its Parameters evaluated: a path to a key the state lacks
        # fails the simulation, as it fails the state in Step Functions) and the state's
        # `vars` then. A condition's outcome is `handles["<id>?"]` (none given: false).
        self.inputs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.visited: list[str] = []
        self.final_vars: dict[str, Any] = {}
        self.execution_input: dict[str, Any] = {}


def simulate(definition: Mapping[str, Any], handles: Mapping[str, str]) -> list[str]:
    return run(definition, handles).order


def run(definition: Mapping[str, Any], handles: Mapping[str, str]) -> Run:
    """Interpret the body branch. A node task records itself and writes
    `{"outputs": ..., "handle"?}` to its ResultPath (a branching node's handle from
    `handles`); a Parallel runs its branches one after the other on copies of the state
    and applies its ResultSelector (States.JsonMerge included)."""
    result = Run(handles)
    data: dict[str, Any] = {"run": {"id": "r"}, "trigger": {}, "sys": {}, "vars": {}}
    result.execution_input = copy.deepcopy(data)
    final = _run_scope(definition, data, result)
    result.final_vars = final["vars"]
    return result


def _run_scope(scope: Mapping[str, Any], data: dict[str, Any], result: Run) -> dict[str, Any]:
    states = scope["States"]
    current: str | None = scope["StartAt"]
    steps = 0
    while current is not None:
        steps += 1
        assert steps < 10_000, "the machine does not terminate"
        state = states[current]
        result.visited.append(current)
        kind = state["Type"]
        if kind == "Task":
            if "node" not in state["Parameters"]:
                assert state["Resource"] == RUNS_ARN
                assert state["ResultPath"] is None
                if state["Parameters"]["action"] == "succeed":
                    break  # the run's end: what follows is bookkeeping
            data = _run_task(state, data, result)
        elif kind == "Choice":
            (rule,) = state["Choices"]
            current = rule["Next"] if _holds(rule, data) else state["Default"]
            continue
        elif kind == "Parallel":
            outputs = [_run_scope(b, copy.deepcopy(data), result) for b in state["Branches"]]
            data = _output(state, data, outputs, result)
        elif kind == "Pass":
            if "Parameters" in state:
                value = _payload(state["Parameters"], data, result)
            else:
                value = state.get("Result", data)
            data = _output(state, data, value, result)
        else:
            raise AssertionError(f"unexpected state type {kind} in the body")
        current = None if state.get("End") else state["Next"]
    return data


def _run_task(state: Mapping[str, Any], data: dict[str, Any], result: Run) -> dict[str, Any]:
    """A node task records itself and writes its outputs (and a branching node's handle)."""
    spec = state["Parameters"].get("node")
    if spec is None:
        return data
    result.order.append(spec["id"])
    result.seen[spec["id"]] = set(data["vars"])
    received = _payload(state["Parameters"], data, result)["vars"]
    task = f"{spec['id']}?" if spec.get("evaluates") else spec["id"]
    result.inputs.append((task, copy.deepcopy(received), copy.deepcopy(data["vars"])))
    value: dict[str, Any] = {"outputs": {"from": spec["id"]}}
    if NodeType(spec["type"]) in BRANCHING_TYPES:
        value["handle"] = result.handles[spec["id"]]
    elif spec.get("evaluates") and f"{spec['id']}?" in result.handles:
        value["handle"] = result.handles[f"{spec['id']}?"]  # its `condition` holds or not
    _assign(data, state["ResultPath"], value)
    if "OutputPath" in state:
        found: dict[str, Any] = _path(data, state["OutputPath"])
        return found
    return data


def _output(state: Mapping[str, Any], data: Any, raw: Any, result: Run) -> Any:
    """ResultSelector, then ResultPath (default `$`), then OutputPath."""
    selected = _payload(state.get("ResultSelector"), raw, result)
    placed = _place(data, state.get("ResultPath", "$"), selected)
    return _path(placed, state["OutputPath"]) if "OutputPath" in state else placed


def _payload(template: Any, data: Any, result: Run) -> Any:
    """A Parameters / ResultSelector template: `key.$` values are paths or intrinsics."""
    if template is None:
        return data
    if isinstance(template, dict):
        return {
            key.removesuffix(".$"): _evaluate(value, data, result)
            if key.endswith(".$")
            else _payload(value, data, result)
            for key, value in template.items()
        }
    return template


def _evaluate(expression: str, data: Any, result: Run) -> Any:
    if expression.startswith("States.JsonMerge("):
        inner = expression.removeprefix("States.JsonMerge(").removesuffix(")")
        first, second, deep = _split_arguments(inner)
        assert deep.strip() == "false", "only shallow merges are modelled"
        left = _evaluate(first.strip(), data, result)
        right = _evaluate(second.strip(), data, result)
        assert isinstance(left, dict) and isinstance(right, dict), (left, right)
        return {**left, **right}
    if expression.startswith("$$.Execution.Input"):
        return _path(result.execution_input, expression.removeprefix("$$.Execution.Input"))
    assert expression.startswith("$"), f"unsupported expression {expression}"
    return _path(data, expression)


def _path(data: Any, path: str) -> Any:
    """`$`, `$.a.b`, `$[0].a`: the subset of JSONPath the compiler writes."""
    for index, name in re.findall(r"\[(\d+)\]|\.([^.\[]+)", path.removeprefix("$")):
        data = data[int(index)] if index else data[name]
    return data


def _place(data: Any, result_path: str | None, value: Any) -> Any:
    if result_path is None:
        return data
    if result_path == "$":
        return value
    data = copy.deepcopy(data)
    _assign(data, result_path, value)
    return data


def _split_arguments(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _assign(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.removeprefix("$.").split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    for part in path.removeprefix("$.").split("."):
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _holds(rule: Mapping[str, Any], data: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_holds(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], data)
    present, value = _lookup(data, rule["Variable"])
    if "IsPresent" in rule:
        return present is rule["IsPresent"]
    if "StringEquals" in rule:
        return present and value == rule["StringEquals"]
    raise AssertionError(f"unsupported rule {rule}")


# --- the reference semantics ------------------------------------------------------------


def expected_runs(g: Graph, entry: str, handles: Mapping[str, str]) -> set[str]:
    """Dify's rule: the entry runs; any other node runs when one of its incoming edges is
    taken, i.e. its source ran and (for a branching source) chose that edge's handle."""
    adj = Adjacency(g)
    order = _topological(adj)
    runs: set[str] = set()
    for node_id in order:
        if node_id == entry or any(
            e.source in runs and (e.source_handle is None or handles[e.source] == e.source_handle)
            for e in adj.incoming[node_id]
        ):
            runs.add(node_id)
    return runs


def always_live(g: Graph, entry: str) -> set[str]:
    """Nodes that run whenever the workflow runs: reached from the entry by unconditional
    edges only."""
    adj = Adjacency(g)
    live = {entry}
    for node_id in _topological(adj):
        if any(e.source in live and e.source_handle is None for e in adj.incoming[node_id]):
            live.add(node_id)
    return live


def check_run(
    g: Graph, entry: str, definition: Mapping[str, Any], handles: Mapping[str, str]
) -> Run:
    """The simulated run matches Dify's rule: the right nodes run, each once, and every node
    sees the outputs of all its ancestors that ran (what its references may read)."""
    result = run(definition, handles)
    expected = expected_runs(g, entry, handles)
    assert len(result.order) == len(set(result.order)), f"a node ran twice: {result.order}"
    assert set(result.order) == expected, (
        f"ran {result.order}, expected {sorted(expected)} with handles {dict(handles)}"
    )
    adj = Adjacency(g)
    for node_id in result.order:
        wanted = {state_key(a) for a in ancestors(adj, node_id) if a in expected}
        missing = wanted - result.seen[node_id]
        assert not missing, f"{node_id} ran without the outputs of {sorted(missing)}"
    assert {state_key(n) for n in expected} <= set(result.final_vars)
    return result


def _topological(adj: Adjacency) -> list[str]:
    return list(TopologicalSorter({n: adj.predecessors(n) for n in adj.node_ids}).static_order())
