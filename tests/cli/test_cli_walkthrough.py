"""The README's command-line walkthrough, run verbatim with bash against the real local
server, with `stepcanvas` on the PATH as the set-up installs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.local_server import ROOT
from tests.readme import walkthrough

pytestmark = pytest.mark.xdist_group("cli")


def test_cli_walkthrough_imports_runs_follows_shows_and_manages_keys(
    cli: Cli,
) -> None:
    # The command as `make` installs it, in the venv's bin.
    env = cli.env()
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    assert (Path(sys.executable).parent / "stepcanvas").exists(), "make installs stepcanvas"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough("walkthrough-cli")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "valid ('echo', 2 nodes)" in out
    nodes = re.findall(r"^\s*\+\d+\.\d+s\s+(started|succeeded|failed)\s+(\S+)", out, re.M)
    echo = [("started", "Start"), ("succeeded", "Start"), ("started", "End"), ("succeeded", "End")]
    demo = [
        (s, n) for n in ("fetch", "analyze", "check", "notify") for s in ("started", "succeeded")
    ]
    assert nodes == echo + demo
    assert re.search(r"run \w+ succeeded in \d+\.\d+s · 2 of 2 nodes ran", out)
    assert re.search(r"run \w+ succeeded in \d+\.\d+s · 4 of 5 nodes ran", out)
    assert '{"building": "A", "devices": 12}' in out  # show: fetch's result
    assert re.search(r"used\s+\d+ state transitions, \d+ DynamoDB writes", out)  # show
    assert re.search(r"^│ state transitions\s+│ \d+", out, re.M)  # cost: per run
    assert "Standard, USD per 1,000 runs" in out and "Express, USD per 1,000 runs" in out
    assert "refused: read-only" in out
    assert "refused: 403 forbidden" in done.stderr
    assert "this key lacks the 'write' scope" in done.stderr
    listed = [line for line in out.splitlines() if "│ reader" in line or "│ local admin" in line]
    assert len(listed) == 2, out
    assert re.search(r"^revoked \w+$", out, re.M)
