"""Validation at save time: every problem at once, each naming its node or edge."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.model.v1_format import V1Edge, V1Node, to_graph
from functions.core.model.workflow import Edge, Graph, Node, NodeType
from functions.core.services.definitions import build_definition
from functions.core.settings import get_settings

pytestmark = pytest.mark.usefixtures("deploy_env")

TOOL_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stepcanvas-tool-"


def node(node_id: str, kind: str = "ai-generate", **config: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "ai-generate": {"prompt": "p"},
        "tool-call": {"tool": "echo"},
        "http-request": {"url": "https://example.com"},
        "condition": {"expression": "1 == 1"},
        "email-send": {"to": "ops@example.com", "subject": "s"},
    }
    return {"id": node_id, "type": kind, "config": config or defaults.get(kind, {})}


def edge(source: str, target: str, condition: str | None = None) -> dict[str, Any]:
    return {"from": source, "to": target, **({"condition": condition} if condition else {})}


def build(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    graph, entry, known = to_graph(
        [V1Node.model_validate(n) for n in nodes], [V1Edge.model_validate(e) for e in edges]
    )
    return build_definition(graph, entry, known)


def problems(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[Problem]:
    with pytest.raises(InvalidWorkflow) as caught:
        build(nodes, edges)
    found = caught.value.problems
    assert found, "InvalidWorkflow must carry at least one problem"
    assert str(caught.value) == "; ".join(str(p) for p in found)
    return found


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# --- a sound document passes -------------------------------------------------------------


def test_spec_example_is_valid() -> None:
    # The spec's `iot_get_all_devices` is no built-in tool: here it is a registered Lambda
    # tool (tests/unit/core/test_save_checks.py shows the spec's own name refused).
    definition = build(
        [
            node("fetch", "tool-call", tool=f"{TOOL_ARN}iot_get_all_devices", input={}),
            node("analyze", "ai-generate", prompt="分析设备数据:{{fetch.result}}"),
            node(
                "notify",
                "email-send",
                to="ops@example.com",
                subject="巡检报告",
                body="{{analyze.result}}",
            ),
        ],
        [edge("fetch", "analyze"), edge("analyze", "notify")],
    )
    assert definition["States"][definition["StartAt"]]["Type"] == "Task"  # the first node


def test_references_to_ancestors_and_reserved_roots_are_accepted() -> None:
    build(
        [
            node("a", prompt="{{trigger.data.building}} {{sys.run_id}} {{env.REGION}}"),
            node("c", "condition", expression="{{a.result}} contains 'x'"),
            node("b", prompt="{{#a.result#}} {{c.result}}"),
            node("d", "tool-call", tool="echo", input={"deep": ["{{a.result}}", {"x": "{{b.r}}"}]}),
        ],
        [edge("a", "c"), edge("c", "b", "true"), edge("b", "d")],
    )


# --- each kind of problem ---------------------------------------------------------------


def test_unknown_node_type() -> None:
    found = only(problems([node("a"), node("b", "frobnicate")], [edge("a", "b")]))
    assert found.where == "node 'b'"
    assert "unknown type 'frobnicate'" in found.reason
    assert "ai-generate" in found.reason  # it lists what is accepted


def test_duplicate_id() -> None:
    found = only(problems([node("a"), node("b"), node("b")], [edge("a", "b")]))
    assert found.where == "node 'b'"
    assert found.reason == "id is used by 2 nodes"


@pytest.mark.parametrize(
    ("edges", "where", "ghost"),
    [
        ([edge("a", "ghost")], "edge a->ghost", "ghost"),
        ([edge("a", "b"), edge("ghost", "b")], "edge ghost->b", "ghost"),
    ],
)
def test_dangling_edge(edges: list[dict[str, Any]], where: str, ghost: str) -> None:
    nodes = [node("a"), node("b")] if len(edges) == 2 else [node("a")]
    found = only(problems(nodes, edges))
    assert found.where == where
    assert found.reason == f"refers to unknown node '{ghost}'"


def test_condition_on_edge_from_non_condition_node() -> None:
    found = only(problems([node("a"), node("b")], [edge("a", "b", "true")]))
    assert found.where == "edge a->b [true]"
    assert "'a' is not a condition node" in found.reason


def test_edge_leaving_condition_node_without_condition() -> None:
    found = only(problems([node("c", "condition"), node("b")], [edge("c", "b")]))
    assert found.where == "edge c->b"
    assert found.reason == "leaves condition node 'c' without a condition"


def test_condition_edge_with_unknown_handle() -> None:
    # The v1 document only allows "true"/"false"; the internal model is checked too.
    graph = Graph(
        nodes=[
            Node(id="c", type=NodeType.IF_ELSE, config={"expression": "1 == 1"}),
            Node(id="b", type=NodeType.LLM, config={"prompt": "p"}),
        ],
        edges=[Edge(source="c", target="b", source_handle="maybe")],
    )
    with pytest.raises(InvalidWorkflow) as caught:
        build_definition(graph, "c")
    found = only(caught.value.problems)
    assert found.where == "edge c->b [maybe]"
    assert found.reason == "condition 'maybe' is not one of ['false', 'true']"


def test_cycle_names_exactly_the_nodes_on_it() -> None:
    found = problems(
        [node("a"), node("b"), node("c"), node("d")],
        [edge("a", "b"), edge("b", "c"), edge("c", "b"), edge("c", "d")],
    )
    cycle = [p for p in found if "cycle" in p.reason]
    assert [str(p) for p in cycle] == ["nodes b, c: form a cycle"]  # not a, not d (downstream)


def test_self_loop_is_a_cycle() -> None:
    found = only(problems([node("a"), node("b")], [edge("a", "b"), edge("b", "b")]))
    assert str(found) == "nodes b: form a cycle"


def test_edge_back_into_first_node() -> None:
    found = problems([node("a"), node("b")], [edge("a", "b"), edge("b", "a")])
    assert Problem("node 'a'", "the first node must not have incoming edges") in found


def test_unreachable_node() -> None:
    found = problems(
        [node("a"), node("b"), node("island"), node("shore")],
        [edge("a", "b"), edge("island", "shore")],
    )
    assert {str(p) for p in found} == {
        "node 'island': is unreachable from 'a'",
        "node 'shore': is unreachable from 'a'",
    }


def test_empty_workflow() -> None:
    assert str(only(problems([], []))) == "nodes: a workflow needs at least one node"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (node("h", "http-request", method="GET"), "url"),
        (node("h", "http-request", url=""), "url"),
        (node("h", "http-request", url="https://x", method="FETCH"), "method"),
        (node("h", "http-request", url="https://x", timeout=0), "timeout"),
        (node("h", "ai-generate", system="s"), "prompt"),
        (node("h", "ai-generate", prompt="p", temperature=5), "temperature"),
        (node("h", "tool-call", input={}), "tool"),
        (node("h", "email-send", to="a@b.c"), "subject"),
        (node("h", "email-send", subject="s"), "to"),
        (node("h", "condition", other=1), "expression"),
    ],
)
def test_missing_or_bad_required_config(spec: dict[str, Any], field: str) -> None:
    found = only(problems([spec], []))
    assert found.where == "node 'h'"
    assert found.reason.startswith("config")
    assert field in found.reason


def test_model_level_config_errors_are_formatted_without_a_dangling_dot() -> None:
    found = only(problems([node("h", "ai-generate", system="s")], []))
    assert not found.reason.startswith("config.:"), found.reason


def test_http_request_without_url_mentions_config_url() -> None:
    found = only(problems([node("a"), node("h", "http-request", method="GET")], [edge("a", "h")]))
    assert str(found) == "node 'h': config.url: Field required"


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("{{a.result}} equals 1", "unknown operator 'equals'"),
        ("({{a.result}} == 1", "missing ')'"),
        ("{{a.result}} == 1 and", "ends too early"),
        ("", "condition expression is empty"),
    ],
)
def test_bad_condition_expression(expression: str, detail: str) -> None:
    found = only(
        problems([node("a"), node("c", "condition", expression=expression)], [edge("a", "c")])
    )
    assert found.where == "node 'c'"
    assert found.reason.startswith("config.expression:")
    assert detail in found.reason


def test_reference_to_unknown_node() -> None:
    found = only(problems([node("a", prompt="see {{ghost.result}}")], []))
    assert str(found) == "node 'a': references unknown node 'ghost'"


def test_reference_to_unknown_node_in_condition() -> None:
    found = only(problems([node("c", "condition", expression="{{ghost.ok}} == true")], []))
    assert str(found) == "node 'c': references unknown node 'ghost'"


def test_reference_to_downstream_node() -> None:
    found = only(problems([node("a", prompt="{{b.result}}"), node("b")], [edge("a", "b")]))
    assert str(found) == "node 'a': references 'b.result' but 'b' does not run before it"


def test_reference_to_sibling_declared_earlier_is_refused() -> None:
    # c is declared (and compiled) before b, but nothing orders c before b.
    found = only(
        problems(
            [node("a"), node("c"), node("b", prompt="{{#c.text#}}")],
            [edge("a", "b"), edge("a", "c")],
        )
    )
    assert str(found) == "node 'b': references 'c.text' but 'c' does not run before it"


def test_reference_to_itself_is_refused() -> None:
    found = only(problems([node("a", prompt="{{a.result}}")], []))
    assert "'a' does not run before it" in found.reason


def test_reference_nested_in_tool_input() -> None:
    found = only(
        problems(
            [node("a"), node("t", "tool-call", tool="echo", input={"q": ["ok", {"v": "{{z.w}}"}]})],
            [edge("a", "t")],
        )
    )
    assert str(found) == "node 't': references unknown node 'z'"


# --- limits ------------------------------------------------------------------------------


def chain(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [node(f"n{i}") for i in range(count)]
    return nodes, [edge(f"n{i}", f"n{i + 1}") for i in range(count - 1)]


def test_node_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _reconfigure(monkeypatch, MAX_NODES="3")
    build(*chain(3))  # at the limit: fine
    found = only(problems(*chain(4)))
    assert str(found) == "nodes: 4 nodes exceed the limit of 3"


def test_edge_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    _reconfigure(monkeypatch, MAX_EDGES="2")
    build(*chain(3))  # 2 edges: fine
    found = only(problems(*chain(4)))
    assert str(found) == "edges: 3 edges exceed the limit of 2"


def test_default_limits_allow_500_nodes() -> None:
    build(*chain(500))
    assert "501 nodes exceed the limit of 500" in str(only(problems(*chain(501))))


def test_graph_over_the_limit_is_refused_quickly() -> None:
    count = 3000
    nodes = [node(f"n{i}") for i in range(count)]
    edges = [edge(f"n{i}", f"n{(i + 1) % count or 1}") for i in range(count)]
    with _deadline(1.0), pytest.raises(InvalidWorkflow) as caught:
        build(nodes, edges)
    assert "3000 nodes exceed the limit of 500" in str(caught.value)


# --- every problem at once ------------------------------------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    found = problems(
        [
            node("a"),
            node("b", "http-request", method="GET"),
            node("c", prompt="{{d.result}}"),
            node("d"),
            node("lost"),
        ],
        [edge("a", "ghost"), edge("a", "b"), edge("a", "c", "true"), edge("a", "d")],
    )
    assert {str(p) for p in found} == {
        "edge a->ghost: refers to unknown node 'ghost'",
        "edge a->c [true]: has condition 'true' but 'a' is not a condition node",
        "node 'lost': is unreachable from 'a'",
        "node 'b': config.url: Field required",
        "node 'c': references 'd.result' but 'd' does not run before it",
    }


def test_over_the_limit_only_the_limit_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # A document over the size limits is refused before the costlier structure checks.
    _reconfigure(monkeypatch, MAX_NODES="2")
    found = problems([node("a"), node("a"), node("c", "condition")], [edge("c", "a")])
    assert [str(p) for p in found] == ["nodes: 3 nodes exceed the limit of 2"]


def test_unknown_type_does_not_hide_other_problems() -> None:
    found = problems(
        [node("a"), node("b", "frobnicate"), node("h", "http-request", method="GET")],
        [edge("a", "b"), edge("a", "h"), edge("a", "ghost")],
    )
    assert len(found) >= 3


# --- helpers ---------------------------------------------------------------------------------


def _reconfigure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()  # deploy_env clears it again afterwards


class _Timeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise _Timeout(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_problem_where_always_names_node_edge_or_field() -> None:
    found = problems(
        [node("a"), node("a"), node("c", "condition", expression="bad bad")],
        [edge("a", "zz"), edge("c", "a")],
    )
    pattern = re.compile(r"^(node '[^']+'|nodes .+|edge \S+->\S+( \[\w+\])?|nodes|edges)$")
    assert all(pattern.match(p.where) for p in found), [p.where for p in found]
