"""Starting a run at most once per Idempotency-Key (functions/core/services/idempotency.py),
for every face's run route."""

from __future__ import annotations

from collections.abc import Callable

from functions.api.bodies import Body
from functions.core.errors import NotFound
from functions.core.model.run import Run
from functions.core.services import idempotency, service_runs


def start_once(tenant_id: str, route: str, raw: Body, start: Callable[[], Run]) -> Run:
    """The run `start` starts, or the one it started for an earlier request with this
    body's Idempotency-Key on this `route` (a path with its ids)."""
    outcome = idempotency.once(
        tenant_id, route, raw.idempotency_key, raw.data, lambda: {"runId": start().id}
    )
    run = service_runs.reload(outcome["runId"])
    if run is None:  # its retention ended since
        raise NotFound("run", outcome["runId"])
    return run
