"""The v1 workflows API document (specs/v1-workflows-api.zh.md) and its import."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.model.workflow import V1_NODE_TYPES, Edge, Graph, Node, Trigger


class V1Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    type: str
    name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)


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
    enabled: bool = True


class V1WorkflowPatch(BaseModel):
    """PUT /v1/workflows/{id}: any subset of the updatable fields."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    trigger: Trigger | None = None
    nodes: list[V1Node] | None = None
    edges: list[V1Edge] | None = None
    enabled: bool | None = None


def to_graph(nodes: list[V1Node], edges: list[V1Edge]) -> tuple[Graph, str | None]:
    """The internal graph and its entry node (the first node declared)."""
    problems = [
        Problem(
            f"node '{node.id}'",
            f"unknown type '{node.type}'; expected one of {', '.join(V1_NODE_TYPES)}",
        )
        for node in nodes
        if node.type not in V1_NODE_TYPES
    ]
    if problems:
        raise InvalidWorkflow(problems)
    graph = Graph(
        nodes=[
            Node(id=n.id, type=V1_NODE_TYPES[n.type], title=n.name or n.id, config=n.config)
            for n in nodes
        ],
        edges=[Edge(source=e.source, target=e.target, source_handle=e.condition) for e in edges],
    )
    return graph, nodes[0].id if nodes else None


def dump_nodes(nodes: list[V1Node]) -> list[dict[str, Any]]:
    return [n.model_dump(exclude_none=True) for n in nodes]


def dump_edges(edges: list[V1Edge]) -> list[dict[str, Any]]:
    return [e.model_dump(by_alias=True, exclude_none=True) for e in edges]
