"""Variable references in text: which spans are references, and how values render."""

from __future__ import annotations

from typing import Any

import pytest

from functions.core.expressions.templates import (
    dig,
    references,
    render,
    single_reference,
    to_text,
)

STATE: dict[str, Any] = {
    "fetch": {
        "result": {
            "devices": [{"name": "泵-1", "ok": True}, {"name": "fan", "ok": False}],
            "count": 2,
        }
    },
    "analyze": {"result": "所有设备运行正常"},
    "trigger": {"data": {"building": "A栋", "floor": 3}},
    "1711528914102": {"text": "dify says hi"},
}


def lookup(selector: tuple[str, ...]) -> Any:
    return dig(STATE.get(selector[0]), selector[1:])


# --- which spans are references ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{fetch.result}}", [("fetch", "result")]),
        ("{{fetch.result.devices.0.name}}", [("fetch", "result", "devices", "0", "name")]),
        ("{{trigger.data}}", [("trigger", "data")]),
        ("{{trigger.data.building}}", [("trigger", "data", "building")]),
        ("{{ analyze.result }}", [("analyze", "result")]),
        ("{{#1711528914102.text#}}", [("1711528914102", "text")]),
        ("{{#llm-1.text#}}", [("llm-1", "text")]),
        ("{{my-node.some_field}}", [("my-node", "some_field")]),
        ("a {{x.y}} b {{#z.w#}} c {{x.y}}", [("x", "y"), ("z", "w"), ("x", "y")]),
    ],
)
def test_references_are_found_in_both_forms(template: str, expected: list[tuple[str, ...]]) -> None:
    assert references(template) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{name}}",  # single segment: not a selector
        "{{ name }}",
        "{{#name#}}",
        "{{1711528914102.text}}",  # v1 form needs an identifier first; Dify ids use {{#..#}}
        "{{a..b}}",
        "{a.b}",
        "{{a.b}",
        "{{a b.c}}",
        "plain text",
    ],
)
def test_non_references_are_not_found(template: str) -> None:
    assert references(template) == []


def test_dify_form_is_not_misread_as_v1() -> None:
    # Were the v1 pattern tried first, `#a.b#` could never match it, but the `#` must not leak.
    assert references("{{#a.b#}}") == [("a", "b")]
    assert render("[{{#a.b#}}]", lambda s: "V") == "[V]"


# --- rendering ------------------------------------------------------------------------


def test_render_v1_spec_example() -> None:
    # The spec's example prompt: "分析设备数据:{{fetch.result}}".
    rendered = render("分析设备数据:{{fetch.result.count}} 台", lookup)
    assert rendered == "分析设备数据:2 台"


def test_render_nested_field_and_trigger_data() -> None:
    assert render("{{trigger.data.building}}/{{fetch.result.devices.1.name}}", lookup) == "A栋/fan"


def test_render_trigger_data_object_as_json_keeping_non_ascii() -> None:
    rendered = render("data={{trigger.data}}", lookup)
    assert rendered == 'data={"building": "A栋", "floor": 3}'
    assert "\\u" not in rendered


def test_render_list_as_json() -> None:
    rendered = render("{{fetch.result.devices}}", lookup)
    assert rendered == '[{"name": "泵-1", "ok": true}, {"name": "fan", "ok": false}]'


def test_render_dify_reference_with_numeric_node_id() -> None:
    assert render("> {{#1711528914102.text#}}", lookup) == "> dify says hi"


def test_single_segment_braces_are_left_literal() -> None:
    assert render("Hello {{name}} and {{ user }}", lambda s: "X") == "Hello {{name}} and {{ user }}"


def test_missing_value_renders_as_empty() -> None:
    assert render("[{{fetch.result.nope}}]", lookup) == "[]"
    assert render("[{{ghost.result}}]", lookup) == "[]"


def test_render_asks_lookup_for_each_selector_in_order() -> None:
    seen: list[tuple[str, ...]] = []

    def spy(selector: tuple[str, ...]) -> str:
        seen.append(selector)
        return str(len(seen))

    assert render("{{a.b}}-{{#c.d#}}-{{a.b}}", spy) == "1-2-3"
    assert seen == [("a", "b"), ("c", "d"), ("a", "b")]


def test_rendered_values_are_not_expanded_again() -> None:
    # A value that itself looks like a reference or a regex back-reference is inserted as is.
    values = {("a", "b"): "{{c.d}}", ("c", "d"): "SECRET", ("e", "f"): r"C:\new\1 \g<0>"}
    assert render("{{a.b}}", values.get) == "{{c.d}}"
    assert render("{{e.f}}", values.get) == r"C:\new\1 \g<0>"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("", ""),
        ("plain", "plain"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (-1.5, "-1.5"),
        ({"k": "值", "n": None}, '{"k": "值", "n": null}'),
        ([1, "二", True], '[1, "二", true]'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_to_text(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_render_bool_and_number_values() -> None:
    values = {("a", "ok"): False, ("a", "n"): 0, ("a", "f"): 2.5}
    assert render("{{a.ok}} {{a.n}} {{a.f}}", values.get) == "false 0 2.5"


# --- dig ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), STATE["fetch"]),
        (("result", "count"), 2),
        (("result", "devices", "0", "name"), "泵-1"),
        (("result", "devices", "1", "ok"), False),
        (("result", "devices", "-1", "name"), "fan"),
        (("result", "devices", "-2", "name"), "泵-1"),
        (("result", "devices", "2"), None),  # past the end
        (("result", "devices", "-3"), None),
        (("result", "devices", "first"), None),  # a list has no named members
        (("result", "count", "x"), None),  # cannot step into a number
        (("result", "missing", "deeper"), None),
    ],
)
def test_dig(path: tuple[str, ...], expected: Any) -> None:
    assert dig(STATE["fetch"], path) == expected


def test_dig_into_string_gives_none() -> None:
    assert dig({"s": "abc"}, ("s", "0")) is None


def test_dig_numeric_key_of_a_dict_is_a_key_not_an_index() -> None:
    assert dig({"0": "zero", "1": "one"}, ("1",)) == "one"


def test_dig_none_gives_none() -> None:
    assert dig(None, ("a",)) is None


def test_dig_malformed_index_gives_none() -> None:
    # `{{node.items.--1}}` is a well-formed reference (segments allow '-').
    assert references("{{node.items.--1}}") == [("node", "items", "--1")]
    assert dig(["a", "b"], ("--1",)) is None


# --- single_reference -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{fetch.result}}", ("fetch", "result")),
        ("  {{fetch.result}}\n", ("fetch", "result")),
        ("{{ fetch.result }}", ("fetch", "result")),
        ("{{#1711528914102.text#}}", ("1711528914102", "text")),
        ("x{{fetch.result}}", None),
        ("{{fetch.result}} ", ("fetch", "result")),
        ("{{a.b}}{{c.d}}", None),
        ("{{a.b}} {{c.d}}", None),
        ("{{name}}", None),
        ("", None),
    ],
)
def test_single_reference(template: str, expected: tuple[str, ...] | None) -> None:
    assert single_reference(template) == expected


# --- Dify documents: only the Dify form is a reference ----------------------------------


def test_dify_mode_reads_only_the_dify_form() -> None:
    text = "{{#llm1.text#}} and {{ a.b }} and {{c.d}}"
    assert references(text, dify=True) == [("llm1", "text")]
    assert references(text) == [("llm1", "text"), ("a", "b"), ("c", "d")]


def test_dify_mode_renders_v1_braces_literally() -> None:
    rendered = render("{{#1711528914102.text#}} / {{ fetch.result }}", lookup, dify=True)
    assert rendered == "dify says hi / {{ fetch.result }}"


def test_dify_mode_single_reference() -> None:
    assert single_reference(" {{#1711528914102.text#}} ", dify=True) == ("1711528914102", "text")
    assert single_reference("{{fetch.result}}", dify=True) is None
