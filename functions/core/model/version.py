"""Published versions: immutable snapshots of a workflow's draft that runs are pinned to.

A workflow has one editable draft (on its workflow item) and numbered versions 1, 2, …
Each version holds what a run of it needs and nothing a later save can change: the graph,
its entry, the face's document (with its environment, secrets included) and the Step
Functions version its definition was published as.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from functions.core.model.workflow import ExecutionMode, Graph

# What a run is pinned to: a version number, or the draft (a test run from the editor).
DRAFT: Final = "draft"
Pin = int | Literal["draft"]


class Snapshot(BaseModel):
    """The part of a workflow a version freezes."""

    graph: dict[str, Any]
    entry: str | None
    document: dict[str, Any] = Field(default_factory=dict)
    hash: str

    def graph_model(self) -> Graph:
        return Graph.model_validate(self.graph)


class Version(Snapshot):
    workflow_id: str
    number: int = Field(ge=1)
    version_arn: str
    created_at: str
    created_by: str = ""
    notes: str = ""
    # Set when the version was published from the canvas as an API (canvas/publish).
    api_name: str | None = None
    api_desc: str | None = None
    # The machine its Step Functions version belongs to (versions saved before: Standard).
    execution_mode: ExecutionMode = ExecutionMode.STANDARD
