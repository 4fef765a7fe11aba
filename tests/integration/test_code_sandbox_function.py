"""User code runs in the code sandbox function (functions/sandbox), reached through the
Lambda API as the code node reaches it in AWS: results and limit errors cross it intact."""

from __future__ import annotations

import pytest

from functions.core.errors import NodeError
from functions.core.settings import get_settings
from functions.nodes.code.isolation import run_code
from functions.nodes.code.sandbox import CODE_EXECUTION_ERROR, Limits
from local import aws

FAST = Limits(timeout_seconds=2)


def test_code_runs_in_the_sandbox_function_and_its_errors_come_back(
    local_aws: aws.LocalAws,
) -> None:
    assert get_settings().code_sandbox_function_arn.endswith(":function:stepcanvas-code-sandbox")

    result = run_code("def main(a):\n    return {'twice': a * 2}\n", {"a": 21}, FAST)
    with pytest.raises(NodeError) as timed_out:
        run_code("def main():\n    while True:\n        pass\n", {}, Limits(timeout_seconds=1))
    with pytest.raises(NodeError) as raised:
        run_code("def main():\n    raise ValueError('no')\n", {}, FAST)

    assert result == {"twice": 42}
    assert timed_out.value.error_type == CODE_EXECUTION_ERROR
    assert "timed out" in str(timed_out.value)
    assert "ValueError: no" in str(raised.value)


def test_a_sandbox_that_cannot_be_called_fails_the_node_and_runs_nothing_here(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CODE_SANDBOX_FUNCTION_ARN", "arn:aws:lambda:us-east-1:123456789012:function:missing"
    )
    get_settings.cache_clear()
    try:
        with pytest.raises(NodeError) as failed:
            run_code("def main():\n    return {'ran': True}\n", {}, FAST)
    finally:
        get_settings.cache_clear()

    assert "the code sandbox could not be called" in str(failed.value)
