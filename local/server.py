"""`python -m local`: the whole system on 127.0.0.1 with moto standing in for AWS."""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from moto.server import ThreadedMotoServer

from functions.core.model import v1_format
from functions.core.model.v1_format import V1WorkflowBody
from functions.core.services import keys, workflows
from functions.core.services.keys import Scope
from functions.core.settings import get_settings
from local import aws, gateway, saved_key
from local.triggers import TriggerPump

DEMO_WORKFLOW = Path(__file__).with_name("demo_workflow.json")
ADMIN_TENANT = "default"


def bootstrap() -> dict[str, Any]:
    """An admin key and the demo workflow in the default tenant."""
    plaintext, _ = keys.create(ADMIN_TENANT, "local admin", {Scope.ADMIN})
    demo = V1WorkflowBody.model_validate(json.loads(DEMO_WORKFLOW.read_text()))
    workflow = workflows.create(ADMIN_TENANT, v1_format.to_draft(demo))
    return {"key": plaintext, "demo_workflow_id": workflow["id"]}


def _next_steps(base_url: str, created: dict[str, Any]) -> str:
    demo = created["demo_workflow_id"]
    return "\n".join(
        [
            "Next, in another terminal:",
            f'  .venv/bin/stepcanvas run {demo} --data \'{{"building": "A"}}\' --follow',
            f"  curl -s -X POST {base_url}/v1/workflows/{demo}/run -H 'X-API-Key: {created['key']}'"
            ' -H \'Content-Type: application/json\' -d \'{"data": {"building": "A"}}\'',
            "Watch the runs in a browser (paste the admin key into the page once):",
            f"  {base_url}/ui/workflows/{demo}/runs",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--aws-port", type=int, default=0, help="port of the AWS endpoint (default: any free)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    aws.start()
    created = bootstrap()
    pump = TriggerPump().start()
    # The same in-process backends over HTTP, for the aws CLI and boto3 on this machine.
    endpoint = ThreadedMotoServer(ip_address=args.host, port=args.aws_port, verbose=False)
    endpoint.start()
    aws_host, aws_port = endpoint.get_host_and_port()
    base_url = f"http://{args.host}:{args.port}"
    server = uvicorn.Server(
        uvicorn.Config(gateway.app(), host=args.host, port=args.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(f"the server could not start on {base_url}")
        time.sleep(0.02)
    # Printed once the socket listens, so scripts may wait for the first line.
    print(f"Stepcanvas is listening on {base_url}", flush=True)
    print(f"Admin API key (shown once): {created['key']}", flush=True)
    print(f"Demo workflow: {base_url}/v1/workflows/{created['demo_workflow_id']}", flush=True)
    print(f"AWS endpoint: http://{aws_host}:{aws_port}", flush=True)
    print(f"Data bucket: {get_settings().bucket_name}", flush=True)
    saved = saved_key.save(base_url, created["key"])
    print(f"Saved for the command line: {saved}", flush=True)
    print(_next_steps(base_url, created), flush=True)
    print(f"Ready in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        thread.join()
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join()
    finally:
        pump.stop()
        endpoint.stop()
