"""Random valid Dify workflows, seeded: the same seed gives the same YAML and inputs.

A workflow is a spine of segments from the start node to the end node. Each segment reads
values that earlier ones made (typed, so every reference is valid) and adds its own:
template-transform, code (some raising for some inputs, with or without an error
strategy), if-else with every operator (its branches merged by a variable-aggregator,
with or without groups, or left as dead ends), fan-out and fan-in, list-operator,
iteration in every error mode (parallel or not, an if-else nested in its body), and loop
with assigner updates and break conditions. The end node outputs a random selection of
what was made. The inputs sets vary what the branches and failures see.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

STRING, NUMBER = "string", "number"
ARRAY_STRING, ARRAY_NUMBER = "array[string]", "array[number]"
STRING_OPERATORS = (
    "contains",
    "not contains",
    "start with",
    "end with",
    "is",
    "is not",
    "empty",
    "not empty",
)
NUMBER_OPERATORS = ("=", "≠", ">", "<", "≥", "≤")
# The list operator's string filters: if-else's, and whether an item is part of the value.
LIST_STRING_OPERATORS = (*STRING_OPERATORS, "in", "not in")
ERROR_MODES = ("terminated", "continue-on-error", "remove-abnormal-output")
TEXTS = ("a,bc,def", "xyz", "ab,ab,c", "hello,world", "q", "b,a,c,a")
NUMBERS = (0, 1, 2, 3, 7, -3, 2.5)
LETTERS = ("a", "b", "c", "ab", "x", "")

# Code bodies by (input type, output type): each a Python expression of `a`.
CODE: dict[tuple[str, str], tuple[str, ...]] = {
    (STRING, STRING): ("a.upper()", "a[::-1]", "a + '!'", "a.replace(',', '-')"),
    (STRING, NUMBER): ("len(a)", "a.count(',')", "len(a) / 2"),
    (STRING, ARRAY_STRING): ("a.split(',')", "sorted(a.split(','))", "[a, a]"),
    (NUMBER, NUMBER): ("a * 2", "a + 1.5", "a - 1", "abs(a)", "a * a"),
    (NUMBER, STRING): ("str(a)", "'n' + str(a)"),
    (NUMBER, ARRAY_NUMBER): ("[a, a + 1]", "[a] * 3"),
    (ARRAY_STRING, ARRAY_NUMBER): ("[len(x) for x in a]",),
    (ARRAY_STRING, STRING): ("'|'.join(a)", "a[0] if a else ''"),
    (ARRAY_STRING, NUMBER): ("len(a)",),
    (ARRAY_NUMBER, NUMBER): ("sum(a)", "max(a) if a else 0"),
    (ARRAY_NUMBER, ARRAY_NUMBER): ("sorted(a)", "[x * 2 for x in a]"),
}
# Conditions under which a failing code node raises, by input type.
RAISES = {
    STRING: ("len(a) % 2 == 1", "',' in a"),
    NUMBER: ("a > 1", "a < 0.5"),
    ARRAY_STRING: ("len(a) > 2",),
    ARRAY_NUMBER: ("sum(a) > 3",),
}
CODE_INPUTS = tuple(dict.fromkeys(i for i, _ in CODE))
DEFAULTS = {STRING: "fallback", NUMBER: -1, ARRAY_STRING: ["d"], ARRAY_NUMBER: [0]}


@dataclass(frozen=True)
class Var:
    selector: tuple[str, ...]
    type: str


@dataclass
class Scope:
    """Where nodes go (the top graph or a container's body) and what they can read."""

    values: list[Var]
    parent: tuple[str, str] | None = None  # (container kind, container id)


@dataclass
class Workflow:
    seed: int
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def yaml(self) -> str:
        document = {
            "app": {"name": f"differential {self.seed}", "mode": "workflow"},
            "kind": "app",
            "version": "0.3.1",
            "workflow": {
                "environment_variables": [],
                "conversation_variables": [],
                "features": {},
                "graph": {"nodes": self.nodes, "edges": self.edges},
            },
        }
        text: str = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
        return text


class Generator:
    def __init__(self, seed: int, size: int = 6) -> None:
        self.rng = random.Random(seed)
        self.flow = Workflow(seed)
        self.size = size
        self._count = 0

    # --- the document -------------------------------------------------------------------

    def build(self) -> Workflow:
        start = self._node(
            "start",
            {
                "type": "start",
                "title": "Start",
                "variables": [
                    _input("text", "text-input"),
                    _input("num", "number"),
                ],
            },
            Scope([]),
            fixed_id="start",
        )
        scope = Scope([Var(("start", "text"), STRING), Var(("start", "num"), NUMBER)])
        tail = start
        for _ in range(self.size):
            tail = self._segment(scope, tail)
        chosen = self.rng.sample(scope.values, k=min(len(scope.values), self.rng.randint(1, 4)))
        end = self._node(
            "end",
            {
                "type": "end",
                "title": "End",
                "outputs": [
                    {"variable": f"o{i}", "value_selector": list(v.selector), "value_type": v.type}
                    for i, v in enumerate(chosen)
                ],
            },
            scope,
        )
        self._edge(tail, end, scope)
        self.flow.inputs = [
            {"text": self.rng.choice(TEXTS), "num": self.rng.choice(NUMBERS)} for _ in range(3)
        ]
        return self.flow

    def _segment(self, scope: Scope, tail: str) -> str:
        """One segment after `tail` (containers only at the top); its last node."""
        makers: dict[str, Callable[[Scope, str], str]] = {
            "template": lambda sc, t: self._chain(sc, t, self._template(sc)),
            "code": self._code_segment,
            "list": lambda sc, t: self._chain(sc, t, self._list_operator(sc)),
            "branch": self._branch,
            "fan": self._fan,
        }
        if scope.parent is None:
            makers |= {"iteration": self._iteration, "loop": self._loop}
        kind = self.rng.choice([*makers, "code"])
        if kind in ("list", "iteration") and not self._arrays(scope):
            # What they read is made first: a list from the text.
            node, out, _ = self._code(
                scope, source=Var(("start", "text"), STRING), out=ARRAY_STRING
            )
            tail = self._chain(scope, tail, (node, [out]))
        return makers[kind](scope, tail)

    # --- plain nodes --------------------------------------------------------------------

    def _chain(self, scope: Scope, tail: str, made: tuple[str, list[Var]]) -> str:
        node, values = made
        self._edge(tail, node, scope)
        scope.values.extend(values)
        return node

    def _template(self, scope: Scope) -> tuple[str, list[Var]]:
        picked = self._pick(scope, (STRING, NUMBER, ARRAY_STRING, ARRAY_NUMBER), k=2)
        names = [f"v{i}" for i in range(len(picked))]
        parts = [
            "{{ " + name + " | join(',') }}"
            if var.type.startswith("array")
            else "{{ " + name + " }}"
            for name, var in zip(names, picked, strict=True)
        ]
        if self.rng.random() < 0.3:
            parts.append("{% if v0 %}yes{% else %}no{% endif %}")
        node = self._node(
            "template",
            {
                "type": "template-transform",
                "title": "Template",
                "template": "-".join(parts),
                "variables": [
                    {"variable": name, "value_selector": list(var.selector)}
                    for name, var in zip(names, picked, strict=True)
                ],
            },
            scope,
        )
        return node, [Var((node, "output"), STRING)]

    def _code(
        self,
        scope: Scope,
        source: Var | None = None,
        fails: bool = False,
        out: str | None = None,
        scalar: bool = False,
    ) -> tuple[str, Var, dict[str, Any]]:
        """A code node computing one output from one value; `fails`: it raises for some;
        `out` is the output's type, `scalar` limits it to a string or a number."""
        source = source or self._pick(scope, CODE_INPUTS, k=1)[0]
        types = [o for (i, o) in CODE if i == source.type and (not scalar or o in (STRING, NUMBER))]
        out_type = out or self.rng.choice(types)
        expression = self.rng.choice(CODE[(source.type, out_type)])
        body = "def main(a):\n"
        if fails:
            body += f"    if {self.rng.choice(RAISES[source.type])}:\n"
            body += "        raise ValueError('generated failure')\n"
        body += f"    return {{'out': {expression}}}\n"
        data = {
            "type": "code",
            "title": "Code",
            "code_language": "python3",
            "code": body,
            "variables": [{"variable": "a", "value_selector": list(source.selector)}],
            "outputs": {"out": {"type": out_type, "children": None}},
        }
        node = self._node("code", data, scope)
        return node, Var((node, "out"), out_type), data

    def _code_segment(self, scope: Scope, tail: str) -> str:
        fails = self.rng.random() < 0.4
        node, out, data = self._code(scope, fails=fails)
        strategy = self.rng.choice(["none", "default-value", "fail-branch"]) if fails else "none"
        if strategy == "default-value":
            data["error_strategy"] = "default-value"
            data["default_value"] = [{"key": "out", "type": out.type, "value": DEFAULTS[out.type]}]
        self._edge(tail, node, scope)
        if strategy != "fail-branch":
            scope.values.append(out)
            return node
        # Success and failure each run a template; an aggregator takes whichever ran.
        data["error_strategy"] = "fail-branch"
        ok = self._node("template", _template_of("ok:{{ x }}", ("x", out.selector)), scope)
        # Not the error message: its text is each engine's own (Dify's is a traceback).
        failed = self._node(
            "template",
            _template_of("failed:{{ x }}", ("x", tuple(data["variables"][0]["value_selector"]))),
            scope,
        )
        self._edge(node, ok, scope)
        self._edge(node, failed, scope, handle="fail-branch")
        return self._aggregate(
            scope, [(ok, Var((ok, "output"), STRING)), (failed, Var((failed, "output"), STRING))]
        )

    def _list_operator(self, scope: Scope) -> tuple[str, list[Var]]:
        source = self.rng.choice(self._arrays(scope))
        data: dict[str, Any] = {
            "type": "list-operator",
            "title": "List",
            "variable": list(source.selector),
            "filter_by": {"enabled": False, "conditions": []},
            "order_by": {"enabled": False, "key": "", "value": "asc"},
            "limit": {"enabled": False, "size": 1},
            "extract_by": {"enabled": False, "serial": "1"},
        }
        if self.rng.random() < 0.7:
            if source.type == ARRAY_STRING:
                operator = self.rng.choice(LIST_STRING_OPERATORS)
                value = self.rng.choice(LETTERS)
            else:
                operator = self.rng.choice(NUMBER_OPERATORS)
                value = str(self.rng.choice((0, 1, 2, 3)))
            data["filter_by"] = {
                "enabled": True,
                "conditions": [{"key": "", "comparison_operator": operator, "value": value}],
            }
        if self.rng.random() < 0.4:
            data["order_by"] = {
                "enabled": True,
                "key": "",
                "value": self.rng.choice(["asc", "desc"]),
            }
        if self.rng.random() < 0.3:
            data["limit"] = {"enabled": True, "size": self.rng.randint(1, 3)}
        node = self._node("list", data, scope)
        element = STRING if source.type == ARRAY_STRING else NUMBER
        return node, [Var((node, "result"), source.type), Var((node, "first_record"), element)]

    # --- shapes -------------------------------------------------------------------------

    def _branch(self, scope: Scope, tail: str) -> str:
        """An if-else with one or two cases and else; each branch runs a template. The
        branches meet in a variable-aggregator, or all but one end where they are."""
        cases: list[dict[str, Any]] = []
        for index in range(self.rng.randint(1, 2)):
            conditions = [self._condition(scope) for _ in range(self.rng.randint(1, 2))]
            cases.append(
                {
                    "case_id": f"case{index}",
                    "logical_operator": self.rng.choice(["and", "or"]),
                    "conditions": conditions,
                }
            )
        node = self._node("ifelse", {"type": "if-else", "title": "If", "cases": cases}, scope)
        self._edge(tail, node, scope)
        handles = [str(c["case_id"]) for c in cases] + ["false"]
        ends: list[tuple[str, Var]] = []
        for handle in handles:
            inner = Scope(list(scope.values), scope.parent)
            made, out = self._template(inner)
            self._edge(node, made, scope, handle=handle)
            ends.append((made, out[0]))
        if self.rng.random() < 0.25:
            # Dead ends: every branch but the first stops; the spine goes on from the first.
            scope.values.append(ends[0][1])
            return ends[0][0]
        return self._aggregate(scope, ends)

    def _aggregate(self, scope: Scope, ends: list[tuple[str, Var]]) -> str:
        grouped = self.rng.random() < 0.4
        data: dict[str, Any] = {
            "type": "variable-aggregator",
            "title": "Aggregate",
            "output_type": STRING,
            "variables": [list(v.selector) for _, v in ends],
        }
        if grouped:
            data["advanced_settings"] = {
                "group_enabled": True,
                "groups": [
                    {
                        "groupId": "g1",
                        "group_name": "picked",
                        "output_type": STRING,
                        "variables": [list(v.selector) for _, v in ends],
                    }
                ],
            }
        node = self._node("aggregate", data, scope)
        for made, _ in ends:
            self._edge(made, node, scope)
        selector = (node, "picked", "output") if grouped else (node, "output")
        scope.values.append(Var(selector, STRING))
        return node

    def _fan(self, scope: Scope, tail: str) -> str:
        """Two parallel code nodes joined by a template reading both."""
        left, left_out, _ = self._code(scope)
        right, right_out, _ = self._code(scope)
        self._edge(tail, left, scope)
        self._edge(tail, right, scope)
        join = self._node(
            "join",
            _template_of("{{ l }}+{{ r }}", ("l", left_out.selector), ("r", right_out.selector)),
            scope,
        )
        self._edge(left, join, scope)
        self._edge(right, join, scope)
        scope.values += [left_out, right_out, Var((join, "output"), STRING)]
        return join

    def _condition(self, scope: Scope) -> dict[str, Any]:
        var = self._pick(scope, (STRING, NUMBER), k=1)[0]
        if var.type == STRING:
            operator = self.rng.choice(STRING_OPERATORS)
            value = self.rng.choice(LETTERS)
        else:
            operator = self.rng.choice((*NUMBER_OPERATORS, "empty", "not empty"))
            # 1.5 against an integer: Dify's engine fails the run (see the README's policy).
            value = str(self.rng.choice((0, 1, 2, 3, -1, 1.5)))
        return {
            "variable_selector": list(var.selector),
            "comparison_operator": operator,
            "value": value,
            "varType": var.type,
        }

    def _iteration(self, scope: Scope, tail: str) -> str:
        source = self.rng.choice(self._arrays(scope))
        node = self._next_id("iteration")
        start = f"{node}start"
        item = Var((node, "item"), STRING if source.type == ARRAY_STRING else NUMBER)
        body = Scope([*scope.values, item, Var((node, "index"), NUMBER)], ("iteration", node))
        self._node(
            "iteration-start",
            {"type": "iteration-start", "title": "", "isInIteration": True},
            body,
            fixed_id=start,
        )
        inner, out, _ = self._code(body, source=item, fails=self.rng.random() < 0.5, scalar=True)
        self._edge(start, inner, body)
        last_out = out
        if self.rng.random() < 0.4:
            # A branch inside the body: its sides meet in the aggregator that is the output
            # (or, with dead ends, the output is the first side's, null when it did not run).
            body.values.append(out)
            self._branch(body, inner)
            last_out = body.values[-1]
        mode = self.rng.choice(ERROR_MODES)
        self._node(
            "iteration",
            {
                "type": "iteration",
                "title": "Iteration",
                "iterator_selector": list(source.selector),
                "iterator_input_type": source.type,
                "output_selector": list(last_out.selector),
                "output_type": f"array[{last_out.type}]",
                "start_node_id": start,
                "error_handle_mode": mode,
                "is_parallel": self.rng.random() < 0.3,
                "parallel_nums": 3,
                "flatten_output": False,
            },
            scope,
            fixed_id=node,
        )
        self._edge(tail, node, scope)
        output_type = ARRAY_STRING if last_out.type == STRING else ARRAY_NUMBER
        scope.values.append(Var((node, "output"), output_type))
        return node

    def _loop(self, scope: Scope, tail: str) -> str:
        node = self._next_id("loop")
        start = f"{node}start"
        step = self.rng.choice((1, 2, 0.5))
        initial = self.rng.choice((0, 1, 0.5))
        limit = self.rng.choice((2, 3, 4))
        body = Scope([*scope.values, Var((node, "n"), NUMBER)], ("loop", node))
        self._node(
            "loop-start",
            {"type": "loop-start", "title": "", "isInLoop": True},
            body,
            fixed_id=start,
        )
        items: list[dict[str, Any]] = [
            {
                "variable_selector": [node, "n"],
                "operation": "+=",
                "input_type": "constant",
                "value": step,
            }
        ]
        if self.rng.random() < 0.3:
            items.append(
                {
                    "variable_selector": [node, "log"],
                    "operation": "append",
                    "input_type": "variable",
                    "value": [node, "n"],
                }
            )
        if self.rng.random() < 0.2:
            items.append(
                {
                    "variable_selector": [node, "n"],
                    "operation": "clear",
                    "input_type": "variable",
                    "value": None,
                }
            )
        assigner = self._node(
            "assign", {"type": "assigner", "title": "Assign", "version": "2", "items": items}, body
        )
        self._edge(start, assigner, body)
        self._node(
            "loop",
            {
                "type": "loop",
                "title": "Loop",
                "start_node_id": start,
                "loop_count": self.rng.randint(3, 6),
                "logical_operator": "and",
                "break_conditions": [
                    {
                        "variable_selector": [node, "n"],
                        "comparison_operator": "≥",
                        "value": str(limit),
                        "varType": NUMBER,
                    }
                ],
                "loop_variables": [
                    _loop_variable("n", NUMBER, initial),
                    # Dify reads an array constant as JSON text (a list it drops for []).
                    _loop_variable("log", ARRAY_NUMBER, "[]"),
                ],
            },
            scope,
            fixed_id=node,
        )
        self._edge(tail, node, scope)
        scope.values += [Var((node, "n"), NUMBER), Var((node, "log"), ARRAY_NUMBER)]
        return node

    # --- plumbing -----------------------------------------------------------------------

    def _arrays(self, scope: Scope) -> list[Var]:
        return [v for v in scope.values if v.type in (ARRAY_STRING, ARRAY_NUMBER)]

    def _pick(self, scope: Scope, types: tuple[str, ...], k: int) -> list[Var]:
        found = [v for v in scope.values if v.type in types]
        if not found:
            found = [v for v in scope.values if v.type in (STRING, NUMBER)]
        return [self.rng.choice(found) for _ in range(k)]

    def _next_id(self, kind: str) -> str:
        self._count += 1
        return f"{kind.replace('-', '_')}{self._count}"

    def _node(
        self, kind: str, data: dict[str, Any], scope: Scope, fixed_id: str | None = None
    ) -> str:
        node_id = fixed_id or self._next_id(kind)
        node: dict[str, Any] = {"id": node_id, "type": "custom", "data": data}
        if scope.parent:
            container, parent = scope.parent
            node["parentId"] = parent
            flag = "isInIteration" if container == "iteration" else "isInLoop"
            data[flag] = True
            data[f"{container}_id"] = parent
        self.flow.nodes.append(node)
        return node_id

    def _edge(self, source: str, target: str, scope: Scope, handle: str = "source") -> None:
        data: dict[str, Any] = {}
        if scope.parent:
            container, parent = scope.parent
            data = {
                "isInIteration" if container == "iteration" else "isInLoop": True,
                f"{container}_id": parent,
            }
        self.flow.edges.append(
            {
                "id": f"{source}-{handle}-{target}",
                "source": source,
                "sourceHandle": handle,
                "target": target,
                "targetHandle": "target",
                "type": "custom",
                "data": data,
            }
        )


def _input(name: str, kind: str) -> dict[str, Any]:
    return {"variable": name, "label": name, "type": kind, "required": True, "options": []}


def _loop_variable(label: str, var_type: str, value: Any) -> dict[str, Any]:
    return {"label": label, "var_type": var_type, "value_type": "constant", "value": value}


def _template_of(template: str, *variables: tuple[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "type": "template-transform",
        "title": "Template",
        "template": template,
        "variables": [{"variable": n, "value_selector": list(s)} for n, s in variables],
    }


def generate(seed: int) -> Workflow:
    """The workflow of `seed`."""
    return Generator(seed).build()


def dump(flow: Workflow) -> str:
    return json.dumps({"seed": flow.seed, "inputs": flow.inputs}) + "\n" + flow.yaml()
