"""The shared conformance corpus (../shared/conformance/dify next to the repository)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

# CI clones the repository as a sibling of shared/.
DIFY = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "dify"


def dify_files() -> list[Path]:
    return sorted(DIFY.glob("*.yml"))


def manifest() -> dict[str, dict[str, str]]:
    """MANIFEST.tsv rows by file name."""
    with (DIFY / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def cases() -> list[dict[str, Any]]:
    lines = (DIFY / "CASES.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
