"""Content hashes: the same content always gives the same hash, whatever its key order
or spacing."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(parts: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of `parts`: keys sorted, no spaces, UTF-8."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
