"""Identifiers: 24 hex characters whose first 8 are the creation time, so ids sort by age."""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id() -> str:
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def derived_id(at_epoch: float, *parts: str) -> str:
    """The id of something identified by `parts` that happened at `at_epoch`: the same
    parts always give the same id, so a redelivered trigger names the run it already made."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{int(at_epoch):08x}{digest[:16]}"
