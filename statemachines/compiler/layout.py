"""One graph level (the top level or a container's body) laid out as a sequence of states
in topological order, each node behind a guard `Choice` only where the path reaching it
cannot tell whether it runs."""

from __future__ import annotations

from typing import Any

from functions.core.model.graph import DominatorTree, immediate_dominators
from functions.core.model.workflow import BODY_START_TYPES, Node, NodeType
from statemachines.compiler.asl import CompileError, Targets, state_name
from statemachines.compiler.containers import Containers
from statemachines.compiler.liveness import Facts, Live, taken_any
from statemachines.compiler.parallel import join
from statemachines.compiler.regions import Level, NodeItem, ParallelItem, Regions, dominated
from statemachines.compiler.states import TaskStates
from statemachines.compiler.structure import Structure
from statemachines.compiler.task_vars import TaskVars


class Layout:
    """Lays out one graph level at a time, the levels inside it by recursion."""

    def __init__(self, structure: Structure, targets: Targets, task_vars: TaskVars) -> None:
        self.structure = structure
        self.tasks = TaskStates(structure, targets, task_vars)
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
        regions = Regions(self.structure, order, members, head, dominators, depth=depth)
        return self._emit(
            _Lives(self.structure, regions), regions.top, exit_state, name=head, depth=depth
        )

    def body(
        self, container: Node, exit_state: str | None, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        scope = self.structure.body(container.id)
        start = self.structure.body_start(scope)
        if start is None:
            raise CompileError(f"container '{container.id}' has no start node in its body")
        return self.sequence(scope, head=start, exit_state=exit_state, depth=depth)

    def _emit(
        self, lives: _Lives, level: Level, exit_state: str | None, *, name: str, depth: int
    ) -> tuple[str | None, dict[str, Any]]:
        """The states of the level's items in order, entered at the first.

        Where a node's guard is decided by what the path reaching it already knows (the
        node just run, the branch its if-else chose), the path goes straight to the node
        or past it instead of through the guard (see Facts): a guard is emitted only
        where some path cannot tell."""
        live = lives.of(level)
        emission = _Emission(
            lives.regions,
            level,
            live,
            exit_state,
            state_name(name, "Skipped to end of "),
        )
        base = emission.base
        states = emission.states
        level_items = level.items
        for index in range(len(level_items) - 1, -1, -1):
            item = level_items[index]
            if isinstance(item, ParallelItem):
                follow = emission.resolve(index + 1, base.ran_also(item.fork))
                emission.run_states[index] = state_name(item.fork, "Parallel after ")
                states.update(self._parallel(lives, item, follow, depth + 1))
                continue
            node = self.structure.nodes[item.node_id]
            if node.type in BODY_START_TYPES:
                continue
            follow = emission.resolve(index + 1, base.ran_also(node.id))
            run_state, node_states = self._node_states(node, follow, depth)
            states.update(node_states)
            if node.condition is not None:
                # Skipped like an untaken branch: the node and all it dominates.
                skip = emission.choose(
                    emission.skips[index], base.skipped(index, emission.skips[index])
                )
                run_state = self.tasks.conditional(node, run_state, skip, follow, states)
            emission.run_states[index] = run_state
            emission.guarded[index] = node.id not in live.reached
        return (emission.resolve(0, base) if level_items else exit_state), states

    def _parallel(
        self, lives: _Lives, item: ParallelItem, follow: str | None, depth: int
    ) -> dict[str, Any]:
        """The Parallel for `item`, its branches inside `depth` nested Parallel/Map states."""
        branches = []
        for index, branch in enumerate(item.branches):
            entry, states = self._emit(
                lives,
                branch,
                None,
                name=state_name(f"{item.fork} branch {index + 1}"),
                depth=depth,
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


class _Lives:
    """Which nodes surely run, per level of one sequence, each level's answer computed
    once: a level asks those of its Parallels' branches about the nodes inside them."""

    def __init__(self, structure: Structure, regions: Regions) -> None:
        self.structure = structure
        self.regions = regions
        self._found: dict[Level, Live] = {}

    def of(self, level: Level) -> Live:
        live = self._found.get(level)
        if live is None:

            def inside(node_id: str) -> tuple[str, bool] | None:
                branch = self.regions.branch_under(level, node_id)
                return None if branch is None else (branch.head, self.of(branch).ran(node_id))

            live = Live(
                self.structure,
                level.head,
                level.nodes(),
                head_ran=level.parent is not None,
                inside=inside,
            )
            self._found[level] = live
        return live


class _Emission:
    """The emission of one graph level: each item's run state (its guard aside), and
    where a path goes on arriving at an item knowing what it knows."""

    def __init__(
        self,
        regions: Regions,
        level: Level,
        live: Live,
        exit_state: str | None,
        done_state: str,
    ) -> None:
        self.structure = regions.structure
        self.regions = regions
        self.level = level
        self.items = level.items
        self.exit_state = exit_state
        self.done_state = done_state
        self.states: dict[str, Any] = {}
        self.run_states: list[str | None] = [None] * len(self.items)
        self.guarded = [False] * len(self.items)
        self.skips = [0] * len(self.items)
        for index in range(len(self.items) - 1, -1, -1):
            self.skips[index] = self._skip_index(regions.dominators, index)
        # What every path of the level knows: the nodes that surely ran.
        self.base = Facts(self.structure, live.ran, self.position)

    def position(self, node_id: str) -> int | None:
        return self.regions.index_at(self.level, node_id)

    def _skip_index(self, dominators: DominatorTree, index: int) -> int:
        """The first item after `index` that its node does not dominate: where a path
        goes when that node is skipped. Items that a later item's node dominates are
        dominated by this node too, so the search jumps past them (skips after `index`
        are known)."""
        item = self.items[index]
        if isinstance(item, ParallelItem):
            return index + 1
        after = index + 1
        while after < len(self.items) and dominated(self.items[after], item.node_id, dominators):
            after = self.skips[after] if isinstance(self.items[after], NodeItem) else after + 1
        return after

    def _node_at(self, index: int) -> str:
        item = self.items[index]
        assert isinstance(item, NodeItem), "only a node's item is guarded"
        return item.node_id

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
            node_id = self._node_at(index)
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
        node_id = self._node_at(index)
        guard = state_name(node_id, "Runs? ")
        if guard not in self.states:
            failed = self.base.failed(node_id, index, self.skips[index])
            self.states[guard] = {
                "Type": "Choice",
                "Choices": [{**taken_any(self.structure, node_id), "Next": self.run_states[index]}],
                "Default": self.choose(self.skips[index], failed),
            }
        return guard
