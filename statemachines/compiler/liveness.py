"""Whether a node runs: Dify's rule (a node runs when at least one incoming edge was
taken; an edge is taken when its source ran and, for a branching source, chose that
edge's handle), as the guard `Choice` that checks it at run time and as what a path
through one graph level knows for sure (Facts), which decides most guards at compile
time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from functions.core.model.workflow import (
    BODY_START_TYPES,
    FAIL_BRANCH_HANDLE,
    Edge,
    ErrorStrategy,
    NodeType,
    state_key,
)
from statemachines.compiler.structure import Structure


def always_taken(structure: Structure, edge: Edge) -> bool:
    source = structure.nodes[edge.source]
    if source.type in BODY_START_TYPES:
        return True
    return edge.source_handle is None and source.error_strategy is not ErrorStrategy.FAIL_BRANCH


class Live:
    """Which nodes of one graph level are surely reached once its `head` is (by edges
    always taken from nodes that surely ran), so need no guard, and which surely run. A
    node with a `condition` may be skipped, so it is reached but need not run: what
    follows it is guarded. `head_ran`: the head is known to have run (the branches of a
    Parallel, entered only after their fork ran).

    `nodes`: the level's own nodes in order. A node inside one of its Parallels surely
    runs when that Parallel's fork does and the node surely runs within its branch (every
    predecessor of a branch node is the fork or in the branch): `inside` gives the fork
    and that answer, or None for a node not inside, so no level walks its branches' nodes.
    """

    def __init__(
        self,
        structure: Structure,
        head: str,
        nodes: list[str],
        *,
        head_ran: bool = False,
        inside: Callable[[str], tuple[str, bool] | None] | None = None,
    ) -> None:
        self._inside = inside
        self.reached = {head}
        self._ran = {head} if head_ran or structure.nodes[head].condition is None else set()
        for node_id in nodes:
            if any(
                self.ran(e.source) and always_taken(structure, e)
                for e in structure.incoming(node_id)
            ):
                self.reached.add(node_id)
                if structure.nodes[node_id].condition is None:
                    self._ran.add(node_id)

    def ran(self, node_id: str) -> bool:
        if node_id in self._ran:
            return True
        found = self._inside(node_id) if self._inside is not None else None
        return found is not None and found[0] in self._ran and found[1]


def handles(structure: Structure, node_id: str) -> frozenset[str | None] | None:
    """Every handle the node's state can carry (None: none), or None if unknown."""
    node = structure.nodes[node_id]
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


def taken_any(structure: Structure, node_id: str) -> dict[str, Any]:
    """The guard's Choice rule: one of the node's incoming edges was taken."""
    rules = [_taken(structure, e) for e in structure.incoming(node_id)]
    return rules[0] if len(rules) == 1 else {"Or": rules}


def _taken(structure: Structure, edge: Edge) -> dict[str, Any]:
    var = f"$.vars.{state_key(edge.source)}"
    ran = {"Variable": var, "IsPresent": True}
    source = structure.nodes[edge.source]
    if edge.source_handle is not None:
        # A missing source has no handle either, so one presence test covers both.
        chose = {"Variable": f"{var}.handle", "StringEquals": edge.source_handle}
        return {"And": [{"Variable": f"{var}.handle", "IsPresent": True}, chose]}
    if source.error_strategy is ErrorStrategy.FAIL_BRANCH:
        return {"And": [ran, {"Not": {"Variable": f"{var}.handle", "IsPresent": True}}]}
    return ran


class Facts:
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
        self,
        structure: Structure,
        surely_ran: Callable[[str], bool],
        position: Callable[[str], int | None],
    ) -> None:
        # Shared by every path of the level: whether a node surely ran, and the index of
        # the item holding a node (a skip is recorded as a range of items, not node by
        # node).
        self._structure = structure
        self._surely_ran = surely_ran
        self._position = position
        self._ran: dict[str, bool] = {}
        self._skipped: tuple[tuple[int, int], ...] = ()
        self._handle: dict[str, str | None] = {}
        self._excluded: dict[str, frozenset[str | None]] = {}

    def _copy(self) -> Facts:
        facts = Facts(self._structure, self._surely_ran, self._position)
        facts._ran = dict(self._ran)
        facts._skipped = self._skipped
        facts._handle = dict(self._handle)
        facts._excluded = dict(self._excluded)
        return facts

    def ran(self, node_id: str) -> bool | None:
        if node_id in self._ran:
            return self._ran[node_id]
        if self._surely_ran(node_id):
            return True
        position = self._position(node_id)
        if position is not None and any(a <= position < b for a, b in self._skipped):
            return False
        return None

    def ran_also(self, node_id: str) -> Facts:
        """These facts once `node_id` ran."""
        facts = self._copy()
        for _ in range(self.CHAIN):
            facts._ran[node_id] = True
            edges = self._structure.incoming(node_id)
            if len(edges) != 1:
                break
            (edge,) = edges
            source = self._structure.nodes[edge.source]
            if source.type in BODY_START_TYPES:
                break
            if edge.source_handle is not None:
                facts._handle[edge.source] = edge.source_handle
            elif source.error_strategy is ErrorStrategy.FAIL_BRANCH:
                facts._handle[edge.source] = None
            node_id = edge.source
        return facts

    def skipped(self, start: int, end: int) -> Facts:
        """These facts once the items from `start` to before `end` were skipped (a node
        and all it dominates)."""
        facts = self._copy()
        facts._skipped = (*self._skipped, (start, end))
        return facts

    def failed(self, node_id: str, start: int, end: int) -> Facts:
        """These facts once the guard of `node_id` (item `start`) failed: no incoming edge
        was taken, and the items up to `end` are skipped."""
        facts = self.skipped(start, end)
        for edge in self._structure.incoming(node_id):
            source = edge.source
            if facts.ran(source) is not True or source in facts._handle:
                continue
            if edge.source_handle is not None:
                cannot: str | None = edge.source_handle
            elif self._structure.nodes[source].error_strategy is ErrorStrategy.FAIL_BRANCH:
                cannot = None
            else:
                continue
            excluded = facts._excluded.get(source, frozenset()) | {cannot}
            facts._excluded[source] = excluded
            domain = handles(self._structure, source)
            left = domain - excluded if domain is not None else None
            if left is not None and len(left) == 1:
                (facts._handle[source],) = left
        return facts

    def guard(self, node_id: str) -> bool | None:
        """The guard of `node_id` (one of its incoming edges was taken): True, False, or
        None when these facts cannot tell."""
        outcome: bool | None = False
        for edge in self._structure.incoming(node_id):
            taken = self._taken(edge)
            if taken is True:
                return True
            if taken is None:
                outcome = None
        return outcome

    def _taken(self, edge: Edge) -> bool | None:
        source = self._structure.nodes[edge.source]
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
