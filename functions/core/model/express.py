"""What a workflow must be to run as Express, checked when it is saved so.

An Express execution lasts five minutes at most and is then ended, finalize or not; it
cannot wait for anything beyond that. So a workflow runs as Express only if its worst
case fits: each Task's limit (the node's `timeout_seconds`, else its function's Lambda
timeout) times its attempts (1 + its retries, with the retry intervals between them),
summed along the longest path, with the run's finalize Task. No node type waits for a
callback, an approval or a time (the compiled machine is checked for such states too:
statemachines/express.py).

Containers: a loop runs at most its `loop_count` rounds; an iteration (and a step with
`loop`) runs over a list whose length is known only at run time, so an Express run's
iterations take at most MAX_ITEMS items (the iteration's prepare step refuses a longer
list) and run them MAX_CONCURRENCY at a time at most (Step Functions' inline Map limit).

Lambda service errors (throttling, a function not ready) are retried by every Task; they
fail fast and are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from functions.core.errors import Problem
from functions.core.model.workflow import (
    BODY_START_TYPES,
    CONTAINER_TYPES,
    Graph,
    Node,
    NodeType,
)

MAX_SECONDS = 300
# An Express run still `running` this long after it started has lost its execution.
SETTLE_AFTER_SECONDS = MAX_SECONDS + 60
MAX_ITEMS = 40
MAX_CONCURRENCY = 40
# The field of the workflow the problems are reported under.
FIELD = "executionMode"
# The dearest steps named in a refusal.
_NAMED_STEPS = 5


class RunEnded(Exception):
    """What a task of an Express run raises once the run ended (stopped): Step Functions
    cannot stop an Express execution, so its next task ends it."""


class DuplicateExecution(Exception):
    """What a task raises when another execution of the same run owns it: Express starts
    an execution at least once and does not deduplicate execution names."""


# Step Functions names a Lambda function's error by its exception's class.
QUIET_ERRORS: dict[str, type[Exception]] = {
    error.__name__: error for error in (RunEnded, DuplicateExecution)
}


def quiet(error: dict[str, Any]) -> bool:
    """Whether a Step Functions {Error, Cause} is one of the two above: the run's end is
    already recorded, or belongs to another execution, and this one must change nothing."""
    return error.get("Error") in QUIET_ERRORS


def raise_again(error: dict[str, Any]) -> NoReturn:
    """Pass such an error on from a task that caught it (a node's error strategy must not
    turn it into an outcome: the execution is to end)."""
    raise QUIET_ERRORS[error["Error"]](error.get("Cause") or "")


@dataclass(frozen=True)
class Limits:
    """Seconds a function may run per invocation, by node type, and the runs function's."""

    function_seconds: Callable[[NodeType], int]
    runs_seconds: int


@dataclass(frozen=True)
class _Path:
    seconds: float
    # (node id, its own worst seconds) along the path, in order.
    steps: tuple[tuple[str, float], ...] = ()

    def then(self, node_id: str, seconds: float, rest: _Path) -> _Path:
        return _Path(seconds + rest.seconds, ((node_id, seconds), *rest.steps))


def worst_seconds(graph: Graph, limits: Limits) -> float:
    """How long a run of `graph` can last at most (its longest path and its finalize)."""
    return _Worst(graph, limits).scope(None).seconds + limits.runs_seconds


def problems(graph: Graph, limits: Limits) -> list[Problem]:
    """Why `graph` cannot run as Express (empty: it can)."""
    path = _Worst(graph, limits).scope(None)
    total = path.seconds + limits.runs_seconds  # the finalize Task
    if total <= MAX_SECONDS:
        return []
    dearest = sorted(path.steps, key=lambda step: -step[1])[:_NAMED_STEPS]
    named = ", ".join(f"node '{node}' {seconds:g}s" for node, seconds in dearest)
    return [
        Problem(
            FIELD,
            f"express: the worst case is {total:g} seconds, over Express's {MAX_SECONDS}: "
            f"along the longest path, {named} (each node's timeout_seconds, else its "
            f"function's timeout, times its attempts; iterations at most {MAX_ITEMS} items, "
            "loops their loop_count rounds); lower the nodes' timeout_seconds or retries, "
            "or use executionMode 'standard'",
        )
    ]


class _Worst:
    def __init__(self, graph: Graph, limits: Limits) -> None:
        self.nodes = {node.id: node for node in graph.nodes}
        self.limits = limits
        self.successors: dict[str, list[str]] = {node.id: [] for node in graph.nodes}
        for edge in graph.edges:
            if edge.source in self.successors and edge.target in self.nodes:
                self.successors[edge.source].append(edge.target)
        self._longest: dict[str, _Path] = {}

    def scope(self, parent: str | None) -> _Path:
        """The longest path through the nodes directly inside `parent` (None: the top)."""
        members = [n for n in self.nodes.values() if n.parent == parent]
        return max((self._from(n.id) for n in members), key=lambda p: p.seconds, default=_Path(0))

    def _from(self, node_id: str) -> _Path:
        """The longest path starting at `node_id` within its scope (a DAG: validation
        refuses cycles outside loops, and a loop's rounds are its own)."""
        found = self._longest.get(node_id)
        if found is not None:
            return found
        node = self.nodes[node_id]
        rest = max(
            (
                self._from(target)
                for target in self.successors[node_id]
                if self.nodes[target].parent == node.parent
            ),
            key=lambda p: p.seconds,
            default=_Path(0),
        )
        path = _Path(0).then(node_id, self._node(node), rest)
        self._longest[node_id] = path
        return path

    def _node(self, node: Node) -> float:
        if node.type in BODY_START_TYPES:
            return 0
        if node.type in CONTAINER_TYPES:
            seconds = self._container(node)
        else:
            seconds = self._attempts(node, self._fn(node.type))
            if node.loop is not None:  # prepare, each element in order, collect
                seconds = 2 * self._fn(NodeType.ITERATION) + MAX_ITEMS * seconds
        if node.condition is not None:  # evaluated first, by the if-else function
            seconds += self._fn(NodeType.IF_ELSE)
        if node.error_strategy is not None:  # the recover Task, on the failure path
            seconds += self.limits.runs_seconds
        return seconds

    def _container(self, node: Node) -> float:
        body = self.scope(node.id).seconds
        if node.type is NodeType.LOOP:
            rounds = int(node.config.get("loop_count") or 1)
            check = self._fn(NodeType.LOOP)
            return check + rounds * (body + check)  # init, then each round and its check
        parallel = bool(node.config.get("is_parallel"))
        concurrency = min(int(node.config.get("parallel_nums") or 10), MAX_CONCURRENCY)
        rounds = math.ceil(MAX_ITEMS / (concurrency if parallel else 1))
        return 2 * self._fn(NodeType.ITERATION) + rounds * body  # prepare, items, collect

    def _fn(self, node_type: NodeType) -> int:
        return self.limits.function_seconds(node_type)

    @staticmethod
    def _attempts(node: Node, function_seconds: int) -> float:
        """A Task's worst case: each attempt to its timeout, with the waits between them."""
        each = node.timeout_seconds or function_seconds
        if node.retry is None:
            return each
        retries = node.retry.max_retries
        # As the compiler writes the Retry: intervals of whole seconds, at least one.
        interval = max(1, round(node.retry.interval_seconds))
        waits = sum(interval * node.retry.backoff_rate**k for k in range(retries))
        return each * (retries + 1) + waits
