"""Jinja2 templates of Dify documents (template-transform, jinja2 prompts), sandboxed.

Dify renders these in its code sandbox; here they run in Jinja's SandboxedEnvironment,
which refuses attribute access to internals (`__class__`, `mro` ...) and caps `range`, so
a workflow author cannot reach the function's process. Autoescape is off and undefined
names render as nothing, as in Dify.

The environment also refuses, before computing them, the two cheap ways to ask for a huge
value: an integer power or product of more than MAX_INT_BITS bits (`9 ** (9 ** 8)`) and a
repetition of more than MAX_REPEAT items or characters (`'ab' * 10**8`); intercepted
operators are not folded at compile time either. Output is counted while it is produced
and stops at MAX_OUTPUT_CHARS. These are fast checks, not a bound: a template can still
loop or allocate for a long time in other ways, so the template-transform node renders in
a limited process (functions/nodes/template_transform/child.py) and only there do CPU
time and memory have a hard limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

# Dify's TEMPLATE_TRANSFORM_MAX_LENGTH default: bounds what one template can produce.
MAX_OUTPUT_CHARS = 400_000
# An int of this many bits has ~19,700 digits: far more than str() will print (4,300).
MAX_INT_BITS = 65_536
# Longest str, list or tuple that `*` may build.
MAX_REPEAT = 1_000_000
_SEQUENCES = (str, bytes, list, tuple)


class TemplateError(ValueError):
    """A template that does not parse, fails while rendering, or renders too much."""


class _LimitedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)


def _check_power(base: Any, exponent: Any) -> None:
    if type(base) not in {int, bool} or type(exponent) not in {int, bool}:
        return  # floats overflow quickly; anything else fails on its own
    if abs(base) > 1 and exponent > 0 and exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise SecurityError(
            f"{base} ** {exponent} is too large: integer results are limited to "
            f"{MAX_INT_BITS:,} bits"
        )


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise SecurityError(
                f"the product is too large: integer results are limited to {MAX_INT_BITS:,} bits"
            )
        return
    sequence, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
    if isinstance(sequence, _SEQUENCES) and isinstance(times, int):
        size = len(sequence) * times
        if size > MAX_REPEAT:
            unit = "characters" if isinstance(sequence, str | bytes) else "items"
            raise SecurityError(
                f"repeating a {type(sequence).__name__} {times:,} times would make {size:,} "
                f"{unit}; the limit is {MAX_REPEAT:,}"
            )


_ENVIRONMENT = _LimitedEnvironment(autoescape=False)


def render_jinja(template: str, variables: Mapping[str, Any]) -> str:
    try:
        compiled = _ENVIRONMENT.from_string(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    except MemoryError as exc:  # constant folding at compile time
        raise TemplateError("template ran out of memory") from exc
    pieces: list[str] = []
    size = 0
    try:
        for piece in compiled.generate(**variables):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateError(f"Output length exceeds {MAX_OUTPUT_CHARS} characters")
            pieces.append(piece)
    except TemplateError:
        raise
    except JinjaError as exc:  # includes SecurityError from the sandbox
        raise TemplateError(f"template failed: {exc.message or type(exc).__name__}") from exc
    except MemoryError as exc:
        raise TemplateError("template ran out of memory") from exc
    except Exception as exc:  # a template's own errors: 1/0, None + 1, a bad filter argument
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from exc
    return "".join(pieces)
