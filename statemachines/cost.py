"""What a compiled state machine costs to run, estimated from its definition alone. Pure:
no AWS calls, and no knowledge of how the compiler lays a graph out; it walks the ASL
generically (Task, Choice, Parallel, Map, Pass, Wait, Succeed, Fail).

Per run it counts, over the paths a run can take:

- state transitions: one per state entered (Step Functions Standard bills these; the same
  count the `*StateEntered` events of an execution history give, bench/transitions.py);
- Lambda requests and GB-seconds: one request per Lambda Task entered, memory from the
  function's profile (the caller maps each Task `Resource` to one), times an assumed
  duration per invocation;
- DynamoDB writes: 2 per node Task (its `node_started` and `node_finished`), 1 per
  container step Task (an iteration's prepare or collect, a loop's init or check: each
  writes one of the node's two events), none for a Task that only evaluates a condition,
  plus the run's fixed writes (FIXED_WRITES_PER_RUN);
- wall-clock seconds: Task durations along the longest branch (what Express bills).

Three figures per run. `min` and `max` take, for each quantity separately, the cheapest or
dearest outcome of every Choice (the rules are not evaluated, so `min` may follow a path no
input takes, such as an if-else where neither branch runs); `typical` weighs a Choice's
outcomes equally. Every Parallel branch runs. A Map runs its body `items` times, and a
cycle (a loop) `items` rounds, in all three figures: the item count is the one assumption
the caller chooses. Catch and Retry paths are not followed: these are runs that succeed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

# --- prices -------------------------------------------------------------------------------
# us-east-1 list prices, from https://aws.amazon.com/step-functions/pricing/,
# https://aws.amazon.com/lambda/pricing/ and https://aws.amazon.com/dynamodb/pricing/on-demand/
# as read on 2026-12-01. Free tiers are ignored: they are per account, not per workflow.
REGION = "us-east-1"
PRICES_AS_OF = "2026-12-01"
STANDARD_PER_TRANSITION = 0.025 / 1_000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667
# Express bills the memory an execution uses in 64 MB chunks, and its duration rounded up
# to the next 100 ms. A Stepcanvas execution's state stays small (large outputs travel as
# S3 references), so one chunk is assumed.
EXPRESS_BILLED_MB = 64
EXPRESS_DURATION_STEP_SECONDS = 0.1
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
# Per GB-second by architecture. The functions are deployed for arm64
# (infra/lambda_asset.py ARCHITECTURE; tests/unit/statemachines/test_cost.py keeps them in
# step), which is priced 20 % below x86_64.
LAMBDA_PER_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
DEPLOYED_ARCHITECTURE: Literal["arm64", "x86_64"] = "arm64"
# On-demand: one write request unit per write of an item up to 1 KB.
DYNAMODB_PER_WRITE = 1.25 / 1_000_000

# --- what a run writes --------------------------------------------------------------------
# The run's own writes whatever its graph (its record and index entries, begin, finish and
# the workflow events), measured by `python -m bench.event_log` ("fixed per run").
FIXED_WRITES_PER_RUN = 9
# An Express run's first task claims the run for its execution (functions/nodes/runtime.py).
EXPRESS_WRITES_PER_RUN = 1
WRITES_PER_NODE_TASK = 2
WRITES_PER_CONTAINER_STEP = 1
# The `action` of a container's own Tasks around its body (functions/core/model/task.py).
CONTAINER_STEPS = frozenset({"prepare", "collect", "init", "check"})

# --- assumptions --------------------------------------------------------------------------
DEFAULT_ITEMS = 10
MAX_ITEMS = 10_000
# Seconds one invocation of a node type's function is assumed to take: a model call is
# slow, a call out (HTTP, a tool, mail, user code) middling, the rest is bookkeeping.
DEFAULT_TASK_SECONDS = 0.1
TASK_SECONDS = {
    "llm": 3.0,
    "parameter-extractor": 3.0,
    "question-classifier": 3.0,
    "http-request": 0.5,
    "tool": 0.5,
    "email-send": 0.5,
    "code": 0.5,
}

Figure = Literal["min", "typical", "max"]
FIGURES: tuple[Figure, ...] = ("min", "typical", "max")
Kind = Literal["standard", "express"]


@dataclass(frozen=True)
class FunctionProfile:
    """What one invocation of a Lambda function is assumed to use."""

    memory_mb: int
    seconds: float = DEFAULT_TASK_SECONDS
    # Further invocations it makes (the code node's sandbox): requests and GB-seconds.
    extra_requests: int = 0
    extra_gb_seconds: float = 0.0

    @property
    def gb_seconds(self) -> float:
        return self.memory_mb / 1024 * self.seconds + self.extra_gb_seconds


DEFAULT_PROFILE = FunctionProfile(memory_mb=512)


@dataclass(frozen=True)
class Usage:
    """What one run (or one part of it) uses."""

    transitions: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0
    writes: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))

    def times(self, count: float) -> Usage:
        return Usage(*(value * count for value in _values(self)))


def _values(usage: Usage) -> tuple[float, ...]:
    return tuple(getattr(usage, f.name) for f in fields(usage))


@dataclass(frozen=True)
class Spread:
    """A part's usage in each figure."""

    min: Usage = field(default_factory=Usage)
    typical: Usage = field(default_factory=Usage)
    max: Usage = field(default_factory=Usage)

    def __add__(self, other: Spread) -> Spread:
        return Spread(self.min + other.min, self.typical + other.typical, self.max + other.max)

    def times(self, count: float) -> Spread:
        return Spread(self.min.times(count), self.typical.times(count), self.max.times(count))

    def figure(self, name: Figure) -> Usage:
        found: Usage = getattr(self, name)
        return found


def _fixed(usage: Usage) -> Spread:
    return Spread(usage, usage, usage)


def _either(options: list[Spread]) -> Spread:
    """A Choice: one of `options` runs."""
    if not options:
        return Spread()
    if len(options) == 1:
        return options[0]
    lows = [_values(o.min) for o in options]
    highs = [_values(o.max) for o in options]
    return Spread(
        Usage(*(min(column) for column in zip(*lows, strict=True))),
        _sum(o.typical for o in options).times(1 / len(options)),
        Usage(*(max(column) for column in zip(*highs, strict=True))),
    )


def _all(branches: list[Spread]) -> Spread:
    """A Parallel: every branch runs, side by side (the slowest sets the time)."""

    def together(parts: list[Usage]) -> Usage:
        return replace(_sum(parts), seconds=max((p.seconds for p in parts), default=0.0))

    return Spread(
        together([b.min for b in branches]),
        together([b.typical for b in branches]),
        together([b.max for b in branches]),
    )


def _sum(parts: Iterable[Usage]) -> Usage:
    total = Usage()
    for part in parts:
        total = total + part
    return total


def _repeat(body: Spread, count: int, concurrency: int) -> Spread:
    """A Map's body `count` times, `concurrency` at once (0: all at once)."""
    batches = math.ceil(count / concurrency) if concurrency > 0 else min(count, 1)

    def repeated(usage: Usage) -> Usage:
        return replace(usage.times(count), seconds=usage.seconds * batches)

    return Spread(repeated(body.min), repeated(body.typical), repeated(body.max))


# --- the walk -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Assumptions:
    """What the estimate assumes beyond the definition."""

    items: int = DEFAULT_ITEMS
    # By Task `Resource`; a Lambda Task whose resource is not here gets `default`.
    profiles: Mapping[str, FunctionProfile] = field(default_factory=dict)
    default: FunctionProfile = DEFAULT_PROFILE


def per_run(definition: Mapping[str, Any], assumptions: Assumptions) -> Spread:
    """The usage of one run of `definition`, fixed writes included."""
    if not 0 <= assumptions.items <= MAX_ITEMS:
        raise ValueError(f"items must be between 0 and {MAX_ITEMS}")
    body = _Walk(assumptions).scope(definition)
    return body + _fixed(Usage(writes=FIXED_WRITES_PER_RUN))


class _Walk:
    def __init__(self, assumptions: Assumptions) -> None:
        self.assumptions = assumptions

    def scope(self, machine: Mapping[str, Any]) -> Spread:
        """A state machine, a Parallel branch or a Map's processor: `StartAt` + `States`."""
        states: Mapping[str, Any] = machine.get("States") or {}
        start = str(machine.get("StartAt"))
        if start not in states:
            return Spread()
        graph = _Graph(states, start)
        cost: dict[str, Spread] = {}
        # Successors first: the order ignores back edges, so every other successor's cost
        # is known when a state's is computed (no recursion along a long sequence).
        for name in reversed(graph.order):
            state = states[name]
            own = self.state(state)
            ahead = [cost[t] for t in graph.successors[name] if (name, t) not in graph.back]
            if name in graph.loop_heads:
                body = graph.loop_bodies[name]
                inside = [cost[t] for t in graph.successors[name] if t in body and t != name]
                outside = [cost[t] for t in graph.successors[name] if t not in body]
                rounds = self.assumptions.items
                # Entered once per round and once more to leave.
                cost[name] = (own + _either(inside)).times(rounds) + own + _either(outside)
            else:
                cost[name] = own + _either(ahead)
        return cost[start]

    def state(self, state: Mapping[str, Any]) -> Spread:
        """What entering the state costs, its branches and items included."""
        kind = state.get("Type")
        entered = _fixed(Usage(transitions=1))
        if kind == "Task":
            return entered + _fixed(self.task(state))
        if kind == "Parallel":
            return entered + _all([self.scope(b) for b in state.get("Branches") or []])
        if kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            concurrency = int(state.get("MaxConcurrency") or 0)
            return entered + _repeat(self.scope(processor), self.assumptions.items, concurrency)
        if kind == "Wait" and isinstance(state.get("Seconds"), int | float):
            return entered + _fixed(Usage(seconds=float(state["Seconds"])))
        return entered  # Choice, Pass, Succeed, Fail (and a Wait on a path: unknown)

    def task(self, state: Mapping[str, Any]) -> Usage:
        resource = str(state.get("Resource") or "")
        parameters = state.get("Parameters") or {}
        writes = _writes(parameters)
        if not _is_lambda(resource):
            return Usage(writes=writes)
        profile = self.assumptions.profiles.get(resource, self.assumptions.default)
        return Usage(
            lambda_requests=1 + profile.extra_requests,
            lambda_gb_seconds=profile.gb_seconds,
            writes=writes,
            seconds=profile.seconds,
        )


def _is_lambda(resource: str) -> bool:
    """A Lambda function's ARN, or the optimised `lambda:invoke` integration; any other
    `arn:…:states:::` integration (DynamoDB, SQS …) invokes no function."""
    if ":states:::" in resource:
        return ":states:::lambda:invoke" in resource
    return bool(resource)


def _writes(parameters: Mapping[str, Any]) -> int:
    """The event-log writes of a Task, from the task contract the compiler writes: a node
    Task carries its `node`; bookkeeping Tasks (the runs function) carry none."""
    node = parameters.get("node")
    if not isinstance(node, Mapping) or node.get("evaluates") is not None:
        return 0
    if parameters.get("action") in CONTAINER_STEPS:
        return WRITES_PER_CONTAINER_STEP
    return WRITES_PER_NODE_TASK


class _Graph:
    """One scope's states as a graph: successors, a topological order that ignores back
    edges, the back edges (those that close a cycle), and each cycle's head and body."""

    def __init__(self, states: Mapping[str, Any], start: str) -> None:
        self.successors = {name: _next_states(state, states) for name, state in states.items()}
        self.order, self.back = self._depth_first(start)
        self.loop_heads = {head for _, head in self.back}
        self.loop_bodies = {head: self._body(head) for head in self.loop_heads}

    def _depth_first(self, start: str) -> tuple[list[str], set[tuple[str, str]]]:
        """Reverse postorder from `start`, and the edges into a state still being visited."""
        postorder: list[str] = []
        back: set[tuple[str, str]] = set()
        on_path: set[str] = {start}
        seen: set[str] = {start}
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            name, index = stack[-1]
            successors = self.successors[name]
            if index < len(successors):
                stack[-1] = (name, index + 1)
                target = successors[index]
                if target in on_path:
                    back.add((name, target))
                elif target not in seen:
                    seen.add(target)
                    on_path.add(target)
                    stack.append((target, 0))
            else:
                stack.pop()
                on_path.discard(name)
                postorder.append(name)
        return postorder[::-1], back

    def _body(self, head: str) -> set[str]:
        """The natural loop of `head`: the states that reach a back edge into it without
        passing through it."""
        predecessors: dict[str, list[str]] = {}
        for name, targets in self.successors.items():
            for target in targets:
                predecessors.setdefault(target, []).append(name)
        body = {head}
        pending = [source for source, target in self.back if target == head]
        while pending:
            name = pending.pop()
            if name not in body:
                body.add(name)
                pending.extend(predecessors.get(name, []))
        return body


def _next_states(state: Mapping[str, Any], states: Mapping[str, Any]) -> list[str]:
    """Where a run goes from `state` when nothing fails (Catch is not followed)."""
    found = [str(state["Next"])] if state.get("Next") else []
    if state.get("Type") == "Choice":
        found = [str(rule["Next"]) for rule in state.get("Choices") or [] if rule.get("Next")]
        if state.get("Default"):
            found.append(str(state["Default"]))
    unique = list(dict.fromkeys(found))
    return [name for name in unique if name in states]


# --- prices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """US dollars per 1,000 runs."""

    step_functions: float
    lambda_: float
    dynamodb: float

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_ + self.dynamodb


def price_per_1000(
    usage: Usage, kind: Kind, architecture: Literal["arm64", "x86_64"] = DEPLOYED_ARCHITECTURE
) -> Price:
    """The price of 1,000 runs that each use `usage`, on a Standard or Express machine."""
    if kind == "standard":
        machine = usage.transitions * STANDARD_PER_TRANSITION
    else:
        steps = math.ceil(round(usage.seconds / EXPRESS_DURATION_STEP_SECONDS, 6))
        billed = max(steps, 1) * EXPRESS_DURATION_STEP_SECONDS
        machine = EXPRESS_PER_REQUEST + billed * EXPRESS_BILLED_MB / 1024 * EXPRESS_PER_GB_SECOND
    functions = (
        usage.lambda_requests * LAMBDA_PER_REQUEST
        + usage.lambda_gb_seconds * LAMBDA_PER_GB_SECOND[architecture]
    )
    writes = usage.writes + (EXPRESS_WRITES_PER_RUN if kind == "express" else 0)
    return Price(
        step_functions=machine * 1000,
        lambda_=functions * 1000,
        dynamodb=writes * DYNAMODB_PER_WRITE * 1000,
    )


def task_seconds(node_type: str) -> float:
    return TASK_SECONDS.get(node_type, DEFAULT_TASK_SECONDS)
