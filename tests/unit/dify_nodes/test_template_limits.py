"""Template-transform runs user Jinja2 in a limited child: runaway templates fail the node
with the limit they hit, quickly, and slow no other render."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from functions.core.errors import NodeError
from functions.core.expressions.jinja import MAX_OUTPUT_CHARS
from functions.nodes.limited import Limits
from functions.nodes.template_transform.entities import TemplateTransformConfig
from functions.nodes.template_transform.node import run
from tests.unit.dify_nodes.support import context

FAST = Limits(timeout_seconds=2)
# CPU-bound and clear of the fast checks: 10**10 loop iterations (range is capped at 10**5).
SPIN = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def template(text: str) -> TemplateTransformConfig:
    return TemplateTransformConfig.model_validate(
        {
            "template": text,
            "variables": [
                {"variable": "name", "value_selector": ["start", "name"]},
                {"variable": "items", "value_selector": ["start", "items"]},
            ],
        }
    )


def render(text: str, limits: Limits = FAST) -> str:
    ctx = context(start={"name": "Ada", "items": [{"n": 3}, {"n": 1}, {"n": 2}]})
    output: Any = run(template(text), ctx, limits).outputs["output"]
    return str(output)


def failure(text: str, limits: Limits = FAST) -> tuple[NodeError, float]:
    started = time.monotonic()
    with pytest.raises(NodeError) as caught:
        render(text, limits)
    assert caught.value.error_type == "TemplateTransformError"
    return caught.value, time.monotonic() - started


def test_a_huge_integer_power_fails_fast_and_names_the_limit() -> None:
    error, seconds = failure("{% set x = 9 ** (9 ** 8) %}{{ x }}", Limits())

    assert "9 ** 43046721 is too large: integer results are limited to 65,536 bits" in str(error)
    assert seconds < 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ ('ab' * 10**8)|length }}",
            "would make 200,000,000 characters; the limit is 1,000,000",
        ),
        ("{{ ([0] * 10**7)|length }}", "would make 10,000,000 items; the limit is 1,000,000"),
        ("{{ (10**10000 * 10**10000)|length }}", "integer results are limited to 65,536 bits"),
    ],
)
def test_huge_repetitions_and_products_are_refused(text: str, message: str) -> None:
    error, _ = failure(text)
    assert message in str(error)


def test_a_runaway_loop_is_killed_at_the_time_limit() -> None:
    error, seconds = failure(SPIN, Limits(timeout_seconds=1))

    assert str(error) == "template timed out after 1s"
    assert seconds < 3


def test_allocation_past_the_memory_limit_fails_the_node() -> None:
    # str.ljust builds the value outside any intercepted operator: only the rlimit stops it.
    error, _ = failure("{{ 'ab'.ljust(400000000)|length }}")

    assert str(error) == "template exceeded the memory limit of 256 MB"


def test_output_above_the_cap_fails_as_soon_as_it_is_produced() -> None:
    error, seconds = failure("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}")

    assert str(error) == f"Output length exceeds {MAX_OUTPUT_CHARS} characters"
    assert seconds < 3
    assert len(render("{{ 'x' * 400000 }}")) == MAX_OUTPUT_CHARS


def test_an_answer_above_the_byte_limit_fails_the_node() -> None:
    error, _ = failure("{{ 'é' * 300000 }}", Limits(timeout_seconds=2, output_bytes=100_000))

    assert str(error).startswith("the rendered output is ")
    assert str(error).endswith("bytes; the limit is 100,000")


def test_a_runaway_template_does_not_slow_a_concurrent_render() -> None:
    errors: list[NodeError] = []

    def runaway() -> None:
        try:
            render(SPIN, Limits(timeout_seconds=3))
        except NodeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)  # the runaway child is spinning by now
    started = time.monotonic()
    assert render("{{ name }}: {{ items|map(attribute='n')|sum }}") == "Ada: 6"
    assert time.monotonic() - started < 1
    thread.join(timeout=10)

    assert [str(e) for e in errors] == ["template timed out after 3s"]


def test_normal_templates_render_as_before() -> None:
    text = (
        "{% for item in items|sort(attribute='n') %}{{ loop.index }}:{{ item.n }} {% endfor %}"
        "{{ name|upper }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ items|length }} {{ missing }}"
        "{{ {'a': 1}|tojson }} {{ '%05.1f'|format(3.14159) }}"
    )

    assert render(text) == '1:1 2:2 3:3 ADA 1024 ababab 3 {"a": 1} 003.1'


def test_sandbox_and_errors_still_hold_in_the_child() -> None:
    assert str(failure("{{ name.__class__.__mro__ }}")[0]).startswith(
        "template failed: access to attribute '__class__'"
    )
    assert str(failure("{{ 1 / 0 }}")[0]) == "template failed: ZeroDivisionError: division by zero"
    assert str(failure("{{ lipsum.__globals__.os.system('id') }}")[0]).startswith(
        "template failed: "
    )
