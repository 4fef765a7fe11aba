"""Where `make run` saves the local system's URL and admin key, for the CLI to find.

The key is shown once and its hash is all the table keeps; this file (mode 0600, in the
checkout, ignored by git) is the developer's copy. `STEPCANVAS_KEY_FILE` moves it (the
tests' servers write theirs elsewhere). The CLI sends the saved key to the saved URL only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def key_file() -> Path:
    return Path(os.environ.get("STEPCANVAS_KEY_FILE") or ROOT / ".stepcanvas" / "local.json")


def save(url: str, key: str) -> Path:
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created private: the key is never readable by others, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as saved:
        json.dump({"url": url, "key": key}, saved)
    path.chmod(0o600)
    return path


def load() -> dict[str, str]:
    """What was saved (`{"url", "key"}`), or nothing."""
    try:
        data = json.loads(key_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in ("url", "key") and isinstance(v, str)}
