"""The v1 workflows API document (specs/v1-workflows-api.zh.md) and its import."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.model.retention import Retention
from functions.core.model.trigger import Trigger
from functions.core.model.workflow import (
    V1_NODE_TYPES,
    Draft,
    Edge,
    ErrorStrategy,
    ExecutionMode,
    Graph,
    Node,
)


class V1Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    type: str
    name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    # Step fields (as the Cortex face's steps have them): run only when `conditional`
    # holds, once per element of `loop`; `throw_on_error: false` records the node's
    # error and goes on. Blank expressions mean none.
    conditional: str | None = None
    loop: str | None = None
    throw_on_error: StrictBool | None = None
    # Seconds one attempt of the node may take (its Task's TimeoutSeconds); an Express
    # workflow's worst case counts it instead of the node function's own timeout.
    timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)

    def step_fields(self) -> dict[str, Any]:
        """The internal Node's fields for the step fields that are set."""
        fields: dict[str, Any] = {}
        if self.conditional and self.conditional.strip():
            fields["condition"] = self.conditional
        if self.loop and self.loop.strip():
            fields["loop"] = self.loop
        if self.throw_on_error is False:
            fields["error_strategy"] = ErrorStrategy.CONTINUE
        if self.timeout_seconds is not None:
            fields["timeout_seconds"] = self.timeout_seconds
        return fields


class V1Edge(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    condition: Literal["true", "false"] | None = None


class V1WorkflowBody(BaseModel):
    """POST /v1/workflows."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    trigger: Trigger = Field(default_factory=Trigger)
    nodes: list[V1Node] = Field(default_factory=list)
    edges: list[V1Edge] = Field(default_factory=list)
    # Strict: "yes" or 1 is a mistake to name, not a value to guess at.
    enabled: StrictBool = True
    # The kind of state machine it runs on (functions/core/model/express.py).
    executionMode: ExecutionMode = ExecutionMode.STANDARD


class V1WorkflowPatch(BaseModel):
    """PUT /v1/workflows/{id}: any subset of the updatable fields.

    A field left out keeps its current value; a field sent replaces it. `null` is never a
    value of an updatable field (every one has a type and a default of its own), so a
    field sent as `null` is refused (400, `body.<field>: may not be null`) rather than
    read as "unchanged" or "reset": to keep a field, leave it out.
    """

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    trigger: Trigger | None = None
    nodes: list[V1Node] | None = None
    edges: list[V1Edge] | None = None
    enabled: StrictBool | None = None
    # A workflow made from a Dify document or on the canvas has a Dify-shaped graph
    # (`nodes[].data.type`, `edges[].sourceHandle`), which replaces its current one.
    graph: dict[str, Any] | None = None
    # Listed to every tenant's Cortex face (`/apps/{app_id}/workflows/discover`).
    discoverable: StrictBool | None = None
    # The retention new runs take (`{max_age_in_seconds, preserve_on_failure}`).
    retention: Retention | None = None
    # `standard` or `express`: a new mode publishes the workflow again, on a machine of
    # that kind (functions/core/engine.py).
    executionMode: ExecutionMode | None = None

    @property
    def changes_graph(self) -> bool:
        """Whether the save publishes: a new graph, or the same one in another mode."""
        return bool(self.model_fields_set & {"nodes", "edges", "graph", "executionMode"})

    # Only fields present in the body are validated: the None defaults mean "left out".
    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_value", "may not be null; leave the field out to keep its current value"
            )
        return value


def to_graph(nodes: list[V1Node], edges: list[V1Edge]) -> tuple[Graph, str | None, list[Problem]]:
    """The internal graph, its entry node (the first node declared) and the problems met.

    A node of an unknown type is reported and left out with its edges, so that validation
    still reports every other problem of the document in the same answer.
    """
    unknown = {node.id for node in nodes if node.type not in V1_NODE_TYPES}
    problems = [
        Problem(
            f"node '{node.id}'",
            f"unknown type '{node.type}'; expected one of {', '.join(V1_NODE_TYPES)}",
        )
        for node in nodes
        if node.id in unknown
    ]
    graph = Graph(
        nodes=[
            Node(
                id=n.id,
                type=V1_NODE_TYPES[n.type],
                title=n.name or n.id,
                config=n.config,
                **n.step_fields(),
            )
            for n in nodes
            if n.id not in unknown
        ],
        edges=[
            Edge(source=e.source, target=e.target, source_handle=e.condition)
            for e in edges
            if e.source not in unknown and e.target not in unknown
        ],
    )
    return graph, nodes[0].id if nodes else None, problems


def to_draft(body: V1WorkflowBody) -> Draft:
    graph, entry, problems = to_graph(body.nodes, body.edges)
    return Draft(
        problems=problems,
        name=body.name,
        description=body.description,
        trigger=body.trigger,
        enabled=body.enabled,
        execution_mode=body.executionMode,
        graph=graph,
        entry=entry,
        source="api",
        document={
            "nodes": [n.model_dump(exclude_none=True) for n in body.nodes],
            "edges": [e.model_dump(by_alias=True, exclude_none=True) for e in body.edges],
        },
    )


def apply_patch(record: dict[str, Any], patch: V1WorkflowPatch) -> V1WorkflowBody:
    """The stored v1 workflow with the patch's fields replaced.

    The result is validated as a whole document, as POST /v1/workflows would; a merge
    that is no valid document is refused naming the fields, never a server error.
    """
    try:
        return V1WorkflowBody.model_validate(
            {
                "name": record["name"],
                "description": record["description"],
                "trigger": record["trigger"],
                "enabled": record["enabled"],
                "executionMode": record.get("executionMode", ExecutionMode.STANDARD),
                **record["document"],
                **patch.model_dump(exclude_unset=True, by_alias=True),
            }
        )
    except ValidationError as exc:
        raise InvalidWorkflow(
            [
                Problem(".".join(str(p) for p in error["loc"]), error["msg"])
                for error in exc.errors()
            ]
        ) from exc
