"""Run data retention: a run's own retention, a workflow's default for its new runs, and
the removal of a deleted run's S3 objects.

How a due run goes (functions/core/data/runs.py): every item of the run's partition carries
its TTL, so DynamoDB deletes the run record and its event log; reads hide it from the due
time on, since TTL may take up to 48 h. Deleting the run record makes the table's stream
invoke the retention function (functions/retention/handler.py), which calls `purge` to
delete the run's S3 objects. Locally the trigger pump does what TTL and the stream do
(local/triggers.py `expire`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from functions.core.data import blobs
from functions.core.data import runs as run_store
from functions.core.errors import NotFound, Refused
from functions.core.model.retention import Retention, RetentionBody
from functions.core.model.run import Run

__all__ = [
    "Retention",
    "RetentionBody",
    "default_for_new_run",
    "patch_for_run",
    "purge",
    "set_for_run",
]


def default_for_new_run(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a new run of `workflow` takes from it: `Run(..., **default_for_new_run(w))`.

    A workflow's default is its record's `retention` (a Retention as a dict; absent or
    None: runs are kept forever).
    """
    stored = workflow.get("retention")
    return {"retention": Retention.model_validate(stored) if stored else Retention()}


def set_for_run(
    tenant_id: str,
    run_id: str,
    max_age_in_seconds: int | None,
    preserve_on_failure: bool,
    *,
    workflow_id: str | None = None,
) -> Run:
    """Replace the run's retention; the run as stored (`run.retention`,
    `run.retention_due_at`). NotFound for another tenant's run, another workflow's (when
    `workflow_id` is given) and a run already gone. A due time already past takes effect at
    once: the answer shows it, and the run is gone from then on."""
    try:
        retention = Retention(
            max_age_in_seconds=max_age_in_seconds, preserve_on_failure=preserve_on_failure
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Refused("invalid_param", problems) from exc
    return _store(_visible_run(tenant_id, workflow_id, run_id), retention)


def patch_for_run(
    tenant_id: str, run_id: str, body: RetentionBody, *, workflow_id: str | None = None
) -> Run:
    """What the PATCH …/runs/{run_id}/retention route calls: the fields of `body` that were
    sent replace the run's (see RetentionBody), the others stay; as set_for_run."""
    run = _visible_run(tenant_id, workflow_id, run_id)
    return _store(run, body.applied_to(run.retention))


def purge(run_id: str) -> int:
    """Delete the S3 objects of a run whose record is gone; how many there were."""
    return blobs.delete_prefix(blobs.run_prefix(run_id))


def _visible_run(tenant_id: str, workflow_id: str | None, run_id: str) -> Run:
    run = run_store.get_owned(tenant_id, workflow_id, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return run


def _store(run: Run, retention: Retention) -> Run:
    stored = run_store.set_retention(run.id, retention)
    if stored is None:
        raise NotFound("run", run.id)
    return stored
