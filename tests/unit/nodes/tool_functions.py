"""Handlers of the Lambda functions the tool tests register as tools (run in-process by
local/aws.py's patched Lambda invoke)."""

from __future__ import annotations

from typing import Any


def shout(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return {"shouted": str(event["text"]).upper(), "received": event}


def explode(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    raise ValueError(f"cannot handle {sorted(event)}")
