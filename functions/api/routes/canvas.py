"""The canvas face (specs/canvas-api.md): drafts, the module palette, publish, test runs
and traces. A canvas is a workflow whose draft is edited here; every route answers 404
for an id of another tenant, as for a missing one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from functions.api import bodies, canvas_views
from functions.api.context import require
from functions.api.contract import Face, documented
from functions.api.idempotent import start_once
from functions.core.model import dify_format, documents
from functions.core.model.run import Run
from functions.core.model.version import DRAFT
from functions.core.services import apps, runs, service_runs, workflows
from functions.core.services.keys import Scope
from functions.core.settings import get_settings

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

# A new canvas is named when it is published as an API (apiName).
UNTITLED = "Untitled canvas"
# How many of a canvas's runs the run record shows, newest first.
RECORD_LIMIT = 100


class CanvasDraftBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = ""
    graph: dict[str, Any]
    features: dict[str, Any] = Field(default_factory=dict)
    environment_variables: list[Any] = Field(default_factory=list)
    conversation_variables: list[Any] = Field(default_factory=list)
    # The hash the editor's copy was loaded with; given and stale: 409, nothing changes.
    hash: str | None = None


class CanvasIdBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)


class CanvasRunBody(CanvasIdBody):
    # The start node's inputs (the spec sends only the id; Dify's console sends these).
    inputs: dict[str, Any] = Field(default_factory=dict)


class CanvasPublishBody(CanvasIdBody):
    apiName: str = Field(default="", max_length=200)
    apiDesc: str = Field(default="", max_length=2000)


class TraceBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    traceId: str = Field(min_length=1)


class ModuleListBody(BaseModel):
    model_config = ConfigDict(extra="ignore")


@router.post("/workflow/canvas/draft")
@documented(Face.ACCOUNT, "canvas", body=CanvasDraftBody, errors=(404, 409))
def save_draft() -> dict[str, Any]:
    body = bodies.read(CanvasDraftBody, router)
    caller = require(router, Scope.WRITE)
    current = workflows.get(caller.tenant_id, body.id) if body.id else None
    parts = body.model_dump(exclude={"id", "hash"})
    draft = dify_format.read(parts, strict=False, previous=current["document"] if current else None)
    if current is None:
        draft = replace(draft, name=UNTITLED, description="", source="canvas")
        record = workflows.create(caller.tenant_id, draft, publish=False)
    else:
        record = workflows.save_draft(caller.tenant_id, body.id, draft, body.hash)
    return canvas_views.draft_saved(record)


@router.post("/workflow/module/list")
@documented(Face.ACCOUNT, "canvas", body=ModuleListBody)
def list_modules() -> dict[str, Any]:
    bodies.read(ModuleListBody, router)
    require(router, Scope.READ)
    # Imported here: the palette loads every node package, which no other route of the
    # api function needs at cold start.
    from functions.nodes.modules import module_list  # noqa: PLC0415

    return module_list()


@router.post("/workflow/canvas/publish")
@documented(Face.ACCOUNT, "canvas", body=CanvasPublishBody, errors=(404, 409))
def publish() -> dict[str, Any]:
    body = bodies.read(CanvasPublishBody, router)
    caller = require(router, Scope.WRITE)
    record = workflows.get(caller.tenant_id, body.id)
    version = workflows.publish_draft(
        caller.tenant_id,
        body.id,
        documents.draft_of(record),
        created_by=caller.key_id,
        api_name=body.apiName or None,
        api_desc=body.apiDesc or None,
    )
    return {"apiId": apps.version_id(version.workflow_id, version.number)}


@router.post("/workflow/canvas/run")
@documented(Face.ACCOUNT, "canvas", body=CanvasRunBody, starts_run=True, errors=(404,))
def test_run() -> dict[str, Any]:
    """A run of the current draft, as Dify's console runs one: answered when it ends, or
    `running` after the blocking bound (then readable by trace)."""
    raw = bodies.of(router)
    body = bodies.parse(CanvasRunBody, raw)
    caller = require(router, Scope.WRITE)
    record = workflows.get(caller.tenant_id, body.id)
    bound = service_runs.Deadline(get_settings().service_blocking_seconds)

    def start() -> Run:
        workflows.deploy_draft(caller.tenant_id, body.id, documents.draft_of(record))
        return runs.start(
            caller.tenant_id,
            body.id,
            body.inputs,
            triggered_by="canvas",
            sys_values={"user_id": caller.key_id},
            pin=DRAFT,
            wait_seconds=bound.left(),
        )

    run = start_once(caller.tenant_id, f"POST /workflow/canvas/run:{body.id}", raw, start)
    finished = service_runs.wait(run, bound.left())
    return canvas_views.test_run(finished)


@router.post("/workflow/canvas/run/record")
@documented(Face.ACCOUNT, "canvas", body=CanvasIdBody, errors=(404,))
def run_record() -> dict[str, Any]:
    body = bodies.read(CanvasIdBody, router)
    caller = require(router, Scope.READ)
    found = runs.list_for_workflow(caller.tenant_id, body.id, RECORD_LIMIT)
    return {"records": [canvas_views.record(run) for run in found]}


@router.post("/workflow/trace")
@documented(Face.ACCOUNT, "canvas", body=TraceBody, errors=(404,))
def trace() -> dict[str, Any]:
    body = bodies.read(TraceBody, router)
    caller = require(router, Scope.READ)
    run = runs.get(caller.tenant_id, None, body.traceId)
    record = workflows.get(caller.tenant_id, run.workflow_id)
    graph = workflows.snapshot(record, run.version).graph_model()
    return canvas_views.trace(run, runs.node_events(run.id), graph)
