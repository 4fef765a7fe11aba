"""moto's Step Functions interpreter, without the work it repeats on every state.

Unchanged, it parses the whole definition at every execution start (~100 ms for a
60-node machine), builds a new Lambda client for every Task it runs (~18 ms: a new client
reads its service model and builds its event handlers) and parses every JSONPath of
every state each time the state runs. None of it depends on anything that changes during
a run: the parsed program's components keep no execution state (that lives in each
execution's Environment), botocore clients are thread-safe once made, and a parsed
JSONPath is a read-only tree, so each is made once and shared by every execution.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from jsonpath_ng import JSONPath
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

# Imported for its binding of boto_client_for, which install() replaces.
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (  # noqa: F401
    lambda_eval_utils,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

_INTERPRETER_PACKAGE = "moto.stepfunctions.parser"
_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}
# Definitions parsed, by their text: a server holds a few dozen machines at most.
_PROGRAMS = 256


def install() -> None:
    """Swap in the cached versions (idempotent: a second server start in one process)."""
    original = boto_client.boto_client_for
    if getattr(original, "_cached", False):
        return
    cached_client = _cached_clients(original)
    # Each interpreter module imported the function by name: replace every such binding.
    for name, module in list(sys.modules.items()):
        if name.startswith(_INTERPRETER_PACKAGE) and getattr(module, "boto_client_for", None):
            module.boto_client_for = cached_client  # type: ignore[attr-defined]
    setattr(json_path, "parse", _cached_parse(getattr(json_path, "parse")))  # noqa: B009, B010
    ExecutionWorker._get_evaluation_entrypoint = _entry_point  # type: ignore[method-assign, assignment]


def forget() -> None:
    """Drop the clients (a new moto session starts: they belong to the old one's stubber)."""
    with _lock:
        _clients.clear()


def _cached_clients(original: Any) -> Any:
    # moto's own ignores the state's credentials too: every call goes to its stubber.
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        with _lock:
            if key not in _clients:
                _clients[key] = original(region=region, service=service)
            return _clients[key]

    boto_client_for._cached = True  # type: ignore[attr-defined]
    return boto_client_for


def _cached_parse(original: Any) -> Any:
    @functools.lru_cache(maxsize=4096)
    def parse(path: str) -> JSONPath:
        parsed: JSONPath = original(path)
        return parsed

    return parse


@functools.lru_cache(maxsize=_PROGRAMS)
def _program(definition: str) -> EvalComponent:
    program: EvalComponent = AmazonStateLanguageParser.parse(definition)[0]
    return program


def _entry_point(worker: ExecutionWorker) -> EvalComponent:
    return _program(worker._evaluation_details.state_machine_details.definition)
