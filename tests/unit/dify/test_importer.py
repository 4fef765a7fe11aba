"""Importing Dify documents: the mapping onto the model, and every kind of refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.model import dify_environment
from functions.core.model.dify_format import import_document
from functions.core.model.workflow import Draft, ErrorStrategy, NodeType, RetryPolicy
from tests.unit.dify.support import END, START, dify_edge, dify_node, dsl


def refused(text: str) -> list[Problem]:
    with pytest.raises(InvalidWorkflow) as caught:
        import_document(text)
    assert caught.value.problems
    return caught.value.problems


def reasons(text: str) -> list[str]:
    return [str(p) for p in refused(text)]


# --- what imports, and how it maps ---------------------------------------------------------


def test_a_dsl_becomes_a_draft_with_its_start_as_entry() -> None:
    draft = import_document(dsl())

    assert draft.name == "demo"
    assert draft.description == "a demo"
    assert draft.source == "dify"
    assert draft.entry == "1711"
    start, end = draft.graph.nodes
    assert (start.id, start.type, start.title) == ("1711", NodeType.START, "Start")
    # Layout and identity fields are not config.
    assert start.config == {
        "variables": [
            {"variable": "query", "label": "query", "type": "text-input", "required": True}
        ]
    }
    assert end.config == {"outputs": [{"variable": "answer", "value_selector": ["1711", "query"]}]}
    [edge] = draft.graph.edges
    assert (edge.source, edge.target, edge.source_handle) == ("1711", "1712", None)
    assert draft.document["format"] == "dify"
    assert draft.document["version"] == "0.3.1"
    assert draft.document["app"]["mode"] == "workflow"


def test_a_draft_json_and_a_bare_graph_import_too() -> None:
    graph = {"nodes": [START, END], "edges": [dify_edge("1711", "1712")]}
    from_draft = import_document(json.dumps({"graph": graph, "environment_variables": []}))
    from_graph = import_document(json.dumps(graph))

    assert from_draft.graph == from_graph.graph == import_document(dsl()).graph
    assert from_draft.name == "Imported Dify workflow"
    assert from_draft.document["version"] is None


def test_numeric_ids_from_unquoted_yaml_become_text() -> None:
    text = dsl().replace("'1711'", "1711").replace("'1712'", "1712")
    assert "- '1711'" not in text

    draft = import_document(text)

    assert [n.id for n in draft.graph.nodes] == ["1711", "1712"]
    assert draft.graph.edges[0].source == "1711"


def test_notes_are_skipped_with_their_edges() -> None:
    note = {"id": "n1", "type": "custom-note", "data": {"type": "", "text": "remember"}}
    empty = dify_node("n2", "", "note")
    edges = [dify_edge("1711", "1712"), dify_edge("n1", "1712")]

    draft = import_document(dsl([START, note, empty, END], edges))

    assert [n.id for n in draft.graph.nodes] == ["1711", "1712"]
    assert len(draft.graph.edges) == 1


def test_handles_are_kept_and_source_means_unconditional() -> None:
    branch = dify_node(
        "if",
        "if-else",
        cases=[
            {
                "case_id": "c1",
                "logical_operator": "and",
                "conditions": [
                    {
                        "variable_selector": ["1711", "query"],
                        "comparison_operator": "contains",
                        "value": "x",
                    }
                ],
            }
        ],
    )
    nodes = [START, branch, END, dify_node("e2", "end", outputs=[])]
    edges = [
        dify_edge("1711", "if"),
        dify_edge("if", "1712", "c1"),
        dify_edge("if", "e2", "false"),
        # The same connection saved twice, under another id: one edge is the connection.
        {**dify_edge("if", "e2", "false"), "id": "again"},
    ]

    draft = import_document(dsl(nodes, edges))

    assert [(e.source, e.target, e.source_handle) for e in draft.graph.edges] == [
        ("1711", "if", None),
        ("if", "1712", "c1"),
        ("if", "e2", "false"),
    ]


def test_two_edges_with_one_id_are_refused_naming_both() -> None:
    edges = [dify_edge("1711", "1712"), {**dify_edge("1711", "1713"), "id": "1711-source-1712"}]
    nodes = [START, END, dify_node("1713", "end", outputs=[])]

    with pytest.raises(InvalidWorkflow) as refused:
        import_document(dsl(nodes, edges))

    assert (
        Problem("graph.edges[1]", "duplicate edge id '1711-source-1712' (also graph.edges[0])")
        in refused.value.problems
    )


def test_node_policies_map_onto_the_node() -> None:
    llm = dify_node(
        "llm",
        "llm",
        "Ask",
        model={"provider": "openai", "name": "gpt-4o", "mode": "chat"},
        prompt_template=[{"role": "user", "text": "hi"}],
        error_strategy="default-value",
        default_value=[
            {"key": "text", "type": "string", "value": "sorry"},
            {"key": "usage", "type": "object", "value": '{"total_tokens": 0}'},
            {"key": "score", "type": "number", "value": "0.5"},
        ],
        retry_config={"retry_enabled": True, "max_retries": 3, "retry_interval": 1500},
        timeout=12.5,
    )
    http = dify_node(
        "http",
        "http-request",
        url="https://example.com",
        authorization={"type": "no-auth"},
        error_strategy="fail-branch",
        retry_config={
            "enabled": True,
            "max_retries": 2,
            "retry_interval": 1000,
            "exponential_backoff": {"enabled": True, "multiplier": 3},
        },
        timeout={"connect": 10, "read": 30},
    )
    edges = [dify_edge("1711", "llm"), dify_edge("llm", "http"), dify_edge("http", "1712")]

    draft = import_document(dsl([START, llm, http, END], edges))

    node = draft.graph.node("llm")
    assert node.title == "Ask"
    assert node.error_strategy is ErrorStrategy.DEFAULT_VALUE
    assert node.default_outputs == {"text": "sorry", "usage": {"total_tokens": 0}, "score": 0.5}
    assert node.retry == RetryPolicy(max_retries=3, interval_seconds=1.5)
    assert node.timeout_seconds == 13
    for key in ("error_strategy", "default_value", "retry_config", "title", "type"):
        assert key not in node.config
    other = draft.graph.node("http")
    assert other.error_strategy is ErrorStrategy.FAIL_BRANCH
    assert other.retry == RetryPolicy(max_retries=2, interval_seconds=1, backoff_rate=3)
    # An HTTP node's timeout is its config, not the node's time limit.
    assert other.timeout_seconds is None
    assert other.config["timeout"] == {"connect": 10, "read": 30}


def test_disabled_retry_and_none_strategy_leave_the_node_plain() -> None:
    llm = dify_node(
        "llm",
        "llm",
        prompt_template=[{"role": "user", "text": "hi"}],
        error_strategy="none",
        retry_config={"retry_enabled": False, "max_retries": 3, "retry_interval": 100},
    )
    draft = import_document(
        dsl([START, llm, END], [dify_edge("1711", "llm"), dify_edge("llm", "1712")])
    )

    node = draft.graph.node("llm")
    assert (node.retry, node.error_strategy, node.default_outputs) == (None, None, {})


def iteration(start: bool) -> list[dict[str, Any]]:
    container = dify_node(
        "it",
        "iteration",
        iterator_selector=["1711", "items"],
        output_selector=["body", "output"],
        start_node_id="itstart" if start else "body",
    )
    body = dify_node(
        "body", "template-transform", template="x", isInIteration=True, iteration_id="it"
    )
    nodes = [START, container, body, END]
    if start:
        marker = {
            "id": "itstart",
            "type": "custom-iteration-start",
            "parentId": "it",
            "data": {"type": "iteration-start", "title": "", "isInIteration": True},
        }
        nodes.append(marker)
    return nodes


def test_iteration_bodies_have_parents_and_start_markers() -> None:
    edges = [
        dify_edge("1711", "it"),
        dify_edge("it", "1712"),
        dify_edge("itstart", "body"),
    ]

    draft = import_document(dsl(iteration(start=True), edges))

    assert draft.graph.node("body").parent == "it"
    assert "iteration_id" not in draft.graph.node("body").config
    marker = draft.graph.node("itstart")
    assert (marker.type, marker.parent) == (NodeType.ITERATION_START, "it")


def test_an_old_iteration_without_start_marker_gets_one() -> None:
    edges = [dify_edge("1711", "it"), dify_edge("it", "1712")]

    draft = import_document(dsl(iteration(start=False), edges))

    marker = draft.graph.node("itstart")
    assert (marker.type, marker.parent) == (NodeType.ITERATION_START, "it")
    assert any(e.source == "itstart" and e.target == "body" for e in draft.graph.edges)


def test_the_old_variable_assigner_is_the_aggregator() -> None:
    node = dify_node("agg", "variable-assigner", variables=[["1711", "query"]], output_type="any")
    edges = [dify_edge("1711", "agg"), dify_edge("agg", "1712")]

    draft = import_document(dsl([START, node, END], edges))

    assert draft.graph.node("agg").type is NodeType.VARIABLE_AGGREGATOR


@pytest.mark.parametrize("version", ["0.1.0", "0.1.5", "0.3.1", "0.5.0", "0.6.0"])
def test_every_supported_version_imports(version: str) -> None:
    assert isinstance(import_document(dsl(version=version)), Draft)


def test_a_dsl_without_version_is_read_as_the_first_one() -> None:
    document = yaml.safe_load(dsl())
    del document["version"]

    assert import_document(yaml.safe_dump(document)).document["version"] == "0.1.0"


# --- environment variables and their secrets ----------------------------------------------

ENVIRONMENT = [
    {"name": "API_BASE", "value_type": "string", "value": "https://api.example.com"},
    {"name": "LIMIT", "value_type": "number", "value": 5},
    {"name": "API_KEY", "value_type": "secret", "value": "sk-very-secret", "id": "v3"},
]


def test_secret_values_are_kept_apart_and_never_shown() -> None:
    draft = import_document(dsl(environment=ENVIRONMENT))

    shown = dify_environment.public_document(draft.document)
    assert "sk-very-secret" not in json.dumps(shown)
    assert shown["environment_variables"][2] == {
        "name": "API_KEY",
        "value_type": "secret",
        "value": dify_environment.HIDDEN,
        "id": "v3",
    }
    # The secret lives only under `secrets`, which the public view drops.
    stored = dict(draft.document)
    assert stored.pop("secrets") == {"API_KEY": "sk-very-secret"}
    assert "sk-very-secret" not in json.dumps(stored)
    assert dify_environment.environment_values(draft.document) == {
        "API_BASE": "https://api.example.com",
        "LIMIT": 5,
        "API_KEY": "sk-very-secret",
    }


def test_bad_environment_variables_are_each_named() -> None:
    bad = [
        {"name": "1st", "value_type": "string", "value": "x"},
        {"name": "COUNT", "value_type": "number", "value": "five"},
        {"name": "MODE", "value_type": "enum", "value": "x"},
        {"name": "TOKEN", "value_type": "secret", "value": {"nested": True}},
        {"name": "DUP", "value_type": "string", "value": "a"},
        {"name": "DUP", "value_type": "string", "value": "b"},
        "not an object",
    ]

    found = reasons(dsl(environment=bad))

    assert found == [
        "environment_variables[0]: name '1st' must be letters, digits and _ (not first a digit)",
        "environment variable 'COUNT': a number variable needs a number value",
        "environment variable 'MODE': value_type 'enum' must be one of "
        "['number', 'secret', 'string']",
        "environment variable 'TOKEN': a secret variable needs a text value",
        "environment variable 'DUP': is declared twice",
        "environment_variables[6]: must be an object with name, value_type and value",
    ]


# --- refusals ----------------------------------------------------------------------------


def test_malformed_yaml_is_refused_with_its_line() -> None:
    text = "version: 0.3.1\nkind: app\napp:\n  name: [unclosed\n  mode: workflow\n"

    [problem] = refused(text)

    assert problem.where == "line 5"
    assert problem.reason.startswith("invalid YAML:")


def test_malformed_json_is_refused_with_its_line() -> None:
    [problem] = refused('{"graph": {\n  "nodes": [,]\n}}')

    assert problem.where == "line 2"
    assert problem.reason.startswith("invalid JSON: Expecting value")


@pytest.mark.parametrize("mode", ["chat", "advanced-chat", "agent-chat", "completion"])
def test_chat_mode_apps_are_refused(mode: str) -> None:
    assert reasons(dsl(mode=mode)) == [
        f"app.mode: is '{mode}': chat-mode apps are not supported; export a workflow-mode app"
    ]


@pytest.mark.parametrize("version", ["0.0.9", "0.7.0", "1.0.0", "latest", 0.3])
def test_unsupported_versions_are_refused(version: Any) -> None:
    assert reasons(dsl(version=version)) == [
        f"version: Dify DSL version {version!r} is not supported; "
        "Stepcanvas imports versions 0.1.x to 0.6.x"
    ]


def test_unsupported_node_types_are_all_listed_with_id_and_title() -> None:
    nodes = [
        START,
        dify_node("a1", "agent", "Agent"),
        dify_node("k1", "knowledge-retrieval", "Knowledge"),
        dify_node("d1", "document-extractor", "Extract"),
        END,
    ]
    edges = [dify_edge("1711", "a1"), dify_edge("a1", "1712")]

    assert reasons(dsl(nodes, edges)) == [
        "node 'a1' (Agent): node type 'agent' is not supported",
        "node 'k1' (Knowledge): node type 'knowledge-retrieval' is not supported",
        "node 'd1' (Extract): node type 'document-extractor' is not supported",
    ]


def test_a_known_type_without_a_node_function_is_not_supported_yet() -> None:
    nodes = [START, dify_node("p1", "parameter-extractor", "Params"), END]
    supported = {NodeType.START, NodeType.END}

    with pytest.raises(InvalidWorkflow) as caught:
        import_document(dsl(nodes, []), supported)

    assert str(caught.value) == (
        "node 'p1' (Params): node type 'parameter-extractor' is not supported yet"
    )


def test_every_problem_is_reported_at_once() -> None:
    nodes = [
        START,
        dify_node("a1", "agent", "Agent"),
        dify_node("r1", "llm", "Retry", retry_config={"retry_enabled": True, "max_retries": 99}),
        dify_node("s1", "llm", "Strategy", error_strategy="explode"),
        "junk",
        {"id": "t1", "data": {"type": ["llm"], "title": "Typed"}},
        END,
    ]
    edges = [{"source": "1711"}]

    found = reasons(dsl(nodes, edges, version="9.9.9", environment=[{"name": "bad name"}]))

    assert found == [
        "version: Dify DSL version '9.9.9' is not supported; Stepcanvas imports versions "
        "0.1.x to 0.6.x",
        "node 'a1' (Agent): node type 'agent' is not supported",
        "node 'r1' (Retry): retry_config: max_retries: Input should be less than or equal to 10",
        "node 's1' (Strategy): error_strategy 'explode' must be fail-branch or default-value",
        "graph.nodes[4]: must be an object with an id",
        "node 't1' (Typed): data.type must name the node type",
        "graph.edges[0]: must have a source and a target",
        "environment_variables[0]: name 'bad name' must be letters, digits and _ "
        "(not first a digit)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "document: is empty"),
        ("   \n", "document: is empty"),
        ("- a\n- b\n", "document: must be a mapping (a Dify DSL or graph)"),
        ("just text", "document: must be a mapping (a Dify DSL or graph)"),
        (
            "name: x\n",
            "document: is not a Dify document: expected a DSL (kind, app, workflow) "
            "or a graph (nodes, edges)",
        ),
        ("kind: app\napp: 3\n", "app: must be an object with name and mode"),
        ("kind: app\napp: {mode: workflow}\n", "workflow: must be an object with a graph"),
        (
            "kind: app\napp: {mode: workflow}\nworkflow: {graph: []}\n",
            "workflow.graph: must be an object",
        ),
        ("kind: app\napp: {mode: pipeline}\n", "app.mode: is 'pipeline'; expected 'workflow'"),
        ('{"nodes": 3, "edges": []}', "graph.nodes: must be a list"),
        ('{"nodes": [], "edges": []}', "nodes: a workflow needs at least one node"),
    ],
)
def test_documents_that_are_not_workflows_are_refused(text: str, expected: str) -> None:
    if expected == "nodes: a workflow needs at least one node":
        # An empty graph imports; saving it (validation) is what refuses it.
        assert import_document(text).graph.nodes == []
        return
    assert reasons(text) == [expected]


def test_only_text_is_read() -> None:
    with pytest.raises(InvalidWorkflow, match="document: must be text"):
        import_document(b"version: 0.3.1")  # type: ignore[arg-type]


def test_kind_other_than_app_is_refused() -> None:
    assert "kind: is 'dataset'; only app documents can be imported" in reasons(dsl(kind="dataset"))


def test_a_graph_needs_one_start() -> None:
    assert reasons(dsl([END], [])) == ["nodes: no start node"]
    second = dify_node("s2", "start", variables=[])
    assert reasons(dsl([START, second, END], [])) == [
        "nodes: has 2 start nodes; a workflow has one"
    ]


def test_yaml_aliases_are_refused_so_nothing_can_expand() -> None:
    laughs = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"

    [problem] = refused(laughs)

    assert problem.where == "line 2"
    assert "aliases (*name) are not allowed" in problem.reason


def test_deep_nesting_is_refused() -> None:
    assert reasons("[" * 100_000 + "]" * 100_000)[0].startswith("document:")
    assert reasons('{"a":' * 100_000 + "1" + "}" * 100_000) == [
        "document: is nested deeper than 64 levels of arrays and objects"
    ]


def test_yaml_only_types_become_json_values() -> None:
    text = dsl().replace("a demo", "2024-01-02") + "extra: !!binary aGk=\n"

    draft = import_document(text)

    json.dumps(draft.document)  # everything stored is JSON
    assert draft.description == "2024-01-02"


# --- nothing crashes the importer ---------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_KEYS = st.sampled_from(
    [
        "app",
        "workflow",
        "graph",
        "nodes",
        "edges",
        "data",
        "type",
        "id",
        "source",
        "target",
        "mode",
        "version",
        "kind",
        "parentId",
        "title",
        "retry_config",
        "error_strategy",
        "default_value",
        "environment_variables",
        "value_type",
        "name",
        "value",
        "sourceHandle",
    ]
) | st.text(max_size=5)
_TYPES = st.sampled_from(
    [
        "start",
        "end",
        "llm",
        "if-else",
        "iteration",
        "iteration-start",
        "custom-note",
        "agent",
        "workflow",
        "chat",
        "0.3.1",
        "fail-branch",
        "default-value",
        "secret",
        "number",
        "",
    ]
)
_VALUES = st.recursive(
    _SCALARS | _TYPES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=5),
    max_leaves=30,
)


def _never_crashes(text: str) -> None:
    try:
        draft = import_document(text)
    except InvalidWorkflow as exc:
        assert exc.problems
        return
    assert isinstance(draft, Draft)
    json.dumps(draft.document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_any_structure_imports_or_is_refused(document: dict[str, Any]) -> None:
    _never_crashes(json.dumps(document))
    _never_crashes(yaml.safe_dump(document))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_imports_or_is_refused(text: str) -> None:
    _never_crashes(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=5), max_size=5))
def test_any_nodes_in_a_real_envelope_import_or_are_refused(nodes: list[Any]) -> None:
    _never_crashes(dsl([START, *nodes, END], [dify_edge("1711", "1712")]))
