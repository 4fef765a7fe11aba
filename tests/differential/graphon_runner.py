#!/usr/bin/env python3
"""Run Dify workflow DSL documents through Dify's own engine (graphon) in-process.

This script is a standalone test harness for the differential test. It must run
under a separate interpreter that has ``graphon==0.8.0`` installed (Python
3.12/3.13) and therefore imports nothing from the Stepcanvas project.

Protocol
--------
stdin:  a JSON list of cases ``[{"yaml": "<dify dsl text>", "inputs": {...}}, ...]``
stdout: one JSON list with one result per case, in order::

    {"status": "succeeded" | "failed" | "partial-succeeded" | "stopped" | "error",
     "outputs": {...} | null,
     "executed": [sorted ids of nodes that started, inner nodes included],
     "error": str | null}

``status == "error"`` means graphon could not load or start the workflow (DSL
parse/validation/build failure, or an exception before the graph started); the
message is in ``error`` and ``outputs`` is null.

Usage::

    /tmp/gv/bin/python tests/differential/graphon_runner.py < cases.json > results.json

Options: ``--workers N`` (graphon worker threads, default 1 for deterministic
scheduling), ``--timeout SECONDS`` (per-case wall clock budget, default 30;
an over-budget case is aborted and reported as ``error``),
``--include-container-starts`` (also list the ``iteration-start``/``loop-start``
nodes in ``executed``; graphon hides their events, so by default they are
absent), ``--timing`` (per-case seconds on stderr).

Inputs go to graphon as given (``graphon.dsl.loads(start_inputs=...)``): graphon
has no equivalent of Dify's app-layer form checks (required, types, defaults,
dropping undeclared inputs); only ``json_object`` inputs are checked by its
start node.

Code nodes: graphon's DSL importer executes ``code`` nodes through the Dify
sandbox HTTP service (``graphon.dsl.code_runtime.SandboxCodeExecutor``). This
harness swaps that class for an in-process executor that runs the node's
``main(**inputs)`` with plain ``exec`` while keeping the sandbox's JSON
round-trips (inputs are serialised with graphon's segment encoder, the result is
``json.dumps``-ed and parsed by graphon's own sandbox result parser).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

# Anything printed by user code or libraries must not corrupt the JSON protocol on
# stdout: keep the real stdout for the final document and send the rest to stderr.
_PROTOCOL_OUT = sys.stdout
sys.stdout = sys.stderr

import graphon.dsl.importer as _importer  # noqa: E402
import graphon.dsl.node_factory as _node_factory  # noqa: E402
import yaml  # noqa: E402
from graphon.dsl import DslError, loads  # noqa: E402
from graphon.dsl.code_runtime import (  # noqa: E402
    _RESULT_TAG,
    SandboxCodeExecutionError,
    _parse_json_object_result,
)
from graphon.engine import Engine  # noqa: E402
from graphon.engine.layer import Layer  # noqa: E402
from graphon.engine_events import (  # noqa: E402
    GraphRunAbortedEvent,
    GraphRunFailedEvent,
    GraphRunPartialSucceededEvent,
    GraphRunPausedEvent,
    GraphRunStartedEvent,
    GraphRunSucceededEvent,
    NodeRunStartedEvent,
)
from graphon.nodes.code.entities import CodeLanguage  # noqa: E402
from graphon.variables.utils import dumps_with_segments  # noqa: E402


class InProcessCodeExecutor:
    """``CodeExecutorProtocol`` implementation that runs python3 code in-process.

    Mirrors the Dify sandbox transformer: inputs go through JSON, the code runs
    as a ``__main__`` script, ``main(**inputs)`` is called and its result is
    ``json.dumps(..., indent=4)``-ed and parsed by graphon's sandbox parser
    (dict check, string keys, scientific-notation post-processing).
    """

    def __init__(self, settings: object = None) -> None:
        self._settings = settings

    def execute(
        self,
        *,
        language: CodeLanguage,
        code: str,
        inputs: Mapping[str, Any],
    ) -> Mapping[str, Any]:
        if language != CodeLanguage.PYTHON3:
            msg = f"In-process code executor only supports python3, got {language}"
            raise SandboxCodeExecutionError(msg)
        try:
            inputs_obj = json.loads(dumps_with_segments(inputs))
            namespace: dict[str, Any] = {"__name__": "__main__"}
            exec(compile(code, "<code>", "exec"), namespace)
            output_obj = namespace["main"](**inputs_obj)
            output_json = json.dumps(output_obj, indent=4)
        except Exception as error:  # the sandbox reports any script failure
            raise SandboxCodeExecutionError(_format_exception(error)) from error
        return _parse_json_object_result(f"{_RESULT_TAG}{output_json}{_RESULT_TAG}")

    def is_execution_error(self, error: Exception) -> bool:
        return isinstance(error, SandboxCodeExecutionError)


def _format_exception(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return "".join(lines).strip()


# graphon's node factory instantiates ``SandboxCodeExecutor(self.credentials.code)``
# for every code node; replace the module-level name it looks up.
_node_factory.SandboxCodeExecutor = InProcessCodeExecutor  # type: ignore[misc,assignment]


class _FastYaml:
    """``yaml`` stand-in for graphon's importer: same safe loading, libyaml speed.

    graphon calls ``yaml.safe_load`` (pure Python, ~10 ms for a small DSL); the
    C scanner/parser yields the same document with the same safe resolver.
    """

    YAMLError = yaml.YAMLError
    _loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    @classmethod
    def safe_load(cls, stream: str) -> Any:
        return yaml.load(stream, Loader=cls._loader)


_importer.yaml = _FastYaml  # type: ignore[assignment]


class _StartedNodes(Layer):
    """Records every node a worker starts, including the synthetic
    ``iteration-start``/``loop-start`` nodes whose events graphon hides."""

    def __init__(self) -> None:
        super().__init__()
        self.node_ids: set[str] = set()
        self._lock = threading.Lock()

    def on_node_run_start(self, node: Any) -> None:
        with self._lock:
            self.node_ids.add(str(node.id))


def _jsonable(value: Any) -> Any:
    """Convert graphon output values (segments, files, floats) into plain JSON."""
    if isinstance(value, float):
        value = value if math.isfinite(value) else str(value)
    elif isinstance(value, Mapping):
        value = {str(k): _jsonable(v) for k, v in value.items()}
    elif isinstance(value, list | tuple):
        value = [_jsonable(v) for v in value]
    elif value is not None and not isinstance(value, bool | int | str):
        value = _jsonable(_plain(value))
    return value


def _plain(value: Any) -> Any:
    """A segment, variable or model as plain Python data (its text if nothing else)."""
    if callable(getattr(value, "to_object", None)):
        return value.to_object()
    if callable(getattr(value, "model_dump", None)):
        return value.model_dump(mode="json")
    try:
        return json.loads(dumps_with_segments(value))
    except Exception:
        return str(value)


def _result(
    status: str,
    outputs: Any = None,
    executed: set[str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "outputs": None if outputs is None else _jsonable(outputs),
        "executed": sorted(executed or ()),
        "error": error,
    }


_TERMINAL_EVENTS = (
    GraphRunSucceededEvent,
    GraphRunPartialSucceededEvent,
    GraphRunFailedEvent,
    GraphRunAbortedEvent,
    GraphRunPausedEvent,
)


class _Run:
    """What one engine run showed: whether it started, the nodes, the last event."""

    def __init__(self) -> None:
        self.started = False
        self.executed: set[str] = set()
        self.terminal: Any = None
        self.error: str | None = None  # an exception that escaped engine.run()

    def consume(self, engine: Engine, timeout: float) -> bool:
        """Drive ``engine`` to its end; False if the harness timeout aborted it."""
        timed_out = threading.Event()

        def abort() -> None:
            timed_out.set()
            engine.request_abort("harness timeout")

        timer = threading.Timer(timeout, abort)
        timer.daemon = True
        timer.start()
        try:
            for event in engine.run():
                if isinstance(event, GraphRunStartedEvent):
                    self.started = True
                elif isinstance(event, NodeRunStartedEvent):
                    self.executed.add(event.node_id)
                elif isinstance(event, _TERMINAL_EVENTS):
                    self.terminal = event
        except Exception as error:
            # A failed graph yields GraphRunFailedEvent and then re-raises its error.
            self.error = _format_exception(error)
        finally:
            timer.cancel()
        return not timed_out.is_set()

    def result(self, engine: Engine) -> dict[str, Any]:
        terminal, executed = self.terminal, self.executed
        if not self.started:
            return _result("error", error=f"run: {self.error or 'graph did not start'}")
        match terminal:
            case GraphRunSucceededEvent():
                return _result("succeeded", terminal.outputs, executed)
            case GraphRunPartialSucceededEvent():
                return _result("partial-succeeded", terminal.outputs, executed)
            case GraphRunFailedEvent():
                return _result("failed", engine.runtime_state.outputs, executed, terminal.error)
            case GraphRunAbortedEvent() | GraphRunPausedEvent():
                reason = getattr(terminal, "reason", None) or "paused"
                return _result("stopped", terminal.outputs, executed, reason)
        return _result("failed", engine.runtime_state.outputs, executed, self.error)


def _load(case: Mapping[str, Any], workers: int) -> tuple[Engine | None, str | None]:
    """A fresh engine (own graph, variable pool, runtime state) for ``case``."""
    dsl = case.get("yaml")
    inputs = case.get("inputs") or {}
    if not isinstance(dsl, str):
        return None, "case has no 'yaml' string"
    if not isinstance(inputs, Mapping):
        return None, "case 'inputs' must be an object"
    try:
        return loads(dsl, start_inputs=inputs, workers=workers), None
    except DslError as error:
        return None, f"{error.code}: {error}"
    except Exception as error:
        return None, f"load: {_format_exception(error)}"


def run_case(
    case: Mapping[str, Any],
    *,
    workers: int = 1,
    timeout: float = 30.0,
    include_container_starts: bool = False,
) -> dict[str, Any]:
    """Load, run and summarise one case; every case gets a fresh engine and state."""
    engine, load_error = _load(case, workers)
    if engine is None:
        return _result("error", error=load_error)
    layer: _StartedNodes | None = None
    if include_container_starts:
        layer = _StartedNodes()
        engine.add_layer(layer)
    run = _Run()
    finished = run.consume(engine, timeout)
    if layer is not None:
        run.executed |= layer.node_ids
    if not finished:
        return _result("error", executed=run.executed, error=f"timeout after {timeout}s")
    return run.result(engine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--include-container-starts",
        action="store_true",
        help="also list iteration-start/loop-start nodes in 'executed'",
    )
    parser.add_argument("--timing", action="store_true", help="print per-case seconds to stderr")
    args = parser.parse_args(argv)

    if not os.environ.get("GRAPHON_RUNNER_DEBUG"):
        logging.disable(logging.CRITICAL)

    cases = json.loads(sys.stdin.buffer.read())
    if not isinstance(cases, list):
        raise SystemExit("stdin must be a JSON list of cases")

    results = []
    for index, case in enumerate(cases):
        t0 = time.perf_counter()
        try:
            result = run_case(
                case,
                workers=args.workers,
                timeout=args.timeout,
                include_container_starts=args.include_container_starts,
            )
        except Exception as error:  # never lose the whole batch to one case
            result = _result("error", error=f"harness: {_format_exception(error)}")
        if args.timing:
            print(f"case {index}: {time.perf_counter() - t0:.4f}s", file=sys.stderr)
        results.append(result)

    json.dump(results, _PROTOCOL_OUT)  # ASCII-escaped: safe whatever the locale
    _PROTOCOL_OUT.write("\n")
    _PROTOCOL_OUT.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
