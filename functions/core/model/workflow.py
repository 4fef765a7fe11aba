"""The one internal workflow model every importer produces and the compiler consumes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class NodeType(StrEnum):
    """Canonical node kinds (Dify's names). Outside formats map their names onto these."""

    START = "start"
    END = "end"
    LLM = "llm"
    HTTP_REQUEST = "http-request"
    TOOL = "tool"
    IF_ELSE = "if-else"
    EMAIL_SEND = "email-send"


# The v1 API's names for the same nodes.
V1_NODE_TYPES: dict[str, NodeType] = {
    "ai-generate": NodeType.LLM,
    "tool-call": NodeType.TOOL,
    "http-request": NodeType.HTTP_REQUEST,
    "condition": NodeType.IF_ELSE,
    "email-send": NodeType.EMAIL_SEND,
}

# Node kinds whose task chooses one outgoing handle; the compiler adds a Choice after them.
BRANCHING_TYPES = frozenset({NodeType.IF_ELSE})

# Node kinds that only mark the graph's entry and exit and need no task of their own in v1.
NON_EXECUTABLE_TYPES: frozenset[NodeType] = frozenset()


class TriggerType(StrEnum):
    MANUAL = "manual"
    CRON = "cron"
    EVENT = "event"


class Trigger(BaseModel):
    type: TriggerType = TriggerType.MANUAL
    schedule: str | None = None
    event: str | None = None


class Node(BaseModel):
    id: str
    type: NodeType
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


class Edge(BaseModel):
    source: str
    target: str
    # The handle of the source this edge leaves from: "true"/"false" for a condition,
    # None for an unconditional edge.
    source_handle: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}->{self.target}" + (
            f" [{self.source_handle}]" if self.source_handle else ""
        )


class Graph(BaseModel):
    nodes: list[Node]
    edges: list[Edge]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def state_key(node_id: str) -> str:
    """The key under `$.vars` that holds a node's outputs in the execution state.

    JSONPath reference paths accept only plain member names, and node ids (Dify uses
    timestamps, users use anything) need not be one, so other ids are hex-encoded.
    """
    if node_id.isascii() and node_id.replace("_", "a").isalnum() and not node_id[0].isdigit():
        return node_id
    return "n" + node_id.encode().hex()
