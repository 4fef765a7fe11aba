"""Claim check: a node's outputs travel in the state machine's state unless they are big.

The state of one execution is limited to 256 KB, so outputs over the inline limit are put
in S3 and the state carries `{"ref": "s3://…"}` instead of `{"outputs": …}`. Everything
that reads outputs goes through `unpack`, so every consumer sees the real value.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from functions.core.data import blobs
from functions.core.settings import get_settings


def pack(
    run_id: str, node_id: str, outputs: dict[str, Any], inline_limit: int | None = None
) -> dict[str, Any]:
    size = len(json.dumps(outputs, ensure_ascii=False).encode())
    limit = get_settings().payload_inline_limit
    if size <= (min(limit, inline_limit) if inline_limit else limit):
        return {"outputs": outputs}
    # A node inside an iteration runs once per item: each run gets its own object.
    key = f"{blobs.run_prefix(run_id)}outputs/{node_id}/{uuid.uuid4().hex}.json"
    return {"ref": blobs.put_json(key, outputs)}


def pack_trigger(run_id: str, data: Any) -> tuple[Any, str | None]:
    """A run's trigger data, inline, or (None, its S3 reference) when over the limit: the
    run item (400 KB) and the execution's state (256 KB) carry only the reference."""
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size <= get_settings().payload_inline_limit:
        return data, None
    return None, blobs.put_json(f"{blobs.run_prefix(run_id)}trigger.json", data)


def unpack_trigger(data: Any, ref: str | None) -> Any:
    return blobs.get_json(ref) if ref else data


def unpack(state: dict[str, Any] | None) -> dict[str, Any] | None:
    if state is None:
        return None
    if "ref" in state:
        outputs: dict[str, Any] = blobs.get_json(state["ref"])
        return outputs
    inline: dict[str, Any] | None = state.get("outputs")
    return inline
