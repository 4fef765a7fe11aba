"""Workflows: one editable draft each, and the numbered versions published from it.

Each API face imports its own document format into the one graph model and keeps the
original document (`document`) so it can show the workflow back as it was sent. The
workflow item holds the draft (`graph`, `entry`, `document`, `hash`, `problems`) and the
pointer to the latest published version (`published`, `versionArn`); versions are items
of their own (core/data/versions.py) that no later save changes.

How each face uses it: the v1 face's save publishes (its spec has no drafts), a Dify
import publishes version 1, the canvas face saves drafts (which may be incomplete) and
publishes explicitly. Every write is conditional on the revision it read, so concurrent
writers never undo one another: the loser gets a Conflict (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core import clock, engine
from functions.core.data import versions as version_store
from functions.core.data import workflows as workflow_store
from functions.core.data.workflows import StaleRevision
from functions.core.errors import Conflict, DraftNotSync, InvalidWorkflow, NotFound, Problem
from functions.core.ids import new_id
from functions.core.model.retention import Retention
from functions.core.model.trigger import Trigger
from functions.core.model.version import DRAFT, Pin, Snapshot, Version
from functions.core.model.workflow import Draft, ExecutionMode, Graph
from functions.core.services import triggers

# A write that lost a race with another writer is read again and re-applied this often.
_WRITE_ATTEMPTS = 3


def create(
    tenant_id: str, draft: Draft, *, created_by: str = "", publish: bool = True
) -> dict[str, Any]:
    """A new workflow from `draft`; published as version 1 unless `publish` is False
    (a canvas's first draft, which may be incomplete and is stored with its problems)."""
    stamp = clock.iso()
    record: dict[str, Any] = {
        "id": new_id(),
        "tenantId": tenant_id,
        "createdAt": stamp,
        "stateMachineArn": None,
        "published": None,
        "versionArn": None,
        **_fields(draft, stamp),
    }
    if not publish:
        record["problems"] = [_problem_view(p) for p in draft_problems(draft)]
        return workflow_store.put(record)
    record, version = _publish(record, draft, created_by=created_by, notes="")
    try:
        triggers.attach(record)
        record = workflow_store.put(record, version)
    except Exception:
        # No state machine, schedule or rule outlives a workflow that was never saved.
        triggers.detach(record)
        engine.delete_machines(record["id"])
        raise
    _point_live(record)
    return record


def update(
    tenant_id: str, workflow_id: str, draft: Draft, *, created_by: str = ""
) -> dict[str, Any]:
    """Save `draft` and publish it (the v1 face's rule); a save that changes only what
    describes the workflow (name, trigger, enabled, …) publishes nothing."""
    record = get(tenant_id, workflow_id)
    previous = dict(record)
    version = None
    record.update(_fields(draft, clock.iso()))
    # The document, not its hash: a changed secret value changes what runs too. A new
    # mode is a new machine to publish to.
    if (
        draft.document != previous.get("document")
        or draft.entry != previous.get("entry")
        or draft.execution_mode != mode_of(previous)
    ):
        record, version = _publish(record, draft, created_by=created_by, notes="")
    elif problems := _problems(draft):
        raise InvalidWorkflow(problems)
    triggers.attach(record, previous)
    record = workflow_store.put(record, version)
    _point_live(record)
    return record


def update_metadata(
    tenant_id: str,
    workflow_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    trigger: Trigger | None = None,
    discoverable: bool | None = None,
    retention: Retention | None = None,
) -> dict[str, Any]:
    """Change what describes a workflow (None: unchanged) and never its graph or its
    versions, whatever face made it. `discoverable` lists it to every tenant (see
    `discoverable`); `retention` is the default its new runs take."""
    if trigger is not None and (problems := triggers.check(trigger)):
        raise InvalidWorkflow(problems)
    given = (
        ("name", name),
        ("description", description),
        ("enabled", enabled),
        ("discoverable", discoverable),
    )
    changes: dict[str, Any] = {key: value for key, value in given if value is not None}
    if trigger is not None:
        changes["trigger"] = trigger.stored()
    if retention is not None:
        changes["retention"] = retention.model_dump(mode="json")

    def change(record: dict[str, Any]) -> dict[str, Any]:
        previous = dict(record)
        record.update(changes, updatedAt=clock.iso())
        triggers.attach(record, previous)
        return record

    return mutate(tenant_id, workflow_id, change)


def save_draft(
    tenant_id: str, workflow_id: str, draft: Draft, expected_hash: str | None
) -> dict[str, Any]:
    """Replace the draft (the canvas's save). With `expected_hash`, only if the draft is
    still the one that hash names: otherwise DraftNotSync and nothing changes. A draft
    may be incomplete: its problems are stored with it; only publishing refuses them."""
    problems = [_problem_view(p) for p in draft_problems(draft)]

    stale = DraftNotSync(
        f"the draft of workflow '{workflow_id}' changed since hash '{expected_hash}'; "
        "load the current draft and apply the edit to it"
    )

    def change(record: dict[str, Any]) -> dict[str, Any]:
        if expected_hash and expected_hash != record["hash"]:
            raise stale
        stamp = clock.iso()
        record.update(
            graph=draft.graph.model_dump(mode="json", exclude_defaults=True),
            entry=draft.entry,
            document=draft.document,
            hash=draft.hash,
            problems=problems,
            updatedAt=stamp,
        )
        return record

    if not expected_hash:
        return mutate(tenant_id, workflow_id, change)
    # With a hash, a lost race means the hash went stale: reported, never redone.
    try:
        return mutate(tenant_id, workflow_id, change, attempts=1)
    except StaleRevision:
        raise stale from None


def publish_draft(
    tenant_id: str,
    workflow_id: str,
    draft: Draft,
    *,
    created_by: str,
    notes: str = "",
    api_name: str | None = None,
    api_desc: str | None = None,
) -> Version:
    """Publish the stored draft (re-read by the face as `draft`) as the next version; its
    trigger becomes the workflow's. Refused with every problem when the draft is invalid."""
    record = get(tenant_id, workflow_id)
    if draft.hash != record["hash"]:
        raise DraftNotSync(f"the draft of workflow '{workflow_id}' changed while publishing")
    previous = dict(record)
    record, version = _publish(
        record, draft, created_by=created_by, notes=notes, api_name=api_name, api_desc=api_desc
    )
    record.update(trigger=draft.trigger.stored(), updatedAt=clock.iso())
    if api_name:
        record["name"] = api_name
    if api_desc:
        record["description"] = api_desc
    triggers.attach(record, previous)
    record = workflow_store.put(record, version)
    _point_live(record)
    return version


def _publish(
    record: dict[str, Any],
    draft: Draft,
    *,
    created_by: str,
    notes: str,
    api_name: str | None = None,
    api_desc: str | None = None,
) -> tuple[dict[str, Any], Version]:
    """Compile `draft`, publish it as a Step Functions version and make the version item;
    the caller writes both with the workflow item, in one transaction."""
    mode = draft.execution_mode
    definition = build_definition(draft.graph, draft.entry, _problems(draft), mode)
    machine_arn, version_arn = engine.deploy(
        record["id"], definition, publish=True, exists=_deployed(record, mode), mode=mode
    )
    assert version_arn is not None  # publish=True always answers one
    number = (record.get("published") or 0) + 1
    version = Version(
        workflow_id=record["id"],
        number=number,
        version_arn=version_arn,
        created_at=clock.iso(),
        created_by=created_by,
        notes=notes,
        api_name=api_name,
        api_desc=api_desc,
        graph=draft.graph.model_dump(mode="json", exclude_defaults=True),
        entry=draft.entry,
        document=draft.document,
        hash=draft.hash,
        execution_mode=mode,
    )
    record.update(
        executionMode=mode.value,
        stateMachineArn=machine_arn,
        published=number,
        versionArn=version_arn,
        deployedHash=draft.hash,
        problems=[],
    )
    return record, version


def _point_live(record: dict[str, Any]) -> None:
    if record.get("versionArn"):
        engine.point_live_alias(record["stateMachineArn"], record["versionArn"])


def deploy_draft(tenant_id: str, workflow_id: str, draft: Draft) -> str:
    """What a test run of the draft starts: the machine's unversioned definition, compiled
    from the draft now unless it already is. Refused with every problem when invalid."""
    record = get(tenant_id, workflow_id)
    mode = draft.execution_mode
    if record.get("deployedHash") == draft.hash and _deployed(record, mode):
        return str(record["stateMachineArn"])
    definition = build_definition(draft.graph, draft.entry, _problems(draft), mode)
    machine_arn, _ = engine.deploy(
        workflow_id, definition, publish=False, exists=_deployed(record, mode), mode=mode
    )

    def change(current: dict[str, Any]) -> dict[str, Any]:
        return {**current, "stateMachineArn": machine_arn, "deployedHash": draft.hash}

    mutate(tenant_id, workflow_id, change)
    return machine_arn


def mode_of(record: dict[str, Any]) -> ExecutionMode:
    """The workflow's execution mode setting (workflows saved before it: Standard)."""
    return ExecutionMode(record.get("executionMode", ExecutionMode.STANDARD))


def _deployed(record: dict[str, Any], mode: ExecutionMode) -> bool:
    """Whether the workflow's machine of `mode` is the one last deployed (a hint only:
    engine.deploy corrects a wrong one)."""
    return record.get("stateMachineArn") == engine.machine_arn(record["id"], mode)


def mutate(
    tenant_id: str,
    workflow_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    attempts: int | None = None,
) -> dict[str, Any]:
    """Read the workflow, apply `change`, write it back; a write that lost a race with
    another writer is read and applied again (`change` must be safe to re-apply)."""
    for attempt in range(attempts or _WRITE_ATTEMPTS):
        try:
            return workflow_store.put(change(get(tenant_id, workflow_id)))
        except StaleRevision:
            if attempt + 1 == (attempts or _WRITE_ATTEMPTS):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def build_definition(
    graph: Graph,
    entry: str | None,
    known: list[Problem] | None = None,
    mode: ExecutionMode = ExecutionMode.STANDARD,
) -> dict[str, Any]:
    """The compiled definition (services/definitions.py). Imported here, on first save:
    the compiler and the node catalog would add ~100 ms to the cold start of every
    function that only reads workflows or starts runs (the dispatcher, the stream)."""
    from functions.core.services import definitions  # noqa: PLC0415 - see the docstring

    return definitions.build_definition(graph, entry, known, mode)


def draft_problems(draft: Draft) -> list[Problem]:
    """Every problem publishing `draft` would refuse, without compiling it."""
    from functions.core.services import definitions  # noqa: PLC0415 - see build_definition

    return definitions.problems(draft.graph, draft.entry, _problems(draft), draft.execution_mode)


def _problems(draft: Draft) -> list[Problem]:
    """What the importer found and what is wrong with the trigger; build_definition adds
    the graph's own."""
    return [*draft.problems, *triggers.check(draft.trigger)]


def _problem_view(problem: Problem) -> dict[str, str]:
    return {"where": problem.where, "reason": problem.reason}


def _fields(draft: Draft, stamp: str) -> dict[str, Any]:
    return {
        "name": draft.name,
        "description": draft.description,
        "trigger": draft.trigger.stored(),
        "enabled": draft.enabled,
        "source": draft.source,
        "graph": draft.graph.model_dump(mode="json", exclude_defaults=True),
        "entry": draft.entry,
        "document": draft.document,
        "hash": draft.hash,
        "executionMode": draft.execution_mode.value,
        "problems": [],
        "updatedAt": stamp,
    }


def get(tenant_id: str, workflow_id: str) -> dict[str, Any]:
    record = workflow_store.get(workflow_id)
    # Another tenant's workflow is indistinguishable from a missing one.
    if record is None or record["tenantId"] != tenant_id:
        raise NotFound("workflow", workflow_id)
    return record


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    return workflow_store.list_for_tenant(tenant_id)


def discoverable(workflow_id: str) -> dict[str, Any] | None:
    """A workflow its owner made discoverable, whoever asks; None for any other."""
    record = workflow_store.get(workflow_id)
    return record if record is not None and record.get("discoverable") else None


def list_discoverable() -> list[dict[str, Any]]:
    """Every tenant's discoverable workflows with a published version, newest first."""
    return [r for r in workflow_store.list_discoverable() if r.get("published")]


def delete(tenant_id: str, workflow_id: str) -> None:
    record = get(tenant_id, workflow_id)
    triggers.detach(record)
    engine.delete_machines(workflow_id)
    workflow_store.delete(workflow_id)


# --- versions -----------------------------------------------------------------------------


def version(tenant_id: str, workflow_id: str, number: int | None = None) -> Version:
    """Version `number` of the workflow, or its latest published version."""
    record = get(tenant_id, workflow_id)
    return version_of(record, number)


def version_of(record: dict[str, Any], number: int | None = None) -> Version:
    wanted = number if number is not None else record.get("published")
    if wanted is None:
        raise Conflict(f"workflow '{record['id']}' has no published version yet; publish it")
    found = version_store.get(record["id"], wanted)
    if found is None:
        raise NotFound("version", f"{record['id']}-v{wanted}")
    return found


def versions(tenant_id: str, workflow_id: str) -> list[Version]:
    """Newest first."""
    get(tenant_id, workflow_id)
    return version_store.list_for_workflow(workflow_id)


def snapshot(record: dict[str, Any], pin: Pin | None) -> Snapshot:
    """What a run pinned to `pin` executes: the draft, a version, or the latest version."""
    if pin == DRAFT:
        return Snapshot.model_validate(record)
    return version_of(record, pin if isinstance(pin, int) else None)
