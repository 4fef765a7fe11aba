"""The README's v1 walkthrough, run verbatim with bash against the real local server."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.api.conftest import Server

pytestmark = pytest.mark.xdist_group("local-server")

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", text, re.S
    )
    assert block, "README.md has no walkthrough block"
    return block.group(1)


def test_readme_walkthrough_creates_runs_and_reads_step_results(server: Server) -> None:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        env={**os.environ, "BASE": server.base_url, "KEY": server.admin_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "completed"
    steps = {s["nodeId"]: s for s in answer["stepResults"]}
    assert list(steps) == ["fetch", "analyze", "notify"]
    assert all(s["status"] == "success" for s in steps.values())
    assert steps["fetch"]["result"] == {"building": "A", "devices": 12}
    assert steps["analyze"]["result"] == "[local:local] Summarise 12 devices in A"
    assert steps["notify"]["result"]["messageId"]
