"""The canvas face over real HTTP: drafts, module list, publish, test runs, records, traces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.local_server import Server
from tests.service import dsl

pytestmark = pytest.mark.xdist_group("local-server")


def _graph(document: str) -> dict[str, Any]:
    graph: dict[str, Any] = yaml.safe_load(document)["workflow"]["graph"]
    return graph


def _suffix_graph(suffix: str) -> dict[str, Any]:
    """start(query) -> template "<query><suffix>" -> end(result)."""
    return _graph(
        dsl.document(
            "canvas",
            [
                ("start", dsl.start("query")),
                ("t", dsl.template("{{ q }}" + suffix, q=["start", "query"])),
                ("end", dsl.end(result=["t", "output"])),
            ],
            [("start", "t"), ("t", "end")],
        )
    )


def _save(client: httpx.Client, graph: dict[str, Any], **extra: Any) -> httpx.Response:
    return client.post("/workflow/canvas/draft", json={"graph": graph, **extra})


@pytest.fixture
def client(server: Server) -> httpx.Client:
    return server.client()


def test_module_list_describes_every_node_type_with_its_schema(client: httpx.Client) -> None:
    answer = client.post("/workflow/module/list", json={}).json()

    types = {module["type"]: module for module in answer["modules"]}
    assert answer["total"] == len(answer["modules"])
    assert {"llm", "if-else", "code", "iteration", "trigger-schedule"} <= set(types)
    assert types["if-else"]["handles"]["branches"] is True
    assert "properties" in types["code"]["configSchema"]


def test_a_draft_may_be_incomplete_but_publish_refuses_it(client: httpx.Client) -> None:
    graph = _suffix_graph("!")
    graph["edges"].append({"id": "x", "source": "t", "target": "nowhere"})

    saved = _save(client, graph)
    published = client.post("/workflow/canvas/publish", json={"id": saved.json()["id"]})

    assert saved.status_code == 200, saved.text
    assert any("nowhere" in p["reason"] + p["where"] for p in saved.json()["problems"])
    assert published.status_code == 400
    assert published.json()["problems"] == saved.json()["problems"]


def test_a_stale_hash_is_refused_and_changes_nothing(client: httpx.Client) -> None:
    first = _save(client, _suffix_graph("1")).json()
    second = _save(client, _suffix_graph("2"), id=first["id"], hash=first["hash"]).json()

    stale = _save(client, _suffix_graph("3"), id=first["id"], hash=first["hash"])
    shown = client.get(f"/v1/workflows/{first['id']}").json()

    assert second["hash"] != first["hash"]
    assert stale.status_code == 409
    assert stale.json()["code"] == "draft_workflow_not_sync"
    assert shown["hash"] == second["hash"]
    assert shown["graph"]["nodes"][1]["data"]["template"] == "{{ q }}2"


def test_draft_run_trace_publish_and_the_api(client: httpx.Client, server: Server) -> None:
    canvas = _save(client, _suffix_graph("!")).json()["id"]

    run = client.post("/workflow/canvas/run", json={"id": canvas, "inputs": {"query": "hi"}})
    trace = client.post("/workflow/trace", json={"traceId": run.json()["id"]}).json()
    api_id = client.post(
        "/workflow/canvas/publish", json={"id": canvas, "apiName": "Shout", "apiDesc": "adds !"}
    ).json()["apiId"]
    app_key = client.post(f"/v1/workflows/{canvas}/keys", json={"name": "app"}).json()["key"]
    via_api = server.client(app_key).post(
        f"/v1/workflows/{api_id}/run", json={"inputs": {"query": "yo"}, "user": "u"}
    )
    records = client.post("/workflow/canvas/run/record", json={"id": canvas}).json()["records"]

    assert run.json()["metadata"]["status"] == "succeeded", run.text
    assert run.json()["metadata"]["version"] == "draft"
    assert run.json()["data"] == {"result": "hi!"}
    assert [t["nodeId"] for t in trace["traces"]] == ["start", "t", "end"]
    assert trace["traces"][1]["predecessorNodeId"] == "start"
    assert trace["traces"][1]["outputs"] == {"output": "hi!"}
    assert trace["total"] == 3 and trace["totalElapsedTime"] >= 0
    assert api_id == f"{canvas}-v1"
    assert via_api.json()["data"]["outputs"] == {"result": "yo!"}
    assert [r["version"] for r in records] == ["1", "draft"]


def test_a_pinned_version_runs_its_own_graph_after_the_next_publish(
    client: httpx.Client, server: Server
) -> None:
    canvas = _save(client, _suffix_graph("-one")).json()
    first = client.post("/workflow/canvas/publish", json={"id": canvas["id"]}).json()["apiId"]
    _save(client, _suffix_graph("-two"), id=canvas["id"], hash=canvas["hash"])
    second = client.post("/workflow/canvas/publish", json={"id": canvas["id"]}).json()["apiId"]
    key = client.post(f"/v1/workflows/{canvas['id']}/keys", json={"name": "a"}).json()["key"]
    app = server.client(key)

    def run(target: str) -> Any:
        body = {"inputs": {"query": "x"}, "user": "u"}
        return app.post(f"/v1/workflows/{target}/run", json=body).json()["data"]["outputs"]

    versions = client.get(f"/v1/workflows/{canvas['id']}/versions").json()

    assert run(first) == {"result": "x-one"}
    assert run(second) == {"result": "x-two"}
    assert run(canvas["id"]) == {"result": "x-two"}  # the latest
    assert [v["versionId"] for v in versions["versions"]] == [second, first]


def test_a_failed_node_trace_carries_its_error(client: httpx.Client) -> None:
    graph = _graph(
        dsl.document(
            "fails",
            [
                ("start", dsl.start("query")),
                ("t", dsl.template("{{ q.missing.deeper }}", q=["start", "query"])),
                ("end", dsl.end(result=["t", "output"])),
            ],
            [("start", "t"), ("t", "end")],
        )
    )
    canvas = _save(client, graph).json()["id"]

    run = client.post("/workflow/canvas/run", json={"id": canvas, "inputs": {"query": "x"}})
    traces = client.post("/workflow/trace", json={"traceId": run.json()["id"]}).json()["traces"]

    assert run.json()["metadata"]["status"] == "failed"
    assert [t["nodeId"] for t in traces] == ["start", "t"]  # end was skipped: no trace
    assert traces[1]["status"] == "failed" and traces[1]["error"]


def test_secret_environment_values_are_kept_and_never_shown(client: httpx.Client) -> None:
    secret = {"name": "TOKEN", "value_type": "secret", "value": "s3cr3t", "description": ""}
    graph = _graph(
        dsl.document(
            "env",
            [
                ("start", dsl.start("query")),
                ("t", dsl.template("{{ v }}", v=["env", "TOKEN"])),
                ("end", dsl.end(result=["t", "output"])),
            ],
            [("start", "t"), ("t", "end")],
        )
    )
    first = _save(client, graph, environment_variables=[secret]).json()
    shown = client.get(f"/v1/workflows/{first['id']}").json()
    # The editor saves back what it was shown: the secret as the placeholder.
    again = _save(
        client,
        graph,
        id=first["id"],
        hash=first["hash"],
        environment_variables=shown["environment_variables"],
    )
    run = client.post("/workflow/canvas/run", json={"id": first["id"], "inputs": {"query": "q"}})

    assert "s3cr3t" not in str(shown) and "s3cr3t" not in again.text
    assert again.status_code == 200
    assert run.json()["data"] == {"result": "s3cr3t"}


def test_canvas_routes_answer_404_for_another_tenants_canvas(
    client: httpx.Client, server: Server
) -> None:
    canvas = _save(client, _suffix_graph("!")).json()
    run_id = client.post("/workflow/canvas/run", json={"id": canvas["id"]}).json()["id"]
    other = client.post(
        "/v1/keys", json={"name": "other", "scopes": ["write"], "tenant": "new"}
    ).json()["key"]
    stranger = server.client(other)

    answers = [
        _save(stranger, _suffix_graph("?"), id=canvas["id"]),
        stranger.post("/workflow/canvas/publish", json={"id": canvas["id"]}),
        stranger.post("/workflow/canvas/run", json={"id": canvas["id"]}),
        stranger.post("/workflow/canvas/run/record", json={"id": canvas["id"]}),
        stranger.post("/workflow/trace", json={"traceId": run_id}),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert client.get(f"/v1/workflows/{canvas['id']}").json()["hash"] == canvas["hash"]


def test_an_imported_dify_workflow_reads_back_in_full_and_takes_a_metadata_put(
    client: httpx.Client,
) -> None:
    imported = client.post("/v1/workflows/import", json={"yaml_content": dsl.chain(2)}).json()

    disabled = client.put(f"/v1/workflows/{imported['id']}", json={"enabled": False})
    shown = client.get(f"/v1/workflows/{imported['id']}").json()
    versions = client.get(f"/v1/workflows/{imported['id']}/versions").json()

    assert disabled.status_code == 200, disabled.text
    assert shown["enabled"] is False
    assert [n["id"] for n in shown["graph"]["nodes"]] == ["start", "t1", "t2", "end"]
    assert versions["total"] == 1  # a metadata-only change publishes nothing
