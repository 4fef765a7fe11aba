"""The variable pool a node sees: upstream outputs, trigger data and system variables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core import payloads
from functions.core.expressions.templates import Selector, dig
from functions.core.model.workflow import state_key


class VariablePool:
    def __init__(
        self,
        *,
        node_states: dict[str, Any],
        trigger: Any = None,
        system: dict[str, Any] | None = None,
        environment: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._states = node_states
        self._roots: dict[str, Any] = {
            "trigger": trigger if trigger is not None else {},
            "sys": system or {},
        }
        # Loaded on first use: environment values (secrets among them) stay out of the
        # execution state and its history, and most nodes never read them.
        self._environment = environment
        self._unpacked: dict[str, dict[str, Any] | None] = {}

    def outputs(self, node_id: str) -> dict[str, Any] | None:
        """The node's outputs, or None when it has not run (skipped branch)."""
        if node_id not in self._unpacked:
            # The state holds outputs under the node's state key (see state_key).
            self._unpacked[node_id] = payloads.unpack(self._states.get(state_key(node_id)))
        return self._unpacked[node_id]

    def lookup(self, selector: Selector) -> Any:
        root, path = selector[0], selector[1:]
        if root == "env" and "env" not in self._roots:
            self._roots["env"] = self._environment() if self._environment else {}
        if root == "trigger" and "dataRef" in self._roots["trigger"]:
            # Trigger data too big for the state travels as a claim check (runs.start).
            trigger = self._roots["trigger"]
            data = payloads.unpack_trigger(None, trigger["dataRef"])
            self._roots["trigger"] = {"type": trigger.get("type"), "data": data}
        if root in self._roots:
            return dig(self._roots[root], path)
        # Validation guarantees every other root is an upstream node; no state means skipped.
        return dig(self.outputs(root), path)
