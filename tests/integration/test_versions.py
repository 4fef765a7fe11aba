"""Drafts and versions under moto: pinned runs, optimistic saves, nothing half-written."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import yaml

from functions.core.data import versions as version_store
from functions.core.data import workflows as workflow_store
from functions.core.errors import Conflict, DraftNotSync, InvalidWorkflow
from functions.core.model import dify_format
from functions.core.model.workflow import Draft
from functions.core.services import runs, workflows
from local import aws
from tests.integration.conftest import Api
from tests.service import dsl

TENANT = "tenant-a"


def _draft(suffix: str, previous: dict[str, Any] | None = None) -> Draft:
    """A canvas draft: start(query) -> template "<query><suffix>" -> end(result)."""
    document = dsl.document(
        "versions",
        [
            ("start", dsl.start("query")),
            ("t", dsl.template("{{ q }}" + suffix, q=["start", "query"])),
            ("end", dsl.end(result=["t", "output"])),
        ],
        [("start", "t"), ("t", "end")],
    )
    graph: dict[str, Any] = yaml.safe_load(document)["workflow"]["graph"]
    return dify_format.read({"graph": graph}, strict=False, previous=previous)


def _v1(value: str) -> dict[str, Any]:
    return {
        "name": "pinned",
        "nodes": [
            {"id": "say", "type": "tool-call", "config": {"tool": "echo", "input": {"v": value}}}
        ],
    }


def _finished(api: Api, workflow_id: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.call("GET", f"/v1/workflows/{workflow_id}/runs/{run_id}").json()
        if run["status"] in ("completed", "failed"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def test_a_run_pinned_to_version_1_runs_its_graph_after_version_2(api: Api) -> None:
    workflow = api.create(_v1("one"))
    api.call("PUT", f"/v1/workflows/{workflow['id']}", json={"nodes": _v1("two")["nodes"]})

    latest = api.run_to_end(workflow["id"])
    pinned = _finished(api, workflow["id"], runs.start(TENANT, workflow["id"], None, pin=1).id)

    assert latest["version"] == 2
    assert latest["stepResults"][0]["result"] == {"v": "two"}
    assert pinned["version"] == 1
    assert pinned["stepResults"][0]["result"] == {"v": "one"}


def test_a_metadata_only_update_publishes_nothing(api: Api) -> None:
    workflow = api.create(_v1("one"))

    renamed = api.call("PUT", f"/v1/workflows/{workflow['id']}", json={"name": "renamed"})
    versions = api.call("GET", f"/v1/workflows/{workflow['id']}/versions").json()

    assert renamed.json()["name"] == "renamed"
    assert renamed.json()["version"] == 1
    assert versions["total"] == 1


def test_two_saves_from_the_same_hash_exactly_one_wins(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = workflows.create(TENANT, _draft("0"), publish=False)
    both_read = threading.Barrier(2)
    read = workflow_store.get

    def read_then_wait(workflow_id: str) -> dict[str, Any] | None:
        found = read(workflow_id)
        both_read.wait(timeout=10)  # both saves hold the same revision before either writes
        return found

    monkeypatch.setattr(workflow_store, "get", read_then_wait)
    outcomes: list[str] = []

    def save(suffix: str) -> None:
        try:
            workflows.save_draft(TENANT, record["id"], _draft(suffix), record["hash"])
            outcomes.append(f"saved {suffix}")
        except DraftNotSync:
            outcomes.append("refused")

    threads = [threading.Thread(target=save, args=(s,)) for s in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(workflow_store, "get", read)
    stored = workflows.get(TENANT, record["id"])

    assert sorted(outcomes)[0] == "refused" and sorted(outcomes)[1].startswith("saved")
    winner = sorted(outcomes)[1].removeprefix("saved ")
    assert stored["hash"] == _draft(winner).hash


def test_publish_refuses_an_invalid_draft_and_writes_no_version(local_aws: aws.LocalAws) -> None:
    draft = _draft("!")
    draft.graph.edges.clear()  # nothing reaches the template and the end
    record = workflows.create(TENANT, draft, publish=False)

    with pytest.raises(InvalidWorkflow) as refused:
        workflows.publish_draft(TENANT, record["id"], draft, created_by="k")

    assert any("'t'" in problem.where for problem in refused.value.problems)
    assert version_store.list_for_workflow(record["id"]) == []
    assert workflows.get(TENANT, record["id"])["published"] is None


def test_a_save_that_lost_its_race_leaves_no_version_behind(local_aws: aws.LocalAws) -> None:
    record = workflows.create(TENANT, _draft("1"))
    # Another writer moves the workflow on between this update's read and its write.
    stale = dict(record)
    workflows.update_metadata(TENANT, record["id"], name="meanwhile")

    second = workflows.version_of(stale, 1).model_copy(update={"number": 2})

    with pytest.raises(Conflict):
        workflow_store.put({**stale, "published": 2}, second)

    assert [v.number for v in version_store.list_for_workflow(record["id"])] == [1]
    assert workflows.get(TENANT, record["id"])["name"] == "meanwhile"


def test_a_test_run_of_the_draft_runs_the_draft_not_the_published_version(
    api: Api,
) -> None:
    record = workflows.create(TENANT, _draft("-published"))
    saved = workflows.save_draft(
        TENANT, record["id"], _draft("-draft", record["document"]), record["hash"]
    )
    workflows.deploy_draft(TENANT, record["id"], _draft("-draft"))

    draft_run = runs.start(TENANT, record["id"], {"query": "x"}, pin="draft")
    published_run = runs.start(TENANT, record["id"], {"query": "x"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        runs.get(TENANT, None, r.id).status.finished for r in (draft_run, published_run)
    ):
        time.sleep(0.05)

    assert saved["published"] == 1
    assert runs.get(TENANT, None, draft_run.id).outputs == {"result": "x-draft"}
    assert runs.get(TENANT, None, published_run.id).outputs == {"result": "x-published"}
