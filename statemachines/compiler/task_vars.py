"""What each Task of a compiled machine receives of the execution state's `vars`.

`$.vars` holds the state of every node run so far; handing it whole to every task makes
each task's input, and the work of moving it, grow with the graph. A task receives instead
the entries of the nodes its config reads (the catalogue's `reads()`), each selected by its
own path. A path to a missing key fails the state (States.Runtime, in Step Functions as in
moto's interpreter), and no intrinsic function tolerates one, so a key is selected only
where its node is sure to have written it:

- the node dominates the task's node within their graph level: every path by which the
  task runs passed it, and a node that ran wrote its state (on success its result, on a
  failure its error strategy's recovery; a failure with none ends the run or the item);
  or it precedes the task's node and surely runs once a dominator of that node has run
  (the branches of a Parallel, read at the join);
- or it dominates a container the task's node is in (the container ran, so it did), or it
  is that container (a loop's state, written by its init; an iteration's item, in
  ITEM_ROOT).

Where a read node may not have run (a merge after branches, a node of a sibling Parallel
branch) or what the node reads is not known, the task receives all of `vars`, as before,
so a node that did not run reads as absent exactly as it did.

An iteration's items carry likewise only the states its body's tasks select from outside
the body: the body is compiled before its Map, so every answer given inside it is known
by then. One task inside that receives all of `vars` makes the items carry all of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from functions.core.expressions.templates import RESERVED_ROOTS, Selector
from functions.core.model.graph import DominatorTree, immediate_dominators
from functions.core.model.task import StepAction
from functions.core.model.workflow import (
    BODY_START_TYPES,
    Edge,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
    state_key,
)

# What a node type's function reads of `vars` when run with a config: selectors whose
# first segment names a node (None: not known, the task then receives all of `vars`).
Reads = Callable[[NodeType, Mapping[str, Any]], Iterable[Selector] | None]

# Inside an iteration body the state also carries the current item, as the outputs of the
# iteration node under this root (`{<key>: {"outputs": {item, index}}}`, made by the Map's
# ItemSelector): each task of the body takes it from there, so no state spends a
# transition per item putting it into `$.vars`.
ITEM_ROOT = "iteration"
_IN_BODY_VARS = f"States.JsonMerge($.vars, $.{ITEM_ROOT}, false)"
# What every task receives besides its config and its `vars`; they never change in a run.
_RUN_CONTEXT = {"run.$": "$.run", "trigger.$": "$.trigger", "sys.$": "$.sys"}
# Above every graph level's own root: a node entered from outside its level (or from no
# edge at all) hangs below it, so dominance within a level never overlooks a way in.
# Node ids cannot contain a space (validation), so this is no node's id.
_OUTSIDE = " outside"
# How many nodes a walk for one read visits at most before giving up (all of `vars`).
_WALK = 256


class TaskVars:
    """Built once per compile; answers what each task (and each iteration item) gets."""

    def __init__(self, graph: Graph, entry: str, reads: Reads | None) -> None:
        self._nodes = {n.id: n for n in graph.nodes}
        self._roots = {f"{state_key(n.id)}.$": n.id for n in graph.nodes}
        self._reads = reads
        members: dict[str | None, list[str]] = {}
        for node in graph.nodes:
            members.setdefault(node.parent, []).append(node.id)
        entering: dict[str | None, list[Edge]] = {}
        for edge in graph.edges:
            if edge.source in self._nodes and edge.target in self._nodes:
                entering.setdefault(self._nodes[edge.target].parent, []).append(edge)
        # Per node, the outside states each answer for a task of it selected (None: all).
        self._answers: dict[str, list[frozenset[str] | None]] = {}
        # Edges that enter a body from outside it (validation refuses them): the guards
        # behind them read states an item would then have to carry.
        self._entered = {
            e.target
            for e in graph.edges
            if e.source in self._nodes
            and e.target in self._nodes
            and self._nodes[e.source].parent != self._nodes[e.target].parent
        }
        self._levels = {
            level: _level(scope, self._head(level, scope, entry), entering.get(level, []))
            for level, scope in members.items()
        }

    def task(
        self, node: Node, function: NodeType, config: Mapping[str, Any], extra: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The Parameters of a task of `node` (besides `node`) running `function` with
        `config`; `extra`: the task's own fields, which win (a `vars.$` among them too)."""
        if "vars.$" in extra:
            return {**_RUN_CONTEXT, **extra}
        if function is NodeType.LOOP and extra.get("action") == StepAction.CHECK.value:
            # The check answers the whole new `vars` (the round's states removed).
            return {**self._answered(node, None), **extra}
        reads = self._reads(function, config) if self._reads is not None else None
        return {**self._answered(node, reads), **extra}

    def _answered(self, node: Node, reads: Iterable[Selector] | None) -> dict[str, Any]:
        """The task's context, its selection remembered for the items of iterations."""
        vars_ = self._vars(node, reads)
        selected = vars_.get("vars")
        roots = None if selected is None else frozenset(self._roots[k] for k in selected)
        self._answers.setdefault(node.id, []).append(roots)
        return {**_RUN_CONTEXT, **vars_}

    def items(self, iteration: Node) -> dict[str, Any]:
        """What each item of an iteration's Map starts with (besides its item): the
        states its body's tasks select from outside the body, or all of `vars`."""
        outside: set[str] = set()
        for node_id, answers in self._answers.items():
            if not self._inside(node_id, iteration.id):
                continue
            for roots in answers:
                if roots is None or node_id in self._entered:
                    return self._answered(iteration, None)
                outside.update(r for r in roots if not self._inside(r, iteration.id))
        outside.discard(iteration.id)  # the item itself: the Map's ItemSelector adds it
        paths = {root: self._path(iteration, root) for root in sorted(outside)}
        if any(path is None for path in paths.values()):
            return self._answered(iteration, None)
        vars_ = {f"{state_key(root)}.$": path for root, path in paths.items()}
        self._answers.setdefault(iteration.id, []).append(frozenset(outside))
        return {**_RUN_CONTEXT, "vars": vars_}

    def finalize(self, entry: str, sinks: list[str], ends: list[str]) -> dict[str, Any]:
        """The run's end reads the states of the end nodes (else the sinks) that ran."""
        surely = self._surely_ran(entry)
        read = ends or sinks
        if all(n in surely for n in read):
            return {"vars": {f"{state_key(n)}.$": f"$.vars.{state_key(n)}" for n in read}}
        return {"vars.$": "$.vars"}

    # -- selection ----------------------------------------------------------------------

    def _vars(self, node: Node, reads: Iterable[Selector] | None) -> dict[str, Any]:
        if reads is None:
            return self._whole(node)
        selected: dict[str, str] = {}
        for selector in reads:
            root = selector[0] if selector else None
            if root is None or root in RESERVED_ROOTS or root not in self._nodes:
                continue  # the pool reads these elsewhere, or finds nothing (as before)
            if root == node.id or self._inside(root, node.id):
                # Its own state, or one of its body's: never written before its own tasks
                # (a loop's init, an iteration's prepare and collect, outside the items).
                continue
            path = self._path(node, root)
            if path is None:
                return self._whole(node)
            selected[f"{state_key(root)}.$"] = path
        return {"vars": selected}

    def _whole(self, node: Node) -> dict[str, str]:
        return {"vars.$": _IN_BODY_VARS if self._iteration_of(node) else "$.vars"}

    def _path(self, node: Node, root: str) -> str | None:
        """Where a task of `node` finds the state of `root`, if surely there."""
        current = node.id
        while True:
            level = self._nodes[current].parent
            if (
                root != current
                and self._nodes[root].parent == level
                and self._nodes[root].type not in BODY_START_TYPES
                and self._written_before(self._levels[level], root, current)
            ):
                return f"$.vars.{state_key(root)}"
            if level is None:
                return None
            if root == level:
                if self._iteration_of(node) == level:
                    return f"$.{ITEM_ROOT}.{state_key(root)}"
                return f"$.vars.{state_key(root)}"
            current = level

    def _written_before(self, level: _Level, root: str, node: str) -> bool:
        """Whether `root` surely wrote its state before `node` runs (both of `level`):
        it dominates `node`; or it is an ancestor of `node` that surely runs once some
        dominator of `node` has run (by edges always taken, through nodes without a
        `condition`), as a Parallel's branches do once their fork has, before the join.
        Both walks are bounded (one that gives up only passes all of `vars`)."""
        if level.tree.dominates(root, node):
            return True
        return self._surely_after_a_dominator(level, root, node) and _ancestor(level, root, node)

    def _surely_after_a_dominator(self, level: _Level, root: str, node: str) -> bool:
        seen, stack = {root}, [root]
        while stack and len(seen) <= _WALK:
            current = stack.pop()
            if current != node and level.tree.dominates(current, node):
                return True
            if self._nodes[current].condition is not None:
                continue  # it may be skipped even when what precedes it ran
            for edge in level.incoming[current]:
                source = edge.source
                if source in level.incoming and source not in seen and self._always_taken(edge):
                    seen.add(source)
                    stack.append(source)
        return False

    def _inside(self, node_id: str, container: str) -> bool:
        parent = self._nodes[node_id].parent
        while parent is not None:  # bounded: compile_workflow refused loops of parents
            if parent == container:
                return True
            parent = self._nodes[parent].parent
        return False

    def _iteration_of(self, node: Node) -> str | None:
        """The innermost iteration whose body `node` is in."""
        parent = node.parent
        while parent is not None:  # bounded: compile_workflow refused loops of parents
            if self._nodes[parent].type is NodeType.ITERATION:
                return parent
            parent = self._nodes[parent].parent
        return None

    # -- graph facts ----------------------------------------------------------------------

    def _head(self, level: str | None, scope: list[str], entry: str) -> str:
        if level is None:
            return entry
        return next((n for n in scope if self._nodes[n].type in BODY_START_TYPES), scope[0])

    def _surely_ran(self, entry: str) -> set[str]:
        """Top-level nodes that ran in every run reaching its end: from the entry, by edges
        always taken, from nodes that surely ran, to nodes without a `condition`."""
        top = self._levels[None]
        ran = {entry}
        for node_id in top.order:
            if node_id in ran or self._nodes[node_id].condition is not None:
                continue
            if any(e.source in ran and self._always_taken(e) for e in top.incoming[node_id]):
                ran.add(node_id)
        return ran

    def _always_taken(self, edge: Edge) -> bool:
        """Taken whenever its source ran (as the compiler's liveness reads edges)."""
        source = self._nodes[edge.source]
        if source.type in BODY_START_TYPES:
            return True
        return edge.source_handle is None and source.error_strategy is not ErrorStrategy.FAIL_BRANCH


@dataclass
class _Level:
    """One graph level (the top level or a body): its edges, order and dominator tree."""

    incoming: dict[str, list[Edge]]
    order: list[str]
    tree: DominatorTree


def _ancestor(level: _Level, root: str, node: str) -> bool:
    """Whether `root` precedes `node` by edges of `level` (bounded walk up from `node`)."""
    seen, stack = {node}, [node]
    while stack and len(seen) <= _WALK:
        for edge in level.incoming[stack.pop()]:
            if edge.source == root:
                return True
            if edge.source in level.incoming and edge.source not in seen:
                seen.add(edge.source)
                stack.append(edge.source)
    return False


def _level(scope: list[str], head: str, edges: list[Edge]) -> _Level:
    """`edges`: those entering the level's nodes."""
    members = set(scope)
    incoming: dict[str, list[Edge]] = {n: [] for n in scope}
    outgoing: dict[str, list[str]] = {n: [] for n in scope}
    preds: dict[str, list[str]] = {n: [] for n in scope}
    for edge in edges:
        incoming[edge.target].append(edge)
        if edge.source in members:
            outgoing[edge.source].append(edge.target)
            preds[edge.target].append(edge.source)
        else:
            preds[edge.target].append(_OUTSIDE)
    for node_id in scope:
        if node_id == head or not preds[node_id]:
            preds[node_id].append(_OUTSIDE)
    # Kahn's order (a node after all its predecessors); nodes on a cycle, which the
    # compiler refuses, stay out of it and so dominate nothing.
    indegree = {n: sum(1 for p in preds[n] if p != _OUTSIDE) for n in scope}
    ready = deque(n for n in scope if indegree[n] == 0)
    order: list[str] = []
    while ready:
        node_id = ready.popleft()
        order.append(node_id)
        for target in outgoing[node_id]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    idom = immediate_dominators([_OUTSIDE, *order], preds, _OUTSIDE)
    return _Level(incoming, order, DominatorTree(idom, _OUTSIDE))
