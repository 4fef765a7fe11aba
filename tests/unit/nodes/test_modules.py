"""The module catalogue: one module per drawable node type and per trigger, whose schemas
accept and refuse what the config models do, whose handles agree with validation and whose
outputs are what the nodes really return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from functions.core.errors import InvalidWorkflow
from functions.core.model import dify_graph
from functions.core.model.trigger import Trigger, TriggerType, problems
from functions.core.model.validation import validate_graph
from functions.core.model.workflow import (
    BODY_START_TYPES,
    BRANCHING_TYPES,
    CONTAINER_TYPES,
    FAIL_BRANCH_HANDLE,
    Edge,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
)
from functions.nodes.answer.node import run as run_answer
from functions.nodes.assigner.node import run as run_assigner
from functions.nodes.catalog import NODES
from functions.nodes.entities import NodeConfig, NodeResult
from functions.nodes.if_else.node import run as run_if_else
from functions.nodes.list_operator.node import run as run_list_operator
from functions.nodes.llm.node import run as run_llm
from functions.nodes.modules import (
    SOURCE_HANDLE,
    TRIGGER_MODULE_TYPES,
    Category,
    Module,
    module_list,
    modules,
)
from functions.nodes.parameter_extractor.node import run as run_parameter_extractor
from functions.nodes.question_classifier.node import run as run_question_classifier
from functions.nodes.variable_aggregator.node import run as run_variable_aggregator
from tests.unit.nodes.support import context

MODEL = {"provider": "openai", "name": "gpt-4o", "mode": "chat", "completion_params": {}}

# Per module type: a config its model accepts, and one it refuses for a value of the
# wrong type or shape (None: the module has no field to get wrong). The valid ones read
# `fetch`, which the pool of support.context holds, so some of them also run below.
SAMPLES: dict[str, tuple[Any, Any]] = {
    "start": (
        {"variables": [{"variable": "city", "label": "City", "required": True}]},
        {"variables": [{"variable": 5}]},
    ),
    "llm": (
        {
            "model": MODEL,
            "prompt_template": [
                {"role": "system", "text": "Be brief."},
                {"role": "user", "text": "Weather in {{#fetch.result.site#}}?"},
            ],
        },
        {"prompt": "hi", "temperature": "hot"},
    ),
    "parameter-extractor": (
        {
            "model": MODEL,
            "query": ["fetch", "result", "site"],
            "parameters": [{"name": "site", "type": "string", "required": True}],
        },
        {"query": ["fetch", "result", "site"], "parameters": "site"},
    ),
    "question-classifier": (
        {
            "model": MODEL,
            "query_variable_selector": ["fetch", "result", "site"],
            "classes": [{"id": "1", "name": "A"}, {"id": "2", "name": "B"}],
        },
        {"query_variable_selector": ["fetch", "site"], "classes": [{"id": ["1"]}]},
    ),
    "if-else": (
        {
            "cases": [
                {
                    "case_id": "site-a",
                    "conditions": [
                        {
                            "variable_selector": ["fetch", "result", "site"],
                            "comparison_operator": "is",
                            "value": "A",
                        }
                    ],
                }
            ]
        },
        {"cases": [{"case_id": "site-a", "logical_operator": "xor"}]},
    ),
    "code": (
        {
            "code": "def main(site):\n    return {'site': site}\n",
            "variables": [{"variable": "site", "value_selector": ["fetch", "result", "site"]}],
            "outputs": {"site": {"type": "string"}},
        },
        {"code": "def main():\n    return {}\n", "outputs": {"site": {"type": "text"}}},
    ),
    "template-transform": (
        {
            "template": "Site {{ site }}",
            "variables": [{"variable": "site", "value_selector": ["fetch", "result", "site"]}],
        },
        {"template": ["Site"]},
    ),
    "variable-aggregator": (
        {"variables": [["missing", "text"], ["fetch", "result"]], "output_type": "object"},
        {"variables": "fetch.result"},
    ),
    "assigner": (
        {
            "items": [
                {
                    "variable_selector": ["fetch", "result", "site"],
                    "input_type": "constant",
                    "operation": "over-write",
                    "value": "B",
                }
            ]
        },
        {"items": [{"variable_selector": ["fetch", "result"], "operation": "times"}]},
    ),
    "list-operator": (
        {
            "variable": ["fetch", "result", "devices"],
            "order_by": {"enabled": True, "key": "temp", "value": "desc"},
            "limit": {"enabled": True, "size": 1},
        },
        {"variable": ["fetch", "result", "devices"], "limit": {"enabled": True, "size": "one"}},
    ),
    "http-request": (
        {"method": "POST", "url": "https://api.example.com/items", "body": {"a": 1}},
        {"url": "https://api.example.com/items", "query": {"page": 2}},
    ),
    "tool": (
        {
            "tool_name": "current_time",
            "tool_parameters": {"tz": {"type": "constant", "value": "UTC"}},
        },
        {"tool": "current_time", "input": "UTC"},
    ),
    "email-send": (
        {"to": ["ops@example.com"], "subject": "Alarm", "body": "Too hot"},
        {"to": "ops@example.com", "subject": "Alarm", "cc": "boss@example.com"},
    ),
    "iteration": (
        {
            "iterator_selector": ["fetch", "result", "devices"],
            "output_selector": ["body_llm", "text"],
            "is_parallel": True,
            "parallel_nums": 4,
        },
        {
            "iterator_selector": ["fetch", "result"],
            "output_selector": ["b", "t"],
            "parallel_nums": "4x",
        },
    ),
    "iteration-start": ({}, []),
    "loop": (
        {
            "loop_count": 5,
            "loop_variables": [{"label": "n", "var_type": "number", "value": 0}],
        },
        {"loop_count": "many"},
    ),
    "loop-start": ({}, []),
    "answer": ({"answer": "Site {{#fetch.result.site#}}"}, {"answer": {"text": "hi"}}),
    "end": (
        {"outputs": [{"variable": "site", "value_selector": ["fetch", "result", "site"]}]},
        {"outputs": [{"variable": "site", "value_selector": "fetch.result.site"}]},
    ),
    "trigger-manual": ({}, None),
    "trigger-schedule": ({"schedule": "0 9 * * 1-5", "timezone": "Europe/Berlin"}, {"schedule": 9}),
    "trigger-event": (
        {"event": "device.alarm", "filter": {"severity": ["high"]}},
        {"event": "device.alarm", "filter": ["severity"]},
    ),
    "trigger-s3": ({"prefix": "inbox/", "suffix": ".csv"}, {"suffix": "." + "x" * 200}),
    "trigger-webhook": (
        {"webhook": {"method": "POST", "body": [{"name": "temp", "type": "number"}]}},
        {"webhook": {"method": "FETCH"}},
    ),
}

TRIGGER_KINDS = {module_type: kind for kind, module_type in TRIGGER_MODULE_TYPES.items()}
BY_TYPE = {m.type: m for m in modules()}


def config_model(module_type: str) -> type[NodeConfig]:
    node_type = NodeType(module_type)
    return NodeConfig if node_type in BODY_START_TYPES else NODES[node_type].config


def validate_config(module_type: str, config: Any) -> None:
    """What a save does with the config: the node's model, or the trigger model plus the
    checks it runs after it (problems); raises ValueError (or ValidationError) if refused."""
    kind = TRIGGER_KINDS.get(module_type)
    if kind is None:
        config_model(module_type).model_validate(config)
        return
    found = problems(Trigger.model_validate({**config, "type": kind}))
    if found:
        raise ValueError(found)


def test_every_node_type_and_every_trigger_has_exactly_one_module() -> None:
    types = [m.type for m in modules()]

    assert len(types) == len(set(types))
    assert set(types) == (
        {t.value for t in NODES}
        | {t.value for t in BODY_START_TYPES}
        | {"trigger-manual", "trigger-schedule", "trigger-event", "trigger-s3", "trigger-webhook"}
    )
    assert set(TRIGGER_MODULE_TYPES) == set(TriggerType)
    # Every node type the engine knows is drawable.
    assert {NodeType(t) for t in types if t not in TRIGGER_KINDS} == set(NodeType)


def test_the_order_is_stable_and_triggers_come_last() -> None:
    first, second = [m.type for m in modules()], [m.type for m in modules()]

    assert first == second
    assert [BY_TYPE[t].category for t in first[-5:]] == [Category.TRIGGER] * 5
    assert Category.TRIGGER not in {BY_TYPE[t].category for t in first[:-5]}


def test_every_module_has_samples() -> None:
    assert set(SAMPLES) == set(BY_TYPE)


@pytest.mark.parametrize("module_type", sorted(SAMPLES))
def test_schema_is_valid_json_schema_and_accepts_what_the_model_accepts(module_type: str) -> None:
    schema = BY_TYPE[module_type].config_schema
    valid, _ = SAMPLES[module_type]

    Draft202012Validator.check_schema(schema)
    validate_config(module_type, valid)
    Draft202012Validator(schema).validate(valid)


@pytest.mark.parametrize(
    "module_type", sorted(t for t, (_, bad) in SAMPLES.items() if bad is not None)
)
def test_schema_refuses_what_the_model_refuses(module_type: str) -> None:
    schema = BY_TYPE[module_type].config_schema
    _, invalid = SAMPLES[module_type]

    with pytest.raises((ValidationError, ValueError, TypeError)):
        validate_config(module_type, invalid)
    with pytest.raises(SchemaError):
        Draft202012Validator(schema).validate(invalid)


def test_node_schemas_come_from_the_config_models() -> None:
    for node_type, spec in NODES.items():
        assert BY_TYPE[node_type.value].config_schema == spec.config.model_json_schema(
            mode="validation"
        )
    # The http-request model requires `url`; so does its schema.
    assert "url" in BY_TYPE["http-request"].config_schema["required"]


def test_a_trigger_schema_holds_the_fields_of_its_type_only() -> None:
    schedule = BY_TYPE["trigger-schedule"].config_schema
    webhook = BY_TYPE["trigger-webhook"].config_schema

    assert set(schedule["properties"]) == {"schedule", "timezone"}
    assert "$defs" not in schedule  # a schedule's form has no webhook parts
    assert set(BY_TYPE["trigger-manual"].config_schema["properties"]) == set()
    assert set(webhook["properties"]) == {"webhook"}
    assert set(webhook["$defs"]) == {"WebhookSpec", "WebhookParameter"}
    for module_type, kind in TRIGGER_KINDS.items():
        # What the trigger keeps when saved, beside its type, is what the form offers.
        stored = Trigger.model_validate({**SAMPLES[module_type][0], "type": kind}).stored()
        assert set(stored) - {"type"} <= set(BY_TYPE[module_type].config_schema["properties"])


def test_if_else_and_question_classifier_branch_and_llm_does_not() -> None:
    assert BY_TYPE["if-else"].handles.branches
    assert BY_TYPE["question-classifier"].handles.branches
    assert not BY_TYPE["llm"].handles.branches
    assert BY_TYPE["llm"].handles.handles == [SOURCE_HANDLE]
    assert {NodeType(m.type) for m in modules() if m.handles.branches} == BRANCHING_TYPES
    assert all(m.handles.dynamic_handles for m in modules() if m.handles.branches)


def test_the_handles_described_are_the_handles_the_config_gives() -> None:
    if_else = config_model("if-else").model_validate(SAMPLES["if-else"][0])
    classifier = config_model("question-classifier").model_validate(
        SAMPLES["question-classifier"][0]
    )

    # The fixed handles plus one per case id / class id, as the modules say.
    assert if_else.handles() == {*BY_TYPE["if-else"].handles.handles, "site-a"}
    assert classifier.handles() == {*BY_TYPE["question-classifier"].handles.handles, "1", "2"}
    for module in modules():
        if module.type not in TRIGGER_KINDS and not module.handles.branches:
            assert (
                config_model(module.type).model_validate(SAMPLES[module.type][0]).handles() is None
            )


def test_source_is_the_handle_the_dify_importer_reads_as_no_handle() -> None:
    assert dify_graph._SOURCE_HANDLE == SOURCE_HANDLE


def _handles(node: Node) -> set[str] | None:
    return NODES[node.type].config.model_validate(node.config).handles()


@pytest.mark.parametrize(
    "module_type",
    sorted(t.value for t in NODES if t not in CONTAINER_TYPES),
)
def test_fail_branch_is_offered_exactly_where_validation_accepts_it(module_type: str) -> None:
    """A fail-branch edge out of the node, which has that error strategy. (Containers are
    left out: validation takes their fail-branch edge, but their strategy never applies.)"""
    node_type = NodeType(module_type)
    node = Node(
        id="x",
        type=node_type,
        config=SAMPLES[module_type][0],
        error_strategy=ErrorStrategy.FAIL_BRANCH,
    )
    nodes = [node, Node(id="z", type=NodeType.ANSWER, config={"answer": "failed"})]
    edges = [Edge(source="x", target="z", source_handle=FAIL_BRANCH_HANDLE)]
    if node_type is not NodeType.START:
        nodes.append(Node(id="s", type=NodeType.START))
        edges.append(Edge(source="s", target="x"))
    entry = "x" if node_type is NodeType.START else "s"

    def validate() -> None:
        validate_graph(
            Graph(nodes=nodes, edges=edges),
            entry=entry,
            check_config=lambda _node: ([], []),
            max_nodes=10,
            max_edges=10,
            handles=_handles,
        )

    if BY_TYPE[module_type].handles.fail_branch:
        validate()
    else:
        with pytest.raises(InvalidWorkflow, match="fail-branch"):
            validate()


def test_containers_markers_and_triggers_offer_no_fail_branch() -> None:
    for module in modules():
        no_task = module.type in TRIGGER_KINDS or NodeType(module.type) in (
            CONTAINER_TYPES | BODY_START_TYPES
        )
        if no_task:
            assert not module.handles.fail_branch, module.type


def test_llm_outputs_text_and_the_markers_output_nothing() -> None:
    assert "text" in {o.name for o in BY_TYPE["llm"].outputs}
    assert BY_TYPE["iteration-start"].outputs == []
    assert BY_TYPE["loop-start"].outputs == []


def test_outputs_named_by_the_config_are_marked_dynamic() -> None:
    for module_type, field in (
        ("code", "outputs.*"),
        ("start", "variables[].variable"),
        ("parameter-extractor", "parameters[].name"),
        ("end", "outputs[].variable"),
    ):
        dynamic = [o for o in BY_TYPE[module_type].outputs if o.dynamic]
        assert field in {o.name for o in dynamic}, module_type
        assert all(o.description for o in dynamic)


Runner = Callable[[Any, Any], NodeResult]
V1_LLM = {"prompt": "Weather in {{fetch.result.site}}?"}
V1_IF = {"expression": "{{fetch.result.site}} == 'A'"}


@pytest.mark.parametrize(
    ("module_type", "runner", "config"),
    [
        ("llm", run_llm, SAMPLES["llm"][0]),
        ("llm", run_llm, V1_LLM),
        ("if-else", run_if_else, SAMPLES["if-else"][0]),
        ("if-else", run_if_else, V1_IF),
        ("question-classifier", run_question_classifier, SAMPLES["question-classifier"][0]),
        ("parameter-extractor", run_parameter_extractor, SAMPLES["parameter-extractor"][0]),
        ("list-operator", run_list_operator, SAMPLES["list-operator"][0]),
        ("variable-aggregator", run_variable_aggregator, SAMPLES["variable-aggregator"][0]),
        ("assigner", run_assigner, SAMPLES["assigner"][0]),
        ("answer", run_answer, SAMPLES["answer"][0]),
    ],
)
def test_every_output_a_node_returns_is_listed(
    module_type: str, runner: Runner, config: dict[str, Any]
) -> None:
    result = runner(config_model(module_type).model_validate(config), context(module_type))
    listed = {o.name for o in BY_TYPE[module_type].outputs if not o.dynamic}
    # The extractor also outputs each parameter, by its name.
    named = {p["name"] for p in config.get("parameters", [])}

    assert result.outputs
    assert set(result.outputs) <= listed | named


def test_module_list_is_json_with_camel_case_keys() -> None:
    answer = module_list()
    llm = next(m for m in answer["modules"] if m["type"] == "llm")

    assert answer["total"] == len(answer["modules"]) == len(BY_TYPE)
    assert {"configSchema", "outputs", "handles"} <= set(llm)
    assert {"dynamicHandles", "failBranch"} <= set(llm["handles"])
    assert {"bodyOnly"} <= set(llm["outputs"][0])
    assert llm["category"] == "model"
    assert Module.model_validate(llm) == BY_TYPE["llm"]
