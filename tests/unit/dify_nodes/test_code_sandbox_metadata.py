"""The code node's sandbox: metadata calls (which raise no audit event), crashes and disk.

A host path's existence, size or link target is file access too: each call below answered
for any path before metadata.py's seccomp filter and stand-ins.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from functions.core.errors import NodeError
from functions.nodes.code import metadata
from functions.nodes.code.entities import CodeConfig
from functions.nodes.code.node import run
from functions.nodes.code.runner import MAX_WRITTEN_FILES
from functions.nodes.code.sandbox import METADATA, RUNNER, Limits
from tests.unit.dify_nodes.support import context

FAST = Limits(timeout_seconds=5)
REFUSED = "is not allowed in a code node"
# Files that exist on the host: nothing may say so.
HOST_FILE = str(Path(__file__).resolve().parents[3] / "pyproject.toml")


def execute(code: str, limits: Limits = FAST) -> dict[str, object]:
    config = CodeConfig.model_validate({"code_language": "python3", "code": code})
    return run(config, context(), limits).outputs


def failure(code: str) -> NodeError:
    with pytest.raises(NodeError) as caught:
        execute(code)
    return caught.value


def answer(expression: str) -> object:
    """The expression's value inside the sandbox, or the text of the error it raised."""
    code = f"""
import os, pathlib, shutil, posix
def main():
    try:
        return {{'r': {expression}}}
    except OSError as exc:
        return {{'r': 'error: ' + str(exc)}}
"""
    return execute(code)["r"]


@pytest.mark.parametrize(
    "expression",
    [
        f"os.stat({HOST_FILE!r}).st_size",
        f"os.lstat({HOST_FILE!r}).st_size",
        f"os.stat({HOST_FILE.encode()!r}).st_size",
        "os.stat('/etc/passwd').st_mode",
        "os.stat('..').st_ino",
        "os.statvfs('/').f_blocks",
        "os.pathconf('/etc', 'PC_NAME_MAX')",
        "os.readlink('/proc/self/exe')",
        "shutil.disk_usage('/').total",
        f"os.path.getsize({HOST_FILE!r})",
        f"pathlib.Path({HOST_FILE!r}).stat().st_size",
        f"pathlib.Path({HOST_FILE!r}).exists()",  # pathlib lets PermissionError through
    ],
)
def test_metadata_of_host_paths_is_refused(expression: str) -> None:
    result = answer(expression)

    assert isinstance(result, str), result
    assert REFUSED in result or "Operation not permitted" in result


@pytest.mark.parametrize(
    "expression",
    [
        f"os.path.exists({HOST_FILE!r})",
        f"os.path.isfile({HOST_FILE!r})",
        "os.path.isdir('/etc')",
        "os.path.islink('/proc/self/exe')",
        f"os.access({HOST_FILE!r}, os.F_OK)",
        "os.access('/etc/passwd', os.R_OK)",
        "shutil.which('sh') is not None",
    ],
)
def test_existence_checks_on_host_paths_answer_false(expression: str) -> None:
    assert answer(expression) is False


@pytest.mark.parametrize("call", ["os.mkfifo({target!r})", "os.mknod({target!r})"])
def test_special_files_cannot_be_created_anywhere(call: str, tmp_path: Path) -> None:
    target = str(tmp_path / "made")

    result = answer(call.format(target=target))

    assert isinstance(result, str)
    assert REFUSED in result
    assert not Path(target).exists()


@pytest.mark.parametrize(
    "recover",
    [
        "__import__('importlib').reload(posix).stat",
        "__import__('_imp').create_builtin("
        "__import__('importlib.machinery').machinery.ModuleSpec('posix', None)).stat",
        "[f for f in os.supports_follow_symlinks | os.supports_fd if f.__name__ == 'stat'][0]",
        "__import__('sys').modules['os'].stat",
    ],
)
def test_the_original_stat_cannot_be_got_back(recover: str) -> None:
    """The seccomp filter refuses the syscall itself, whichever function object asks (a
    posix module built afresh by _imp may also crash the interpreter: no answer either)."""
    try:
        result = answer(f"({recover})({HOST_FILE!r}).st_size")
    except NodeError as crashed:
        result = str(crashed)

    assert isinstance(result, str), result
    assert REFUSED in result or "Operation not permitted" in result or "crashed" in result


def test_entries_of_a_directory_descriptor_cannot_be_stated_by_name() -> None:
    """scandir(fd) names entries relative to the descriptor: stat() would be fstatat."""
    code = """
import os
def main():
    os.mkdir('d')
    open('d/x', 'w').write('inner')
    open('x', 'w').write('the one in the working directory')
    fd = os.open(os.getcwd() + '/d', os.O_RDONLY)
    entry = next(iter(os.scandir(fd)))
    try:
        return {'r': entry.stat().st_size}
    except OSError as exc:
        return {'r': str(exc)}
"""
    assert "Operation not permitted" in str(execute(code)["r"])


def test_metadata_inside_the_sandbox_and_the_standard_library_still_work() -> None:
    code = """
import glob, os, pathlib, shutil, tempfile
import csv, decimal, fractions, hashlib, statistics, uuid, zoneinfo

def main():
    os.makedirs('a/b')
    pathlib.Path('a/b/f.txt').write_text('hello')
    shutil.copy('a/b/f.txt', 'a/g.txt')
    walked = sorted(os.path.join(d, f) for d, _, files in os.walk('a') for f in files)
    sizes = sorted(e.stat().st_size for e in os.scandir('a') if e.is_file())
    result = {
        'exists': os.path.exists('a/b/f.txt') and pathlib.Path('a').is_dir(),
        'size': os.path.getsize('a/g.txt'),
        'walked': walked,
        'sizes': sizes,
        'glob': sorted(glob.glob('a/**/*.txt', recursive=True)),
        'writable': os.access('.', os.W_OK),
        'lstat_dir': os.lstat('a').st_mode > 0,
        'tmp': os.path.isdir(tempfile.gettempdir()),
        'tz': zoneinfo.ZoneInfo('America/New_York').key,
        'realpath': os.path.realpath('a/b') == os.path.join(os.getcwd(), 'a', 'b'),
        'stdlib': os.path.exists(os.path.dirname(os.__file__)),
        'readlink': '',
    }
    try:
        os.readlink('a/g.txt')
    except OSError as exc:
        result['readlink'] = type(exc).__name__ + ' ' + exc.strerror
    shutil.rmtree('a')
    result['removed'] = not os.path.exists('a')
    return result
"""
    assert execute(code) == {
        "exists": True,
        "size": 5,
        "walked": ["a/b/f.txt", "a/g.txt"],
        "sizes": [5],
        "glob": ["a/b/f.txt", "a/g.txt"],
        "writable": True,
        "lstat_dir": True,
        "tmp": True,
        "tz": "America/New_York",
        "realpath": True,
        "stdlib": True,
        "readlink": "OSError Invalid argument",
        "removed": True,
    }


def test_a_code_object_that_crashes_the_interpreter_fails_only_its_node() -> None:
    crash = """
def main():
    code = (lambda: 0).__code__
    exec(code.replace(co_code=bytes([100, 255]) * 8, co_consts=()))
    return {}
"""
    error = failure(crash)

    assert str(error).startswith("code process crashed (SIGSEGV)")
    assert error.error_type == "CodeExecutionError"
    assert execute("def main():\n    return {'after': 1}") == {"after": 1}


def test_what_one_run_can_put_on_disk_is_bounded_in_bytes() -> None:
    """120 MB asked for: each file stops at the file-size limit, the 17th open is refused."""
    code = """
def main():
    written, refused = 0, ''
    chunk = b'x' * (1 << 20)
    for n in range(30):
        try:
            f = open(f'f{n}', 'wb')
        except PermissionError as exc:
            refused = str(exc)
            break
        with f:
            for _ in range(4):
                try:
                    f.write(chunk)
                    f.flush()
                except OSError:
                    break
                written += len(chunk)
    return {'written': written, 'refused': refused}
"""
    limits = Limits(timeout_seconds=10, output_bytes=2 * 1024 * 1024)
    outputs = execute(code, limits)

    per_file = limits.for_runner()["file_bytes"]
    written = outputs["written"]
    assert isinstance(written, int)
    assert MAX_WRITTEN_FILES * 2 * 2**20 <= written <= MAX_WRITTEN_FILES * per_file < 120 * 2**20
    assert "opening more than 16 files for writing" in str(outputs["refused"])


def test_without_a_filter_for_the_machine_no_user_code_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "riscv64")

    with pytest.raises(OSError, match="needs seccomp on Linux x86_64 or aarch64, not riscv64"):
        metadata.install_filter()


def test_each_architectures_filter_jumps_within_itself() -> None:
    """BPF jumps are relative and forward: every one must land on an instruction."""
    for machine, arch in metadata.ARCHES.items():
        program = metadata.filter_program(arch, machine)
        jumps = {metadata.BPF_JEQ_K, metadata.BPF_JGE_K, metadata.BPF_JSET_K}
        for at, (code, jt, jf, _k) in enumerate(program):
            if code not in jumps:
                continue
            assert 0 <= at + 1 + jt < len(program)
            assert 0 <= at + 1 + jf < len(program)
        assert program[-3:] == [
            (metadata.BPF_RET_K, 0, 0, metadata.SECCOMP_RET_ALLOW),
            (metadata.BPF_RET_K, 0, 0, metadata.SECCOMP_RET_ERRNO | 1),
            (metadata.BPF_RET_K, 0, 0, metadata.SECCOMP_RET_KILL_PROCESS),
        ]


# In a fresh interpreter (confining is for good): a kernel that refuses the filter, as
# Lambda's may, with the filter required or not; then a host path's metadata.
_CONFINE_WITHOUT_FILTER = """
import json, os, platform, sys
sys.path.insert(0, sys.argv[1])
import runner
platform.machine = lambda: "riscv64"
limits = json.loads(sys.argv[2])
refused = runner.confine(sys.argv[1], limits, require_filter=sys.argv[3] == "required")
if refused:
    print(json.dumps(refused))
else:
    try:
        os.stat(sys.argv[4])
        print(json.dumps({"stat": "answered"}))
    except PermissionError as exc:
        print(json.dumps({"stat": str(exc)}))
"""


@pytest.mark.parametrize("policy", ["required", "if available"])
def test_a_kernel_that_refuses_the_filter_fails_only_where_it_is_required(
    policy: str, tmp_path: Path
) -> None:
    for program in (RUNNER, METADATA):
        shutil.copyfile(program, tmp_path / program.name)
    arguments = [str(tmp_path), json.dumps(FAST.for_runner()), policy, HOST_FILE]
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _CONFINE_WITHOUT_FILTER, *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    answer = json.loads(out.stdout)
    if policy == "required":
        assert "the sandbox could not confine itself" in answer["error"]
    else:
        # The stand-ins and the audit hook still refuse the host path.
        assert REFUSED in answer["stat"]
