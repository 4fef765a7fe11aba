"""Write docs/openapi.json, the committed copy of the document the api function serves.

    .venv/bin/python -m tools.openapi

tests/unit/api/test_openapi.py fails when the routes and this copy drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from functions.api import docs
from functions.api.handler import app

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def generated() -> str:
    return json.dumps(json.loads(docs.document(app)), indent=2, sort_keys=True) + "\n"


def main() -> None:
    COMMITTED.write_text(generated(), encoding="utf-8")
    print(f"wrote {COMMITTED}")


if __name__ == "__main__":
    main()
