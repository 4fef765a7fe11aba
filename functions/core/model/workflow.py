"""The one internal workflow model every importer produces and the compiler consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from functions.core.errors import Problem
from functions.core.model.hashing import content_hash
from functions.core.model.trigger import Trigger


class NodeType(StrEnum):
    """Canonical node kinds (Dify's names). Outside formats map their names onto these."""

    START = "start"
    END = "end"
    ANSWER = "answer"
    LLM = "llm"
    HTTP_REQUEST = "http-request"
    TOOL = "tool"
    IF_ELSE = "if-else"
    EMAIL_SEND = "email-send"
    CODE = "code"
    TEMPLATE_TRANSFORM = "template-transform"
    VARIABLE_AGGREGATOR = "variable-aggregator"
    ASSIGNER = "assigner"
    LIST_OPERATOR = "list-operator"
    PARAMETER_EXTRACTOR = "parameter-extractor"
    QUESTION_CLASSIFIER = "question-classifier"
    ITERATION = "iteration"
    ITERATION_START = "iteration-start"
    LOOP = "loop"
    LOOP_START = "loop-start"


# The v1 API's names for the same nodes.
V1_NODE_TYPES: dict[str, NodeType] = {
    "ai-generate": NodeType.LLM,
    "tool-call": NodeType.TOOL,
    "http-request": NodeType.HTTP_REQUEST,
    "condition": NodeType.IF_ELSE,
    "email-send": NodeType.EMAIL_SEND,
}

# Node kinds whose task chooses one outgoing handle; their edges carry that handle.
BRANCHING_TYPES = frozenset({NodeType.IF_ELSE, NodeType.QUESTION_CLASSIFIER})

# Node kinds that hold a body sub-graph (nodes whose `parent` is the container).
CONTAINER_TYPES = frozenset({NodeType.ITERATION, NodeType.LOOP})

# Markers where a container's body starts; they run no task of their own.
BODY_START_TYPES = frozenset({NodeType.ITERATION_START, NodeType.LOOP_START})


class ErrorStrategy(StrEnum):
    """What happens when a node fails after its retries (default: the run fails)."""

    FAIL_BRANCH = "fail-branch"  # take the edges whose handle is "fail-branch"
    DEFAULT_VALUE = "default-value"  # go on with configured default outputs
    CONTINUE = "continue"  # v1/Cortex `throw_on_error: false`: go on with the error


class ExecutionMode(StrEnum):
    """The kind of state machine a workflow is deployed as (a workflow setting).

    Standard runs up to a year with an execution history; Express runs at most five
    minutes, is billed by duration instead of per transition, and keeps no history:
    functions/core/model/express.py says what a workflow must be to run as Express.
    """

    STANDARD = "standard"
    EXPRESS = "express"


# The handle a node with the fail-branch strategy takes when it fails.
FAIL_BRANCH_HANDLE = "fail-branch"

# What a node with a `loop` reads of the element it runs for: `{{loop.item}}`,
# `{{loop.index}}` (from 0).
LOOP_ROOT = "loop"
LOOP_VARIABLES = ("item", "index")


class RetryPolicy(BaseModel):
    max_retries: int = Field(ge=0, le=10)
    interval_seconds: float = Field(default=1, ge=0, le=300)
    backoff_rate: float = Field(default=1, ge=1, le=10)


class Node(BaseModel):
    id: str
    type: NodeType
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    # The container (iteration/loop) whose body this node belongs to.
    parent: str | None = None
    retry: RetryPolicy | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)
    error_strategy: ErrorStrategy | None = None
    default_outputs: dict[str, Any] = Field(default_factory=dict)
    # Step fields (v1/Cortex `conditional` and `loop`), compiled into the state machine:
    # `condition` is a condition expression (functions/core/expressions/conditions.py);
    # when it is false the node is skipped as an untaken branch is. `loop` is one
    # reference to a list (`{{fetch.result.items}}`); the node runs once per element,
    # which its config reads as `{{loop.item}}` and `{{loop.index}}`, and its `result`
    # is the list of the per-element results.
    condition: str | None = None
    loop: str | None = None


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
    timestamps, users use anything) need not be one, so other ids are hex-encoded behind
    a leading underscore, which no id used as it is starts with: keys never collide.
    """
    if node_id.isascii() and node_id.replace("_", "a").isalnum() and node_id[0].isalpha():
        return node_id
    return "_" + node_id.encode().hex()


@dataclass
class Draft:
    """What a face hands the core: the graph plus what describes it."""

    name: str
    graph: Graph
    entry: str | None
    description: str = ""
    trigger: Trigger = field(default_factory=Trigger)
    enabled: bool = True
    source: str = "api"
    document: dict[str, Any] = field(default_factory=dict)
    execution_mode: ExecutionMode = ExecutionMode.STANDARD
    # Problems the importer already found; validation reports them with its own.
    problems: list[Problem] = field(default_factory=list)

    @property
    def hash(self) -> str:
        """What identifies the draft's content (an editor's optimistic-save token): the
        SHA-256 of the canonical JSON of the document's graph, features and variables,
        secret values hidden (a hash must not let anyone test guesses of a secret)."""
        return content_hash(
            {
                key: value
                for key, value in self.document.items()
                if key not in _UNHASHED_DOCUMENT_KEYS
            }
        )


# What a document holds besides its content: its envelope, and the secret values.
_UNHASHED_DOCUMENT_KEYS = frozenset({"format", "version", "app", "secrets"})
