"""Workflow graph -> Amazon States Language. A pure function: no AWS calls.

Shape of every compiled machine:

    node states ... -> Finalize succeeded
      (every top-level Task, Parallel and Map: Catch States.ALL -> Finalize failed -> Run failed)

The run is recorded `running` (with its `workflow_started` event) by the call that starts
the execution (functions/core/services/runs.py), so no task begins it; a failure inside a
Parallel branch or a Map item fails that state, whose Catch routes it. Budget (DESIGN.md
§4): 1.05 transitions per executed node plus 2 per run; bench/transitions.py measures it.

Execution state: `{"run", "trigger", "sys", "vars"}`. Each node task writes its result to
`$.vars.<state_key(node id)>` as `{"outputs"|"ref", "handle"?}`; containers use
`$.scratch` while they run.

Semantics (Dify's): a node runs when at least one incoming edge was taken; an edge is
taken when its source ran and, for a branching source, chose that edge's handle. The
compiler lays each graph level out as a sequence in topological order and adds a guard
`Choice` before a node only when its liveness is not implied by the path that reaches it:
what a path knows (the node just run, the handle its if-else chose, the guard that just
failed) sends it straight to the node or past it (_Facts), so after an if-else the path
of each branch meets no guard of another. A failing guard skips the node and everything it
dominates. Parallel branches are merged in the Parallel's ResultSelector; an iteration's
item reaches its body through the Map's ItemSelector (ITEM_ROOT) and the body's last
states give back the output node's state: no Pass per item. Where a node fans out into
independent sub-graphs that meet again (a single-entry, single-exit region), they become
the branches of a `Parallel`; any other fan-out (crossing dependencies) stays in
topological order, which honours every edge, and so does a region nested deeper than
MAX_NESTING Parallel/Map states. The README ("Compiling a graph") has the whole picture.

Step fields (v1/Cortex): a node's `condition` is a Task of the if-else function that
records nothing (runtime `evaluates`) and a Choice that runs the node or skips it as a
failing guard does; a node's `loop` is an iteration whose body is the node's own Task
(prepare and collect by the iteration function, the element in `vars` as `loop`).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from functions.core.expressions.templates import single_reference
from functions.core.model.graph import (
    MAX_BODY_DEPTH,
    VIRTUAL_EXIT,
    DominatorTree,
    body_depths,
    immediate_dominators,
)
from functions.core.model.task import StepAction
from functions.core.model.workflow import (
    BODY_START_TYPES,
    CONTAINER_TYPES,
    FAIL_BRANCH_HANDLE,
    LOOP_ROOT,
    Edge,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
    state_key,
)

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
_SERVICE_RETRY = {
    "ErrorEquals": LAMBDA_SERVICE_ERRORS,
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}
# Names of the compiler's own states contain a space, which node ids cannot (validation),
# so a node's state, named by its id, never takes one of them.
FINALIZE_SUCCEEDED = "Finalize succeeded"
FINALIZE_FAILED = "Finalize failed"
FAILED = "Run failed"
ITERATION_INLINE_LIMIT = 1024
# How deeply Parallel and Map states may nest, the top level counting as 1. Step Functions
# documents no limit but its parsers recurse (moto's gives up near 35 Parallels), so past
# this depth a region that would be a Parallel is laid out in topological order, which
# keeps every edge and only gives up concurrency. Map states (iteration bodies) cannot be
# flattened: validation bounds them to MAX_BODY_DEPTH, which leaves room for Parallels.
MAX_NESTING = 16
assert MAX_BODY_DEPTH + 1 < MAX_NESTING
# What every node task (and container step) receives besides its own static config.
_CONTEXT = {"run.$": "$.run", "trigger.$": "$.trigger", "sys.$": "$.sys", "vars.$": "$.vars"}
# Inside an iteration body the state also carries the current item, as the outputs of the
# iteration node under this root (`{<key>: {"outputs": {item, index}}}`, made by the Map's
# ItemSelector): each task of the body merges it into the `vars` it receives, so no state
# spends a transition per item putting it into `$.vars`.
ITEM_ROOT = "iteration"
_IN_BODY_VARS = f"States.JsonMerge($.vars, $.{ITEM_ROOT}, false)"


@dataclass(frozen=True)
class Targets:
    """The Lambda functions the machine calls: one per node type, and the runs function."""

    node_functions: Mapping[str, str]
    runs_function: str


class CompileError(ValueError):
    pass


def compile_workflow(graph: Graph, *, entry: str, targets: Targets) -> dict[str, Any]:
    executable = {n.type.value for n in graph.nodes if n.type not in BODY_START_TYPES}
    # A node's `conditional` is evaluated by the if-else function, its `loop` prepared and
    # collected by the iteration function.
    if any(n.condition is not None for n in graph.nodes):
        executable.add(NodeType.IF_ELSE.value)
    if any(n.loop is not None for n in graph.nodes):
        executable.add(NodeType.ITERATION.value)
    missing = sorted(executable - set(targets.node_functions))
    if missing:
        raise CompileError(f"no function deployed for node types: {', '.join(missing)}")
    _check_body_depth(graph)
    builder = _Builder(graph, targets)
    top_level = [n.id for n in graph.nodes if n.parent is None]
    entry_state, states = builder.sequence(
        top_level, head=entry, exit_state=FINALIZE_SUCCEEDED, depth=1
    )
    _route_failures(states, FINALIZE_FAILED)
    ends = [n.id for n in graph.nodes if n.parent is None and n.type is NodeType.END]
    return {
        "Comment": "Compiled by Stepcanvas; one Task per workflow node.",
        "StartAt": entry_state or FINALIZE_SUCCEEDED,
        "States": {
            **states,
            FINALIZE_SUCCEEDED: _runs_task(
                targets,
                {
                    "action": StepAction.SUCCEED.value,
                    "run.$": "$.run",
                    "vars.$": "$.vars",
                    "sinks": [n for n in top_level if not builder.outgoing(n)],
                    "ends": ends,
                },
                None,
            ),
            FINALIZE_FAILED: _runs_task(
                targets,
                {"action": StepAction.FAIL.value, "run.$": "$.run", "error.$": "$.error"},
                FAILED,
            ),
            FAILED: {
                "Type": "Fail",
                "Error": "WorkflowFailed",
                "Cause": "A node failed; the run record names it.",
            },
        },
    }


def _route_failures(states: dict[str, Any], failed: str) -> None:
    """Every top-level state that can fail goes to `failed` when it does (States.ALL: a
    failure inside a Parallel branch or a Map item fails that Parallel or Map, whose Catch
    routes it). One Catch per state instead of a Parallel around the whole body saves
    that Parallel's transition on every run. A state that already catches States.ALL (an
    error strategy's) leads to its recover task, which is caught in turn."""
    for state in states.values():
        if state["Type"] not in ("Task", "Parallel", "Map"):
            continue
        catchers = state.setdefault("Catch", [])
        if not any("States.ALL" in c["ErrorEquals"] for c in catchers):
            catchers.append(
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed}
            )


def _check_body_depth(graph: Graph) -> None:
    """The layout recurses once per body. Validation refuses these graphs with a Problem;
    a caller that skipped it gets a CompileError here, never a RecursionError."""
    depths, on_loops = body_depths({n.id: n.parent for n in graph.nodes})
    if on_loops:
        raise CompileError(f"nodes {', '.join(on_loops)} contain each other")
    if max(depths.values(), default=0) > MAX_BODY_DEPTH:
        raise CompileError(
            f"bodies are nested more than {MAX_BODY_DEPTH} deep; at most {MAX_BODY_DEPTH} may nest"
        )


def _runs_task(
    targets: Targets, parameters: dict[str, Any], next_state: str | None
) -> dict[str, Any]:
    return _then(
        {
            "Type": "Task",
            "Resource": targets.runs_function,
            "Parameters": parameters,
            "ResultPath": None,
            "Retry": [_SERVICE_RETRY],
        },
        next_state,
    )


def _then(state: dict[str, Any], next_state: str | None) -> dict[str, Any]:
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


@dataclass
class _NodeItem:
    node_id: str


@dataclass
class _ParallelItem:
    fork: str
    branches: list[list[str]] = field(default_factory=list)


_Item = _NodeItem | _ParallelItem


class _Builder:
    """Lays out one graph level (top level or a container's body) at a time."""

    def __init__(self, graph: Graph, targets: Targets) -> None:
        self.nodes = {n.id: n for n in graph.nodes}
        self.targets = targets
        self._out: dict[str, list[Edge]] = {n.id: [] for n in graph.nodes}
        self._in: dict[str, list[Edge]] = {n.id: [] for n in graph.nodes}
        for edge in graph.edges:
            if edge.source in self.nodes and edge.target in self.nodes:
                self._out[edge.source].append(edge)
                self._in[edge.target].append(edge)
        self._declared = {n.id: i for i, n in enumerate(graph.nodes)}

    def outgoing(self, node_id: str) -> list[Edge]:
        return self._out[node_id]

    # -- layout -------------------------------------------------------------------

    def sequence(
        self, scope: list[str], *, head: str, exit_state: str | None, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        """States for the nodes of `scope` (one graph level) entered at `head`, inside
        `depth` nested Parallel/Map states.

        Returns the first state's name (None when there is nothing to run) and the states.
        """
        members = set(scope)
        order = self._order(scope)
        preds = {n: [e.source for e in self._in[n] if e.source in members] for n in order}
        dominators = DominatorTree(immediate_dominators(order, preds, head), head)
        escapes = _Escapes(order, members, dominators, self._out)
        items = self._items(order, members, dominators, depth, escapes)
        return self._emit(items, head, dominators, exit_state, name=head, depth=depth)

    def _order(self, scope: list[str]) -> list[str]:
        """Topological order that keeps chains together: after a node, its ready successors
        come first, so a region's nodes tend to be contiguous."""
        members = set(scope)
        indegree = {n: sum(1 for e in self._in[n] if e.source in members) for n in scope}
        ready = deque(
            sorted((n for n in scope if indegree[n] == 0), key=self._declared.__getitem__)
        )
        order: list[str] = []
        while ready:
            node_id = ready.popleft()
            order.append(node_id)
            fresh = set()
            for edge in self._out[node_id]:
                if edge.target in members:
                    indegree[edge.target] -= 1
                    if indegree[edge.target] == 0:
                        fresh.add(edge.target)
            ready.extendleft(sorted(fresh, key=self._declared.__getitem__, reverse=True))
        if len(order) != len(scope):
            raise CompileError("the graph has a cycle")
        return order

    def _items(
        self,
        order: list[str],
        members: set[str],
        dominators: DominatorTree,
        depth: int,
        escapes: _Escapes | None = None,
    ) -> list[_Item]:
        """`escapes`: given when `dominators` is the tree of exactly `members` (a whole
        graph level, not one branch of it), to refuse most forks without walking them."""
        if depth >= MAX_NESTING:
            # No room for another Parallel: the whole scope in topological order.
            return [_NodeItem(n) for n in order]
        postdom = self._post_dominators(order, members)
        items: list[_Item] = []
        placed: set[str] = set()
        for node_id in order:
            if node_id in placed:
                continue
            placed.add(node_id)
            items.append(_NodeItem(node_id))
            branches = self._parallel_branches(
                node_id, order, members, postdom, dominators, escapes=escapes
            )
            if branches:
                items.append(_ParallelItem(node_id, branches))
                placed.update(n for branch in branches for n in branch)
        return items

    def _post_dominators(self, order: list[str], members: set[str]) -> dict[str, str]:
        reverse = [VIRTUAL_EXIT, *reversed(order)]
        succs: dict[str, list[str]] = {
            n: [e.target for e in self._out[n] if e.target in members] or [VIRTUAL_EXIT]
            for n in order
        }
        return immediate_dominators(reverse, succs, VIRTUAL_EXIT)

    def _parallel_branches(
        self,
        fork: str,
        order: list[str],
        members: set[str],
        postdom: dict[str, str],
        dominators: DominatorTree,
        *,
        escapes: _Escapes | None,
    ) -> list[list[str]]:
        """The independent sub-graphs between `fork` and the node where they all meet, if
        the region between them has no other entry; else [] (serialised in order)."""
        edges = [e for e in self._out[fork] if e.target in members]
        if len({e.target for e in edges}) < 2 or not all(self._always_taken(e) for e in edges):
            return []
        # Every path from the fork passes the join, so the nodes between them are those
        # reached from the fork without passing the join.
        join = postdom.get(fork, VIRTUAL_EXIT)
        if escapes is not None and escapes.leaves(fork, join):
            # The walk below would meet a second entry; known without walking, which on
            # deep graphs would cost O(nodes) per fork.
            return []
        region = self._region(fork, [e.target for e in edges], members, join, dominators)
        if region is None:
            return []
        components = self._components(region)
        if len(components) < 2:
            return []
        position = {n: i for i, n in enumerate(order)}
        return [sorted(c, key=position.__getitem__) for c in components]

    def _region(
        self,
        fork: str,
        starts: list[str],
        members: set[str],
        join: str,
        dominators: DominatorTree,
    ) -> set[str] | None:
        """The nodes reached from the fork without passing the join, or None as soon as
        one of them can also be entered from outside (the region is not single-entry)."""
        seen: set[str] = set()
        stack = list(starts)
        while stack:
            node_id = stack.pop()
            if node_id == join or node_id not in members or node_id in seen:
                continue
            for edge in self._in[node_id]:
                if edge.source != fork and not dominators.dominates(fork, edge.source):
                    return None
            seen.add(node_id)
            stack.extend(e.target for e in self._out[node_id])
        return seen

    def _components(self, region: set[str]) -> list[set[str]]:
        """Weakly connected parts of the region, in the order their first node was declared."""
        components: list[set[str]] = []
        assigned: set[str] = set()
        for start in sorted(region, key=self._declared.__getitem__):
            if start in assigned:
                continue
            component: set[str] = set()
            stack = [start]
            while stack:
                node_id = stack.pop()
                if node_id in component:
                    continue
                component.add(node_id)
                neighbours = [e.target for e in self._out[node_id]] + [
                    e.source for e in self._in[node_id]
                ]
                stack.extend(n for n in neighbours if n in region)
            assigned |= component
            components.append(component)
        return components

    # -- liveness -----------------------------------------------------------------

    def _always_taken(self, edge: Edge) -> bool:
        source = self.nodes[edge.source]
        if source.type in BODY_START_TYPES:
            return True
        return edge.source_handle is None and source.error_strategy is not ErrorStrategy.FAIL_BRANCH

    def _live(
        self, head: str, nodes: list[str], *, head_ran: bool = False
    ) -> tuple[set[str], set[str]]:
        """(reached, ran): the nodes surely reached once `head` is (by edges always taken
        from nodes that surely ran), which need no guard, and those of them that surely
        run. A node with a `condition` may be skipped, so it is reached but need not run:
        what follows it is guarded. `head_ran`: the head is known to have run (the branches
        of a Parallel, entered only after their fork ran)."""
        reached = {head}
        ran = {head} if head_ran or self.nodes[head].condition is None else set()
        for node_id in nodes:
            if any(e.source in ran and self._always_taken(e) for e in self._in[node_id]):
                reached.add(node_id)
                if self.nodes[node_id].condition is None:
                    ran.add(node_id)
        return reached, ran

    # -- emission -----------------------------------------------------------------

    def _emit(
        self,
        items: list[_Item],
        head: str,
        dominators: DominatorTree,
        exit_state: str | None,
        *,
        name: str,
        depth: int,
        head_ran: bool = False,
    ) -> tuple[str | None, dict[str, Any]]:
        """The states of `items` in order, entered at the first.

        Where a node's guard is decided by what the path reaching it already knows (the
        node just run, the branch its if-else chose), the path goes straight to the node
        or past it instead of through the guard (see _Facts): a guard is emitted only
        where some path cannot tell."""
        flat = [n for item in items for n in _nodes_of(item)]
        live, ran = self._live(head, flat, head_ran=head_ran)
        level = _Level(self, items, dominators, exit_state, _state_name(name, "Skipped to end of "))
        base = _Facts(self, frozenset(ran), level.position)
        level.base = base
        states = level.states
        for index in range(len(items) - 1, -1, -1):
            item = items[index]
            if isinstance(item, _ParallelItem):
                follow = level.resolve(index + 1, base.ran_also(item.fork))
                level.run_states[index] = _state_name(item.fork, "Parallel after ")
                states.update(self._parallel(item, dominators, follow, depth + 1))
                continue
            node = self.nodes[item.node_id]
            if node.type in BODY_START_TYPES:
                continue
            follow = level.resolve(index + 1, base.ran_also(node.id))
            run_state, node_states = self._node_states(node, follow, depth)
            states.update(node_states)
            if node.condition is not None:
                # Skipped like an untaken branch: the node and all it dominates.
                skip = level.choose(level.skips[index], base.skipped(index, level.skips[index]))
                run_state = self._conditional(node, run_state, skip, follow, states)
            level.run_states[index] = run_state
            level.guarded[index] = node.id not in live
        return (level.resolve(0, base) if items else exit_state), states

    def handles(self, node_id: str) -> frozenset[str | None] | None:
        """Every handle the node's state can carry (None: none), or None if unknown."""
        node = self.nodes[node_id]
        found: set[str | None]
        if node.type is NodeType.IF_ELSE:
            found = _if_else_handles(node.config)
        elif node.type is NodeType.QUESTION_CLASSIFIER:
            classes = node.config.get("classes")
            ids = [c.get("id") for c in classes] if isinstance(classes, list) else []
            if not ids or not all(isinstance(i, str) and i for i in ids):
                return None
            found = set(ids)
        else:
            found = {None}
        if node.error_strategy is ErrorStrategy.FAIL_BRANCH:
            found.add(FAIL_BRANCH_HANDLE)
        elif node.error_strategy is not None:
            found.add(None)  # the recovered state carries no handle
        return frozenset(found) if found else None

    def incoming(self, node_id: str) -> list[Edge]:
        return self._in[node_id]

    def _dominated(self, item: _Item, node_id: str, dominators: DominatorTree) -> bool:
        anchor = item.fork if isinstance(item, _ParallelItem) else item.node_id
        return dominators.dominates(node_id, anchor)

    def _taken_any(self, node_id: str) -> dict[str, Any]:
        rules = [self._taken(e) for e in self._in[node_id]]
        return rules[0] if len(rules) == 1 else {"Or": rules}

    def _taken(self, edge: Edge) -> dict[str, Any]:
        var = f"$.vars.{state_key(edge.source)}"
        ran = {"Variable": var, "IsPresent": True}
        source = self.nodes[edge.source]
        if edge.source_handle is not None:
            # A missing source has no handle either, so one presence test covers both.
            chose = {"Variable": f"{var}.handle", "StringEquals": edge.source_handle}
            return {"And": [{"Variable": f"{var}.handle", "IsPresent": True}, chose]}
        if source.error_strategy is ErrorStrategy.FAIL_BRANCH:
            return {"And": [ran, {"Not": {"Variable": f"{var}.handle", "IsPresent": True}}]}
        return ran

    def _parallel(
        self, item: _ParallelItem, dominators: DominatorTree, follow: str | None, depth: int
    ) -> dict[str, Any]:
        """The Parallel for `item`, its branches inside `depth` nested Parallel/Map states."""
        branches = []
        for index, branch in enumerate(item.branches):
            entry, states = self._emit(
                self._items(branch, set(branch), dominators, depth, self._escapes_of(item, branch)),
                item.fork,
                dominators,
                None,
                name=_state_name(f"{item.fork} branch {index + 1}"),
                depth=depth,
                head_ran=True,
            )
            if entry is not None:
                branches.append({"StartAt": entry, "States": states})
        return _join(
            branches,
            _state_name(item.fork, "Parallel after "),
            follow,
            self._item_root(item.fork),
        )

    def _escapes_of(self, item: _ParallelItem, branch: list[str]) -> _Escapes:
        """Escapes within one branch of a Parallel. Every predecessor of a branch node is
        the fork or in the branch (the region was single-entry), so the graph level's
        dominator tree, restricted to the branch, is the dominator tree of the fork and the
        branch alone, which is cheap to build."""
        order = [item.fork, *branch]
        within = set(order)
        preds = {n: [e.source for e in self._in[n] if e.source in within] for n in branch}
        tree = DominatorTree(immediate_dominators(order, preds, item.fork), item.fork)
        return _Escapes(order, set(branch), tree, self._out)

    def _node_states(
        self, node: Node, follow: str | None, depth: int
    ) -> tuple[str, dict[str, Any]]:
        """The states that run `node`, their entry first, ending in `follow`."""
        if node.type is NodeType.ITERATION:
            return self._iteration(node, follow, depth)
        if node.type is NodeType.LOOP:
            return self._loop(node, follow, depth)
        name = _state_name(node.id)
        states: dict[str, Any] = {}
        if node.loop is not None:
            task, looped = self._looped(node, follow)
            caught = list(looped.values())
        else:
            task = self._task(node, follow, {})
            caught = [task]
        if node.retry is not None:
            task["Retry"].append(
                {
                    "ErrorEquals": ["States.ALL"],
                    "MaxAttempts": node.retry.max_retries,
                    "IntervalSeconds": max(1, round(node.retry.interval_seconds)),
                    "BackoffRate": node.retry.backoff_rate,
                }
            )
        if node.timeout_seconds is not None:
            task["TimeoutSeconds"] = node.timeout_seconds
        if node.error_strategy is not None:
            states.update(self._recover(node, caught, follow))
        if node.loop is not None:
            states.update(looped)
        else:
            states[name] = task
        return name, states

    def _recover(
        self, node: Node, caught: list[dict[str, Any]], follow: str | None
    ) -> dict[str, Any]:
        """A failure of any of `caught` goes on per the node's error strategy."""
        recover = _state_name(node.id, "Recover ")
        for state in caught:
            state["Catch"] = [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": f"$.vars.{state_key(node.id)}",
                    "Next": recover,
                }
            ]
        return {
            recover: _then(
                {
                    "Type": "Task",
                    "Resource": self.targets.runs_function,
                    "Parameters": {
                        "action": StepAction.RECOVER.value,
                        "run.$": "$.run",
                        "node": _node_parameter(node),
                        "error.$": f"$.vars.{state_key(node.id)}",
                    },
                    "ResultPath": f"$.vars.{state_key(node.id)}",
                    "Retry": [_SERVICE_RETRY],
                },
                follow,
            )
        }

    def _conditional(
        self, node: Node, run_state: str, skip: str, follow: str | None, states: dict[str, Any]
    ) -> str:
        """The node's `condition`, evaluated by the if-else function (which records
        nothing for it but a failure), then a Choice: run the node, or go to `skip`.
        Returns the first state's name."""
        evaluate = _state_name(node.id, "Condition of ")
        holds = _state_name(node.id, "Condition holds? ")
        parameter = _node_parameter(node, config={"expression": node.condition})
        parameter["evaluates"] = "conditional"
        task = _then(
            {
                "Type": "Task",
                "Resource": self.targets.node_functions[NodeType.IF_ELSE.value],
                "Parameters": {"node": parameter, **self._context(node)},
                # Only the handle: the state must not look as if the node had run.
                "ResultSelector": {"handle.$": "$.handle"},
                "ResultPath": "$.scratch",
                "Retry": [_SERVICE_RETRY],
            },
            holds,
        )
        if node.error_strategy is not None and node.type not in CONTAINER_TYPES:
            # The condition failing is the node failing.
            states.update(self._recover(node, [task], follow))
        states[evaluate] = task
        states[holds] = {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.scratch.handle", "StringEquals": "true", "Next": run_state}
            ],
            "Default": skip,
        }
        return evaluate

    def _task(
        self,
        node: Node,
        follow: str | None,
        extra: dict[str, Any],
        *,
        function: NodeType | None = None,
        config: dict[str, Any] | None = None,
        per_item: bool = False,
    ) -> dict[str, Any]:
        """A Task of `node` (run by the function of `function`, default the node's type,
        with `config` instead of the node's own); `per_item`: one run of a Map's items."""
        parameter = _node_parameter(node, config=config)
        if per_item or self._in_iteration(node):
            # Every item's output comes back in one Map result (256 KB in all), so in a
            # body anything but small outputs travels as an S3 reference.
            parameter["inlineLimit"] = ITERATION_INLINE_LIMIT
        return _then(
            {
                "Type": "Task",
                "Resource": self.targets.node_functions[(function or node.type).value],
                "Parameters": {"node": parameter, **self._context(node), **extra},
                "ResultPath": f"$.vars.{state_key(node.id)}",
                "Retry": [_SERVICE_RETRY],
            },
            follow,
        )

    def _always_runs_in_body(self, container: Node, node_id: str) -> bool:
        scope = [n for n, other in self.nodes.items() if other.parent == container.id]
        start = next((n for n in scope if self.nodes[n].type in BODY_START_TYPES), None)
        return start is not None and node_id in self._live(start, self._order(scope))[1]

    def _context(self, node: Node) -> dict[str, str]:
        """What a task of `node` receives besides its config: inside an iteration body,
        `vars` with the current item merged in."""
        if self._in_iteration(node):
            return {**_CONTEXT, "vars.$": _IN_BODY_VARS}
        return _CONTEXT

    def _item_root(self, node_id: str) -> dict[str, Any]:
        """The item root of the state in the scope of `node_id` (rebuilt from the Map's
        context object by a state that replaces the whole state), or {} outside any
        iteration."""
        parent = self.nodes[node_id].parent
        while parent is not None:  # bounded: compile_workflow refused loops of parents
            container = self.nodes[parent]
            if container.type is NodeType.ITERATION:
                return {ITEM_ROOT: _item_of(container)}
            parent = container.parent
        return {}

    def _in_iteration(self, node: Node) -> bool:
        parent = self.nodes.get(node.parent) if node.parent else None
        while parent is not None:  # bounded: compile_workflow refused loops of parents
            if parent.type is NodeType.ITERATION:
                return True
            parent = self.nodes.get(parent.parent) if parent.parent else None
        return False

    def _body(
        self, container: Node, exit_state: str | None, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        scope = [n for n, node in self.nodes.items() if node.parent == container.id]
        start = next(
            (n for n in scope if self.nodes[n].type in BODY_START_TYPES),
            None,
        )
        if start is None:
            raise CompileError(f"container '{container.id}' has no start node in its body")
        return self.sequence(scope, head=start, exit_state=exit_state, depth=depth)

    def _iteration(self, node: Node, follow: str | None, depth: int) -> tuple[str, dict[str, Any]]:
        """prepare (Task) -> Map over the items, the body per item -> collect (Task).

        Each item runs only its body's states: the item reaches the body through the Map's
        ItemSelector (ITEM_ROOT), and the body's last states give back the output node's
        state (OutputPath). Only an output node that may be skipped, or no output node, or
        an empty body needs a state to say what the item gives back.
        """
        prepare = _state_name(node.id)
        each = _state_name(node.id, "Each ")
        collect = _state_name(node.id, "Collect ")
        emit = _state_name(node.id, "Emit ")
        output_node = _selector_root(node.config.get("output_selector"))
        always = output_node is not None and self._always_runs_in_body(node, output_node)
        if always:
            body_entry, body_states = self._body(node, None, depth + 1)  # inside the Map
        else:
            body_entry, body_states = self._body(node, emit, depth + 1)
        if always and body_entry is not None:
            for state in body_states.values():
                if state.get("End"):
                    assert "OutputPath" not in state, state
                    state["OutputPath"] = f"$.vars.{state_key(str(output_node))}"
        elif output_node and always:
            body_states[emit] = {
                "Type": "Pass",
                "OutputPath": f"$.vars.{state_key(output_node)}",
                "End": True,
            }
        elif output_node:
            emit_output = _state_name(node.id, "Emit output of ")
            emit_nothing = _state_name(node.id, "Emit nothing of ")
            body_states[emit] = {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"$.vars.{state_key(output_node)}",
                        "IsPresent": True,
                        "Next": emit_output,
                    }
                ],
                "Default": emit_nothing,
            }
            body_states[emit_output] = {
                "Type": "Pass",
                "OutputPath": f"$.vars.{state_key(output_node)}",
                "End": True,
            }
            body_states[emit_nothing] = {"Type": "Pass", "Result": {}, "End": True}
        else:
            body_states[emit] = {"Type": "Pass", "Result": {}, "End": True}
        tolerant = node.config.get("error_handle_mode") in (
            "continue-on-error",
            "remove-abnormal-output",
        )
        if tolerant:
            _catch_item_failures(body_states, _state_name(node.id, "Item failed in "))
        parallel = bool(node.config.get("is_parallel"))
        context = self._context(node)
        states: dict[str, Any] = {
            prepare: self._task(node, each, {"action": StepAction.PREPARE.value})
            | {"ResultPath": "$.scratch"},
            each: _map(
                {**context, ITEM_ROOT: _item_of(node)},
                body_entry or emit,
                body_states,
                int(node.config.get("parallel_nums") or 10) if parallel else 1,
                collect,
            ),
            collect: self._task(
                node,
                follow,
                {"action": StepAction.COLLECT.value, "results.$": "$.scratch"},
            ),
        }
        return prepare, states

    def _looped(self, node: Node, follow: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """A node with a `loop`, as an iteration whose body is the node itself: prepare
        (the iteration function evaluates the list) -> Map running the node's Task once
        per element, in order -> collect (the list of the elements' `result`s).

        Returns the per-element Task (for Retry and TimeoutSeconds) and the states, the
        prepare Task, named by the node's id, first. The element is the Map's ItemSelector
        merged into the Task's `vars` as the outputs of `loop`: no state of its own.
        """
        prepare = _state_name(node.id)
        each = _state_name(node.id, "Each ")
        collect = _state_name(node.id, "Collect ")
        item_task = _state_name(node.id, "Item of ")
        over = single_reference(node.loop or "")
        if over is None:
            raise CompileError(f"node '{node.id}': loop must be one reference to a list")
        lists = {
            "iterator_selector": list(over),
            "output_selector": [node.id, "result"],
            # The results as they are, lists too: one per element.
            "flatten_output": False,
        }
        task = self._task(
            node,
            None,
            {"vars.$": f"States.JsonMerge($.vars, $.{LOOP_ROOT}, false)"},
            per_item=True,
        )
        task["OutputPath"] = f"$.vars.{state_key(node.id)}"
        element = {"outputs": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}}
        states = {
            prepare: self._task(
                node,
                each,
                {"action": StepAction.PREPARE.value},
                function=NodeType.ITERATION,
                config=lists,
            )
            | {"ResultPath": "$.scratch"},
            each: _map(
                {**self._context(node), LOOP_ROOT: {state_key(LOOP_ROOT): element}},
                item_task,
                {item_task: task},
                1,
                collect,
            ),
            collect: self._task(
                node,
                follow,
                {"action": StepAction.COLLECT.value, "results.$": "$.scratch"},
                function=NodeType.ITERATION,
                config=lists,
            ),
        }
        return task, states

    def _loop(self, node: Node, follow: str | None, depth: int) -> tuple[str, dict[str, Any]]:
        """init (Task) -> Choice -> body -> check (Task) -> Choice ... -> follow.

        Like Dify, the break conditions are checked before the first round too: `init`
        reports `done` when they already hold, and the body never runs.
        """
        key = state_key(node.id)
        init = _state_name(node.id)
        check = _state_name(node.id, "Check ")
        again = _state_name(node.id, "Again? ")
        after = _state_name(node.id, "After ")
        # The body's states sit beside the loop's own, in the same scope.
        body_entry, body_states = self._body(node, check, depth)
        body_nodes = self._order([n for n, other in self.nodes.items() if other.parent == node.id])
        task_check = self._task(
            node,
            again,
            # In run order, so the check applies assigner updates as the body made them.
            {"action": StepAction.CHECK.value, "body": [state_key(n) for n in body_nodes]},
        )
        task_check["ResultPath"] = "$.vars"
        states = {
            init: self._task(node, again, {"action": StepAction.INIT.value}),
            **body_states,
            check: task_check,
            again: {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": f"$.vars.{key}.done",
                        "BooleanEquals": False,
                        "Next": body_entry or check,
                    }
                ],
                "Default": follow or after,
            },
        }
        if follow is None:
            states[after] = {"Type": "Pass", "End": True}
        return init, states


class _Escapes:
    """For each node f of one graph level: whether an edge from inside f's dominator
    subtree enters a node that f does not dominate, other than a given join.

    Such a node is reached from f, yet has a predecessor f does not dominate, so the region
    of a fork f whose join lies outside its subtree is not single-entry. An edge u -> w
    leaves the subtrees of exactly the tree ancestors of u deeper than idom(w) (Cytron's
    dominance frontier), so one pass from the leaves up, keeping per subtree the two
    distinct such w with the shallowest idom, answers every fork in O(1): O(n) per level
    instead of a walk per fork.
    """

    def __init__(
        self,
        order: list[str],
        members: set[str],
        dominators: DominatorTree,
        outgoing: Mapping[str, list[Edge]],
    ) -> None:
        self._dominators = dominators
        idom = dominators.idom
        self._depth: dict[str, int] = {}
        for node in order:  # topological: a node's idom comes before it
            if node in idom:
                parent = idom[node]
                self._depth[node] = 0 if parent == node else self._depth[parent] + 1
        self._best: dict[str, list[tuple[int, str]]] = {}
        for node in reversed(order):  # a subtree's nodes before its root
            if node not in self._depth:
                continue
            best = self._best.setdefault(node, [])
            for edge in outgoing[node]:
                target = edge.target
                if target in members and target in idom and idom[target] != node:
                    _keep_two(best, (self._depth[idom[target]], target))
            parent = idom[node]
            if parent != node:
                parent_best = self._best.setdefault(parent, [])
                for escape in best:
                    _keep_two(parent_best, escape)

    def leaves(self, fork: str, join: str) -> bool:
        """True when the fork's region surely has a second entry (False: walk it)."""
        depth = self._depth.get(fork)
        if depth is None:
            return False
        # A join inside the subtree would cut paths from the fork to its later nodes.
        if join != VIRTUAL_EXIT and self._dominators.dominates(fork, join):
            return False
        return any(level < depth and target != join for level, target in self._best[fork])


class _Level:
    """The emission of one graph level: each item's run state (its guard aside), and
    where a path goes on arriving at an item knowing what it knows."""

    def __init__(
        self,
        builder: _Builder,
        items: list[_Item],
        dominators: DominatorTree,
        exit_state: str | None,
        done_state: str,
    ) -> None:
        self.builder = builder
        self.items = items
        self.exit_state = exit_state
        self.done_state = done_state
        self.states: dict[str, Any] = {}
        self.run_states: list[str | None] = [None] * len(items)
        self.guarded = [False] * len(items)
        self.skips = [self._skip_index(dominators, i) for i in range(len(items))]
        self.position = {n: i for i, item in enumerate(items) for n in _nodes_of(item)}
        self.base = _Facts(builder, frozenset(), self.position)

    def _skip_index(self, dominators: DominatorTree, index: int) -> int:
        """The first item after `index` that its node does not dominate: where a path
        goes when that node is skipped."""
        item = self.items[index]
        if isinstance(item, _ParallelItem):
            return index + 1
        return next(
            (
                j
                for j in range(index + 1, len(self.items))
                if not self.builder._dominated(self.items[j], item.node_id, dominators)
            ),
            len(self.items),
        )

    def resolve(self, index: int, facts: _Facts) -> str | None:
        """Where a path that knows `facts` goes on arriving at item `index` (None: the end
        of this level, which a Task or Parallel reaches by ending)."""
        while index < len(self.items):
            run_state = self.run_states[index]
            if not self.guarded[index]:
                if run_state is not None:
                    return run_state
                index += 1  # a body's start: nothing to run
                continue
            node_id = _nodes_of(self.items[index])[0]
            decided = facts.guard(node_id)
            if decided is None:
                return self._guard(index)
            if decided:
                return run_state
            facts = facts.failed(node_id, index, self.skips[index])
            index = self.skips[index]
        return self.exit_state

    def choose(self, index: int, facts: _Facts) -> str:
        """resolve() for a Choice, which cannot end a level: a Pass ends it instead."""
        found = self.resolve(index, facts)
        if found is None:
            self.states[self.done_state] = {"Type": "Pass", "End": True}
            return self.done_state
        return found

    def _guard(self, index: int) -> str:
        """The guard Choice of item `index`, made the first time a path needs it."""
        node_id = _nodes_of(self.items[index])[0]
        guard = _state_name(node_id, "Runs? ")
        if guard not in self.states:
            failed = self.base.failed(node_id, index, self.skips[index])
            self.states[guard] = {
                "Type": "Choice",
                "Choices": [{**self.builder._taken_any(node_id), "Next": self.run_states[index]}],
                "Default": self.choose(self.skips[index], failed),
            }
        return guard


class _Facts:
    """What a path through one graph level knows for sure about the execution state:
    whether a node's state is there (it ran), and which handle a node's state carries or
    cannot carry. Only what the guards themselves read, so a guard that these facts
    decide would decide the same at run time.

    `ran` starts with the nodes that surely ran (no guard precedes them); a node run adds
    what its running implies (its only incoming edge was taken, so its source ran and
    chose that edge's handle, and so on up); a failed guard adds that none of its edges
    was taken and that the node and what it dominates did not run.
    """

    # How far up a chain of single incoming edges a node's running is followed.
    CHAIN = 16

    def __init__(
        self, builder: _Builder, surely_ran: frozenset[str], position: Mapping[str, int]
    ) -> None:
        # Shared by every path of the level: the nodes that surely ran, and each node's
        # item index (a skip is recorded as a range of items, not node by node).
        self._builder = builder
        self._surely_ran = surely_ran
        self._position = position
        self._ran: dict[str, bool] = {}
        self._skipped: tuple[tuple[int, int], ...] = ()
        self._handle: dict[str, str | None] = {}
        self._excluded: dict[str, frozenset[str | None]] = {}

    def _copy(self) -> _Facts:
        facts = _Facts(self._builder, self._surely_ran, self._position)
        facts._ran = dict(self._ran)
        facts._skipped = self._skipped
        facts._handle = dict(self._handle)
        facts._excluded = dict(self._excluded)
        return facts

    def ran(self, node_id: str) -> bool | None:
        if node_id in self._ran:
            return self._ran[node_id]
        if node_id in self._surely_ran:
            return True
        position = self._position.get(node_id)
        if position is not None and any(a <= position < b for a, b in self._skipped):
            return False
        return None

    def ran_also(self, node_id: str) -> _Facts:
        """These facts once `node_id` ran."""
        facts = self._copy()
        for _ in range(self.CHAIN):
            facts._ran[node_id] = True
            edges = self._builder.incoming(node_id)
            if len(edges) != 1:
                break
            (edge,) = edges
            source = self._builder.nodes[edge.source]
            if source.type in BODY_START_TYPES:
                break
            if edge.source_handle is not None:
                facts._handle[edge.source] = edge.source_handle
            elif source.error_strategy is ErrorStrategy.FAIL_BRANCH:
                facts._handle[edge.source] = None
            node_id = edge.source
        return facts

    def skipped(self, start: int, end: int) -> _Facts:
        """These facts once the items from `start` to before `end` were skipped (a node
        and all it dominates)."""
        facts = self._copy()
        facts._skipped = (*self._skipped, (start, end))
        return facts

    def failed(self, node_id: str, start: int, end: int) -> _Facts:
        """These facts once the guard of `node_id` (item `start`) failed: no incoming edge
        was taken, and the items up to `end` are skipped."""
        facts = self.skipped(start, end)
        for edge in self._builder.incoming(node_id):
            source = edge.source
            if facts.ran(source) is not True or source in facts._handle:
                continue
            if edge.source_handle is not None:
                cannot: str | None = edge.source_handle
            elif self._builder.nodes[source].error_strategy is ErrorStrategy.FAIL_BRANCH:
                cannot = None
            else:
                continue
            excluded = facts._excluded.get(source, frozenset()) | {cannot}
            facts._excluded[source] = excluded
            domain = self._builder.handles(source)
            left = domain - excluded if domain is not None else None
            if left is not None and len(left) == 1:
                (facts._handle[source],) = left
        return facts

    def guard(self, node_id: str) -> bool | None:
        """The guard of `node_id` (one of its incoming edges was taken): True, False, or
        None when these facts cannot tell."""
        outcome: bool | None = False
        for edge in self._builder.incoming(node_id):
            taken = self._taken(edge)
            if taken is True:
                return True
            if taken is None:
                outcome = None
        return outcome

    def _taken(self, edge: Edge) -> bool | None:
        source = self._builder.nodes[edge.source]
        if source.type in BODY_START_TYPES:
            return None  # never guarded on: leave such guards to run time
        ran = self.ran(edge.source)
        if ran is False:
            return False
        if edge.source_handle is not None:
            wanted: str | None = edge.source_handle
        elif source.error_strategy is ErrorStrategy.FAIL_BRANCH:
            wanted = None
        else:
            return ran
        if edge.source in self._handle:
            chose = self._handle[edge.source] == wanted
        elif wanted in self._excluded.get(edge.source, frozenset()):
            chose = False
        else:
            return None
        return ran if chose else False


def _if_else_handles(config: Mapping[str, Any]) -> set[str | None]:
    """The handles an if-else chooses from (functions/nodes/if_else): "true"/"false" for
    an expression or Dify's legacy conditions, each case's id or "false" (ELSE) for cases."""
    cases = config.get("cases")
    if cases is None:
        return {"true", "false"}
    ids = [c.get("case_id") for c in cases] if isinstance(cases, list) else []
    if not all(isinstance(i, str) and i for i in ids):
        return set()
    return {*ids, "false"}


def _keep_two(best: list[tuple[int, str]], escape: tuple[int, str]) -> None:
    """Keep in `best` the two escapes of distinct targets with the shallowest idoms: if
    any escape avoids a given join and is shallow enough, one of these two does."""
    level, target = escape
    for index, (kept_level, kept_target) in enumerate(best):
        if kept_target == target:
            if level < kept_level:
                best[index] = escape
                best.sort()
            return
    best.append(escape)
    best.sort()
    del best[2:]


def _item_of(iteration: Node) -> dict[str, Any]:
    """The ITEM_ROOT of an iteration's Map item: the iteration node's outputs, the item and
    its index, as `vars` would hold them."""
    item = {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
    return {state_key(iteration.id): {"outputs": item}}


def _map(
    item_selector: dict[str, Any],
    start: str,
    states: dict[str, Any],
    concurrency: int,
    next_state: str,
) -> dict[str, Any]:
    """The Map of an iteration (or a looping node) over `$.scratch.items` (prepared by its
    first Task), each item running `states` from `start`."""
    return {
        "Type": "Map",
        "ItemsPath": "$.scratch.items",
        "MaxConcurrency": concurrency,
        "ItemSelector": item_selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": start,
            "States": states,
        },
        # The results replace the items: the state keeps only what is still needed.
        "ResultPath": "$.scratch.items",
        "Next": next_state,
    }


def _catch_item_failures(states: dict[str, Any], failed_state: str) -> None:
    """Within an iteration that tolerates errors, a failing body task ends only its item."""
    for state in states.values():
        if state.get("Type") == "Task" and "Catch" not in state:
            state["Catch"] = [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": failed_state}
            ]
    states[failed_state] = {
        "Type": "Pass",
        "Parameters": {"failed": True, "error.$": "$.failure"},
        "End": True,
    }


def _nodes_of(item: _Item) -> list[str]:
    if isinstance(item, _NodeItem):
        return [item.node_id]
    return [n for branch in item.branches for n in branch]


# At most this many intrinsic calls in one field (Step Functions' documented limit on
# nesting them), so one field merges at most MERGE_FANIN branch results.
MAX_INTRINSIC_CALLS = 10
MERGE_FANIN = MAX_INTRINSIC_CALLS + 1


def _join(
    branches: list[dict[str, Any]], name: str, follow: str | None, item_root: dict[str, Any]
) -> dict[str, Any]:
    """The Parallel that runs `branches` concurrently and merges the `vars` each extended.

    Every branch adds its own nodes to a copy of `vars` and ends with that copy alone
    (OutputPath `$.vars` on its last states), so the Parallel's result is a list of `vars`
    objects, merged in its ResultSelector by nested `States.JsonMerge` calls: no state of
    its own up to MERGE_FANIN branches; each further factor of MERGE_FANIN costs one Pass
    merging the previous round's parts. Plain `$[i]` paths only, because moto's
    interpreter reads `$[i].vars` as a one-element list. `run`, `trigger` and `sys` never
    change during an execution, so they come from its input; `item_root`: what else the
    state carries (inside an iteration body, its item).
    """
    for branch in branches:
        for state in branch["States"].values():
            if state.get("End"):
                assert "OutputPath" not in state, state
                state["OutputPath"] = "$.vars"
    context = {f"{key}.$": f"$$.Execution.Input.{key}" for key in ("run", "trigger", "sys")}
    parts = _merged([f"$[{i}]" for i in range(len(branches))])
    parallel: dict[str, Any] = {"Type": "Parallel", "Branches": branches}
    states: dict[str, Any] = {name: parallel}
    fields = {"vars.$": parts[0]} if len(parts) == 1 else _parts(parts)
    parallel["ResultSelector"] = {**context, **fields, **item_root}
    previous, round_number = name, 1
    while len(parts) > 1:
        parts = _merged([f"$.v{i}" for i in range(len(parts))])
        merge = _state_name(name, f"Merge {round_number} of ")
        states[previous]["Next"] = merge
        fields = {"vars.$": parts[0]} if len(parts) == 1 else _parts(parts)
        carried = {f"{key}.$": f"$.{key}" for key in ("run", "trigger", "sys")}
        carried |= {f"{key}.$": f"$.{key}" for key in item_root}
        states[merge] = {"Type": "Pass", "Parameters": {**carried, **fields}}
        previous, round_number = merge, round_number + 1
    _then(states[previous], follow)
    return states


def _merged(terms: list[str]) -> list[str]:
    """`terms` (paths to objects) merged in groups of MERGE_FANIN, each group by a balanced
    tree of shallow `States.JsonMerge` calls, later terms winning as before."""
    groups = []
    for start in range(0, len(terms), MERGE_FANIN):
        group = terms[start : start + MERGE_FANIN]
        while len(group) > 1:
            group = [
                f"States.JsonMerge({group[i]}, {group[i + 1]}, false)"
                if i + 1 < len(group)
                else group[i]
                for i in range(0, len(group), 2)
            ]
        groups.append(group[0])
    return groups


def _parts(parts: list[str]) -> dict[str, str]:
    return {f"v{i}.$": part for i, part in enumerate(parts)}


def _selector_root(selector: Any) -> str | None:
    if isinstance(selector, list) and selector and isinstance(selector[0], str):
        return selector[0]
    return None


def _node_parameter(node: Node, *, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `node` parameter of the node's Tasks; `config` replaces its own (a task that
    another node type's function runs for it)."""
    parameter: dict[str, Any] = {
        "id": node.id,
        "type": node.type.value,
        "title": node.title,
        # JSON text, so no key of the user's config is read as a path ending in ".$".
        "config": json.dumps(
            node.config if config is None else config, ensure_ascii=False, sort_keys=True
        ),
    }
    if node.error_strategy is not None:
        parameter["errorStrategy"] = node.error_strategy.value
        parameter["defaultOutputs"] = json.dumps(node.default_outputs, ensure_ascii=False)
    return parameter


def _state_name(text: str, prefix: str = "", suffix: str = "") -> str:
    # State names are limited to 80 characters; long ones keep a unique readable head.
    name = prefix + text + suffix
    if len(name) <= 80:
        return name
    return f"{name[:60]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"
