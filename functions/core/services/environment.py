"""The `env.*` values a run reads. Kept apart from the workflows service so the node
functions, which need only this, do not import the compiler and every node's config."""

from __future__ import annotations

from typing import Any

from functions.core.data import workflows as workflow_store
from functions.core.model import dify_environment


def values(workflow_id: str) -> dict[str, Any]:
    """Every environment variable of the workflow by name (secrets included; never shown)."""
    record = workflow_store.get(workflow_id)
    return dify_environment.environment_values(record["document"]) if record else {}
