"""Workflows: create, read, update, delete; every save is validated, compiled, deployed.

Each API face imports its own document format into the one graph model and keeps the
original document (`document`) so it can show the workflow back as it was sent.
"""

from __future__ import annotations

from typing import Any

from functions.core import clock, engine
from functions.core.data import workflows as workflow_store
from functions.core.errors import NotFound
from functions.core.ids import new_id
from functions.core.model.workflow import Draft, Graph
from functions.core.services.definitions import build_definition


def create(tenant_id: str, draft: Draft) -> dict[str, Any]:
    definition = build_definition(draft.graph, draft.entry, draft.problems)
    workflow_id = new_id()
    machine_arn, version_arn = engine.deploy(workflow_id, definition, existing_arn=None)
    stamp = clock.iso()
    record = {
        "id": workflow_id,
        "tenantId": tenant_id,
        "stateMachineArn": machine_arn,
        "versionArn": version_arn,
        "createdAt": stamp,
        **_fields(draft, stamp),
    }
    workflow_store.put(record)
    return record


def update(tenant_id: str, workflow_id: str, draft: Draft) -> dict[str, Any]:
    record = get(tenant_id, workflow_id)
    if draft.graph != graph_of(record) or draft.entry != record["entry"]:
        definition = build_definition(draft.graph, draft.entry, draft.problems)
        _, record["versionArn"] = engine.deploy(
            workflow_id, definition, existing_arn=record["stateMachineArn"]
        )
    record.update(_fields(draft, clock.iso()))
    workflow_store.put(record)
    return record


def _fields(draft: Draft, stamp: str) -> dict[str, Any]:
    return {
        "name": draft.name,
        "description": draft.description,
        "trigger": draft.trigger.model_dump(exclude_none=True),
        "enabled": draft.enabled,
        "source": draft.source,
        "graph": draft.graph.model_dump(mode="json", exclude_defaults=True),
        "entry": draft.entry,
        "document": draft.document,
        "updatedAt": stamp,
    }


def get(tenant_id: str, workflow_id: str) -> dict[str, Any]:
    record = workflow_store.get(workflow_id)
    # Another tenant's workflow is indistinguishable from a missing one.
    if record is None or record["tenantId"] != tenant_id:
        raise NotFound("workflow", workflow_id)
    return record


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    return workflow_store.list_for_tenant(tenant_id)


def delete(tenant_id: str, workflow_id: str) -> None:
    record = get(tenant_id, workflow_id)
    engine.delete(record["stateMachineArn"])
    workflow_store.delete(workflow_id)


def graph_of(record: dict[str, Any]) -> Graph:
    return Graph.model_validate(record["graph"])
