"""Run a Dify code node's Python in a separate, limited process.

How a run goes: a fresh temporary directory gets a copy of runner.py and the request
(code, inputs, limits); `sys.executable -I -S -B runner.py` starts there with stdin = the
request file, stdout = a result file, an environment of PATH/LANG/TMPDIR only, and a new
session. The parent waits `timeout` seconds of wall clock, then kills the process group.

What is enforced, and by what:

- Kernel (rlimits the runner sets on itself before any user code, soft = hard): address
  space (MEMORY_LIMIT_BYTES), CPU seconds, size of any file written (also caps what reaches
  the result file), open files, no core dumps, and no new processes or threads
  (RLIMIT_NPROC = 0: the kernel ignores this one for root, so it holds in Lambda, which
  never runs as root, but not in a root container).
- Process: the parent's environment is not inherited (no AWS_* credentials, no settings);
  `-I` ignores PYTHON* variables and user site, `-S` leaves site-packages off sys.path so
  only the standard library imports (pandas, json_repair, requests ... fail with
  ModuleNotFoundError); the repository is not on sys.path and cwd is the empty temp dir.
- Python audit hook (runner.py `install_guard`, installed before user code): files may be read
  (opened, directories listed, extended attributes read) only from the standard library,
  the time zone database and the temp dir, and written only in the temp dir; sockets,
  urllib requests, subprocess/exec/spawn/fork/kill, ctypes, sqlite3 (it opens files in C:
  ATTACH, VACUUM INTO), raising rlimits and sub-interpreters are refused.

What is NOT enforced (no namespaces or seccomp here): the audit hook is a Python-level
guard (PEP 578 says as much). Calls that raise no audit event pass it: `os.stat`, `lstat`,
`access`, `readlink`, `statvfs` and what builds on them (`os.path.exists`, `isfile`,
`getsize`, `realpath`, `Path.exists` ...) work on any path, so code can learn whether a
host path exists, its size, owner, mode and times, and where a symlink points, though not
a file's content nor a directory's listing. Native code reached through an interpreter
bug, or a module constructed through `_imp` internals, runs outside the hook. Such an
escape could read any file this Unix user can read (including /proc/<parent>/environ,
where a Lambda keeps its role credentials) and open network connections (the Lambda has
egress). Treat the code node as running trusted-tenant code; for hostile code run this
module in a dedicated Lambda function whose role has no permissions and which has no
network egress.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.core.errors import NodeError

RUNNER = Path(__file__).with_name("runner.py")

TIMEOUT_SECONDS = 10
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
# The result travels in node outputs (claim-checked above 32 KB); Dify's own output limits
# (30 strings of 80,000 characters ...) fit well within this.
MAX_OUTPUT_BYTES = 4 * 1024 * 1024
MAX_FILE_BYTES = MAX_OUTPUT_BYTES + 64 * 1024
MAX_OPEN_FILES = 64
MAX_REQUEST_BYTES = 16 * 1024 * 1024
CODE_EXECUTION_ERROR = "CodeExecutionError"


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


def run_python(code: str, inputs: dict[str, Any], limits: Limits | None = None) -> dict[str, Any]:
    """`main(**inputs)` of `code`, run in the sandbox; its dict result, or NodeError."""
    limits = limits or Limits()
    request = json.dumps(
        {"code": code, "inputs": inputs, "limits": limits.for_runner()}, ensure_ascii=False
    ).encode()
    if len(request) > MAX_REQUEST_BYTES:
        size = f"{len(request):,}"
        raise _error(f"code and inputs are {size} bytes; the limit is {MAX_REQUEST_BYTES:,}")
    workdir = Path(tempfile.mkdtemp(prefix="stepcanvas-code-"))
    try:
        shutil.copyfile(RUNNER, workdir / "runner.py")
        (workdir / "request.json").write_bytes(request)
        returncode, timed_out = _spawn(workdir, limits)
        with (workdir / "result.json").open("rb") as result_file:
            raw = result_file.read(limits.output_bytes + 64 * 1024)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if timed_out:
        raise _error(f"code timed out after {limits.timeout_seconds:g}s")
    return _outcome(raw, returncode, limits)


def _spawn(workdir: Path, limits: Limits) -> tuple[int, bool]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": str(workdir),
        "HOME": str(workdir),
    }
    command = [sys.executable, "-I", "-S", "-B", "runner.py"]
    with (
        (workdir / "request.json").open("rb") as stdin,
        (workdir / "result.json").open("wb") as stdout,
    ):
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        try:
            return process.wait(timeout=limits.timeout_seconds), False
        except subprocess.TimeoutExpired:
            _kill(process)
            return process.wait(), True


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _outcome(raw: bytes, returncode: int, limits: Limits) -> dict[str, Any]:
    try:
        message = json.loads(raw) if raw else None
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise _error(_died(returncode, limits))
    if message.get("ok"):
        result: dict[str, Any] = message["result"]
        return result
    kind, error = message.get("kind"), str(message.get("error", ""))
    if kind == "memory":
        raise _error(f"code exceeded the memory limit of {limits.memory_bytes // 2**20} MB")
    if kind == "too_large":
        raise _error(
            f"the result of main() is {int(error):,} bytes; the limit is {limits.output_bytes:,}"
        )
    raise _error(error or "code failed")


def _died(returncode: int, limits: Limits) -> str:
    """Why the process ended without a result (killed by a limit, most likely)."""
    if returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU:
            return f"code timed out after {limits.timeout_seconds:g}s (CPU time limit)"
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        return (
            f"code process was killed by {name}; it may have exceeded the memory limit of "
            f"{limits.memory_bytes // 2**20} MB"
        )
    return f"code process exited with status {returncode} without a result"


def _error(message: str) -> NodeError:
    return NodeError(message, CODE_EXECUTION_ERROR)
