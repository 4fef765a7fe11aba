"""The nesting limit: checked without recursion, so no document can exhaust the stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.core import nesting


def nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, nesting.MAX_DEPTH])
def test_documents_up_to_the_limit_pass(depth: int) -> None:
    text = json.dumps(nested(depth))
    assert nesting.loads(text) == nested(depth)
    nesting.check(nested(depth))


@pytest.mark.parametrize("depth", [nesting.MAX_DEPTH + 1, 900, 1_000_000])
def test_deeper_documents_are_refused_before_parsing(depth: int) -> None:
    text = "[" * depth + "]" * depth
    with pytest.raises(nesting.TooDeep, match=f"deeper than {nesting.MAX_DEPTH} levels"):
        nesting.loads(text)


@pytest.mark.parametrize("depth", [nesting.MAX_DEPTH + 1, 100_000])
def test_deeper_parsed_values_are_refused_without_recursion(depth: int) -> None:
    with pytest.raises(nesting.TooDeep):
        nesting.check(nested(depth))


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 1000 + '\\"{' * 1000, "t": ["]" * 5]})
    assert nesting.loads(text)["t"] == ["]" * 5]


def test_the_limit_is_the_caller_s_choice() -> None:
    nesting.check_text("[[[]]]", limit=3)
    with pytest.raises(nesting.TooDeep, match="deeper than 2 levels"):
        nesting.check_text("[[[]]]", limit=2)
