"""Identifiers: 24 hex characters whose first 8 are the creation time, so ids sort by age."""

from __future__ import annotations

import secrets
import time


def new_id() -> str:
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"
