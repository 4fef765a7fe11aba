"""Parameter extractor and question classifier: the local provider's predictable answers,
and how a real model's reply is read (through a stub provider)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.nodes.llm.providers import Completion, Prompt, Usage
from functions.nodes.parameter_extractor import llm_json
from functions.nodes.parameter_extractor.entities import ParameterExtractorConfig
from functions.nodes.parameter_extractor.node import run as extract
from functions.nodes.question_classifier.entities import QuestionClassifierConfig
from functions.nodes.question_classifier.node import run as classify
from tests.unit.dify_nodes.support import context

QUERY = "Book a table for 4 in Paris on Friday; vip: yes; tags: window, quiet"
PARAMETERS = [
    {
        "name": "city",
        "type": "select",
        "options": ["London", "Paris"],
        "description": "",
        "required": True,
    },
    {"name": "guests", "type": "number", "description": "people", "required": True},
    {"name": "vip", "type": "bool", "description": "", "required": False},
    {"name": "tags", "type": "array[string]", "description": "", "required": False},
]


class StubProvider:
    name = "stub"
    default_model: str | None = "stub-model"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[Prompt] = []

    def complete(self, prompt: Prompt) -> Completion:
        self.prompts.append(prompt)
        return Completion(self.reply, Usage(10, 5))


def with_model(monkeypatch: pytest.MonkeyPatch, reply: str) -> StubProvider:
    stub = StubProvider(reply)
    monkeypatch.setattr(llm_json, "provider_for", lambda _settings: stub)
    return stub


def extractor(
    parameters: list[dict[str, Any]] | None = None, **extra: Any
) -> ParameterExtractorConfig:
    return ParameterExtractorConfig.model_validate(
        {
            "query": ["start", "query"],
            "parameters": parameters or PARAMETERS,
            "instruction": "Guests of {{#start.venue#}}",
            "model": {
                "provider": "langgenius/openai/openai",
                "name": "",
                "mode": "chat",
                "completion_params": {"temperature": 0.2},
            },
            "reasoning_mode": "prompt",
            **extra,
        }
    )


def ask(config: ParameterExtractorConfig, query: str = QUERY) -> dict[str, Any]:
    return extract(config, context(start={"query": query, "venue": "Chez Nous"})).outputs


# -- parameter extractor -------------------------------------------------------------


def test_local_provider_extracts_by_explicit_values_then_by_type() -> None:
    result = extract(extractor(), context(start={"query": QUERY, "venue": "Chez Nous"}))

    assert result.outputs == {
        "__is_success": 1,
        "__reason": None,
        "__usage": result.outputs["__usage"],
        "city": "Paris",
        "guests": 4,
        "vip": True,
        "tags": ["window", "quiet"],
    }
    assert result.inputs is not None and result.inputs["instruction"] == "Guests of Chez Nous"
    assert result.inputs["provider"] == "local"
    assert result.outputs["__usage"]["completion_tokens"] > 0
    assert result.tokens == result.outputs["__usage"]["total_tokens"]


def test_local_provider_leaves_out_what_it_cannot_find_and_dify_reports_it() -> None:
    outputs = ask(extractor(), "Book a table in Rome")

    assert outputs["__is_success"] == 0
    assert outputs["__reason"] == "Invalid number of parameters"
    # Missing values take Dify's defaults.
    assert (outputs["city"], outputs["guests"], outputs["vip"], outputs["tags"]) == (
        "",
        0,
        False,
        [],
    )


def test_explicit_value_wins_and_is_read_as_the_type() -> None:
    config = extractor(
        [
            {"name": "guests", "type": "number", "required": True},
            {"name": "when", "type": "string", "required": True},
            {"name": "scores", "type": "array[number]", "required": True},
        ]
    )

    outputs = ask(config, "2 people; Guests = 6; when: next Friday, 8pm\nscores: [1, 2.5]")

    assert (outputs["guests"], outputs["when"], outputs["scores"]) == (6, "next Friday", [1, 2.5])
    assert outputs["__is_success"] == 1


def test_a_model_reply_is_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = with_model(
        monkeypatch,
        "Here you go:\n```json\n"
        '{"city": "Paris", "guests": "4", "vip": false, "tags": ["a", 1]}\n```',
    )

    outputs = ask(extractor())

    assert outputs["__reason"] == "Invalid `number` value for parameter guests"
    assert outputs["__is_success"] == 0
    # Normalised anyway: a number given as text is read, wrong array elements are dropped.
    assert (outputs["guests"], outputs["tags"], outputs["vip"]) == (4, ["a"], False)
    assert outputs["__usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    [prompt] = stub.prompts
    assert prompt.model == "stub-model" and prompt.temperature == 0.2
    assert (
        "Book a table for 4 in Paris" in prompt.text
        and '"enum": ["London", "Paris"]' in prompt.text
    )


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            '{"city": "Rome", "guests": 2, "vip": true, "tags": []}',
            "Invalid `select` value for parameter city",
        ),
        (
            '{"city": "Paris", "guests": 2, "vip": "yes", "tags": []}',
            "Invalid `bool` value for parameter vip",
        ),
        (
            '{"city": "Paris", "guests": 2, "vip": true, "tags": "a"}',
            "Invalid `array` value for parameter tags",
        ),
        (
            '{"city": "Paris", "guests": 2, "vip": true, "tags": [], "x": 1}',
            "Invalid number of parameters",
        ),
        ("I cannot help with that.", "Invalid number of parameters"),
    ],
)
def test_difys_checks_give_the_reason(
    monkeypatch: pytest.MonkeyPatch, reply: str, reason: str
) -> None:
    with_model(monkeypatch, reply)

    outputs = ask(extractor())

    assert (outputs["__is_success"], outputs["__reason"]) == (0, reason)


def test_no_json_without_array_parameters_uses_the_empty_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_model(monkeypatch, "no idea")

    parameters = [*PARAMETERS[1:3], {"name": "note", "type": "string", "required": True}]

    outputs = ask(extractor(parameters))

    assert outputs["__reason"].startswith("Failed to extract result")
    assert (outputs["note"], outputs["guests"], outputs["vip"]) == ("", 0, False)


def test_parameter_config_is_checked() -> None:
    with pytest.raises(ValueError, match="reserved"):
        extractor([{"name": "__reason", "type": "string"}])
    with pytest.raises(ValueError, match="not allowed"):
        extractor([{"name": "x", "type": "file"}])
    assert extractor().references() == [("start", "query"), ("start", "venue")]


# -- question classifier -------------------------------------------------------------

CLASSES = [
    {"id": "1", "name": "Billing"},
    {"id": "2", "name": "Technical support"},
    {"id": "3", "name": "Sales"},
]


def classifier() -> QuestionClassifierConfig:
    return QuestionClassifierConfig.model_validate(
        {
            "query_variable_selector": ["start", "query"],
            "classes": CLASSES,
            "instruction": "Customer of {{#start.venue#}}",
            "model": {"name": "", "completion_params": {}},
            "topics": [],
        }
    )


def test_local_provider_picks_the_first_class_named_in_the_query() -> None:
    result = classify(classifier(), context(start={"query": "I need TECHNICAL SUPPORT or sales"}))

    assert result.handle == "2"
    assert (result.outputs["class_id"], result.outputs["class_name"]) == ("2", "Technical support")
    assert result.outputs["usage"]["total_tokens"] == result.tokens


def test_local_provider_falls_back_to_the_first_class() -> None:
    result = classify(classifier(), context(start={"query": "hello there"}))

    assert (result.handle, result.outputs["class_name"]) == ("1", "Billing")


@pytest.mark.parametrize(
    ("reply", "chosen"),
    [
        ('```json\n{"keywords": ["buy"], "category_id": "3", "category_name": "Sales"}\n```', "3"),
        ('{"category_id": 2, "category_name": "Technical support"}', "2"),
        ('{"category_id": "9", "category_name": "Other"}', "1"),
        ("Sales, definitely.", "1"),
    ],
)
def test_a_model_reply_chooses_by_category_id(
    monkeypatch: pytest.MonkeyPatch, reply: str, chosen: str
) -> None:
    stub = with_model(monkeypatch, reply)

    result = classify(classifier(), context(start={"query": "I want to buy", "venue": "Shop"}))

    assert result.handle == chosen
    [prompt] = stub.prompts
    assert "Customer of Shop" in prompt.text and '"category_name": "Sales"' in prompt.text


def test_classifier_handles_are_its_class_ids() -> None:
    config = classifier()

    assert config.handles() == {"1", "2", "3"}
    assert config.references() == [("start", "query"), ("start", "venue")]


def test_a_canned_local_reply_is_the_models_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LOCAL_LLM_REPLIES", '{"I want to buy": "{\\"category_id\\": \\"3\\"}", "venue": "x"}'
    )

    result = classify(classifier(), context(start={"query": "I want to buy Billing"}))

    assert result.handle == "3"  # not the local rule's "1" (Billing is named)
