"""The `env.*` values a run reads. Kept apart from the workflows service so the node
functions, which need only this, do not import the compiler and every node's config."""

from __future__ import annotations

from typing import Any

from functions.core.data import versions as version_store
from functions.core.data import workflows as workflow_store
from functions.core.model import dify_environment
from functions.core.model.version import DRAFT


def values(workflow_id: str, version: int | str | None = None) -> dict[str, Any]:
    """Every environment variable by name (secrets included; never shown) of the version
    a run executes: a published one is read from its version item, so a later save never
    changes what a pinned run sees; the draft (and a run that names none) from the workflow."""
    if isinstance(version, int):
        pinned = version_store.get(workflow_id, version)
        return dify_environment.environment_values(pinned.document) if pinned else {}
    record = workflow_store.get(workflow_id)
    assert version in (None, DRAFT)
    return dify_environment.environment_values(record["document"]) if record else {}
