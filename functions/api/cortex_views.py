"""How the Cortex face (specs/cortex-workflows-api.txt) shows workflows, versions and runs.

An app is a tenant. Times are ISO 8601 as stored; statuses are Cortex's, mapped from the
one stored vocabulary. A version's steps are the graph's nodes, with the step fields the
graph carries (`conditional`, `loop`, `throw_on_error`) and, for a model node, `auto`.
"""

from __future__ import annotations

from typing import Any

from functions.api.dify_views import outputs
from functions.core import payloads
from functions.core.model.run import Run, RunStatus, StepEvent
from functions.core.model.version import Version
from functions.core.model.workflow import ErrorStrategy, Graph, Node, NodeType
from functions.core.services import apps, runs

RUN_STATUS = {
    RunStatus.PENDING: "PENDING",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.SUCCEEDED: "COMPLETED",
    # Cortex has no partial success: the failed step shows its error, the run completed.
    RunStatus.PARTIAL_SUCCEEDED: "COMPLETED",
    RunStatus.FAILED: "FAILED",
    RunStatus.STOPPED: "CANCELLED",
}
_MODEL_NODES = frozenset({NodeType.LLM, NodeType.PARAMETER_EXTRACTOR, NodeType.QUESTION_CLASSIFIER})


def page(items: list[dict[str, Any]], number: int, take: int) -> dict[str, Any]:
    """One page of `items` (all of them, in order) as Cortex lists answer."""
    start = (number - 1) * take
    return {
        "data": items[start : start + take],
        "pagination": {"page": number, "take": take, "count": len(items)},
    }


def app(tenant_id: str) -> dict[str, Any]:
    return {"id": tenant_id, "name": tenant_id}


def workflow(record: dict[str, Any]) -> dict[str, Any]:
    number = record.get("published")
    return {
        "id": record["id"],
        "app_id": record["tenantId"],
        "name": record["name"],
        "description": record.get("description") or "",
        "key": record["id"],
        "discoverable": bool(record.get("discoverable")),
        "execution_mode": record.get("executionMode", "standard"),
        "version": number,
        "version_id": apps.version_id(record["id"], number) if number else None,
        "retention": record.get("retention"),
        "created_at": record["createdAt"],
        "updated_at": record["updatedAt"],
    }


def version(found: Version, app_id: str, description: str) -> dict[str, Any]:
    graph = found.graph_model()
    form = apps.user_input_form(graph)
    controls = [next(iter(control.values())) for control in form]
    return {
        "id": apps.version_id(found.workflow_id, found.number),
        "app_id": app_id,
        "workflow_id": found.workflow_id,
        "description": description,
        "version": found.number,
        "rollback_version": None,
        "notes": found.notes,
        "created_by": {"id": found.created_by, "name": found.created_by},
        "created_at": found.created_at,
        "key": found.workflow_id,
        "input": {c["variable"]: c.get("type", "text-input") for c in controls},
        "input_default": {c["variable"]: c["default"] for c in controls if c.get("default")},
        "steps": steps(graph, found.document),
    }


def steps(graph: Graph, document: dict[str, Any]) -> list[dict[str, Any]]:
    layout = _layout(document)
    return [_step(node, graph, layout.get(node.id, {})) for node in graph.nodes]


def _layout(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Canvas positions and sizes by node id, where the document has them (Dify/canvas)."""
    nodes = (document.get("graph") or {}).get("nodes") or []
    return {str(n["id"]): n for n in nodes if isinstance(n, dict) and "id" in n}


def _step(node: Node, graph: Graph, drawn: dict[str, Any]) -> dict[str, Any]:
    position = drawn.get("position") or {}
    step: dict[str, Any] = {
        "type": node.type.value,
        "key": node.id,
        "title": node.title,
        "conditional": node.condition,
        "loop": node.loop,
        "throw_on_error": node.error_strategy is not ErrorStrategy.CONTINUE,
        "destinations": [edge.target for edge in graph.edges if edge.source == node.id],
        "position": [position["x"], position["y"]] if {"x", "y"} <= set(position) else None,
        "size": [drawn["width"], drawn["height"]] if {"width", "height"} <= set(drawn) else None,
    }
    if node.type in _MODEL_NODES:
        model = node.config.get("model") or {}
        params = model.get("completion_params") or {}
        step["auto"] = {
            "provider": model.get("provider"),
            "model": model.get("name") or node.config.get("model_name"),
            "temperature": params.get("temperature"),
        }
    return step


def run(
    found: Run,
    events: list[StepEvent],
    *,
    workflow_app_id: str,
    workflow_version: dict[str, Any] | None,
) -> dict[str, Any]:
    output = outputs(found)
    return {
        "id": found.id,
        "result": output,
        "input": payloads.unpack_trigger(found.trigger_data, found.trigger_data_ref),
        "output": output,
        "status": RUN_STATUS[found.status],
        "origin": "WORKFLOW",
        "error": found.error,
        "started_at": found.started_at,
        "ended_at": found.finished_at,
        "app_id": found.tenant_id,
        "workflow_app_id": workflow_app_id,
        "workflow_id": found.workflow_id,
        "workflow_version": workflow_version,
        "version": found.version if isinstance(found.version, int) else None,
        "usage": runs.usage(events),
        "retention": found.retention.model_dump(mode="json"),
        # A replay names the run and step it replays (an extension of the spec's object).
        "replay_of": (
            {"run_id": found.replay.run_id, "step_key": found.replay.step_key}
            if found.replay
            else None
        ),
        "retention_due_at": found.retention_due_at,
        "created_at": found.created_at,
        "updated_at": found.finished_at or found.started_at or found.created_at,
    }
