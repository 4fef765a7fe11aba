"""One graph level (the top level or a container's body) laid out as a sequence of states
in topological order, each node behind a guard `Choice` only where the path reaching it
cannot tell whether it runs."""

from __future__ import annotations

from typing import Any

from functions.core.model.graph import DominatorTree, immediate_dominators
from functions.core.model.workflow import BODY_START_TYPES, Node, NodeType
from statemachines.compiler.asl import CompileError, Targets, state_name
from statemachines.compiler.containers import Containers
from statemachines.compiler.liveness import Facts, live, taken_any
from statemachines.compiler.parallel import join
from statemachines.compiler.regions import (
    Escapes,
    Item,
    ParallelItem,
    dominated,
    escapes_of,
    items,
    nodes_of,
)
from statemachines.compiler.states import TaskStates
from statemachines.compiler.structure import Structure


class Layout:
    """Lays out one graph level at a time, the levels inside it by recursion."""

    def __init__(self, structure: Structure, targets: Targets) -> None:
        self.structure = structure
        self.tasks = TaskStates(structure, targets)
        self.containers = Containers(structure, self.tasks, self.body)

    def sequence(
        self, scope: list[str], *, head: str, exit_state: str | None, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        """States for the nodes of `scope` (one graph level) entered at `head`, inside
        `depth` nested Parallel/Map states.

        Returns the first state's name (None when there is nothing to run) and the states.
        """
        members = set(scope)
        order = self.structure.order(scope)
        preds = {
            n: [e.source for e in self.structure.incoming(n) if e.source in members] for n in order
        }
        dominators = DominatorTree(immediate_dominators(order, preds, head), head)
        escapes = Escapes(self.structure, order, members, dominators)
        level_items = items(
            self.structure, order, members, dominators, depth=depth, escapes=escapes
        )
        return self._emit(level_items, head, dominators, exit_state, name=head, depth=depth)

    def body(
        self, container: Node, exit_state: str | None, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        scope = self.structure.body(container.id)
        start = self.structure.body_start(scope)
        if start is None:
            raise CompileError(f"container '{container.id}' has no start node in its body")
        return self.sequence(scope, head=start, exit_state=exit_state, depth=depth)

    def _emit(
        self,
        level_items: list[Item],
        head: str,
        dominators: DominatorTree,
        exit_state: str | None,
        *,
        name: str,
        depth: int,
        head_ran: bool = False,
    ) -> tuple[str | None, dict[str, Any]]:
        """The states of `level_items` in order, entered at the first.

        Where a node's guard is decided by what the path reaching it already knows (the
        node just run, the branch its if-else chose), the path goes straight to the node
        or past it instead of through the guard (see Facts): a guard is emitted only
        where some path cannot tell."""
        flat = [n for item in level_items for n in nodes_of(item)]
        reached, ran = live(self.structure, head, flat, head_ran=head_ran)
        level = _Level(
            self.structure,
            level_items,
            dominators,
            exit_state,
            state_name(name, "Skipped to end of "),
        )
        base = Facts(self.structure, frozenset(ran), level.position)
        level.base = base
        states = level.states
        for index in range(len(level_items) - 1, -1, -1):
            item = level_items[index]
            if isinstance(item, ParallelItem):
                follow = level.resolve(index + 1, base.ran_also(item.fork))
                level.run_states[index] = state_name(item.fork, "Parallel after ")
                states.update(self._parallel(item, dominators, follow, depth + 1))
                continue
            node = self.structure.nodes[item.node_id]
            if node.type in BODY_START_TYPES:
                continue
            follow = level.resolve(index + 1, base.ran_also(node.id))
            run_state, node_states = self._node_states(node, follow, depth)
            states.update(node_states)
            if node.condition is not None:
                # Skipped like an untaken branch: the node and all it dominates.
                skip = level.choose(level.skips[index], base.skipped(index, level.skips[index]))
                run_state = self.tasks.conditional(node, run_state, skip, follow, states)
            level.run_states[index] = run_state
            level.guarded[index] = node.id not in reached
        return (level.resolve(0, base) if level_items else exit_state), states

    def _parallel(
        self, item: ParallelItem, dominators: DominatorTree, follow: str | None, depth: int
    ) -> dict[str, Any]:
        """The Parallel for `item`, its branches inside `depth` nested Parallel/Map states."""
        branches = []
        for index, branch in enumerate(item.branches):
            entry, states = self._emit(
                items(
                    self.structure,
                    branch,
                    set(branch),
                    dominators,
                    depth=depth,
                    escapes=escapes_of(self.structure, item, branch),
                ),
                item.fork,
                dominators,
                None,
                name=state_name(f"{item.fork} branch {index + 1}"),
                depth=depth,
                head_ran=True,
            )
            if entry is not None:
                branches.append({"StartAt": entry, "States": states})
        return join(
            branches,
            state_name(item.fork, "Parallel after "),
            follow,
            self.tasks.item_root(item.fork),
        )

    def _node_states(
        self, node: Node, follow: str | None, depth: int
    ) -> tuple[str, dict[str, Any]]:
        """The states that run `node`, their entry first, ending in `follow`."""
        if node.type is NodeType.ITERATION:
            return self.containers.iteration(node, follow, depth)
        if node.type is NodeType.LOOP:
            return self.containers.loop(node, follow, depth)
        name = state_name(node.id)
        states: dict[str, Any] = {}
        if node.loop is not None:
            task, looped = self.containers.looped(node, follow)
            caught = list(looped.values())
        else:
            task = self.tasks.task(node, follow, {})
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
            states.update(self.tasks.recover(node, caught, follow))
        if node.loop is not None:
            states.update(looped)
        else:
            states[name] = task
        return name, states


class _Level:
    """The emission of one graph level: each item's run state (its guard aside), and
    where a path goes on arriving at an item knowing what it knows."""

    def __init__(
        self,
        structure: Structure,
        level_items: list[Item],
        dominators: DominatorTree,
        exit_state: str | None,
        done_state: str,
    ) -> None:
        self.structure = structure
        self.items = level_items
        self.exit_state = exit_state
        self.done_state = done_state
        self.states: dict[str, Any] = {}
        self.run_states: list[str | None] = [None] * len(level_items)
        self.guarded = [False] * len(level_items)
        self.skips = [self._skip_index(dominators, i) for i in range(len(level_items))]
        self.position = {n: i for i, item in enumerate(level_items) for n in nodes_of(item)}
        self.base = Facts(structure, frozenset(), self.position)

    def _skip_index(self, dominators: DominatorTree, index: int) -> int:
        """The first item after `index` that its node does not dominate: where a path
        goes when that node is skipped."""
        item = self.items[index]
        if isinstance(item, ParallelItem):
            return index + 1
        return next(
            (
                j
                for j in range(index + 1, len(self.items))
                if not dominated(self.items[j], item.node_id, dominators)
            ),
            len(self.items),
        )

    def resolve(self, index: int, facts: Facts) -> str | None:
        """Where a path that knows `facts` goes on arriving at item `index` (None: the end
        of this level, which a Task or Parallel reaches by ending)."""
        while index < len(self.items):
            run_state = self.run_states[index]
            if not self.guarded[index]:
                if run_state is not None:
                    return run_state
                index += 1  # a body's start: nothing to run
                continue
            node_id = nodes_of(self.items[index])[0]
            decided = facts.guard(node_id)
            if decided is None:
                return self._guard(index)
            if decided:
                return run_state
            facts = facts.failed(node_id, index, self.skips[index])
            index = self.skips[index]
        return self.exit_state

    def choose(self, index: int, facts: Facts) -> str:
        """resolve() for a Choice, which cannot end a level: a Pass ends it instead."""
        found = self.resolve(index, facts)
        if found is None:
            self.states[self.done_state] = {"Type": "Pass", "End": True}
            return self.done_state
        return found

    def _guard(self, index: int) -> str:
        """The guard Choice of item `index`, made the first time a path needs it."""
        node_id = nodes_of(self.items[index])[0]
        guard = state_name(node_id, "Runs? ")
        if guard not in self.states:
            failed = self.base.failed(node_id, index, self.skips[index])
            self.states[guard] = {
                "Type": "Choice",
                "Choices": [{**taken_any(self.structure, node_id), "Next": self.run_states[index]}],
                "Default": self.choose(self.skips[index], failed),
            }
        return guard
