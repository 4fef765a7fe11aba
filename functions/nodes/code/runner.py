"""The program the code node's sandbox process runs. Standard library only; never imported
by the node itself (sandbox.py copies this file into the run's empty working directory).

It reads one request (JSON on stdin: code, inputs, limits), then, before any user code
runs: applies resource limits to itself, points fds 1/2 at /dev/null (the result goes out
on a private duplicate of stdout) and installs an audit hook that refuses what a code node
has no business doing (see `install_guard`). Then it execs the code, calls `main(**inputs)` and
writes one JSON line: `{"ok": true, "result": {...}}` or `{"ok": false, "kind": ...,
"error": "<last line of the exception>"}`.

The audit hook is defence in depth at the Python level, not a kernel boundary (PEP 578);
the calls it cannot see (stat and the like) are refused by metadata.py's seccomp filter.
sandbox.py documents what is and is not enforced.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

try:
    from functions.nodes.code import metadata
except ModuleNotFoundError:  # the sandbox's copy of this file: sandbox.py put metadata.py beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import metadata  # type: ignore[no-redef]

    del sys.path[0]

CODE_FILENAME = "<code>"
# Audit events refused outright, by exact name or by prefix (those ending in ".").
DENIED_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.link",
    "os.symlink",
    "os.mkfifo",
    "os.mknod",
    "pty.spawn",
    "signal.pthread_kill",
    "resource.setrlimit",
    "resource.prlimit",
    "sys.settrace",
    "sys.setprofile",
    "gc.get_",  # would reach the hook's own objects
    "sqlite3.",  # a second layer behind DENIED_MODULES: Connection() raises sqlite3.connect
    "cpython.PyInterpreterState_New",  # a sub-interpreter would not have the hook
    "urllib.Request",
    "webbrowser.open",
    "ctypes.",
    "socket.",
    "syslog.",
)
# Modules whose import would hand out what the hook cannot watch (raw process spawning,
# foreign function calls, interpreters without this hook, file access from C). sqlite opens
# its files itself: ATTACH DATABASE, VACUUM INTO, URI filenames and backups reach any path
# from an in-memory connection without an `open` event, and the only per-statement guard,
# set_authorizer, is in user code's hands; so sqlite3 is refused whole (as Dify's sandbox does).
DENIED_MODULES = frozenset(
    {
        "_posixsubprocess",
        "ctypes",
        "_ctypes",
        "_xxsubinterpreters",
        "_interpreters",
        "sqlite3",
        "_sqlite3",
    }
)
# Events that read a directory or a file's attributes: their path (first argument) may only
# name a readable root or the working directory.
READ_PATH_EVENTS = frozenset({"os.listdir", "os.scandir", "os.listxattr", "os.getxattr"})
# Events whose path arguments (at these positions) may only name the working directory;
# a `dir_fd` argument (at the position given; -1 when absent) is refused: it escapes the check.
WRITE_PATH_EVENTS: dict[str, tuple[tuple[int, ...], int | None]] = {
    "os.chdir": ((0,), None),
    "os.chmod": ((0,), 2),
    "os.chown": ((0,), 3),
    "os.mkdir": ((0,), 2),
    "os.remove": ((0,), 1),
    "os.rename": ((0, 1), 2),
    "os.rmdir": ((0,), 1),
    "os.truncate": ((0,), None),
    "os.utime": ((0,), 3),
    "os.setxattr": ((0,), None),
    "os.removexattr": ((0,), None),
    "shutil.rmtree": ((0,), 1),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Files user code may open for writing: with RLIMIT_FSIZE on each, what one run can put on
# disk is bounded (no call audits the bytes written, so the opens are what is counted).
MAX_WRITTEN_FILES = 16


def install_guard(workdir: str, read_roots: tuple[str, ...]) -> None:  # noqa: PLR0915
    """Install the audit hook that confines user code (see the module docstring).

    Everything the hook consults is bound here, as immutable values or C functions, and
    the hook calls no Python function that user code could replace (builtins, `os.path`,
    module globals): an exception raised from the hook exposes its frame, whose locals
    are then only things that cannot be changed. Paths are checked lexically (`..` is
    refused, symlinks cannot be created); only str/bytes paths are accepted.
    """
    _type, _str, _bytes, _int, _len, _bool = type, str, bytes, int, len, bool
    _denied_error = PermissionError
    _getcwd = os.getcwd
    _frozenset_in = frozenset.__contains__
    denied_events = DENIED_EVENTS
    denied_modules = DENIED_MODULES
    read_events = READ_PATH_EVENTS
    write_events = tuple(WRITE_PATH_EVENTS.items())
    write_flags = WRITE_FLAGS
    work_exact, work_prefix = workdir, workdir + "/"
    read_exact = frozenset(read_roots)
    read_prefixes = tuple(root + "/" for root in read_roots)
    suffix = " is not allowed in a code node"
    # An iterator: reachable from a frame an exception exposes, but it only counts up.
    written = iter(range(MAX_WRITTEN_FILES))
    _next = next
    too_many = f"opening more than {MAX_WRITTEN_FILES} files for writing{suffix}"

    def hook(event: str, args: tuple[Any, ...]) -> None:  # noqa: PLR0912, PLR0915
        if event == "import":
            # Every part of the name counts, not just the first: an extension module's init
            # function is named after the last part, so loading _sqlite3's file as
            # `x._sqlite3` gives sqlite. C stops reading the name at a NUL
            # (`x._sqlite3\0y` also loads it), and a str subclass could lie to the check.
            name: Any = args[0] if args else None
            if _type(name) is not _str or "\x00" in name:
                raise _denied_error("an import name that is not a plain str" + suffix)
            for part in name.split("."):
                if _frozenset_in(denied_modules, part):
                    raise _denied_error("importing " + name + suffix)
            return
        checks: tuple[tuple[Any, bool], ...] = ()
        if event == "open":
            path: Any = args[0] if args else None
            if path is None or _type(path) is _int:
                return  # an already-open descriptor
            mode: Any = args[1] if _len(args) > 1 else None
            flags = args[2] if _len(args) > 2 and _type(args[2]) is _int else 0
            write = _bool(flags & write_flags)
            if _type(mode) is _str:
                write = write or "w" in mode or "a" in mode or "x" in mode or "+" in mode
            elif _type(path) is _str and not path.startswith("/"):
                # os.open with a relative path may be relative to a dir_fd, which the
                # event does not report.
                raise _denied_error("os.open with a relative path" + suffix)
            if write and _next(written, None) is None:
                raise _denied_error(too_many)
            checks = ((path, write),)
        elif _frozenset_in(read_events, event):
            path = args[0] if args else None
            if path is None or _type(path) is _int:
                return  # the current directory, or a descriptor `open` already checked
            checks = ((path, False),)
        elif event.startswith(denied_events):
            if event.startswith("socket.") or event == "urllib.Request":
                raise _denied_error("network access" + suffix)
            if event.startswith(("subprocess.", "os.exec", "os.spawn", "os.posix_spawn")):
                raise _denied_error("starting processes" + suffix)
            raise _denied_error(event + suffix)
        else:
            for name, (positions, dir_fd_at) in write_events:
                if event == name:
                    dir_fd: Any = None
                    if dir_fd_at is not None and _len(args) > dir_fd_at:
                        dir_fd = args[dir_fd_at]
                    if dir_fd is not None and not (_type(dir_fd) is _int and dir_fd == -1):
                        raise _denied_error("dir_fd arguments" + suffix)
                    found: tuple[tuple[Any, bool], ...] = ()
                    for position in positions:
                        if _len(args) > position and _type(args[position]) is not _int:
                            found = (*found, (args[position], True))
                    checks = found
                    break
        for given, write in checks:
            path = given
            if _type(path) is _bytes:
                path = path.decode("utf-8", "surrogateescape")
            if _type(path) is not _str:
                raise _denied_error("a path that is not str or bytes" + suffix)
            absolute = path if path.startswith("/") else _getcwd() + "/" + path
            parts: tuple[str, ...] = ()
            for part in absolute.split("/"):
                if part == "..":
                    raise _denied_error("'..' in a path" + suffix)
                if part not in {"", "."}:
                    parts = (*parts, part)
            normal = "/" + "/".join(parts)
            if normal == work_exact or normal.startswith(work_prefix):
                continue
            readable = _frozenset_in(read_exact, normal) or normal.startswith(read_prefixes)
            if readable and not write:
                continue
            raise _denied_error(("writing " if write else "reading ") + normal + suffix)

    sys.addaudithook(hook)


def read_roots() -> tuple[str, ...]:
    """The standard library (as this interpreter found it, site-packages excluded) and
    the time zone database: everything else on the machine is out of bounds."""
    roots = [
        os.path.realpath(entry)
        for entry in sys.path
        if entry and "site-packages" not in entry and "dist-packages" not in entry
    ]
    roots += ["/usr/share/zoneinfo", "/dev/null", "/dev/urandom"]
    return tuple(dict.fromkeys(roots))


def _limit(kind: int, value: int) -> None:
    """Soft and hard limit both: user code cannot raise them again."""
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)  # an unprivileged process cannot raise its hard limit
    resource.setrlimit(kind, (value, value))


def _apply_limits(limits: dict[str, int]) -> None:
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    _limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, limits["open_files"])
    _limit(resource.RLIMIT_CORE, 0)
    # No new processes (nor threads). Not enforced for root, which the audit hook covers.
    _limit(resource.RLIMIT_NPROC, 0)
    # A write past RLIMIT_FSIZE fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class _Discard:
    """sys.stdout/sys.stderr for user code: print() works, the text goes nowhere."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def _describe(exc: BaseException) -> str:
    """The exception's last traceback line, with the line of the code where it happened."""
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == CODE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{text} (line {line})" if line else text


def _run(request: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(request["code"], CODE_FILENAME, "exec"), namespace)  # noqa: S102
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "kind": "error", "error": "the code must define main()"}
        result = main(**request["inputs"])
    except MemoryError:
        return {"ok": False, "kind": "memory", "error": "MemoryError"}
    except BaseException as exc:
        return {"ok": False, "kind": "error", "error": _describe(exc)}
    if not isinstance(result, dict):
        kind = type(result).__name__
        return {"ok": False, "kind": "error", "error": f"main() must return a dict, not {kind}"}
    return {"ok": True, "result": result}


def confine(workdir: str, limits: dict[str, int], *, require_filter: bool) -> dict[str, Any] | None:
    """Limits, the metadata filter and the audit hook, in that order (the hook would refuse
    the filter's ctypes); None, or the outcome to answer when the process cannot be confined."""
    roots = read_roots()  # before the stand-ins: realpath would need readlink
    _apply_limits(limits)
    try:
        metadata.install(require_filter=require_filter)
    except OSError as exc:
        return {
            "ok": False,
            "kind": "error",
            "error": f"the sandbox could not confine itself: {exc}",
        }
    install_guard(workdir, roots)
    return None


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    limits: dict[str, int] = request["limits"]
    workdir = str(Path.cwd().resolve())
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = _Discard()  # type: ignore[assignment]
    refused = confine(workdir, limits, require_filter=request["require_filter"])
    out.write(answer_line(refused or _run(request), limits["output_bytes"]))
    out.flush()


def answer_line(outcome: dict[str, Any], output_bytes: int) -> str:
    """The outcome as the one JSON line the parent reads (also the template renderer's):
    an outcome that cannot be encoded, or that is over `output_bytes`, becomes its error."""
    try:
        text = json.dumps(outcome, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        text = json.dumps({"ok": False, "kind": "error", "error": f"{type(exc).__name__}: {exc}"})
    except MemoryError:
        text = json.dumps({"ok": False, "kind": "memory", "error": "MemoryError"})
    if len(text.encode()) > output_bytes:
        text = json.dumps({"ok": False, "kind": "too_large", "error": str(len(text.encode()))})
    return text


if __name__ == "__main__":
    main()
