"""CLI tests: `python -m tools.cli` as a user runs it, against the real local server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.local_server import ROOT, Server, running


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running() as started:
        yield started


@dataclass
class Cli:
    """Runs `stepcanvas ARGS…` in a subprocess, speaking to `server` with its admin key."""

    server: Server
    # No file a local system saved on this machine may choose the key instead.
    key_file: Path

    def env(self, key: str | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "STEPCANVAS_URL": self.server.base_url,
            "STEPCANVAS_KEY": self.server.admin_key if key is None else key,
            "STEPCANVAS_KEY_FILE": str(self.key_file),
            "COLUMNS": "200",
            "PYTHONPATH": str(ROOT),
        }

    def __call__(
        self, *args: str, key: str | None = None, unset: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        env = {name: value for name, value in self.env(key).items() if name not in unset}
        return subprocess.run(
            [sys.executable, "-m", "tools.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return Cli(server, tmp_path / "no-saved-key.json")
