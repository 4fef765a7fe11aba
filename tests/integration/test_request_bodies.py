"""Request bodies a route cannot take answer 4xx in the API's shape, never a 500.

Every JSON route reads its body one way (functions/api/bodies.py), so each refusal is
checked on every route that takes a JSON body, through the real gateway.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from functions.core import nesting
from functions.core.triggers import signatures
from tests.integration.conftest import Api

ECHO = [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}]

# (method, path) of every route with a JSON body; `{id}` is a workflow of the caller's.
JSON_ROUTES = [
    ("POST", "/v1/keys"),
    ("POST", "/v1/workflows"),
    ("POST", "/v1/workflows/import"),
    ("PUT", "/v1/workflows/{id}"),
    ("POST", "/v1/workflows/{id}/keys"),
    ("POST", "/v1/workflows/{id}/run"),  # served by the stream function
    ("POST", "/v1/events"),
    ("APP", "/v1/workflows/run"),  # the service API, with an app key
]


def _send(api: Api, route: tuple[str, str], content: bytes, content_type: str) -> httpx.Response:
    method, path = route
    workflow = api.create({"name": "target", "nodes": ECHO})
    headers = {**api.headers, "Content-Type": content_type}
    if method == "APP":
        answer = api.call("POST", f"/v1/workflows/{workflow['id']}/keys", json={})
        assert answer.status_code == 201, answer.text
        method, headers = "POST", {"Authorization": f"Bearer {answer.json()['key']}"}
        headers["Content-Type"] = content_type
    url = path.replace("{id}", workflow["id"])
    return api.client.request(method, url, content=content, headers=headers)


def _refused(answer: httpx.Response, status: int, code: str, *fragments: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) >= {"code", "message", "status"}, body
    assert (body["code"], body["status"]) == (code, status), body
    for fragment in fragments:
        assert fragment in body["message"], body


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("field", ["name", "description", "trigger", "nodes", "edges", "enabled"])
def test_a_null_field_in_an_update_is_refused_naming_the_field(api: Api, field: str) -> None:
    workflow = api.create({"name": "kept", "nodes": ECHO})
    answer = api.call("PUT", f"/v1/workflows/{workflow['id']}", json={field: None})
    _refused(answer, 400, "invalid_param", f"body.{field}: may not be null")
    assert api.call("GET", f"/v1/workflows/{workflow['id']}").json()["name"] == "kept"


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_body_nested_too_deeply_is_refused_naming_the_limit(
    api: Api, route: tuple[str, str]
) -> None:
    content = b"[" * 10_000 + b"]" * 10_000
    answer = _send(api, route, content, "application/json")
    _refused(answer, 400, "invalid_param", f"nested deeper than {nesting.MAX_DEPTH} levels")


def test_a_node_config_nested_too_deeply_is_refused(api: Api) -> None:
    config = {"tool": "echo", "input": _nested(900)}
    document = {"name": "deep", "nodes": [{"id": "a", "type": "tool-call", "config": config}]}
    answer = api.call("POST", "/v1/workflows", json=document)
    _refused(answer, 400, "invalid_param", f"nested deeper than {nesting.MAX_DEPTH} levels")
    # Within the limit, a nested config is an ordinary document.
    config = {"tool": "echo", "input": _nested(nesting.MAX_DEPTH - 6)}
    document = {"name": "deep", "nodes": [{"id": "a", "type": "tool-call", "config": config}]}
    assert api.call("POST", "/v1/workflows", json=document).status_code == 201


def test_an_imported_dify_document_nested_too_deeply_is_refused(api: Api) -> None:
    # The body is shallow: the document inside it is what nests, in a node's data.
    code = {"type": "code", "title": "Code", "code": "def main():\n  return {}"}
    nodes = [
        {"id": "s", "type": "custom", "data": {"type": "start", "title": "Start"}},
        {"id": "c", "type": "custom", "data": {**code, "extra": _nested(300)}},
        {"id": "e", "type": "custom", "data": {"type": "end", "title": "End", "outputs": []}},
    ]
    edges = [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in (("s", "c"), ("c", "e"))]
    draft = json.dumps({"graph": {"nodes": nodes, "edges": edges}})
    answer = api.call("POST", "/v1/workflows/import", json={"yaml_content": draft})
    _refused(answer, 400, "invalid_workflow", f"nested deeper than {nesting.MAX_DEPTH} levels")


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_body_not_sent_as_json_is_unsupported_media_type(
    api: Api, route: tuple[str, str]
) -> None:
    # Without a boundary, with one (no form parsing either way), and plain text.
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=x", "text/plain"):
        answer = _send(api, route, b"{}", content_type)
        _refused(answer, 415, "unsupported_media_type", "application/json")


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_a_body_that_is_not_utf8_is_invalid_param(api: Api, route: tuple[str, str]) -> None:
    answer = _send(api, route, b'{"name":"\xff"}', "application/json")
    _refused(answer, 400, "invalid_param", "not valid UTF-8")


def test_a_webhook_body_nested_too_deeply_is_refused(api: Api) -> None:
    created = api.create({"name": "hook", "nodes": ECHO, "trigger": {"type": "webhook"}})
    hook = created["trigger"]["webhook"]
    body = json.dumps(_nested(900)).encode()
    header = signatures.sign(hook["secret"], body, int(time.time()))
    answer = api.client.post(
        f"/v1/hooks/{created['id']}",
        content=body,
        headers={signatures.HEADER: header, "Content-Type": "application/json"},
    )
    _refused(answer, 400, "invalid_param", f"nested deeper than {nesting.MAX_DEPTH} levels")


@pytest.mark.parametrize(
    ("document", "where", "reason"),
    [
        (
            {
                "name": "u",
                "nodes": [{"id": "h", "type": "http-request", "config": {"url": "not a url"}}],
            },
            "node 'h'",
            "http:// or https://",
        ),
        (
            {
                "name": "u",
                "nodes": [
                    {
                        "id": "h",
                        "type": "http-request",
                        "config": {"url": "ftp://x/{{trigger.data.p}}"},
                    }
                ],
            },
            "node 'h'",
            "http:// or https://",
        ),
    ],
)
def test_a_url_that_can_never_be_fetched_is_refused_at_save(
    api: Api, document: dict[str, Any], where: str, reason: str
) -> None:
    answer = api.call("POST", "/v1/workflows", json=document)
    assert answer.status_code == 400, answer.text
    assert any(p["where"] == where and reason in p["reason"] for p in answer.json()["problems"])


def test_templated_urls_are_accepted_at_save(api: Api) -> None:
    for url in ("{{trigger.data.url}}", "https://example.com/{{trigger.data.p}}"):
        config = {"url": url}
        api.create({"name": "t", "nodes": [{"id": "h", "type": "http-request", "config": config}]})


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_enabled_must_be_a_boolean(api: Api, value: Any) -> None:
    answer = api.call("POST", "/v1/workflows", json={"name": "b", "nodes": ECHO, "enabled": value})
    assert answer.status_code == 400, answer.text
    assert "enabled" in answer.json()["message"]
