"""Condition expressions of the v1 `condition` node.

    {{fetch.result.count}} > 3 and {{trigger.data.building}} == "A栋"
    {{analyze.result}} contains "error" or {{fetch.result.devices}} is empty

Operators: == != > < >= <= contains, not contains, is empty / empty, is not empty /
not empty; `and`/`or` (also `&&`/`||`) with parentheses. Operands: references, quoted
strings, numbers, true, false, null. Parsed once at save time so a bad expression is
refused with its position; evaluated by the node at run time.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.core.expressions.templates import Selector, references

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\{\{\#?[^{}]+?\#?\}\})
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|>=|<=|>|<|&&|\|\||\(|\))
    | (?P<word>[A-Za-z_]+)
    )""",
    re.VERBOSE,
)

_COMPARATORS = {"==", "!=", ">", "<", ">=", "<=", "contains", "not contains"}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Reference:
    selector: Selector


@dataclass(frozen=True)
class Compare:
    left: Literal | Reference
    op: str
    right: Literal | Reference | None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    parts: tuple[Expression, ...]


Expression = Compare | Logical


def parse(text: str) -> Expression:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    expression = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected '{parser.peek()[1]}' in condition {text!r}")  # type: ignore[index]
    return expression


def referenced(expression: Expression) -> list[Selector]:
    if isinstance(expression, Logical):
        return [sel for part in expression.parts for sel in referenced(part)]
    return [o.selector for o in (expression.left, expression.right) if isinstance(o, Reference)]


def evaluate(expression: Expression, lookup: Callable[[Selector], Any]) -> bool:
    if isinstance(expression, Logical):
        results = (evaluate(part, lookup) for part in expression.parts)
        return all(results) if expression.op == "and" else any(results)
    left = _value(expression.left, lookup)
    right = _value(expression.right, lookup) if expression.right is not None else None
    return compare(left, expression.op, right)


def compare(left: Any, op: str, right: Any) -> bool:  # noqa: PLR0911 - one return per operator
    """One comparison with the coercions a workflow author expects ("5" > 3 is true)."""
    if op == "truthy":
        return not is_empty(left) and left is not False
    if op == "empty":
        return is_empty(left)
    if op == "not empty":
        return not is_empty(left)
    if op == "contains":
        return _contains(left, right)
    if op == "not contains":
        return not _contains(left, right)
    left, right = _coerce_pair(left, right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool(
            {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]
        )
    except TypeError as exc:
        raise ExpressionError(f"cannot compare {_describe(left)} {op} {_describe(right)}") from exc


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return str(item if item is not None else "") in container
    if isinstance(container, list | dict):
        return item in container
    raise ExpressionError(f"'contains' needs text, a list or an object, not {_describe(container)}")


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any]:
    if _is_number(left) and isinstance(right, str):
        return left, _to_number(right, right)
    if _is_number(right) and isinstance(left, str):
        return _to_number(left, left), right
    return left, right


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_number(text: str, fallback: Any) -> Any:
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return fallback


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {json.dumps(value, ensure_ascii=False, default=str)[:40]}"


def _value(operand: Literal | Reference, lookup: Callable[[Selector], Any]) -> Any:
    return lookup(operand.selector) if isinstance(operand, Reference) else operand.value


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if not match or match.end() == position:
            offending = len(stripped) - len(stripped[position:].lstrip())
            raise ExpressionError(f"unexpected character at position {offending} in {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise ExpressionError("condition expression is empty")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.text = text

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"condition {self.text!r} ends too early")
        self.index += 1
        return token

    def _is_word(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[1].lower() == word

    def expression(self) -> Expression:
        return self._logical("or", "||", self._and)

    def _and(self) -> Expression:
        return self._logical("and", "&&", self._primary)

    def _logical(self, word: str, symbol: str, operand: Callable[[], Expression]) -> Expression:
        parts = [operand()]
        while self._is_word(word) or self._is_word(symbol):
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else Logical(word, tuple(parts))

    def _primary(self) -> Expression:
        if self._is_word("("):
            self.take()
            inner = self.expression()
            if not self._is_word(")"):
                raise ExpressionError(f"missing ')' in condition {self.text!r}")
            self.take()
            return inner
        left = self._operand()
        op = self._operator()
        if op is None:
            return Compare(left, "truthy", None)
        if op in ("empty", "not empty"):
            return Compare(left, op, None)
        return Compare(left, op, self._operand())

    def _operator(self) -> str | None:
        token = self.peek()
        if token is None or token[1] in (")", "and", "or", "&&", "||"):
            return None
        words = [t[1].lower() for t in (self.peek(i) for i in range(3)) if t is not None]
        for phrase in ("is not empty", "not contains", "not empty", "is empty", "empty"):
            parts = phrase.split()
            if words[: len(parts)] == parts:
                for _ in parts:
                    self.take()
                return phrase.removeprefix("is ")
        _, value = self.take()
        if value.lower() in _COMPARATORS:
            return value.lower()
        raise ExpressionError(f"unknown operator '{value}' in condition {self.text!r}")

    def _operand(self) -> Literal | Reference:
        kind, value = self.take()
        if kind == "ref":
            selectors = references(value)
            if len(selectors) != 1:
                raise ExpressionError(f"bad reference {value} in condition {self.text!r}")
            return Reference(selectors[0])
        if kind == "string":
            return Literal(ast.literal_eval(value))
        if kind == "number":
            return Literal(float(value) if "." in value else int(value))
        words = {"true": True, "false": False, "null": None, "none": None}
        if kind == "word" and value.lower() in words:
            return Literal(words[value.lower()])
        raise ExpressionError(f"expected a value but found '{value}' in condition {self.text!r}")
