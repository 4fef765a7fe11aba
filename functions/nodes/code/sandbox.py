"""Run a Dify code node's Python in a separate, limited process.

How a run goes: a fresh temporary directory gets a copy of runner.py and the request
(code, inputs, limits); `sys.executable -I -S -B runner.py` starts there with stdin = the
request file, stdout = a result file, an environment of PATH/LANG/TMPDIR only, and a new
session. The parent waits `timeout` seconds of wall clock, then kills the process group.

What is enforced, and by what:

- Kernel (rlimits the runner sets on itself before any user code, soft = hard): address
  space (Limits.memory_bytes), CPU seconds, size of any file written (also caps what reaches
  the result file), open files, no core dumps, and no new processes or threads
  (RLIMIT_NPROC = 0: the kernel ignores this one for root, so it holds in Lambda, which
  never runs as root, but not in a root container).
- Process: the parent's environment is not inherited (no AWS_* credentials, no settings);
  `-I` ignores PYTHON* variables and user site, `-S` leaves site-packages off sys.path so
  only the standard library imports (pandas, json_repair, requests ... fail with
  ModuleNotFoundError); the repository is not on sys.path and cwd is the empty temp dir.
- Python audit hook (runner.py `install_guard`, installed before user code): files may be read
  (opened, directories listed, extended attributes read) only from the standard library,
  the time zone database and the temp dir, and written only in the temp dir, at most
  MAX_WRITTEN_FILES of them (each capped by the file-size rlimit); sockets,
  urllib requests, subprocess/exec/spawn/fork/kill, ctypes, sqlite3 (it opens files in C:
  ATTACH, VACUUM INTO), raising rlimits and sub-interpreters are refused.

- Kernel, again (metadata.py, installed after the rlimits and before the hook): a seccomp
  filter refuses the metadata syscalls CPython raises no audit event for (stat, lstat,
  access, readlink, statfs, mknod, chroot ...) on any path; `os`/`posix` get stand-ins
  that reach paths through an audited `open(O_PATH)` and then `fstat`, so the hook's read
  roots decide what `os.path.exists`, `Path.stat` and the imports may see.

What is NOT enforced (no namespaces or Landlock here): the audit hook is a Python-level
guard (PEP 578 says as much). Native code reached through an interpreter bug, or a module
constructed through `_imp` internals, runs outside the hook (not outside the seccomp
filter): such an escape could read any file this Unix user can read (including
/proc/<parent>/environ, where a Lambda keeps its role credentials) and open network
connections. That is why in AWS this module runs in the code sandbox function
(functions/sandbox, infra/sandbox.py), whose role grants nothing and which has no
network, not in the code node's own function.
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
from pathlib import Path
from typing import Any

from functions.core.errors import NodeError
from functions.nodes.limited import MAX_REQUEST_BYTES, Limits, Subject, child_environment, outcome

__all__ = ["CODE_EXECUTION_ERROR", "Limits", "run_python"]  # Limits: from limited.py

RUNNER = Path(__file__).with_name("runner.py")
# runner.py imports it from beside itself.
METADATA = Path(__file__).with_name("metadata.py")

CODE_EXECUTION_ERROR = "CodeExecutionError"
CODE = Subject("code", "the result of main()", CODE_EXECUTION_ERROR)


def run_python(
    code: str, inputs: dict[str, Any], limits: Limits | None = None, *, require_filter: bool = True
) -> dict[str, Any]:
    """`main(**inputs)` of `code`, run in the sandbox; its dict result, or NodeError.

    `require_filter`: whether the node fails when the kernel refuses the seccomp filter.
    Where this process is the only boundary (locally, in-process) it must; the sandbox
    function passes False, as Lambda's kernel may refuse prctl(PR_SET_SECCOMP) and there the
    function itself (no role, no network, no settings) is the boundary behind the hook."""
    limits = limits or Limits()
    request = json.dumps(
        {
            "code": code,
            "inputs": inputs,
            "limits": limits.for_runner(),
            "require_filter": require_filter,
        },
        ensure_ascii=False,
    ).encode()
    if len(request) > MAX_REQUEST_BYTES:
        size = f"{len(request):,}"
        raise _error(f"code and inputs are {size} bytes; the limit is {MAX_REQUEST_BYTES:,}")
    workdir = Path(tempfile.mkdtemp(prefix="stepcanvas-code-"))
    try:
        for program in (RUNNER, METADATA):
            shutil.copyfile(program, workdir / program.name)
        (workdir / "request.json").write_bytes(request)
        returncode, timed_out = _spawn(workdir, limits)
        with (workdir / "result.json").open("rb") as result_file:
            raw = result_file.read(limits.output_bytes + 64 * 1024)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result: dict[str, Any] = outcome(raw, returncode, limits, CODE, timed_out)
    return result


def _spawn(workdir: Path, limits: Limits) -> tuple[int, bool]:
    env = child_environment(workdir)
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


def _error(message: str) -> NodeError:
    return CODE.error(message)
