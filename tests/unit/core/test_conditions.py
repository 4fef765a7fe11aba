"""Condition expressions: parse once, evaluate against the variable pool."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.core.expressions.conditions import (
    Compare,
    ExpressionError,
    Literal,
    Logical,
    Reference,
    compare,
    evaluate,
    parse,
    referenced,
)

VALUES: dict[tuple[str, ...], Any] = {
    ("a", "n"): 5,
    ("a", "neg"): -2,
    ("a", "f"): 3.5,
    ("a", "s"): "5",
    ("a", "sf"): "3.5",
    ("a", "word"): "abc",
    ("a", "text"): "hello world",
    ("a", "cjk"): "A栋",
    ("a", "list"): [1, 2, "x"],
    ("a", "dict"): {"k": 1},
    ("a", "blank"): "",
    ("a", "nolist"): [],
    ("a", "nodict"): {},
    ("a", "none"): None,
    ("a", "yes"): True,
    ("a", "no"): False,
    ("a", "zero"): 0,
}


def check(text: str) -> bool:
    return evaluate(parse(text), VALUES.get)


# --- every comparison operator ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a.n}} == 5", True),
        ("{{a.n}} == 6", False),
        ("{{a.n}} != 6", True),
        ("{{a.n}} != 5", False),
        ("{{a.n}} > 4", True),
        ("{{a.n}} > 5", False),
        ("{{a.n}} < 6", True),
        ("{{a.n}} < 5", False),
        ("{{a.n}} >= 5", True),
        ("{{a.n}} >= 6", False),
        ("{{a.n}} <= 5", True),
        ("{{a.n}} <= 4", False),
        ("{{a.neg}} < -1", True),
        ("{{a.f}} > 3.4", True),
        ("{{a.f}} == 3.5", True),
        ("5 == 5.0", True),
        ("{{a.cjk}} == 'A栋'", True),
        ('{{a.cjk}} == "B栋"', False),
        ('"b" > "a"', True),
        ("{{a.yes}} == true", True),
        ("{{a.no}} == false", True),
        ("{{a.none}} == null", True),
        ("{{a.n}} == null", False),
        ("{{a.n}}>=5", True),  # no spaces needed
        ("{{ a.n }} == 5", True),
        ("{{#a.n#}} == 5", True),
        ('"say \\"hi\\"" == \'say "hi"\'', True),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a.s}} == 5", True),  # numeric string against a number
        ("5 == {{a.s}}", True),
        ("{{a.s}} > 3", True),
        ("{{a.s}} < 10", True),  # as text "5" < "10" would be False
        ("10 > {{a.s}}", True),
        ("{{a.sf}} >= 3.5", True),
        ("{{a.sf}} < 4", True),
        ("{{a.s}} != 5", False),
        ("{{a.word}} == 5", False),  # a non-numeric string is simply not equal
        ("{{a.word}} != 5", True),
    ],
)
def test_numeric_strings_are_coerced_against_numbers(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{a.text}} contains "world"', True),
        ('{{a.text}} contains "World"', False),
        ('{{a.text}} not contains "world"', False),
        ('{{a.text}} not contains "mars"', True),
        ('{{a.cjk}} contains "栋"', True),
        ('{{a.list}} contains "x"', True),
        ("{{a.list}} contains 2", True),
        ("{{a.list}} contains 3", False),
        ('{{a.list}} not contains "y"', True),
        ('{{a.dict}} contains "k"', True),  # an object contains its keys
        ("{{a.dict}} contains 1", False),  # ... not its values
        ('{{a.dict}} not contains "z"', True),
        ('{{a.none}} contains "x"', False),  # a skipped / missing value contains nothing
        ('{{a.none}} not contains "x"', True),
        ('{{a.text}} CONTAINS "hello"', True),
        ('{{a.text}} Not Contains "hello"', False),
    ],
)
def test_contains(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a.blank}} empty", True),
        ("{{a.blank}} is empty", True),
        ("{{a.nolist}} is empty", True),
        ("{{a.nodict}} is empty", True),
        ("{{a.none}} is empty", True),
        ("{{a.text}} is empty", False),
        ("{{a.list}} empty", False),
        ("{{a.zero}} is empty", False),  # 0 is a value
        ("{{a.no}} is empty", False),  # so is false
        ("{{a.text}} is not empty", True),
        ("{{a.text}} not empty", True),
        ("{{a.blank}} is not empty", False),
        ("{{a.none}} not empty", False),
        ("{{a.zero}} is not empty", True),
        ("{{a.blank}} IS EMPTY", True),
    ],
)
def test_emptiness(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a.text}}", True),
        ("{{a.blank}}", False),
        ("{{a.none}}", False),
        ("{{a.no}}", False),
        ("{{a.yes}}", True),
        ("{{a.nolist}}", False),
    ],
)
def test_bare_operand_is_a_truth_test(text: str, expected: bool) -> None:
    assert check(text) is expected


# --- logic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{a.n}} > 1 and {{a.n}} < 10", True),
        ("{{a.n}} > 1 and {{a.n}} > 10", False),
        ("{{a.n}} > 10 or {{a.n}} == 5", True),
        ("{{a.n}} > 10 or {{a.n}} == 6", False),
        ("{{a.n}} > 1 && {{a.n}} < 10", True),
        ("{{a.n}} > 10 || {{a.n}} == 5", True),
        ("{{a.n}} > 1 AND {{a.n}} < 10", True),
        ("{{a.n}} > 10 OR {{a.n}} == 5", True),
        # and binds tighter than or: true or (false and false)
        ("true or false and false", True),
        ("true || false && false", True),
        ("false and true or true", True),
        # parentheses override it
        ("(true or false) and false", False),
        ("false and (true or true)", False),
        ("((({{a.n}} == 5)))", True),
        ("({{a.n}} == 5 or {{a.n}} == 6) and ({{a.text}} contains 'world')", True),
        ("true and true and false", False),
        ("false or false or true", True),
    ],
)
def test_logic(text: str, expected: bool) -> None:
    assert check(text) is expected


def test_and_binds_tighter_than_or_in_the_tree() -> None:
    tree = parse("{{a.x}} == 1 or {{a.y}} == 2 and {{a.z}} == 3")
    assert isinstance(tree, Logical)
    assert tree.op == "or"
    assert tree.parts[0] == Compare(Reference(("a", "x")), "==", Literal(1))
    inner = tree.parts[1]
    assert isinstance(inner, Logical)
    assert inner.op == "and"
    assert [p.right for p in inner.parts if isinstance(p, Compare)] == [Literal(2), Literal(3)]


def test_symbolic_and_word_operators_build_the_same_tree() -> None:
    assert parse("1 == 1 && 2 == 2 || 3 == 3") == parse("1 == 1 and 2 == 2 or 3 == 3")


def test_or_short_circuits_lookups() -> None:
    seen: list[tuple[str, ...]] = []

    def spy(selector: tuple[str, ...]) -> Any:
        seen.append(selector)
        return 1

    assert evaluate(parse("{{a.x}} == 1 or {{b.y}} == 1"), spy) is True
    assert seen == [("a", "x")]


def test_operands_are_parsed_into_typed_literals() -> None:
    tree = parse("{{a.b}} == -2.5")
    assert tree == Compare(Reference(("a", "b")), "==", Literal(-2.5))
    assert parse("null == true") == Compare(Literal(None), "==", Literal(True))
    assert parse("{{a.b}} is not empty") == Compare(Reference(("a", "b")), "not empty", None)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{a.word}} > 3", 'cannot compare str "abc" > int 3'),
        ("{{a.dict}} > 3", 'cannot compare dict {"k": 1} > int 3'),
        ("{{a.list}} <= 1", "cannot compare list"),
        ("{{a.none}} > 1", "cannot compare NoneType null > int 1"),
        ("{{a.n}} < 'abc'", 'cannot compare int 5 < str "abc"'),
        ("{{a.n}} contains 5", "'contains' needs text, a list or an object, not int 5"),
        ("{{a.yes}} not contains 1", "'contains' needs text, a list or an object, not bool true"),
    ],
)
def test_incompatible_types_raise_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match="^" + re.escape(message)):
        check(text)


def test_compare_function_rejects_incompatible_ordering() -> None:
    with pytest.raises(ExpressionError, match="cannot compare"):
        compare([1], ">=", {"a": 1})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{a.n}} equals 5", "unknown operator 'equals'"),
        ("{{a.n}} is 5", "unknown operator 'is'"),
        ("({{a.n}} == 5", "missing ')'"),
        ("(({{a.n}} == 5) or true", "missing ')'"),
        ("{{a.n}} == 5)", "unexpected ')'"),
        ("{{a.n}} == 5 and", "ends too early"),
        ("{{a.n}} == 5 ||", "ends too early"),
        ("{{a.n}} ==", "ends too early"),
        ("and {{a.n}} == 5", "expected a value but found 'and'"),
        ("{{a.n}} == five", "expected a value but found 'five'"),
        ("{{a.n}} == 5 == 5", "unexpected '=='"),
        ("{{a.n}} == 5 {{a.n}}", "unexpected '{{a.n}}'"),
        ("", "condition expression is empty"),
        ("   ", "condition expression is empty"),
        ("{{name}} == 1", "bad reference {{name}}"),
        ("{{a.n}} ~ 5", "unexpected character at position"),
        ('{{a.n}} == "open', "unexpected character at position"),
    ],
)
def test_malformed_expressions_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as caught:
        parse(text)
    if text.strip():
        assert repr(text) in str(caught.value)  # the message quotes the expression


def test_error_position_points_at_the_offending_character() -> None:
    text = "{{a.n}} ~ 5"
    with pytest.raises(ExpressionError, match=r"position (\d+)") as caught:
        parse(text)
    position = int(caught.value.args[0].split("position ")[1].split()[0])
    assert text[position] == "~"


def test_expression_error_is_a_value_error() -> None:
    # pydantic turns ValueErrors raised in validators into field errors; config checks rely on it.
    assert issubclass(ExpressionError, ValueError)


# --- referenced -------------------------------------------------------------------------


def test_referenced_lists_every_selector_in_order() -> None:
    tree = parse(
        "{{fetch.result.count}} > 3 and ({{#llm1.text#}} is empty or "
        "{{trigger.data.building}} == {{x.y.z}}) || 'lit' contains 'l'"
    )
    assert referenced(tree) == [
        ("fetch", "result", "count"),
        ("llm1", "text"),
        ("trigger", "data", "building"),
        ("x", "y", "z"),
    ]


def test_referenced_of_literals_only_is_empty() -> None:
    assert referenced(parse("1 == 1 and 'a' contains 'a'")) == []


def test_referenced_includes_reference_on_the_right() -> None:
    assert referenced(parse("3 < {{a.b}}")) == [("a", "b")]
