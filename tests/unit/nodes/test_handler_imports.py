"""A node function's cold start imports only what its handler needs (issue 13 item 5):
boto3 comes with the first call to AWS (functions/core/aws_clients.py), croniter with
the first cron expression evaluated, and nothing of the compiler, the faces or the
servers ever. bench/cold_import.py measures the time; this guards what is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from functions.nodes.catalog import NODES

REPO_ROOT = Path(__file__).resolve().parents[3]
NOT_AT_IMPORT = (
    "boto3",
    "croniter",
    "statemachines",
    "uvicorn",
    "functions.api",
    "functions.stream",
    "functions.dispatcher",
    "functions.core.services.runs",
)
# Imports every node handler in a fresh interpreter and prints what of NOT_AT_IMPORT came.
_CHILD = """
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
watched = tuple(json.loads(sys.argv[1]))
loaded = [m for m in sys.modules if m in watched or m.startswith(tuple(w + "." for w in watched))]
print(json.dumps(sorted(loaded)))
"""


def test_no_node_handler_imports_boto3_cron_or_other_functions_code() -> None:
    modules = sorted({spec.handler.rsplit(".", 1)[0] for spec in NODES.values()})
    assert len(modules) > 15  # every node type's handler, not a few
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(NOT_AT_IMPORT), *modules],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PATH": "", "AWS_REGION": "us-east-1"},
    )
    assert json.loads(out.stdout) == []
