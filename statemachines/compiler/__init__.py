"""Workflow graph -> Amazon States Language. A pure function: no AWS calls.

Execution state: `{"run", "trigger", "sys", "vars"}`. Each node task writes its result to
`$.vars.<state_key(node id)>` as `{"outputs"|"ref", "handle"?}`; containers use
`$.scratch` while they run.

Semantics (Dify's): a node runs when at least one incoming edge was taken; an edge is
taken when its source ran and, for a branching source, chose that edge's handle. The
compiler lays each graph level out as a sequence in topological order and adds a guard
`Choice` before a node only when its liveness is not implied by the path that reaches it:
what a path knows (the node just run, the handle its if-else chose, the guard that just
failed) sends it straight to the node or past it (Facts), so after an if-else the path
of each branch meets no guard of another. A failing guard skips the node and everything it
dominates. Parallel branches are merged in the Parallel's ResultSelector; an iteration's
item reaches its body through the Map's ItemSelector (ITEM_ROOT) and the body's last
states give back the output node's state: no Pass per item. Where a node fans out into
independent sub-graphs that meet again (a single-entry, single-exit region), they become
the branches of a `Parallel`; any other fan-out (crossing dependencies) stays in
topological order, which honours every edge, and so does a region nested deeper than
MAX_NESTING Parallel/Map states. The README ("Compiling a graph") has the whole picture.

Step fields (v1/Cortex): a node's `condition` is a Task of the if-else function that
records nothing (runtime `evaluates`) and a Choice that runs the node or skips it as a
failing guard does; a node's `loop` is an iteration whose body is the node's own Task
(prepare and collect by the iteration function, the element in `vars` as `loop`).

The modules, each with one job:

    machine     compile_workflow: the top level and the frame around it (finalize, fail)
    structure   the graph's edges, its levels, their order and post-dominators
    regions     a level cut into items: nodes, and the Parallels of single-entry regions
    dominance   what a sequence's dominator tree tells of its forks without a walk
    liveness    whether a node runs: the guard's rule and what a path knows (Facts)
    layout      a level as a sequence of states, guards only where a path cannot tell
    states      a node's Tasks: running it, recovering it, its condition
    parallel    the Parallel of a fork's branches and the merge of their `vars`
    containers  iteration and loop bodies, a node's own `loop`
    asl         what they share: targets, errors, the compiler's own state names, limits
"""

from statemachines.compiler.asl import (
    FAILED,
    FINALIZE_FAILED,
    FINALIZE_SUCCEEDED,
    LAMBDA_SERVICE_ERRORS,
    MAX_NESTING,
    CompileError,
    Targets,
)
from statemachines.compiler.machine import compile_workflow
from statemachines.compiler.parallel import MAX_INTRINSIC_CALLS, MERGE_FANIN
from statemachines.compiler.states import ITERATION_INLINE_LIMIT
from statemachines.compiler.task_vars import ITEM_ROOT

__all__ = [
    "FAILED",
    "FINALIZE_FAILED",
    "FINALIZE_SUCCEEDED",
    "ITEM_ROOT",
    "ITERATION_INLINE_LIMIT",
    "LAMBDA_SERVICE_ERRORS",
    "MAX_INTRINSIC_CALLS",
    "MAX_NESTING",
    "MERGE_FANIN",
    "CompileError",
    "Targets",
    "compile_workflow",
]
