"""The writes the cost estimate and a run's `usage.writes` count (statemachines/cost.py:
2 per node, FIXED_WRITES_PER_RUN per run) are those a run really makes, index writes
included: counted on moto's table the way `python -m bench.event_log` counts them."""

from __future__ import annotations

import pytest
from moto.dynamodb.models import DynamoDBBackend

from bench.event_log import WriteCounter, measure
from bench.transitions import chain
from local import aws
from statemachines import cost


@pytest.fixture
def counter(local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch) -> WriteCounter:
    watching = WriteCounter()
    # As WriteCounter.install does, but undone after the test.
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)
        monkeypatch.setattr(DynamoDBBackend, name, watching._watched(original, name))
    return watching


def test_a_run_writes_two_items_per_node_and_the_fixed_writes(counter: WriteCounter) -> None:
    measured = {}
    for size in (3, 6):
        executed, items, index = measure(counter, chain(size))
        assert executed == size
        measured[size] = items + index
    assert measured[6] - measured[3] == cost.WRITES_PER_NODE_TASK * 3
    assert measured[3] == cost.WRITES_PER_NODE_TASK * 3 + cost.FIXED_WRITES_PER_RUN
