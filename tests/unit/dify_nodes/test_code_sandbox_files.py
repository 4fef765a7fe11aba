"""The code node's sandbox: what user code may and may not do with the host's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.core.errors import NodeError
from functions.nodes.code.entities import CodeConfig
from functions.nodes.code.node import run
from functions.nodes.code.runner import MAX_WRITTEN_FILES
from functions.nodes.code.sandbox import Limits
from tests.unit.dify_nodes.support import context

FAST = Limits(timeout_seconds=3)
REFUSED = "is not allowed in a code node"


def execute(code: str) -> dict[str, object]:
    config = CodeConfig.model_validate({"code_language": "python3", "code": code})
    return run(config, context(), FAST).outputs


def failure(code: str) -> NodeError:
    with pytest.raises(NodeError) as caught:
        execute(code)
    return caught.value


# Each writes `target` (a path outside the sandbox) through sqlite, which opens its files
# in C, where the audit hook's `open` check never sees them.
SQLITE_WRITES = {
    "attach": """
import sqlite3
def main():
    db = sqlite3.connect(':memory:')
    db.execute("ATTACH DATABASE '{target}' AS e")
    db.execute('CREATE TABLE e.t (a)')
    db.execute('INSERT INTO e.t VALUES (1)')
    db.commit()
    return {{}}
""",
    "vacuum_into": """
import sqlite3
def main():
    db = sqlite3.connect(':memory:')
    db.execute('CREATE TABLE t (a)')
    db.execute("VACUUM INTO '{target}'")
    return {{}}
""",
    "uri": """
import sqlite3
def main():
    db = sqlite3.connect('file:{target}?mode=rwc', uri=True)
    db.execute('CREATE TABLE t (a)')
    db.commit()
    return {{}}
""",
    "backup": """
import sqlite3
def main():
    db = sqlite3.connect(':memory:')
    db.execute('CREATE TABLE t (a)')
    db.execute("ATTACH DATABASE '{target}' AS e")
    db.backup(sqlite3.connect(':memory:'))
    return {{}}
""",
    "the_extension_directly": """
import _sqlite3
def main():
    _sqlite3.connect(':memory:').execute("VACUUM INTO '{target}'")
    return {{}}
""",
}


@pytest.mark.parametrize("code", SQLITE_WRITES.values(), ids=SQLITE_WRITES.keys())
def test_sqlite_cannot_create_files_outside_the_sandbox(code: str, tmp_path: Path) -> None:
    target = tmp_path / "escape.db"

    error = failure(code.format(target=target))

    assert REFUSED in str(error)
    assert not target.exists()


@pytest.mark.parametrize(
    ("extension", "name"),
    [("_sqlite3", "x._sqlite3"), ("_ctypes", "x._ctypes"), ("_ctypes", "x._ctypes\\x00y")],
)
def test_a_refused_extension_cannot_be_loaded_under_another_name(extension: str, name: str) -> None:
    # An extension's init function is named after the last part of the module's name (up to
    # a NUL, in C), so `x._sqlite3` loads _sqlite3's shared library.
    code = f"""
import importlib.util, os
def main():
    folder = os.path.dirname(importlib.util.find_spec('_json').origin)
    file = [n for n in os.listdir(folder) if n.startswith('{extension}.')][0]
    spec = importlib.util.spec_from_file_location('{name}', folder + '/' + file)
    return {{'m': str(importlib.util.module_from_spec(spec))}}
"""
    assert REFUSED in str(failure(code))


@pytest.mark.parametrize(
    "call",
    [
        "os.listdir('/')",
        "os.listdir(b'/')",
        "[entry.name for entry in os.scandir('/etc')]",
        "[str(p) for p in pathlib.Path('/').iterdir()]",
        "os.listxattr('/etc')",
        "os.getxattr('/etc/passwd', 'user.x')",
    ],
)
def test_directories_and_attributes_outside_the_sandbox_cannot_be_read(call: str) -> None:
    error = failure(f"import os, pathlib\ndef main():\n    return {{'r': {call}}}")

    assert REFUSED in str(error)


def test_what_one_run_can_write_is_bounded_by_a_count_of_files() -> None:
    """Each file is capped by RLIMIT_FSIZE; the number of files by the audit hook."""
    code = """
def main():
    written = 0
    for n in range(100):
        try:
            with open(f'f{n}', 'w') as f:
                f.write('x')
        except PermissionError as refused:
            return {'written': written, 'refused': str(refused)}
        written += 1
    return {'written': written, 'refused': ''}
"""
    outputs = execute(code)

    assert outputs["written"] == MAX_WRITTEN_FILES
    assert "opening more than 16 files for writing" in outputs["refused"]


def test_ordinary_code_and_files_in_the_sandbox_still_work() -> None:
    code = """
import json, math, os, re, tempfile
from datetime import datetime
from zoneinfo import ZoneInfo

def main():
    with tempfile.NamedTemporaryFile('w', suffix='.json', dir='.', delete=False) as saved:
        json.dump({'x': math.sqrt(16)}, saved)
    os.mkdir('sub')
    with open('sub/a.txt', 'w') as f:
        f.write('abc')
    with tempfile.TemporaryDirectory() as scratch:
        open(os.path.join(scratch, 'b'), 'w').close()
        scratch_names = os.listdir(scratch)
    return {
        'x': json.load(open(saved.name))['x'],
        'sub': sorted(e.name for e in os.scandir('sub')),
        'scratch': scratch_names,
        'json_in_cwd': any(n.endswith('.json') for n in os.listdir()),
        'word': re.findall(r'[a-z]+', '12abc')[0],
        'paris': datetime(2024, 1, 1, tzinfo=ZoneInfo('Europe/Paris')).isoformat(),
    }
"""
    assert execute(code) == {
        "x": 4.0,
        "sub": ["a.txt"],
        "scratch": ["b"],
        "json_in_cwd": True,
        "word": "abc",
        "paris": "2024-01-01T00:00:00+01:00",
    }
