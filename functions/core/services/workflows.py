"""Workflows: create, read, update, delete; every save is validated, compiled, deployed.

Each API face imports its own document format into the one graph model and keeps the
original document (`document`) so it can show the workflow back as it was sent.
"""

from __future__ import annotations

from typing import Any

from functions.core import clock, engine
from functions.core.data import workflows as workflow_store
from functions.core.errors import InvalidWorkflow, NotFound, Problem
from functions.core.ids import new_id
from functions.core.model.workflow import Draft, Graph
from functions.core.services import triggers


def create(tenant_id: str, draft: Draft) -> dict[str, Any]:
    definition = build_definition(draft.graph, draft.entry, _problems(draft))
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
    try:
        triggers.attach(record)
        workflow_store.put(record)
    except Exception:
        # No state machine, schedule or rule outlives a workflow that was never saved.
        triggers.detach(record)
        engine.delete(machine_arn)
        raise
    return record


def update(tenant_id: str, workflow_id: str, draft: Draft) -> dict[str, Any]:
    record = get(tenant_id, workflow_id)
    previous = dict(record)
    if draft.graph != graph_of(record) or draft.entry != record["entry"]:
        definition = build_definition(draft.graph, draft.entry, _problems(draft))
        _, record["versionArn"] = engine.deploy(
            workflow_id, definition, existing_arn=record["stateMachineArn"]
        )
    elif problems := _problems(draft):
        raise InvalidWorkflow(problems)
    record.update(_fields(draft, clock.iso()))
    triggers.attach(record, previous)
    workflow_store.put(record)
    return record


def build_definition(
    graph: Graph, entry: str | None, known: list[Problem] | None = None
) -> dict[str, Any]:
    """The compiled definition (services/definitions.py). Imported here, on first save:
    the compiler and the node catalog would add ~100 ms to the cold start of every
    function that only reads workflows or starts runs (the dispatcher, the stream)."""
    from functions.core.services import definitions  # noqa: PLC0415 - see the docstring

    return definitions.build_definition(graph, entry, known)


def _problems(draft: Draft) -> list[Problem]:
    """What the importer found and what is wrong with the trigger; build_definition adds
    the graph's own."""
    return [*draft.problems, *triggers.check(draft.trigger)]


def _fields(draft: Draft, stamp: str) -> dict[str, Any]:
    return {
        "name": draft.name,
        "description": draft.description,
        "trigger": draft.trigger.stored(),
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
    triggers.detach(record)
    engine.delete(record["stateMachineArn"])
    workflow_store.delete(workflow_id)


def graph_of(record: dict[str, Any]) -> Graph:
    return Graph.model_validate(record["graph"])
