"""The step fields of a v1 node (`throw_on_error`, `conditional`, `loop`), run end to end
under moto: API -> compiled state machine -> node functions -> the run's steps."""

from __future__ import annotations

from typing import Any

from functions.core.data import runs as run_store
from functions.core.model.run import EventType, StepStatus
from tests.integration.conftest import Api


def echo(node_id: str, **fields: Any) -> dict[str, Any]:
    """A v1 tool-call of the echo tool; `input` is its input, the rest node fields."""
    return {
        "id": node_id,
        "type": "tool-call",
        "config": {"tool": "echo", "input": fields.pop("input", {})},
        **fields,
    }


def link(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"from": source, "to": target} for source, target in pairs]


def steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["nodeId"]: s for s in run["stepResults"]}


def test_throw_on_error_false_records_the_error_and_the_run_goes_on(api: Api) -> None:
    workflow = api.create(
        {
            "name": "lenient",
            "nodes": [
                echo("first", input={"v": 1}),
                {
                    "id": "broken",
                    "type": "tool-call",
                    "config": {"tool": "json_path"},
                    "throw_on_error": False,
                },
                echo(
                    "next",
                    input={
                        "message": "{{broken.error_message}}",
                        "kind": "{{broken.error_type}}",
                        "result": "{{broken.result}}",
                    },
                ),
            ],
            "edges": link(("first", "broken"), ("broken", "next")),
        }
    )
    assert workflow["nodes"][1]["throw_on_error"] is False  # the document keeps the field
    run = api.run_to_end(workflow["id"])

    assert run["status"] == "completed", run
    found = steps(run)
    assert list(found) == ["first", "broken", "next"]
    assert found["broken"]["status"] == "failed"
    assert "input.path is required" in found["broken"]["error"]
    assert found["broken"]["result"] is None
    seen = found["next"]["result"]
    assert "input.path is required" in seen["message"]
    assert seen["kind"] == "ToolInputError"
    assert seen["result"] is None  # a single reference keeps its type: null


def test_throw_on_error_true_fails_the_run(api: Api) -> None:
    workflow = api.create(
        {
            "name": "strict",
            "nodes": [
                {"id": "broken", "type": "tool-call", "config": {"tool": "json_path"}},
                echo("never"),
            ],
            "edges": link(("broken", "never")),
        }
    )
    workflow["nodes"][0]["throw_on_error"] = True
    updated = api.call("PUT", f"/v1/workflows/{workflow['id']}", json={"nodes": workflow["nodes"]})
    assert updated.status_code == 200, updated.text
    run = api.run_to_end(workflow["id"])

    assert run["status"] == "failed"
    assert "broken" in run["error"]
    assert "never" not in steps(run)


def test_conditional_skips_the_step_and_what_depends_only_on_it(api: Api) -> None:
    workflow = api.create(
        {
            "name": "gated",
            "nodes": [
                echo("check", input={"n": "{{trigger.data.n}}"}),
                echo(
                    "gated", input={"n": "{{check.result.n}}"}, conditional="{{check.result.n}} > 3"
                ),
                echo("child", input={"from": "{{gated.result.n}}"}),
                echo("other", input={"always": True}),
                echo("merge", input={"child": "{{child.result}}", "other": "{{other.result}}"}),
            ],
            "edges": link(
                ("check", "gated"),
                ("gated", "child"),
                ("check", "other"),
                ("child", "merge"),
                ("other", "merge"),
            ),
        }
    )
    skipped = api.run_to_end(workflow["id"], {"n": 1})
    taken = api.run_to_end(workflow["id"], {"n": 5})

    assert skipped["status"] == taken["status"] == "completed"
    # Skipped like an untaken branch: no step, and so no events at all.
    assert list(steps(skipped)) == ["check", "other", "merge"]
    assert steps(skipped)["merge"]["result"] == {"child": None, "other": {"always": True}}
    events = run_store.events(skipped["id"])
    assert not [e for e in events if e.node_id in ("gated", "child")]
    assert set(steps(taken)) == {"check", "gated", "child", "other", "merge"}
    assert steps(taken)["child"]["result"] == {"from": 5}
    # The condition is evaluated for the step, not as a step: the step's own events only.
    gated = [e for e in run_store.events(taken["id"]) if e.node_id == "gated"]
    assert [(e.type, e.node_type) for e in gated] == [
        (EventType.NODE_STARTED, "tool"),
        (EventType.NODE_FINISHED, "tool"),
    ]


def test_a_conditional_that_cannot_be_evaluated_fails_the_step(api: Api) -> None:
    workflow = api.create(
        {
            "name": "bad condition",
            "nodes": [
                echo("first"),
                echo("gated", conditional="{{trigger.data.n}} > 3"),
                echo("lenient", conditional="{{trigger.data.n}} > 3", throw_on_error=False),
                echo("after", input={"error": "{{lenient.error_message}}"}),
            ],
            "edges": link(("first", "lenient"), ("lenient", "after"), ("after", "gated")),
        }
    )
    run = api.run_to_end(workflow["id"], {"n": "many"})

    assert run["status"] == "failed"
    found = steps(run)
    assert "conditional: cannot compare" in found["lenient"]["error"]
    assert "conditional: cannot compare" in found["after"]["result"]["error"]
    assert found["gated"]["status"] == "failed"
    assert "node 'gated'" in run["error"] and "conditional: cannot compare" in run["error"]


def test_loop_runs_the_step_once_per_element_and_its_result_is_the_list(api: Api) -> None:
    workflow = api.create(
        {
            "name": "looped",
            "nodes": [
                echo("fetch", input={"items": ["a", {"b": 1}, ["c"]]}),
                echo(
                    "each",
                    input={
                        "item": "{{loop.item}}",
                        "index": "{{loop.index}}",
                        "n": "#{{loop.index}}",
                    },
                    loop="{{fetch.result.items}}",
                ),
                echo("after", input={"all": "{{each.result}}"}),
            ],
            "edges": link(("fetch", "each"), ("each", "after")),
        }
    )
    run = api.run_to_end(workflow["id"])

    assert run["status"] == "completed", run
    expected = [
        {"item": "a", "index": 0, "n": "#0"},
        {"item": {"b": 1}, "index": 1, "n": "#1"},
        {"item": ["c"], "index": 2, "n": "#2"},
    ]
    found = steps(run)
    assert found["each"]["result"] == expected
    assert found["after"]["result"] == {"all": expected}
    # One run of the tool per element (each one's inputs), then the step's list.
    each = [e for e in run_store.events(run["id"]) if e.node_id == "each"]
    ran = [e for e in each if e.type is EventType.NODE_FINISHED and e.inputs]
    assert [e.inputs["input"] for e in ran if e.inputs] == expected
    assert each[0].type is EventType.NODE_STARTED
    assert each[-1].outputs == {"output": expected, "result": expected}


def test_loop_over_nothing_and_a_failing_element(api: Api) -> None:
    workflow = api.create(
        {
            "name": "looped edges",
            "nodes": [
                echo("fetch", input={"none": [], "texts": ["{}", "not json"]}),
                echo("empty", loop="{{fetch.result.none}}"),
                {
                    "id": "some_fail",
                    "type": "tool-call",
                    "config": {"tool": "json_parse", "input": {"content": "{{loop.item}}"}},
                    "loop": "{{fetch.result.texts}}",
                    "throw_on_error": False,
                },
                echo(
                    "after",
                    input={"empty": "{{empty.result}}", "error": "{{some_fail.error_message}}"},
                ),
            ],
            "edges": link(("fetch", "empty"), ("empty", "some_fail"), ("some_fail", "after")),
        }
    )
    run = api.run_to_end(workflow["id"])

    assert run["status"] == "completed", run
    found = steps(run)
    assert found["empty"]["result"] == []
    assert found["some_fail"]["status"] == "failed"
    assert "input is not valid JSON" in found["after"]["result"]["error"]
    assert found["after"]["result"]["empty"] == []
    # The first element ran, the second failed, and the step goes on with its error.
    events = [e for e in run_store.events(run["id"]) if e.node_id == "some_fail"]
    finished = [e.status for e in events if e.type is EventType.NODE_FINISHED]
    assert finished == [StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.EXCEPTION]


def test_conditional_and_loop_are_checked_at_save(api: Api) -> None:
    answer = api.call(
        "POST",
        "/v1/workflows",
        json={
            "name": "bad",
            "nodes": [
                echo("a", conditional="{{b.result}} >"),
                echo("b", conditional="{{later.result}} == 1", loop="fetch.items"),
                echo("c", input={"x": "{{loop.item}}"}),
                echo("later"),
                {
                    "id": "d",
                    "type": "condition",
                    "config": {"expression": "1 == 1"},
                    "loop": "{{a.result}}",
                },
            ],
            "edges": link(("a", "b"), ("b", "c"), ("c", "later"), ("later", "d")),
        },
    )
    assert answer.status_code == 400, answer.text
    reasons = {(p["where"], p["reason"]) for p in answer.json()["problems"]}
    assert ("node 'a'", "conditional: condition '{{b.result}} >' ends too early") in reasons
    assert (
        "node 'b'",
        "conditional: references 'later.result' but 'later' does not run before it",
    ) in reasons
    assert (
        "node 'b'",
        "loop: must be one reference to a list, such as {{fetch.result.items}}",
    ) in reasons
    assert ("node 'c'", "references 'loop.item', which only a node with a loop has") in reasons
    assert ("node 'd'", "loop: a node of type 'if-else' cannot loop") in reasons
