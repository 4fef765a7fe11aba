"""What the node sandboxes share: limits, the child's environment, and the reading of a
limited child's answer (or of its death) as a node error.

A limited child is a Python process that applies `Limits.for_runner()` to itself with
functions/nodes/code/runner.py (`_apply_limits`: address space, CPU seconds, file size,
open files, no core dumps, no new processes) and installs that module's audit hook before
it runs anything a user wrote, then answers with one JSON object: `{"ok": true, "result":
...}` or `{"ok": false, "kind": "error" | "memory" | "too_large", "error": ...}`. The code
node starts a fresh interpreter per run (code/sandbox.py); the template node forks one from
a warm server (forkserver.py). Both read the answer here, so a limit reads the same way.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.core.errors import NodeError

TIMEOUT_SECONDS = 10
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
# The result travels in node outputs (claim-checked above 32 KB); Dify's own output limits
# (30 strings of 80,000 characters ...) fit well within this.
MAX_OUTPUT_BYTES = 4 * 1024 * 1024
MAX_FILE_BYTES = MAX_OUTPUT_BYTES + 64 * 1024
MAX_OPEN_FILES = 64
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# How a faulting interpreter ends (a crafted code object, a C stack overflow, a failed
# allocation C code did not check): the child dies alone, the caller reads a node error.
CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGABRT, signal.SIGFPE}
)


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = TIMEOUT_SECONDS
    memory_bytes: int = MEMORY_LIMIT_BYTES
    output_bytes: int = MAX_OUTPUT_BYTES

    def for_runner(self) -> dict[str, int]:
        return {
            "memory_bytes": self.memory_bytes,
            # CPU time never exceeds wall time, so this only backs up the wall-clock kill.
            "cpu_seconds": int(self.timeout_seconds) + 1,
            "file_bytes": self.output_bytes + 64 * 1024,
            "open_files": MAX_OPEN_FILES,
            "output_bytes": self.output_bytes,
        }


@dataclass(frozen=True)
class Subject:
    """What runs in the child, as error messages name it."""

    name: str  # "code": "code timed out after 10s"
    result: str  # "the result of main()": "... is 5,000,000 bytes; the limit is ..."
    error_type: str  # the NodeError's type

    def error(self, message: str) -> NodeError:
        return NodeError(message, self.error_type)


def child_environment(workdir: Path) -> dict[str, str]:
    """A child's whole environment: nothing of the parent's (no AWS_* credentials)."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": str(workdir),
        "HOME": str(workdir),
    }


def outcome(
    raw: bytes, returncode: int | None, limits: Limits, subject: Subject, timed_out: bool = False
) -> Any:
    """The child's result, or the NodeError that says which limit it hit.

    `raw` is what the child answered (possibly nothing); `returncode` how it ended, as
    `Popen.returncode` (negative: the signal), None when not known."""
    if timed_out:
        raise subject.error(f"{subject.name} timed out after {limits.timeout_seconds:g}s")
    try:
        message = json.loads(raw) if raw else None
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise subject.error(_died(returncode, limits, subject))
    if message.get("ok"):
        return message["result"]
    kind, error = message.get("kind"), str(message.get("error", ""))
    if kind == "memory":
        megabytes = limits.memory_bytes // 2**20
        raise subject.error(f"{subject.name} exceeded the memory limit of {megabytes} MB")
    if kind == "too_large":
        raise subject.error(
            f"{subject.result} is {int(error):,} bytes; the limit is {limits.output_bytes:,}"
        )
    raise subject.error(error or f"{subject.name} failed")


def _died(returncode: int | None, limits: Limits, subject: Subject) -> str:
    """Why the process ended without a result (killed by a limit, most likely)."""
    if returncode is not None and returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU:
            return f"{subject.name} timed out after {limits.timeout_seconds:g}s (CPU time limit)"
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        megabytes = limits.memory_bytes // 2**20
        if number in CRASH_SIGNALS:
            return (
                f"{subject.name} process crashed ({name}): the interpreter faulted, through "
                f"code that corrupts it or by running out of its {megabytes} MB of memory"
            )
        return (
            f"{subject.name} process was killed by {name}; it may have exceeded the memory "
            f"limit of {megabytes} MB"
        )
    status = "" if returncode is None else f" with status {returncode}"
    return f"{subject.name} process exited{status} without a result"
