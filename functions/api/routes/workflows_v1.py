"""The v1 management face: /v1/workflows and their runs.

POST /v1/workflows/{id}/run is shared with the service API and lives in routes/service.py
(see functions/api/run_requests.py): the credential chooses the face.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from functions import cost as cost_service
from functions.api import bodies, v1_views
from functions.api.context import base_url, require
from functions.api.contract import Face, documented
from functions.core.model import dify_format, documents, v1_format
from functions.core.model.v1_format import V1WorkflowBody, V1WorkflowPatch
from functions.core.model.workflow import Draft
from functions.core.services import apps, runs, workflows
from functions.core.services.keys import Scope
from statemachines import cost

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.post("/v1/workflows")
@documented(Face.ACCOUNT, "v1", success=201, body=V1WorkflowBody)
def create_workflow() -> tuple[dict[str, Any], int]:
    body = bodies.read(V1WorkflowBody, router)
    caller = require(router, Scope.WRITE)
    record = workflows.create(caller.tenant_id, v1_format.to_draft(body), created_by=caller.key_id)
    # A webhook's secret is shown once: in the answer that made it.
    return v1_views.workflow(record, base_url(router), show_secret=True), 201


class ImportBody(BaseModel):
    """A Dify DSL export (YAML) or draft (JSON); Dify's console names the field so."""

    yaml_content: str = Field(min_length=1)


@router.post("/v1/workflows/import")
@documented(Face.ACCOUNT, "v1", success=201, body=ImportBody)
def import_workflow() -> tuple[dict[str, Any], int]:
    """A new workflow from a Dify document; its service API runs it (see app keys)."""
    body = bodies.read(ImportBody, router)
    caller = require(router, Scope.WRITE)
    draft = dify_format.import_document(body.yaml_content)
    record = workflows.create(caller.tenant_id, draft, created_by=caller.key_id)
    url = base_url(router)
    # A webhook start node's secret is shown once, here, as on create.
    trigger = v1_views.trigger(record, url, show_secret=True)
    summary = {**v1_views.workflow_summary(record, url), "trigger": trigger}
    return {**summary, "versionId": apps.latest_version_id(record)}, 201


@router.get("/v1/workflows")
@documented(Face.ACCOUNT, "v1")
def list_workflows() -> dict[str, Any]:
    caller = require(router, Scope.READ)
    url = base_url(router)
    summaries = [v1_views.workflow_summary(r, url) for r in workflows.list_all(caller.tenant_id)]
    return {"workflows": summaries, "total": len(summaries)}


@router.get("/v1/workflows/<workflow_id>")
@documented(Face.ACCOUNT, "v1")
def get_workflow(workflow_id: str) -> dict[str, Any]:
    caller = require(router, Scope.READ)
    return v1_views.workflow(workflows.get(caller.tenant_id, workflow_id), base_url(router))


@router.put("/v1/workflows/<workflow_id>")
@documented(Face.ACCOUNT, "v1", body=V1WorkflowPatch, errors=(409,))
def update_workflow(workflow_id: str) -> dict[str, Any]:
    """Any subset of the fields; only a body that sends a graph (`nodes`/`edges`, or a
    Dify-shaped `graph`) replaces it, and that save, or one that changes `executionMode`,
    publishes the next version (422 naming the nodes when it cannot run as Express)."""
    body = bodies.read(V1WorkflowPatch, router)
    caller = require(router, Scope.WRITE)
    current = workflows.get(caller.tenant_id, workflow_id)
    if not body.changes_graph:
        record = workflows.update_metadata(
            caller.tenant_id,
            workflow_id,
            name=body.name,
            description=body.description,
            enabled=body.enabled,
            trigger=body.trigger,
            discoverable=body.discoverable,
            retention=body.retention,
        )
    else:
        draft = _patched_draft(current, body)
        record = workflows.update(caller.tenant_id, workflow_id, draft, created_by=caller.key_id)
    # A workflow that just became a webhook shows its new secret, once.
    became_webhook = "webhookNonce" in record and "webhookNonce" not in current
    return v1_views.workflow(record, base_url(router), show_secret=became_webhook)


def _patched_draft(current: dict[str, Any], body: V1WorkflowPatch) -> Draft:
    """The draft a PUT that publishes saves: the body's graph (v1 or Dify-shaped), else
    the workflow's own in the body's `executionMode`."""
    if body.graph is not None:
        new_graph = dify_format.with_graph(current["document"], body.graph)
        return documents.with_metadata(new_graph, current, body)
    drawn = isinstance(current["document"].get("graph"), dict)
    if drawn and body.nodes is None and body.edges is None:
        return documents.with_metadata(documents.draft_of(current), current, body)
    return v1_format.to_draft(v1_format.apply_patch(current, body))


@router.get("/v1/workflows/<workflow_id>/versions")
@documented(Face.ACCOUNT, "v1")
def list_versions(workflow_id: str) -> dict[str, Any]:
    """The published versions, newest first."""
    caller = require(router, Scope.READ)
    found = workflows.versions(caller.tenant_id, workflow_id)
    return {"versions": [v1_views.version(v) for v in found], "total": len(found)}


@router.delete("/v1/workflows/<workflow_id>")
@documented(Face.ACCOUNT, "v1")
def delete_workflow(workflow_id: str) -> dict[str, Any]:
    caller = require(router, Scope.WRITE)
    workflows.delete(caller.tenant_id, workflow_id)
    return {"success": True}


@router.get("/v1/workflows/<workflow_id>/runs")
@documented(Face.ACCOUNT, "v1")
def list_runs(workflow_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    caller = require(router, Scope.READ)
    found = runs.list_for_workflow(caller.tenant_id, workflow_id, limit)
    return {"runs": [v1_views.run(r, runs.node_events(r.id)) for r in found]}


@router.get("/v1/workflows/<workflow_id>/runs/<run_id>")
@documented(Face.ACCOUNT, "v1")
def get_run(workflow_id: str, run_id: str) -> dict[str, Any]:
    caller = require(router, Scope.READ)
    run = runs.get(caller.tenant_id, workflow_id, run_id)
    events = runs.node_events(run.id)
    return v1_views.run_detail(run, events, cost_service.run_usage(run, events))


@router.get("/v1/workflows/<workflow_id>/cost")
@documented(Face.ACCOUNT, "v1")
def get_cost(
    workflow_id: str,
    items: Annotated[int, Query(ge=0, le=cost.MAX_ITEMS)] = cost.DEFAULT_ITEMS,
) -> v1_views.WorkflowCostView:
    """The estimated price per 1,000 runs of the latest version (else the draft), on a
    Standard and on an Express machine (`executionMode`: the one it runs on), from its
    compiled state machine: transitions,
    Lambda requests and GB-seconds, DynamoDB writes. `items`: the items each Map state
    runs and the rounds each loop runs."""
    caller = require(router, Scope.READ)
    return v1_views.workflow_cost(cost_service.estimate(caller.tenant_id, workflow_id, items))
