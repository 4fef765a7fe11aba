"""What a workflow is estimated to cost per run, and what a finished run used.

Beside functions/wiring.py, above the core: it reads the node catalogue and the compiled
machine, which the core may not.

The estimate (statemachines/cost.py) needs each Task's function profile: the memory the
deployment gives each function (functions/nodes/catalog.py, the same numbers infra/ builds
the functions with) and the duration assumed per node type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from functions.core import clock, engine
from functions.core.model.run import EventType, Run, StepEvent
from functions.core.model.version import DRAFT, Version
from functions.core.model.workflow import ExecutionMode
from functions.core.services import workflows
from functions.core.settings import get_settings
from statemachines import cost

# The runs function and the code sandbox are built without a node spec: infra/engine.py
# gives the runs function ServiceFunction's default memory, infra/sandbox.py the sandbox's.
RUNS_FUNCTION_MEMORY_MB = 512
SANDBOX_MEMORY_MB = 1024
CODE_NODE_TYPE = "code"
# How long a run that finished this recently is waited for while its execution ends.
JUST_FINISHED_SECONDS = 10.0
ENDING_PAUSES_SECONDS = (0.05, 0.1, 0.2, 0.4)


@dataclass(frozen=True)
class WorkflowCost:
    workflow_id: str
    # The published version estimated; None: the draft (nothing published yet).
    version: int | None
    # The mode the estimated version (or draft) runs in.
    mode: ExecutionMode
    items: int
    per_run: cost.Spread
    profiles: dict[str, cost.FunctionProfile]


def estimate(tenant_id: str, workflow_id: str, items: int) -> WorkflowCost:
    """The workflow's latest published version (else its draft), compiled as publishing
    it would, and estimated with `items` per Map and rounds per loop."""
    record = workflows.get(tenant_id, workflow_id)
    number = record.get("published")
    snapshot = workflows.snapshot(record, None if number else DRAFT)
    mode = snapshot.execution_mode if isinstance(snapshot, Version) else workflows.mode_of(record)
    definition = workflows.build_definition(snapshot.graph_model(), snapshot.entry, mode=mode)
    by_type = node_profiles()
    settings = get_settings()
    profiles = {
        arn: by_type[node_type]
        for node_type, arn in settings.node_function_arns.items()
        if node_type in by_type
    }
    if settings.runs_function_arn:
        profiles[settings.runs_function_arn] = cost.FunctionProfile(RUNS_FUNCTION_MEMORY_MB)
    assumptions = cost.Assumptions(items=items, profiles=profiles)
    return WorkflowCost(
        workflow_id=workflow_id,
        version=number,
        mode=mode,
        items=items,
        per_run=cost.per_run(definition, assumptions),
        profiles=by_type,
    )


def node_profiles() -> dict[str, cost.FunctionProfile]:
    """Each node type's function: its memory and assumed seconds per invocation."""
    # Imported here: the catalog imports every node's config model, which only this
    # route needs (as workflows.build_definition does for the compiler).
    from functions.nodes.catalog import NODES  # noqa: PLC0415

    found: dict[str, cost.FunctionProfile] = {}
    for node_type, spec in NODES.items():
        seconds = cost.task_seconds(node_type.value)
        extra: dict[str, Any] = {}
        if node_type.value == CODE_NODE_TYPE:
            # The code node runs the user's code in the sandbox function: one more call.
            extra = {
                "extra_requests": 1,
                "extra_gb_seconds": SANDBOX_MEMORY_MB / 1024 * seconds,
            }
        found[node_type.value] = cost.FunctionProfile(spec.memory, seconds, **extra)
    return found


@dataclass(frozen=True)
class RunUsage:
    """What a finished run used: the transitions its execution history shows (None while
    the execution is still ending, or once its history expired) and its DynamoDB writes."""

    transitions: int | None
    writes: int


def run_usage(run: Run, node_events: list[StepEvent]) -> RunUsage | None:
    """For a finished run only (None before): its history read, nothing cached. Writes are
    one per node event of its log plus the run's fixed writes (bench/event_log.py)."""
    if not run.status.finished:
        return None
    writes = len(node_events) + cost.FIXED_WRITES_PER_RUN
    if run.execution_mode is ExecutionMode.EXPRESS:
        return RunUsage(_recorded_tasks(node_events), writes + cost.EXPRESS_WRITES_PER_RUN)
    if not run.execution_arn:
        return RunUsage(None, writes)
    transitions = engine.transitions(run.execution_arn)
    # The machine's last Task finishes the run record, a moment before the execution ends:
    # a run that just finished is given that moment, so its first read shows its count.
    for pause in ENDING_PAUSES_SECONDS:
        if transitions is not None or not _just_finished(run):
            break
        time.sleep(pause)
        transitions = engine.transitions(run.execution_arn)
    return RunUsage(transitions, writes)


def _recorded_tasks(node_events: list[StepEvent]) -> int:
    """An Express execution has no history to count: its Task states as its log records
    them, one per node execution started and the finalize. Choice, Parallel and Map states
    are not seen (Express does not bill transitions: this is what they would have been)."""
    return sum(1 for event in node_events if event.type is EventType.NODE_STARTED) + 1


def _just_finished(run: Run) -> bool:
    if not run.finished_at:
        return False
    age = (clock.now() - clock.parse_iso(run.finished_at)).total_seconds()
    return age < JUST_FINISHED_SECONDS
