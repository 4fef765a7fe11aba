"""A stored workflow's draft, read back from the document its face stored.

The workflow item keeps each face's document as it was sent (a v1 `{nodes, edges}`, or a
Dify/canvas `{graph, features, …}`); publishing or test-running the draft reads it again
into the one model, so what runs is always what the document says.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from functions.core.model import dify_format, v1_format
from functions.core.model.trigger import Trigger, TriggerType
from functions.core.model.workflow import Draft, ExecutionMode


def draft_of(record: dict[str, Any]) -> Draft:
    """The workflow's draft with its problems (an editor's draft may be incomplete)."""
    document: dict[str, Any] = record["document"]
    if isinstance(document.get("graph"), dict):
        draft = dify_format.read(document, strict=False, previous=document)
        trigger = declared_trigger(draft)
    else:
        body = v1_format.V1WorkflowBody.model_validate(
            {"name": record["name"], **document, "trigger": record["trigger"]}
        )
        draft = v1_format.to_draft(body)
        trigger = None
    return replace(
        draft,
        name=record["name"],
        description=record["description"],
        enabled=record["enabled"],
        source=record["source"],
        trigger=trigger or Trigger.model_validate(record["trigger"]),
        execution_mode=ExecutionMode(record.get("executionMode", ExecutionMode.STANDARD)),
    )


def with_metadata(draft: Draft, record: dict[str, Any], patch: v1_format.V1WorkflowPatch) -> Draft:
    """`draft` (a new graph for the workflow `record`) described by the patch's fields,
    or by the workflow's own where the patch leaves them out. The trigger is the patch's,
    else the one the graph declares, else the workflow's."""
    return replace(
        draft,
        name=patch.name if patch.name is not None else record["name"],
        description=patch.description if patch.description is not None else record["description"],
        enabled=patch.enabled if patch.enabled is not None else record["enabled"],
        execution_mode=patch.executionMode
        or ExecutionMode(record.get("executionMode", ExecutionMode.STANDARD)),
        trigger=patch.trigger
        or declared_trigger(draft)
        or Trigger.model_validate(record["trigger"]),
    )


def declared_trigger(draft: Draft) -> Trigger | None:
    """The trigger a Dify graph declares with a trigger start node; None for a plain start
    node, which keeps whatever trigger the workflow was given."""
    return draft.trigger if draft.trigger.type is not TriggerType.MANUAL else None
