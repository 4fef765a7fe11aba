"""The fork server's program (forkserver.py starts it; never imported by a node).

`python -I -S -B forkserver_worker.py CONFIG` imports the task (CONFIG: the control socket's
fd, "package.module:function", the import path to use meanwhile) and the code node's
runner, puts sys.path back to the standard library and says it is ready. Then, for each
request on the control socket (a connection fd and a timeout), it forks a child and goes
back to listening: it never runs a task itself and never waits on one, so a runaway child
holds up nobody. It kills a child at its wall-clock deadline and, once a child has ended,
writes `{"exit": <returncode>, "timed_out": ...}` on that child's connection.

The child takes a session of its own, keeps only its connection (every other descriptor,
the control socket and the other children's connections included, is closed), reads the
request (JSON to EOF: payload and limits), confines itself as a code node run does
(functions/nodes/code/runner.py `confine`: limits, seccomp filter, audit hook), calls
the task on the payload and writes one answer line in runner.py's protocol, then `_exit`s.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

CONNECTION_FD = 3


@dataclass
class _Child:
    connection: socket.socket
    deadline: float
    timed_out: bool = False


def main() -> None:
    config = json.loads(sys.argv[1])
    control = socket.socket(fileno=config["control"])
    standard_path = list(sys.path)
    sys.path[:0] = config["paths"]
    try:
        runner = importlib.import_module("functions.nodes.code.runner")
        module, _, name = config["task"].partition(":")
        task = getattr(importlib.import_module(module), name)
    except BaseException as exc:
        control.send(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}).encode())
        raise SystemExit(1) from exc
    finally:
        # Modules imported so far stay; nothing more comes from outside the standard library.
        sys.path[:] = standard_path
        sys.path_importer_cache.clear()
    gc.freeze()  # children then leave the objects imported so far alone (fewer page copies)
    control.send(b'{"ready": true}')
    _serve(control, task, runner)


def _serve(control: socket.socket, task: Callable[[Any], Any], runner: Any) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    poller = select.poll()
    poller.register(control, select.POLLIN)
    poller.register(wake_read, select.POLLIN)
    children: dict[int, _Child] = {}
    workdir = str(Path.cwd())
    while True:
        now = time.monotonic()
        pending = [c.deadline for c in children.values() if not c.timed_out]
        timeout = math.ceil(max(0.0, min(pending) - now) * 1000) if pending else None
        for fd, _events in poller.poll(timeout):
            if fd == wake_read:
                while _drained(wake_read):
                    pass
            elif not _accept(control, children, task, runner, workdir):
                _stop(children)
                return
        _reap(children)
        now = time.monotonic()
        for pid, child in children.items():
            if not child.timed_out and now >= child.deadline:
                child.timed_out = True
                _kill(pid)


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _accept(
    control: socket.socket,
    children: dict[int, _Child],
    task: Callable[[Any], Any],
    runner: Any,
    workdir: str,
) -> bool:
    """Fork a child for the next request; False once the parent has gone."""
    try:
        message, fds, _flags, _address = socket.recv_fds(control, 4096, 1)
    except InterruptedError:
        return True
    if not message:
        return False
    if not fds:
        return True
    connection = socket.socket(fileno=fds[0])
    timeout = float(json.loads(message)["timeout"])
    try:
        pid = os.fork()
    except OSError as exc:
        _report(connection, {"exit": None, "error": f"fork failed: {exc}"})
        return True
    if pid == 0:
        _child(connection.fileno(), task, runner, workdir)
    children[pid] = _Child(connection, time.monotonic() + timeout)
    return True


def _reap(children: dict[int, _Child]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        child = children.pop(pid, None)
        if child is not None:
            returncode = os.waitstatus_to_exitcode(status)
            _report(child.connection, {"exit": returncode, "timed_out": child.timed_out})


def _report(connection: socket.socket, status: dict[str, Any]) -> None:
    """Best effort and never blocking: the parent reads until this line or EOF."""
    try:
        connection.setblocking(False)
        connection.send(json.dumps(status).encode() + b"\n")
    except OSError:
        pass
    connection.close()


def _kill(pid: int) -> None:
    """The child's group (it leads one once setsid has run) and the child itself; its pid
    cannot have been reused, as it is not reaped yet."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(OSError):
            kill(pid, signal.SIGKILL)


def _stop(children: dict[int, _Child]) -> None:
    for pid in children:
        _kill(pid)


def _child(fd: int, task: Callable[[Any], Any], runner: Any, workdir: str) -> NoReturn:
    status = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(fd, CONNECTION_FD)
        os.closerange(CONNECTION_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        connection = socket.socket(fileno=CONNECTION_FD)
        chunks = []
        while chunk := connection.recv(1 << 20):
            chunks.append(chunk)
        request = json.loads(b"".join(chunks))
        limits: dict[str, int] = request["limits"]
        sys.stdout = sys.stderr = runner._Discard()
        # Templates are confined by Jinja's sandbox first; the metadata filter is a second
        # wall where the kernel allows it (Lambda's may refuse seccomp), never a reason to
        # fail every template.
        refused = runner.confine(workdir, limits, require_filter=False)
        outcome = refused or _outcome(task, request["payload"])
        answer = runner.answer_line(outcome, limits["output_bytes"])
        connection.sendall(answer.encode() + b"\n")
        status = 0
    finally:
        os._exit(status)


def _outcome(task: Callable[[Any], Any], payload: Any) -> dict[str, Any]:
    """The task's result or its failure, in runner.py's outcome shape."""
    try:
        return {"ok": True, "result": task(payload)}
    except MemoryError:
        return {"ok": False, "kind": "memory", "error": "MemoryError"}
    except BaseException as exc:
        return {"ok": False, "kind": "error", "error": str(exc) or type(exc).__name__}


if __name__ == "__main__":
    main()
