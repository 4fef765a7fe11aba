"""POST /v1/workflows/run (blocking), GET /v1/workflows/run/{id}, stop, versions, errors."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from functions.core import engine
from functions.core.model import dify_format
from functions.core.services import workflows
from tests.service import dsl
from tests.service.conftest import TENANT, Service

RUN_DATA_FIELDS = {
    "id", "workflow_id", "status", "outputs", "error", "elapsed_time",
    "total_tokens", "total_steps", "created_at", "finished_at",
}  # fmt: skip


def test_blocking_run_answers_the_finished_run(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())

    answer = service.run(key, {"query": "hello"}, response_mode="blocking")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"workflow_run_id", "task_id", "data"}
    assert body["task_id"] == body["workflow_run_id"] == body["data"]["id"]
    data = body["data"]
    assert set(data) == RUN_DATA_FIELDS
    assert data["status"] == "succeeded"
    assert data["outputs"] == {"query": "hello"}
    assert data["error"] is None
    assert data["workflow_id"] == f"{workflow_id}-v1"
    assert data["total_steps"] == 2
    assert data["total_tokens"] == 0
    assert isinstance(data["elapsed_time"], float)
    assert isinstance(data["created_at"], int)
    assert data["finished_at"] >= data["created_at"]


def test_blocking_is_the_default_mode(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = service.app(
        key, "POST", "/v1/workflows/run", json={"inputs": {"query": "x"}, "user": "u"}
    )
    assert answer.json()["data"]["status"] == "succeeded"


def test_a_failed_run_is_200_with_status_failed(service: Service) -> None:
    _, key = service.new_app(dsl.failing())

    answer = service.run(key, {"query": "x"})

    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["status"] == "failed"
    assert "boom" in data["error"]
    assert data["outputs"] is None


def test_blocking_answers_running_when_the_bound_passes(
    service: Service, slow_app: tuple[str, str, str], env: Callable[..., None]
) -> None:
    env(SERVICE_BLOCKING_SECONDS="0.5")
    _, key, sleepy = slow_app

    started = time.monotonic()
    answer = service.run(key, {"url": f"{sleepy}/sleep?s=4"})
    waited = time.monotonic() - started

    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["status"] == "running"
    assert data["finished_at"] is None
    assert data["outputs"] is None
    # The bound, not the node: the node alone takes 4 s.
    assert 0.5 <= waited < 3.5
    # The run goes on and is found again by its id.
    detail = service.wait_for(key, answer.json()["workflow_run_id"])
    assert detail["status"] == "succeeded"
    assert detail["outputs"] == {"body": '{"slept": true}'}


def test_run_detail_shows_the_run_with_its_inputs(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    run_id = service.run(key, {"query": "hello"}).json()["workflow_run_id"]

    detail = service.app(key, "GET", f"/v1/workflows/run/{run_id}")

    assert detail.status_code == 200
    assert list(detail.json()) == [
        "id", "workflow_id", "status", "inputs", "outputs", "error", "total_steps",
        "total_tokens", "created_at", "finished_at", "elapsed_time",
    ]  # fmt: skip
    body = detail.json()
    assert body["status"] == "succeeded"
    assert body["inputs"] == {
        "query": "hello",
        "sys.user_id": "u1",
        "sys.files": [],
        "sys.app_id": workflow_id,
        "sys.workflow_id": f"{workflow_id}-v1",
    }
    assert body["outputs"] == {"query": "hello"}


def test_run_detail_is_404_for_another_apps_run(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    _, other_key = service.new_app(dsl.passthrough())
    run_id = service.run(key, {"query": "hello"}).json()["workflow_run_id"]

    assert service.app(other_key, "GET", f"/v1/workflows/run/{run_id}").status_code == 404
    missing = service.app(key, "GET", "/v1/workflows/run/no-such-run")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": {"query": "x"}}, "body.user: Field required"),
        ({"user": "u"}, "body.inputs: Field required"),
        ({"inputs": "x", "user": "u"}, "body.inputs: Input should be a valid dictionary"),
        (
            {"inputs": {"query": "x"}, "user": ""},
            "body.user: String should have at least 1 character",
        ),
        ({"inputs": {"query": "x"}, "user": "u", "response_mode": "fast"}, "body.response_mode"),
        ({"inputs": {}, "user": "u"}, "query is required in input form"),
        ({"inputs": {"query": 3}, "user": "u"}, "query in input form must be a string"),
        (
            {
                "inputs": {"query": "x"},
                "user": "u",
                "files": [{"type": "image", "transfer_method": "remote_url"}],
            },
            "url is required when transfer_method is remote_url",
        ),
        (
            {
                "inputs": {"query": "x"},
                "user": "u",
                "files": [
                    {"type": "image", "transfer_method": "local_file", "upload_file_id": "nope"}
                ],
            },
            "files.0.upload_file_id: no file 'nope' was uploaded",
        ),
    ],
)
def test_bad_requests_are_invalid_param(
    service: Service, body: dict[str, object], message: str
) -> None:
    _, key = service.new_app(dsl.passthrough())

    answer = service.app(key, "POST", "/v1/workflows/run", json=body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_param"
    assert answer.json()["status"] == 400
    assert message in answer.json()["message"]


def test_a_body_that_is_not_json_is_invalid_param(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = service.app(
        key,
        "POST",
        "/v1/workflows/run",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_param"


def test_a_disabled_or_deleted_workflow_is_app_unavailable(service: Service) -> None:
    workflow = service.create_v1(
        {
            "name": "v1",
            "nodes": [
                {"id": "a", "type": "tool-call", "config": {"tool": "echo", "input": {"x": 1}}}
            ],
        }
    )
    key = service.app_key(workflow["id"])
    assert service.run(key, {}).json()["data"]["status"] == "succeeded"

    service.account("PUT", f"/v1/workflows/{workflow['id']}", json={"enabled": False})
    disabled = service.run(key, {})
    service.account("DELETE", f"/v1/workflows/{workflow['id']}")
    deleted = service.run(key, {})
    parameters = service.app(key, "GET", "/v1/parameters")

    for answer in (disabled, deleted, parameters):
        assert answer.status_code == 400
        assert answer.json()["code"] == "app_unavailable"


def test_no_model_provider_is_provider_not_initialize(
    service: Service, env: Callable[..., None]
) -> None:
    _, key = service.new_app(dsl.with_llm())
    env(LLM_PROVIDER="nowhere")

    answer = service.run(key, {"query": "hi"})

    assert answer.status_code == 400
    assert answer.json()["code"] == "provider_not_initialize"


def test_a_run_the_engine_refuses_is_workflow_request_error(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = service.new_app(dsl.passthrough())

    def refuse(*_: object) -> str:
        raise ClientError(
            {"Error": {"Code": "ExecutionLimitExceeded", "Message": "too many"}}, "StartExecution"
        )

    monkeypatch.setattr(engine, "start", refuse)
    answer = service.run(key, {"query": "x"})

    assert answer.status_code == 400
    assert answer.json()["code"] == "workflow_request_error"
    assert "ExecutionLimitExceeded" in answer.json()["message"]


def test_a_published_version_runs_by_its_id(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    version = f"{workflow_id}-v1"

    by_version = service.app(
        key, "POST", f"/v1/workflows/{version}/run", json={"inputs": {"query": "v"}, "user": "u1"}
    )
    by_workflow = service.app(
        key,
        "POST",
        f"/v1/workflows/{workflow_id}/run",
        json={"inputs": {"query": "w"}, "user": "u1"},
    )

    assert by_version.json()["data"]["outputs"] == {"query": "v"}
    assert by_version.json()["data"]["workflow_id"] == version
    assert by_workflow.json()["data"]["workflow_id"] == version


def test_each_published_version_runs_its_own_graph(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    # A save publishes version 2 (the graph changed).
    workflows.update(TENANT, workflow_id, dify_format.import_document(dsl.chain(1)))

    old = service.app(
        key,
        "POST",
        f"/v1/workflows/{workflow_id}-v1/run",
        json={"inputs": {"query": "x"}, "user": "u"},
    )
    current = service.app(
        key,
        "POST",
        f"/v1/workflows/{workflow_id}-v2/run",
        json={"inputs": {"query": "x"}, "user": "u"},
    )
    future = service.app(
        key,
        "POST",
        f"/v1/workflows/{workflow_id}-v3/run",
        json={"inputs": {"query": "x"}, "user": "u"},
    )
    _, other_key = service.new_app(dsl.passthrough())
    foreign = service.app(
        other_key,
        "POST",
        f"/v1/workflows/{workflow_id}/run",
        json={"inputs": {"query": "x"}, "user": "u"},
    )

    # Version 1 is pinned: it still runs the passthrough graph after version 2 exists.
    assert old.json()["data"]["outputs"] == {"query": "x"}
    assert old.json()["data"]["workflow_id"] == f"{workflow_id}-v1"
    assert current.json()["data"]["outputs"] == {"result": "x-1"}
    assert current.json()["data"]["workflow_id"] == f"{workflow_id}-v2"
    assert future.status_code == 404
    assert foreign.status_code == 404


def test_stop_ends_a_running_run_as_stopped(
    service: Service, slow_app: tuple[str, str, str], env: Callable[..., None]
) -> None:
    env(SERVICE_BLOCKING_SECONDS="0.1")
    _, key, sleepy = slow_app
    run_id = service.run(key, {"url": f"{sleepy}/sleep?s=2"}).json()["workflow_run_id"]
    while service.app(key, "GET", f"/v1/workflows/run/{run_id}").json()["total_steps"] < 2:
        time.sleep(0.05)  # until the slow node has started

    stopped = service.app(key, "POST", f"/v1/workflows/tasks/{run_id}/stop", json={"user": "u1"})

    assert stopped.status_code == 200
    assert stopped.json() == {"result": "success"}
    detail = service.app(key, "GET", f"/v1/workflows/run/{run_id}").json()
    assert detail["status"] == "stopped"
    assert detail["finished_at"] is not None
    # The node that was running finishes later; the run stays stopped and runs nothing more.
    time.sleep(2.5)
    later = service.app(key, "GET", f"/v1/workflows/run/{run_id}").json()
    assert later["status"] == "stopped"
    assert later["total_steps"] == 2
    # Stopping again (or a finished run) is still a success.
    again = service.app(key, "POST", f"/v1/workflows/tasks/{run_id}/stop", json={"user": "u1"})
    assert again.json() == {"result": "success"}


def test_only_the_user_who_started_a_task_may_stop_it(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    run_id = service.run(key, {"query": "x"}).json()["workflow_run_id"]

    other_user = service.app(
        key, "POST", f"/v1/workflows/tasks/{run_id}/stop", json={"user": "someone"}
    )
    no_user = service.app(key, "POST", f"/v1/workflows/tasks/{run_id}/stop", json={})
    unknown = service.app(key, "POST", "/v1/workflows/tasks/nope/stop", json={"user": "u1"})

    assert other_user.status_code == 404
    assert no_user.status_code == 400
    assert no_user.json()["code"] == "invalid_param"
    assert unknown.status_code == 404
