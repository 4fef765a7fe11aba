"""The code node: Dify's config and output checks, and what its sandbox enforces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.core.errors import NodeError
from functions.nodes.code.entities import CodeConfig
from functions.nodes.code.node import run
from functions.nodes.code.outputs import check_outputs
from functions.nodes.code.sandbox import Limits
from tests.unit.dify_nodes.support import context

REPO = Path(__file__).resolve().parents[3]
FAST = Limits(timeout_seconds=2)


def code_node(
    code: str, outputs: dict[str, Any] | None = None, **variables: list[str]
) -> CodeConfig:
    return CodeConfig.model_validate(
        {
            "code_language": "python3",
            "code": code,
            "variables": [{"variable": k, "value_selector": v} for k, v in variables.items()],
            "outputs": outputs,
            "title": "ignored Dify field",
        }
    )


def execute(config: CodeConfig, limits: Limits = FAST) -> dict[str, Any]:
    ctx = context(start={"name": "Ada", "nums": [3, 1, 2]})
    return run(config, ctx, limits).outputs


def failure(config: CodeConfig, limits: Limits = FAST) -> NodeError:
    with pytest.raises(NodeError) as caught:
        execute(config, limits)
    return caught.value


STDLIB = """
import json, re
from datetime import date

def main(name: str, nums: list) -> dict:
    return {
        "greeting": re.sub("^", "Hi ", name),
        "total": sum(nums),
        "sorted": sorted(nums),
        "meta": {"json": json.dumps({"n": len(nums)}), "day": date(2024, 1, 2).isoformat()},
        "flags": [True, False],
        "ok": True,
    }
"""
STDLIB_OUTPUTS = {
    "greeting": {"type": "string"},
    "total": {"type": "number"},
    "sorted": {"type": "array[number]"},
    "meta": {"type": "object", "children": {"json": {"type": "string"}, "day": {"type": "string"}}},
    "flags": {"type": "array[boolean]"},
    "ok": {"type": "boolean"},
}


def test_main_gets_the_selected_variables_and_its_result_is_checked() -> None:
    config = code_node(STDLIB, STDLIB_OUTPUTS, name=["start", "name"], nums=["start", "nums"])

    result = run(config, context(start={"name": "Ada", "nums": [3, 1, 2]}), FAST)

    assert result.outputs == {
        "greeting": "Hi Ada",
        "total": 6,
        "sorted": [1, 2, 3],
        "meta": {"json": '{"n": 3}', "day": "2024-01-02"},
        "flags": [True, False],
        "ok": True,
    }
    assert result.inputs == {"name": "Ada", "nums": [3, 1, 2]}


def test_references_are_the_variables_not_text_inside_the_code() -> None:
    config = code_node("def main(a):\n    return {'t': '{{#x.y#}}'}", a=["start", "name"])

    assert config.references() == [("start", "name")]


@pytest.mark.parametrize(
    ("returned", "outputs", "message"),
    [
        ({"x": 1}, {"x": {"type": "string"}}, "Output variable `x` must be a string"),
        ({"x": "a"}, {"x": {"type": "number"}}, "Output variable `x` must be a number"),
        ({"x": 1}, {"x": {"type": "boolean"}}, "Output variable `x` must be a boolean"),
        (
            {"x": [1, "a"]},
            {"x": {"type": "array[number]"}},
            "Output variable `x[1]` must be a number",
        ),
        (
            {"x": {"y": 1}},
            {"x": {"type": "object", "children": {"y": {"type": "string"}}}},
            "Output variable `x.y` must be a string",
        ),
        ({}, {"x": {"type": "string"}}, "Output x is missing."),
        (
            {"x": "a", "extra": 1},
            {"x": {"type": "string"}},
            "Not all output parameters are validated",
        ),
        ({"x": 2**63}, {"x": {"type": "number"}}, "Output variable `x` is out of range"),
        ({"x": 0.1 + 1e-21}, {"x": {"type": "number"}}, None),
        (
            {"x": ["a"] * 31},
            {"x": {"type": "array[string]"}},
            "The length of output variable `x` must be less than 30 elements.",
        ),
        (
            {"x": "a" * 80001},
            {"x": {"type": "string"}},
            "The length of output variable `x` must be less than 80000 characters",
        ),
        ({"x": {"a": {"b": {"c": {"d": {"e": 1}}}}}}, None, "Depth limit 5 reached"),
        ({"x": [1, "a"]}, None, "Output x is not a valid array"),
    ],
)
def test_outputs_are_checked_against_their_declared_types_like_dify(
    returned: dict[str, Any], outputs: dict[str, Any] | None, message: str | None
) -> None:
    schema = CodeConfig.model_validate({"code": "", "outputs": outputs}).outputs
    if message is None:
        assert check_outputs(returned, schema) == returned
        return
    with pytest.raises(NodeError) as caught:
        check_outputs(returned, schema)

    assert message in str(caught.value)
    assert caught.value.error_type in ("OutputValidationError", "CodeNodeError", "DepthLimitError")


def test_a_result_of_the_wrong_type_fails_the_node() -> None:
    error = failure(code_node("def main():\n    return {'x': 1}", {"x": {"type": "string"}}))

    assert str(error) == "Output variable `x` must be a string"


def test_null_passes_any_type_and_a_boolean_number_becomes_an_integer() -> None:
    outputs = {"s": {"type": "string"}, "n": {"type": "number"}, "o": {"type": "object"}}
    config = code_node(
        "def main():\n    return {'s': None, 'n': True, 'o': {'a': [1, 2]}}", outputs
    )

    assert execute(config) == {"s": None, "n": 1, "o": {"a": [1, 2]}}


def test_an_error_in_the_code_is_its_last_traceback_line_with_the_line_number() -> None:
    error = failure(code_node("def main():\n    x = {}\n    return x['missing']"))

    assert str(error) == "KeyError: 'missing' (line 3)"
    assert error.error_type == "CodeExecutionError"


def test_a_result_that_is_not_a_dict_or_not_json_is_an_error() -> None:
    assert "main() must return a dict, not list" in str(
        failure(code_node("def main():\n    return [1]"))
    )
    not_json = failure(
        code_node("import datetime\ndef main():\n    return {'d': datetime.date.today()}")
    )
    assert "not JSON serializable" in str(not_json)


def test_javascript_is_refused_when_the_node_runs() -> None:
    config = CodeConfig.model_validate(
        {"code_language": "javascript", "code": "function main() {}"}
    )

    with pytest.raises(NodeError, match="only python3 code is supported"):
        run(config, context(), FAST)


def test_only_the_standard_library_imports() -> None:
    for module in ("pandas", "functions"):
        error = failure(code_node(f"import {module}\ndef main():\n    return {{}}"))
        assert f"ModuleNotFoundError: No module named '{module}'" in str(error)


def test_runaway_code_is_killed_at_the_time_limit() -> None:
    error = failure(
        code_node("def main():\n    while True:\n        pass"), Limits(timeout_seconds=1)
    )

    assert str(error) == "code timed out after 1s"
    assert error.error_type == "CodeExecutionError"


def test_code_cannot_allocate_past_the_memory_limit() -> None:
    error = failure(code_node("def main():\n    return {'n': len(bytearray(512 * 1024 * 1024))}"))

    assert str(error) == "code exceeded the memory limit of 256 MB"


def test_the_environment_is_empty_of_credentials_and_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "super-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("TABLE_NAME", "stepcanvas")
    config = code_node("import os\ndef main():\n    return {'keys': sorted(os.environ)}")

    assert execute(config)["keys"] == ["HOME", "LANG", "PATH", "TMPDIR"]


def test_project_files_and_other_files_cannot_be_read() -> None:
    for path in (
        REPO / "pyproject.toml",
        REPO / "functions" / "core" / "settings.py",
        "/etc/passwd",
    ):
        error = failure(code_node(f"def main():\n    return {{'t': open({str(path)!r}).read()}}"))
        assert f"reading {path} is not allowed in a code node" in str(error)
    sneaky = f"import os\ndef main():\n    return {{'t': os.listdir({str(REPO)!r})}}"
    assert "is not allowed in a code node" in str(failure(code_node(sneaky)))


def test_files_can_be_written_and_read_back_in_the_working_directory_only() -> None:
    local = (
        "def main():\n    open('n.txt', 'w').write('hi')\n    return {'t': open('n.txt').read()}"
    )
    assert execute(code_node(local)) == {"t": "hi"}
    outside = "def main():\n    open('/tmp/escape.txt', 'w').write('x')\n    return {}"
    assert "writing /tmp/escape.txt is not allowed" in str(failure(code_node(outside)))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import socket\n    socket.create_connection(('127.0.0.1', 9001))", "network access"),
        (
            "import urllib.request\n    urllib.request.urlopen('http://169.254.169.254/')",
            "network access",
        ),
        ("import subprocess\n    subprocess.run(['id'])", "is not allowed"),
        ("import os\n    os.system('id')", "os.system is not allowed"),
        ("import os\n    os.kill(os.getppid(), 9)", "os.kill is not allowed"),
        ("import ctypes", "importing ctypes is not allowed"),
        ("import gc\n    gc.get_objects()", "gc.get_objects is not allowed"),
    ],
)
def test_obvious_escapes_are_refused(code: str, message: str) -> None:
    error = failure(code_node(f"def main():\n    {code}\n    return {{}}"))

    assert message in str(error)


def test_an_unset_selector_passes_none_like_difys_default_arguments() -> None:
    config = CodeConfig.model_validate(
        {
            "code": "def main(arg1, arg2):\n    return {'result': [arg1, arg2]}",
            "variables": [
                {"variable": "arg1", "value_selector": []},
                {"variable": "arg2", "value_selector": ["start", "name"]},
            ],
            "outputs": {"result": {"type": "array[string]", "children": None}},
        }
    )

    assert execute(config) == {"result": [None, "Ada"]}
    assert config.references() == [("start", "name")]
