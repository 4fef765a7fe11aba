"""Run a Python function in a limited child process forked from a warm server.

The code node starts a fresh interpreter per run (code/sandbox.py): ~20 ms plus its
imports, which for a template (Jinja2) come to 150-250 ms. A ForkServer pays that once: it
starts forkserver_worker.py the way the code node starts its runner (`python -I -S -B`,
an empty environment, a new session, an empty temp dir as cwd, no stdio), which imports
the task and then forks one child per call, in a few milliseconds. The child runs under the
same limits, seccomp filter, audit hook and answer protocol as a code node run (limited.py,
code/runner.py) and is killed at its wall-clock deadline by the server, so a runaway call
costs one child its CPU and memory limits and nothing else: not the caller, not other calls.

Each call gets its own socket pair: one end goes to the server with the request's timeout
(SCM_RIGHTS over the control socket), the caller writes the request (payload and limits)
on the other and reads the child's answer line or the server's `{"exit": ...}` line.
The server exits when the control socket closes (this process ended); a server that died
is started again on the next call. Thread-safe.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from functions.nodes.limited import MAX_REQUEST_BYTES, Limits, Subject, child_environment, outcome

WORKER = Path(__file__).with_name("forkserver_worker.py")
REPOSITORY = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0
# How long past a call's own timeout the caller waits for the server to report.
GRACE_SECONDS = 5.0


class ForkServer:
    def __init__(self, task: str, subject: Subject) -> None:
        """`task` is "package.module:function", importable from this process's sys.path
        with no side effects: the server imports it once, a child calls it per call."""
        self._task = task
        self._subject = subject
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._workdir: Path | None = None
        atexit.register(self.close)

    def call(self, payload: Any, limits: Limits) -> Any:
        """`task(payload)` in a child under `limits`: its result, or the subject's NodeError."""
        request = json.dumps(
            {"payload": payload, "limits": limits.for_runner()}, ensure_ascii=False
        ).encode()
        if len(request) > MAX_REQUEST_BYTES:
            raise self._subject.error(
                f"{self._subject.name} and its inputs are {len(request):,} bytes; "
                f"the limit is {MAX_REQUEST_BYTES:,}"
            )
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours:
            with theirs:
                self._submit(theirs, limits.timeout_seconds)
            answer, status = self._exchange(ours, request, limits)
        if answer:
            return outcome(answer, None, limits, self._subject)
        if status is None:
            raise self._subject.error(f"the {self._subject.name} process did not answer")
        if status.get("error"):
            raise self._subject.error(f"{self._subject.name} could not start: {status['error']}")
        return outcome(
            b"", status.get("exit"), limits, self._subject, bool(status.get("timed_out"))
        )

    def start(self) -> None:
        """Start the server now rather than on the first call."""
        with self._lock:
            self._ensure_started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _submit(self, connection: socket.socket, timeout: float) -> None:
        message = json.dumps({"timeout": timeout}).encode()
        with self._lock:
            for attempt in (1, 2):
                control = self._ensure_started()
                try:
                    socket.send_fds(control, [message], [connection.fileno()])
                    return
                except OSError:
                    self._stop()  # the server died; start another, once
                    if attempt == 2:
                        raise

    def _exchange(
        self, connection: socket.socket, request: bytes, limits: Limits
    ) -> tuple[bytes, dict[str, Any] | None]:
        """Send the request; read the child's answer line, or else the server's status."""
        connection.settimeout(limits.timeout_seconds + GRACE_SECONDS)
        with contextlib.suppress(OSError):  # the child may be gone already: read why
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
        buffer = b""
        ceiling = limits.output_bytes + 64 * 1024
        try:
            while True:
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.startswith(b'{"exit"'):
                        status: dict[str, Any] = json.loads(line)
                        return b"", status
                    return line, None
                chunk = connection.recv(1 << 20)
                if not chunk or len(buffer) > ceiling:
                    return b"", None
                buffer += chunk
        except TimeoutError:
            with self._lock:
                self._stop()  # a server that does not report is replaced
            return b"", None

    def _ensure_started(self) -> socket.socket:
        if self._control is not None and self._process is not None:
            if self._process.poll() is None:
                return self._control
            self._stop()
        workdir = Path(tempfile.mkdtemp(prefix="stepcanvas-forkserver-"))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "control": theirs.fileno(),
            "task": self._task,
            "paths": [
                str(REPOSITORY),
                *(str(Path(entry).resolve()) for entry in sys.path if entry),
            ],
        }
        try:
            with theirs:
                process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    [sys.executable, "-I", "-S", "-B", str(WORKER), json.dumps(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=workdir,
                    env=child_environment(workdir),
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
            ours.settimeout(START_TIMEOUT_SECONDS)
            ready = json.loads(ours.recv(4096) or b"{}")
        except (OSError, ValueError) as exc:
            ours.close()
            shutil.rmtree(workdir, ignore_errors=True)
            raise self._subject.error(f"the {self._subject.name} process did not start") from exc
        self._process, self._control, self._workdir = process, ours, workdir
        if not ready.get("ready"):
            self._stop()
            error = ready.get("error", "it exited")
            raise self._subject.error(f"the {self._subject.name} process did not start: {error}")
        return ours

    def _stop(self) -> None:
        """Closing the control socket ends the server, which kills its children."""
        if self._control is not None:
            self._control.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._process = self._control = self._workdir = None
