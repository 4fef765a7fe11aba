"""The runs function: bookkeeping tasks of every compiled state machine."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.core.services import lifecycle

logger = Logger(service="stepcanvas-runs")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any] | None:
    run_id = event["run"]["runId"]
    event_ttl = event["run"].get("eventTtl") or None
    logger.append_keys(run_id=run_id, action=event["action"])
    match event["action"]:
        case "begin":
            lifecycle.begin(run_id)
        case "succeed":
            lifecycle.succeed(
                run_id, event.get("vars") or {}, event.get("sinks") or [], event.get("ends") or []
            )
        case "fail":
            lifecycle.fail(run_id, event.get("error") or {}, event_ttl)
        case "recover":
            return lifecycle.recover(run_id, event["node"], event.get("error") or {}, event_ttl)
        case other:
            raise ValueError(f"unknown runs action '{other}'")
    return None
