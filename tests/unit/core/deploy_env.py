"""The deployment settings `build_definition` reads, set through the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from functions.core.model.workflow import NodeType
from functions.core.settings import get_settings

RUNS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:runs"
NODE_ARNS = {
    t.value: f"arn:aws:lambda:us-east-1:123456789012:function:node-{t.value}" for t in NodeType
}


def configure(monkeypatch: pytest.MonkeyPatch, **extra: str) -> Iterator[None]:
    """Point every node type at a fake function; extra env (MAX_NODES=...) on top."""
    monkeypatch.setenv("NODE_FUNCTION_ARNS", json.dumps(NODE_ARNS))
    monkeypatch.setenv("RUNS_FUNCTION_ARN", RUNS_ARN)
    for name in ("MAX_NODES", "MAX_EDGES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
