"""What every part of the compiler shares: the targets, its error, the names of its own
states, its limits, and the small pieces of ASL each builder uses."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.core.model.graph import MAX_BODY_DEPTH

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
SERVICE_RETRY = {
    "ErrorEquals": LAMBDA_SERVICE_ERRORS,
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}
# Names of the compiler's own states contain a space, which node ids cannot (validation),
# so a node's state, named by its id, never takes one of them.
FINALIZE_SUCCEEDED = "Finalize succeeded"
FINALIZE_FAILED = "Finalize failed"
FAILED = "Run failed"
# How deeply Parallel and Map states may nest, the top level counting as 1. Step Functions
# documents no limit but its parsers recurse (moto's gives up near 35 Parallels), so past
# this depth a region that would be a Parallel is laid out in topological order, which
# keeps every edge and only gives up concurrency. Map states (iteration bodies) cannot be
# flattened: validation bounds them to MAX_BODY_DEPTH, which leaves room for Parallels.
MAX_NESTING = 16
assert MAX_BODY_DEPTH + 1 < MAX_NESTING


@dataclass(frozen=True)
class Targets:
    """The Lambda functions the machine calls: one per node type, and the runs function."""

    node_functions: Mapping[str, str]
    runs_function: str


class CompileError(ValueError):
    pass


def runs_task(
    targets: Targets, parameters: dict[str, Any], next_state: str | None
) -> dict[str, Any]:
    return then(
        {
            "Type": "Task",
            "Resource": targets.runs_function,
            "Parameters": parameters,
            "ResultPath": None,
            "Retry": [SERVICE_RETRY],
        },
        next_state,
    )


def then(state: dict[str, Any], next_state: str | None) -> dict[str, Any]:
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def state_name(text: str, prefix: str = "", suffix: str = "") -> str:
    # State names are limited to 80 characters; long ones keep a unique readable head.
    name = prefix + text + suffix
    if len(name) <= 80:
        return name
    return f"{name[:60]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"
