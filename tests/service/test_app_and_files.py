"""GET /v1/parameters, GET /v1/info, POST /v1/files/upload and files in runs, logs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import boto3
import pytest

from functions.core.settings import get_settings
from tests.service import dsl
from tests.service.conftest import TENANT, Service

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def upload(
    service: Service, key: str, files: dict[str, tuple[str, bytes, str]], user: str | None = "u1"
):  # type: ignore[no-untyped-def]
    data = {"user": user} if user is not None else {}
    return service.app(key, "POST", "/v1/files/upload", files=files, data=data)


def test_parameters_describe_the_start_form_and_uploads(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())

    answer = service.app(key, "GET", "/v1/parameters", params={"user": "u1"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["user_input_form"] == [
        {
            "text-input": {
                "label": "query",
                "variable": "query",
                "required": True,
                "default": "",
                "max_length": None,
                "options": [],
            }
        }
    ]
    # The document's upload feature, as Dify exported it.
    assert body["file_upload"]["image"] == {
        "enabled": False,
        "number_limits": 3,
        "transfer_methods": ["local_file", "remote_url"],
    }
    assert body["system_parameters"] == {
        "file_size_limit": 15,
        "image_file_size_limit": 15,
        "audio_file_size_limit": 15,
        "video_file_size_limit": 15,
    }


def test_parameters_of_a_form_with_several_controls(service: Service) -> None:
    text = dsl.document(
        "form",
        [("start", dsl.start("name", optional=("bio",))), ("end", dsl.end(name=["start", "name"]))],
        [("start", "end")],
    )
    _, key = service.new_app(text)

    form = service.app(key, "GET", "/v1/parameters").json()["user_input_form"]

    assert [list(control) for control in form] == [["text-input"], ["paragraph"]]
    assert form[1]["paragraph"]["required"] is False
    # No upload feature in the document: Dify's default (images off).
    assert (
        service.app(key, "GET", "/v1/parameters").json()["file_upload"]["image"]["enabled"] is False
    )


def test_info_names_the_app(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    assert service.app(key, "GET", "/v1/info").json() == {
        "name": "echo",
        "description": 'This workflow receive a "query" and output the same content.',
        "tags": [],
        "mode": "workflow",
        "author_name": "",
    }


def test_an_upload_is_stored_under_the_tenant_and_described(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())

    answer = upload(service, key, {"file": ("photo.png", PNG, "image/png")})

    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"id", "name", "size", "extension", "mime_type", "created_by", "created_at"}
    assert body["name"] == "photo.png"
    assert body["size"] == len(PNG)
    assert body["extension"] == "png"
    assert body["mime_type"] == "image/png"
    assert isinstance(body["created_at"], int)
    s3 = boto3.client("s3", region_name=get_settings().region)
    stored = s3.get_object(
        Bucket=get_settings().bucket_name, Key=f"tenants/{TENANT}/uploads/{body['id']}.png"
    )
    assert stored["Body"].read() == PNG
    # The same end user as in the logs.
    run_id = service.run(key, {"query": "x"}).json()["workflow_run_id"]
    log = service.app(key, "GET", "/v1/workflows/logs").json()["data"]
    assert log[0]["id"] == run_id
    assert log[0]["created_by_end_user"]["id"] == body["created_by"]


def test_a_mime_type_left_generic_is_read_from_the_extension(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = upload(service, key, {"file": ("notes.md", b"# hi", "application/octet-stream")})
    assert answer.json()["mime_type"] == "text/markdown"


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ({}, 400, "no_file_uploaded"),
        ({"other": ("a.png", PNG, "image/png")}, 400, "no_file_uploaded"),
        ({"file": ("run.exe", b"MZ", "application/octet-stream")}, 415, "unsupported_file_type"),
        ({"file": ("noext", b"x", "text/plain")}, 415, "unsupported_file_type"),
    ],
)
def test_bad_uploads_are_refused_with_the_specs_codes(
    service: Service, files: dict[str, tuple[str, bytes, str]], status: int, code: str
) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = (
        upload(service, key, files)
        if files
        else service.app(
            key, "POST", "/v1/files/upload", data={"user": "u1"}, files={"user2": (None, b"x")}
        )
    )
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.json()["status"] == status


def test_one_file_per_upload(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = service.app(
        key,
        "POST",
        "/v1/files/upload",
        data={"user": "u1"},
        files=[("file", ("a.png", PNG, "image/png")), ("file", ("b.png", PNG, "image/png"))],
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "too_many_files"


def test_a_body_that_is_not_a_form_has_no_file(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    answer = service.app(key, "POST", "/v1/files/upload", json={"file": "x"})
    assert answer.json()["code"] == "no_file_uploaded"


def test_a_file_over_the_limit_is_413(service: Service, env: Callable[..., None]) -> None:
    env(UPLOAD_MAX_BYTES="1000")
    _, key = service.new_app(dsl.passthrough())

    answer = upload(service, key, {"file": ("big.png", PNG, "image/png")})

    assert answer.status_code == 413
    assert answer.json()["code"] == "file_too_large"
    assert upload(service, key, {"file": ("small.png", PNG[:1000], "image/png")}).status_code == 201


def test_uploaded_files_reach_the_run_as_sys_files(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    file_id = upload(service, key, {"file": ("photo.png", PNG, "image/png")}).json()["id"]
    files = [
        {"type": "image", "transfer_method": "local_file", "upload_file_id": file_id},
        {
            "type": "image",
            "transfer_method": "remote_url",
            "url": "https://example.com/a/cat.jpg?x=1",
        },
    ]

    answer = service.run(key, {"query": "x"}, files=files, response_mode="streaming")

    chunks = [
        json.loads(line[6:])
        for block in answer.text.split("\n\n")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]
    start = next(c["data"] for c in chunks if c["event"] == "node_finished")
    local, remote = start["outputs"]["sys.files"]
    assert local["id"] == local["related_id"] == file_id
    assert local["transfer_method"] == "local_file"
    assert local["filename"] == "photo.png"
    assert local["extension"] == ".png"
    assert local["mime_type"] == "image/png"
    assert local["size"] == len(PNG)
    assert (
        local["url"] == f"s3://{get_settings().bucket_name}/tenants/{TENANT}/uploads/{file_id}.png"
    )
    assert remote["remote_url"] == remote["url"] == "https://example.com/a/cat.jpg?x=1"
    assert remote["filename"] == "cat.jpg"


def test_an_upload_is_for_its_user_and_app_only(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    _, other_key = service.new_app(dsl.passthrough())
    file_id = upload(service, key, {"file": ("photo.png", PNG, "image/png")}).json()["id"]
    ref = [{"type": "image", "transfer_method": "local_file", "upload_file_id": file_id}]

    by_other_user = service.app(
        key,
        "POST",
        "/v1/workflows/run",
        json={"inputs": {"query": "x"}, "user": "u2", "files": ref},
    )
    by_other_app = service.run(other_key, {"query": "x"}, files=ref)

    assert by_other_user.json()["code"] == "invalid_param"
    assert by_other_app.json()["code"] == "invalid_param"


def test_a_file_input_is_given_as_a_file_reference(service: Service) -> None:
    text = dsl.document(
        "file input",
        [
            (
                "start",
                {
                    "type": "start",
                    "title": "Start",
                    "variables": [
                        {"variable": "doc", "label": "doc", "type": "file", "required": True}
                    ],
                },
            ),
            ("end", dsl.end(name=["start", "doc"])),
        ],
        [("start", "end")],
    )
    _, key = service.new_app(text)
    file_id = upload(service, key, {"file": ("doc.pdf", b"%PDF-1.4", "application/pdf")}).json()[
        "id"
    ]

    answer = service.run(
        key,
        {"doc": {"type": "document", "transfer_method": "local_file", "upload_file_id": file_id}},
    )

    assert answer.json()["data"]["status"] == "succeeded", answer.json()
    assert answer.json()["data"]["outputs"]["name"]["filename"] == "doc.pdf"


def test_logs_page_through_the_apps_runs_newest_first(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    run_ids = []
    for n in range(5):
        run_ids.append(service.run(key, {"query": f"q{n}"}).json()["workflow_run_id"])
        time.sleep(0.002)
    _, other_key = service.new_app(dsl.passthrough())
    service.run(other_key, {"query": "elsewhere"})

    first = service.app(key, "GET", "/v1/workflows/logs", params={"limit": 2}).json()
    third = service.app(key, "GET", "/v1/workflows/logs", params={"limit": 2, "page": 3}).json()

    assert {k: first[k] for k in ("page", "limit", "total", "has_more")} == {
        "page": 1, "limit": 2, "total": 5, "has_more": True,
    }  # fmt: skip
    assert [e["id"] for e in first["data"]] == run_ids[::-1][:2]
    assert third["has_more"] is False
    assert [e["id"] for e in third["data"]] == [run_ids[0]]
    entry = first["data"][0]
    assert set(entry) == {
        "id", "workflow_run", "created_from", "created_by_role", "created_by_account",
        "created_by_end_user", "created_at",
    }  # fmt: skip
    assert set(entry["workflow_run"]) == {
        "id", "version", "status", "error", "elapsed_time", "total_tokens", "total_steps",
        "created_at", "finished_at",
    }  # fmt: skip
    assert entry["workflow_run"]["status"] == "succeeded"
    assert entry["created_from"] == "service-api"
    assert entry["created_by_end_user"]["session_id"] == "u1"
    assert entry["created_by_end_user"]["type"] == "service_api"


def test_logs_filter_by_status_and_keyword(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    service.run(key, {"query": "apple pie"})
    service.run(key, {"query": "banana"})
    stopped = service.run(key, {"query": "cherry"}).json()["workflow_run_id"]
    # Stopping a run that already finished changes nothing.
    assert (
        service.app(
            key, "POST", f"/v1/workflows/tasks/{stopped}/stop", json={"user": "u1"}
        ).status_code
        == 200
    )

    by_keyword = service.app(key, "GET", "/v1/workflows/logs", params={"keyword": "APPLE"}).json()
    by_status = service.app(key, "GET", "/v1/workflows/logs", params={"status": "succeeded"}).json()
    failed = service.app(key, "GET", "/v1/workflows/logs", params={"status": "failed"}).json()
    bad = service.app(key, "GET", "/v1/workflows/logs", params={"status": "pending"})
    unfiltered = service.app(key, "GET", "/v1/workflows/logs", params={"status": ""}).json()
    too_many = service.app(key, "GET", "/v1/workflows/logs", params={"limit": 101})

    assert by_keyword["total"] == 1
    assert by_status["total"] == 3
    assert failed == {"page": 1, "limit": 20, "total": 0, "has_more": False, "data": []}
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_param"
    assert unfiltered["total"] == 3
    assert too_many.status_code == 400 and too_many.json()["code"] == "invalid_param"


def test_import_refuses_a_bad_document(service: Service) -> None:
    answer = service.account(
        "POST", "/v1/workflows/import", json={"yaml_content": "app: {mode: chat}\nkind: app"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_workflow"
