"""DynamoDB writes a run costs, index writes included, read off moto's table.

    python -m bench.event_log

Every item write of a run (from its creation to its last event) is counted, with the
index writes it causes: a write that moves an item's key in a GSI is two index writes (a
delete and a put), one that changes a projected attribute or adds or removes the item from
the index is one. Per executed node is what a run gains per added node (chain of 20 vs
chain of 10), so the run's own fixed writes (its record, begin, finish) are shown apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from bench.transitions import TENANT, chain, fan_out
from functions.core.data import runs as run_store
from functions.core.data.schema import INDEXES
from functions.core.model.run import EventType
from functions.core.model.workflow import Draft, Graph
from functions.core.services import runs, workflows
from local import aws

PER_NODE_GOAL = 2.0
SHORT, LONG = 10, 20


class WriteCounter:
    """Item and index writes, counted by watching moto's backend."""

    def __init__(self) -> None:
        self.items = 0
        self.index = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.items = self.index = 0

    def record(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        with self._lock:
            self.items += 1
            self.index += sum(_index_writes(old, new, pk, sk) for pk, sk in INDEXES.values())

    def install(self) -> None:
        for name in ("put_item", "update_item", "delete_item"):
            setattr(DynamoDBBackend, name, self._watched(getattr(DynamoDBBackend, name), name))

    def _watched(self, original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def watched(backend: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
            key = _key(name, args, kwargs)
            old = _attributes(backend, table_name, key)
            answer = original(backend, table_name, *args, **kwargs)
            self.record(old, _attributes(backend, table_name, key))
            return answer

        return watched


def _key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if name == "put_item":
        item = kwargs.get("item_attrs") or args[0]
        return {"PK": item["PK"], "SK": item["SK"]}
    return dict(kwargs.get("key") or args[0])


def _attributes(backend: DynamoDBBackend, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    item = backend.get_item(table, key)
    return None if item is None else dict(item.to_json()["Attributes"])


def _index_writes(old: dict[str, Any] | None, new: dict[str, Any] | None, pk: str, sk: str) -> int:
    def keys(item: dict[str, Any] | None) -> tuple[Any, Any] | None:
        return (item[pk], item[sk]) if item and pk in item and sk in item else None

    before, after = keys(old), keys(new)
    if before is None and after is None:
        return 0
    if before is None or after is None:
        return 1
    if before != after:
        return 2
    return 1 if old != new else 0  # the projection is ALL: any change rewrites it


def measure(counter: WriteCounter, graph: Graph) -> tuple[int, int, int]:
    """(executed nodes, item writes, index writes) of one run of `graph`."""
    workflow = workflows.create(TENANT, Draft(name="bench", graph=graph, entry=graph.nodes[0].id))
    counter.reset()
    run = runs.start(TENANT, workflow["id"], None)
    while not (record := run_store.get(run.id)) or not record.status.finished:
        time.sleep(0.05)
    time.sleep(0.2)  # the finished event is written just after the status
    executed = sum(1 for e in run_store.events(run.id) if e.type is EventType.NODE_STARTED)
    return executed, counter.items, counter.index


def main() -> None:
    world = aws.start()
    counter = WriteCounter()
    counter.install()
    try:
        rows = {
            f"chain of {SHORT}": measure(counter, chain(SHORT)),
            f"chain of {LONG}": measure(counter, chain(LONG)),
            "fan-out of 10 + join": measure(counter, fan_out(10)),
        }
    finally:
        world.stop()
    print(f"{'run':<24}{'nodes':>6}{'item writes':>13}{'index writes':>14}{'per node':>10}")
    for name, (nodes, items, index) in rows.items():
        print(f"{name:<24}{nodes:>6}{items:>13}{index:>14}{(items + index) / nodes:>10.2f}")
    (short_nodes, short_items, short_index) = rows[f"chain of {SHORT}"]
    (long_nodes, long_items, long_index) = rows[f"chain of {LONG}"]
    per_node = (long_items + long_index - short_items - short_index) / (long_nodes - short_nodes)
    fixed = short_items + short_index - per_node * short_nodes
    print(
        f"writes per executed node (index writes included): {per_node:.2f}"
        f" vs goal {PER_NODE_GOAL:.2f}, ratio {per_node / PER_NODE_GOAL:.2f};"
        f" fixed per run: {fixed:.0f}"
    )


if __name__ == "__main__":
    main()
