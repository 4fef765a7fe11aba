"""Refuse file-metadata calls outside the sandbox: a seccomp filter, and guarded stand-ins.

CPython raises no audit event for `stat`, `lstat`, `access`, `readlink`, `statvfs`,
`pathconf`, `mkfifo`, `mknod` or `chroot`, so the audit hook (runner.py) cannot see them:
`os.path.exists('/etc/shadow')` would answer, and `os.mkfifo('/tmp/x')` would create a file.
`install` closes that class in two layers, before any user code runs:

- Kernel: a seccomp filter makes every syscall that takes a path for those calls fail with
  EPERM (stat, lstat, newfstatat and statx unless given AT_EMPTY_PATH, i.e. on a
  descriptor; access, faccessat(2); readlink(at); statfs; mknod(at); chroot; uselib). It
  holds whatever Python object makes the call: the original `posix.stat` got back through
  `importlib.reload`, `os.supports_fd`, `DirEntry.stat` or a fresh module from `_imp`
  answers EPERM too. The filter cannot be removed, and with no_new_privs it outlives exec.
- Python: `posix`/`os` get stand-ins that do the same work through calls the hook does see:
  `stat(path)` is `open(path, O_PATH)` (an `open` event, path-checked by the hook) then
  `fstat(fd)`, which the filter allows. So the standard library's own imports, `os.path`,
  `pathlib`, `shutil` and `zoneinfo` keep working inside the sandbox, and a refused path
  answers the hook's "reading /etc is not allowed in a code node".

Standard library only: sandbox.py copies this file beside runner.py. Linux x86_64 and
aarch64 (Lambda's ARM_64); on any other machine `install` raises and no user code runs.
"""

from __future__ import annotations

import errno
import os
import platform
import posix
import stat as stat_module
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any

REFUSED = " is not allowed in a code node"

# seccomp(2) and filter(2) constants.
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06
AT_EMPTY_PATH = 0x1000
X32_SYSCALL_BIT = 0x40000000
NR_OFFSET, ARCH_OFFSET, ARGS_OFFSET = 0, 4, 16
CTYPES_MODULES = frozenset({"ctypes", "_ctypes"})


class Arch:
    """One machine's syscall numbers: those refused outright, and those refused unless
    their flags (argument at the index given) hold AT_EMPTY_PATH."""

    def __init__(
        self, audit_arch: int, refused: dict[str, int], on_fd_only: dict[str, tuple[int, int]]
    ) -> None:
        self.audit_arch = audit_arch
        self.refused = refused
        self.on_fd_only = on_fd_only


ARCHES = {
    "x86_64": Arch(
        0xC000003E,
        {
            "stat": 4,
            "lstat": 6,
            "access": 21,
            "readlink": 89,
            "mknod": 133,
            "uselib": 134,
            "statfs": 137,
            "chroot": 161,
            "mknodat": 259,
            "readlinkat": 267,
            "faccessat": 269,
            "faccessat2": 439,
        },
        {"newfstatat": (262, 3), "statx": (332, 2)},
    ),
    "aarch64": Arch(
        0xC00000B7,
        {
            "mknodat": 33,
            "statfs": 43,
            "faccessat": 48,
            "chroot": 51,
            "readlinkat": 78,
            "faccessat2": 439,
        },
        {"newfstatat": (79, 3), "statx": (291, 2)},
    ),
}


def filter_program(arch: Arch, machine: str) -> list[tuple[int, int, int, int]]:
    """The BPF program, as (code, jt, jf, k): another ABI than `arch`'s kills the process
    (x32 calls on x86_64 included); a refused call answers EPERM; the rest are allowed."""
    body: list[tuple[int, str | int, str | int, int]] = [
        (BPF_LD_W_ABS, 0, 0, ARCH_OFFSET),
        (BPF_JEQ_K, 0, "kill", arch.audit_arch),
        (BPF_LD_W_ABS, 0, 0, NR_OFFSET),
    ]
    if machine == "x86_64":
        body.append((BPF_JGE_K, "kill", 0, X32_SYSCALL_BIT))
    body += [(BPF_JEQ_K, "deny", 0, number) for number in arch.refused.values()]
    for number, flags_at in arch.on_fd_only.values():
        body += [
            (BPF_JEQ_K, 0, 2, number),
            (BPF_LD_W_ABS, 0, 0, ARGS_OFFSET + 8 * flags_at),  # the low half: little-endian
            (BPF_JSET_K, "allow", "deny", AT_EMPTY_PATH),
        ]
    labels = {"allow": len(body), "deny": len(body) + 1, "kill": len(body) + 2}
    body += [
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM),
        (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
    ]

    def jump(at: int, target: str | int) -> int:
        return labels[target] - at - 1 if isinstance(target, str) else target

    return [(code, jump(at, jt), jump(at, jf), k) for at, (code, jt, jf, k) in enumerate(body)]


def install_filter() -> None:
    """Apply the seccomp filter to this (single-threaded) process, or raise OSError."""
    machine = platform.machine()
    arch = ARCHES.get(machine)
    if arch is None or not sys.platform.startswith("linux"):
        raise OSError(f"the code sandbox needs seccomp on Linux x86_64 or aarch64, not {machine}")
    program = b"".join(struct.pack("=HBBI", *op) for op in filter_program(arch, machine))
    import ctypes  # noqa: PLC0415 - loaded only here, and dropped again below

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buffer = ctypes.create_string_buffer(program)
        fprog = struct.pack("=HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
        fprog_buffer = ctypes.create_string_buffer(fprog)
        for option, args in (
            (PR_SET_NO_NEW_PRIVS, (1, 0, 0, 0)),
            (PR_SET_SECCOMP, (SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buffer), 0, 0)),
        ):
            if libc.prctl(option, *(ctypes.c_ulong(arg) for arg in args)) != 0:
                number = ctypes.get_errno()
                raise OSError(number, f"prctl({option}): {os.strerror(number)}")
    finally:
        # User code must import ctypes to get it, and the audit hook refuses that import.
        for name in [name for name in sys.modules if name.split(".")[0] in CTYPES_MODULES]:
            del sys.modules[name]


def _refuse(name: str) -> Callable[..., Any]:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError(f"os.{name}{REFUSED}")

    refused.__name__ = name
    return refused


def guarded_functions() -> dict[str, Callable[..., Any]]:
    """Stand-ins for posix's metadata functions that reach paths only through `open`."""
    _open, _close, _fstat, _fstatvfs, _fpathconf = (
        posix.open,
        posix.close,
        posix.fstat,
        posix.fstatvfs,
        posix.fpathconf,
    )
    _scandir, _getcwd, _fspath, _fsdecode = posix.scandir, posix.getcwd, os.fspath, os.fsdecode
    _is_link = stat_module.S_ISLNK
    o_path = os.O_PATH | os.O_CLOEXEC

    def on_descriptor(
        path: Any, call: Callable[[int], Any], follow: bool = True, dir_fd: Any = None
    ) -> Any:
        if isinstance(path, int):
            return call(path)
        if dir_fd is not None:
            raise PermissionError(f"dir_fd arguments{REFUSED}")
        name = _fsdecode(_fspath(path))
        if not name.startswith("/"):
            name = _getcwd() + "/" + name  # the hook refuses relative os.open paths
        fd = _open(name, o_path if follow else o_path | os.O_NOFOLLOW)
        try:
            return call(fd)
        finally:
            _close(fd)

    def stat(path: Any, *, dir_fd: Any = None, follow_symlinks: bool = True) -> os.stat_result:
        return on_descriptor(path, _fstat, follow_symlinks, dir_fd)  # type: ignore[no-any-return]

    def lstat(path: Any, *, dir_fd: Any = None) -> os.stat_result:
        return stat(path, dir_fd=dir_fd, follow_symlinks=False)

    def access(
        path: Any,
        mode: int,
        *,
        dir_fd: Any = None,
        effective_ids: bool = False,
        follow_symlinks: bool = True,
    ) -> bool:
        """From the mode bits (no ACLs): access(2) itself is refused by the filter."""
        try:
            found = stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        except OSError:
            return False
        if mode == os.F_OK:
            return True
        uid = os.geteuid() if effective_ids else os.getuid()
        if uid == 0:
            executable = found.st_mode & 0o111 or stat_module.S_ISDIR(found.st_mode)
            return not mode & os.X_OK or bool(executable)
        shift = (
            6 if found.st_uid == uid else 3 if found.st_gid in {os.getgid(), *os.getgroups()} else 0
        )
        return (found.st_mode >> shift) & mode == mode

    def readlink(path: Any, *, dir_fd: Any = None) -> str | bytes:
        if not _is_link(stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)
        raise PermissionError(f"reading where a symbolic link points{REFUSED}")

    def statvfs(path: Any) -> os.statvfs_result:
        return on_descriptor(path, _fstatvfs)  # type: ignore[no-any-return]

    def pathconf(path: Any, name: str | int) -> int:
        return on_descriptor(path, lambda fd: _fpathconf(fd, name))  # type: ignore[no-any-return]

    def scandir(path: Any = ".") -> Any:
        if isinstance(path, int):
            # Entries named relative to a descriptor: their stat() is fstatat(fd, name),
            # which the filter refuses, and no path here could stand in for it.
            return _scandir(path)
        return _Entries(_scandir(path), stat)

    return {
        "stat": stat,
        "lstat": lstat,
        "access": access,
        "readlink": readlink,
        "statvfs": statvfs,
        "pathconf": pathconf,
        "scandir": scandir,
        "mkfifo": _refuse("mkfifo"),
        "mknod": _refuse("mknod"),
        "chroot": _refuse("chroot"),
    }


class _Entry:
    """A DirEntry whose stat() goes through the guarded stat (DirEntry's own is refused)."""

    __slots__ = ("_entry", "_stat")

    def __init__(self, entry: os.DirEntry[Any], stat: Callable[..., os.stat_result]) -> None:
        self._entry, self._stat = entry, stat

    name = property(lambda self: self._entry.name)
    path = property(lambda self: self._entry.path)

    def inode(self) -> int:
        return self._entry.inode()

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_file(follow_symlinks=follow_symlinks)

    def is_symlink(self) -> bool:
        return self._entry.is_symlink()

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return self._stat(self._entry.path, follow_symlinks=follow_symlinks)

    def __fspath__(self) -> Any:
        return self._entry.__fspath__()

    def __repr__(self) -> str:
        return f"<DirEntry {self.name!r}>"


class _Entries:
    """os.scandir's iterator (a context manager too), yielding _Entry."""

    def __init__(self, entries: Any, stat: Callable[..., os.stat_result]) -> None:
        self._entries, self._stat = entries, stat

    def __iter__(self) -> Iterator[_Entry]:
        return self

    def __next__(self) -> _Entry:
        return _Entry(next(self._entries), self._stat)

    def __enter__(self) -> _Entries:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._entries.close()


def install(*, require_filter: bool) -> None:
    """The filter, then the stand-ins in `posix` and `os` (os copied posix's functions;
    the rest of the standard library looks them up on `os` at call time).

    `require_filter`: whether a kernel that refuses seccomp fails the node (OSError) or
    leaves the stand-ins alone to guard (the sandbox function, see sandbox.py)."""
    try:
        install_filter()
    except OSError:
        if require_filter:
            raise
    guarded = guarded_functions()
    originals = {getattr(posix, name) for name in guarded if hasattr(posix, name)}
    for module in (posix, os):
        for name, function in guarded.items():
            if hasattr(module, name):
                setattr(module, name, function)
    # os.supports_* name the originals; what still takes a descriptor or follow_symlinks.
    for support in (
        os.supports_fd,
        os.supports_dir_fd,
        os.supports_follow_symlinks,
        os.supports_effective_ids,
    ):
        support.difference_update(originals)
    os.supports_fd.update(guarded[name] for name in ("stat", "statvfs", "pathconf", "scandir"))
    os.supports_follow_symlinks.update((guarded["stat"], guarded["access"]))
