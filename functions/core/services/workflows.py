"""Workflows: create, read, update, delete, each save compiled and deployed."""

from __future__ import annotations

from typing import Any

from functions.core import clock, engine
from functions.core.data import workflows as workflow_store
from functions.core.errors import NotFound
from functions.core.ids import new_id
from functions.core.model import v1_format
from functions.core.model.v1_format import V1WorkflowBody, V1WorkflowPatch
from functions.core.model.workflow import Graph
from functions.core.services.definitions import build_definition


def create(tenant_id: str, body: V1WorkflowBody, source: str = "api") -> dict[str, Any]:
    graph, entry = v1_format.to_graph(body.nodes, body.edges)
    definition = build_definition(graph, entry)
    workflow_id = new_id()
    machine_arn, version_arn = engine.deploy(workflow_id, definition, existing_arn=None)
    stamp = clock.iso()
    record = {
        "id": workflow_id,
        "tenantId": tenant_id,
        "name": body.name,
        "description": body.description,
        "trigger": body.trigger.model_dump(exclude_none=True),
        "nodes": v1_format.dump_nodes(body.nodes),
        "edges": v1_format.dump_edges(body.edges),
        "enabled": body.enabled,
        "source": source,
        "graph": graph.model_dump(mode="json"),
        "entry": entry,
        "stateMachineArn": machine_arn,
        "versionArn": version_arn,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    workflow_store.put(record)
    return record


def get(tenant_id: str, workflow_id: str) -> dict[str, Any]:
    record = workflow_store.get(workflow_id)
    # Another tenant's workflow is indistinguishable from a missing one.
    if record is None or record["tenantId"] != tenant_id:
        raise NotFound("workflow", workflow_id)
    return record


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    return workflow_store.list_for_tenant(tenant_id)


def update(tenant_id: str, workflow_id: str, patch: V1WorkflowPatch) -> dict[str, Any]:
    record = get(tenant_id, workflow_id)
    changes = patch.model_dump(exclude_unset=True)
    merged = V1WorkflowBody.model_validate(
        {
            "name": record["name"],
            "description": record["description"],
            "trigger": record["trigger"],
            "nodes": record["nodes"],
            "edges": record["edges"],
            "enabled": record["enabled"],
            **changes,
        }
    )
    if "nodes" in changes or "edges" in changes:
        graph, entry = v1_format.to_graph(merged.nodes, merged.edges)
        definition = build_definition(graph, entry)
        _, record["versionArn"] = engine.deploy(
            workflow_id, definition, existing_arn=record["stateMachineArn"]
        )
        record["graph"] = graph.model_dump(mode="json")
        record["entry"] = entry
        record["nodes"] = v1_format.dump_nodes(merged.nodes)
        record["edges"] = v1_format.dump_edges(merged.edges)
    record.update(
        name=merged.name,
        description=merged.description,
        trigger=merged.trigger.model_dump(exclude_none=True),
        enabled=merged.enabled,
        updatedAt=clock.iso(),
    )
    workflow_store.put(record)
    return record


def delete(tenant_id: str, workflow_id: str) -> None:
    record = get(tenant_id, workflow_id)
    engine.delete(record["stateMachineArn"])
    workflow_store.delete(workflow_id)


def graph_of(record: dict[str, Any]) -> Graph:
    return Graph.model_validate(record["graph"])
