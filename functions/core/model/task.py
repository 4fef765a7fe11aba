"""The contract between the compiler and the functions its Tasks call, defined once.

statemachines/compiler/ writes each Task's Parameters in these shapes (field names are
the keys it writes; `$.run`, `$.trigger`, `$.sys` and `vars` come from the execution
state, `vars` holding only the states of the nodes the task's config reads, or all of
them: statemachines/compiler/task_vars.py) and every handler reads its event through the model of
its function, so a field one side renames fails loudly on the other, and so does an action
the handler does not know (a `Literal` of the actions it serves). A node absent from
`vars` reads as a node that did not run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel


class StepAction(StrEnum):
    """What a bookkeeping or container Task asks its function to do (`action`)."""

    # The runs function: a run's end, and a node failure an error strategy handles. `begin`
    # is called only by machines compiled before the run's start took over its work.
    BEGIN = "begin"
    SUCCEED = "succeed"
    FAIL = "fail"
    RECOVER = "recover"
    # The iteration function, around the Map of the items.
    PREPARE = "prepare"
    COLLECT = "collect"
    # The loop function, before the first round and after each.
    INIT = "init"
    CHECK = "check"


class TaskNode(BaseModel):
    id: str
    type: str
    title: str = ""
    config: str  # JSON text, so no key of the user's config is read as an ASL path
    inlineLimit: int | None = None
    # Set when an error strategy handles this node's failure (see the compiler).
    errorStrategy: str | None = None
    # Set when the task only evaluates a step field of the node (`conditional`), in another
    # node type's function: it records nothing but a failure, under the node and naming
    # the field, so a skipped node has no events and a node that runs only its own.
    evaluates: str | None = None
    # Error strategy default-value: the outputs the run goes on with (JSON text).
    defaultOutputs: str | None = None


class ReplayRef(BaseModel):
    """A replay's original run, the nodes whose states it reuses, and those states by
    state key: each reused node's task answers its own, which its `vars` (only what its
    config reads) does not hold."""

    runId: str
    reuse: list[str] = []
    states: dict[str, Any] = {}


class RunRef(BaseModel):
    """`$.run`: written by functions/core/services/runs.py into the execution input."""

    runId: str
    workflowId: str
    tenantId: str
    # What the run executes (see Run.version); its environment is that version's.
    version: int | Literal["draft"] | None = None
    replay: ReplayRef | None = None
    # The TTL of the run's events (0: kept), fixed when the run started; the run's end
    # aligns them if its retention changed meanwhile (functions/core/data/runs.py).
    eventTtl: int = 0
    # An Express run (ExecutionMode): Step Functions can neither stop nor deduplicate its
    # execution, so each of its node tasks first checks the run (functions/nodes/runtime.py).
    express: bool = False


class TaskInput(BaseModel):
    """The Parameters of every node Task."""

    node: TaskNode
    run: RunRef
    # `$$.Execution.Id`, given to the node Tasks of Express machines only
    # (statemachines/express.py): which of a run's executions the task belongs to.
    execution: str | None = None
    trigger: Any = None
    sys: dict[str, Any] = {}
    vars: dict[str, Any] = {}


class PreparedItems(BaseModel):
    """What `prepare` answers and `collect` is given back (in `$.scratch`)."""

    items: list[Any]
    startedAt: str


class IterationTask(TaskInput):
    action: Literal[StepAction.PREPARE, StepAction.COLLECT]
    results: PreparedItems | None = None  # collect: the Map's results


class LoopTask(TaskInput):
    action: Literal[StepAction.INIT, StepAction.CHECK]
    # check: the body's state keys in run order (its assigners' updates apply in it),
    # and those of its loop-end nodes (one that ran ends the loop after its round).
    body: list[str] = []
    ends: list[str] = []


class RunsTask(BaseModel):
    """The runs function's input."""

    action: Literal[StepAction.BEGIN, StepAction.SUCCEED, StepAction.FAIL, StepAction.RECOVER]
    run: RunRef
    # succeed: the node states, the top-level nodes without successors, the end nodes.
    vars: dict[str, Any] = {}
    sinks: list[str] = []
    ends: list[str] = []
    # fail and recover: Step Functions' {Error, Cause}.
    error: dict[str, Any] = {}
    # recover: the node whose failure its error strategy handles.
    node: TaskNode | None = None
