"""moto standing in for every AWS service, in this process.

Creates what infra/ creates in AWS (table, bucket, node/runs functions, the state machine
role, the SES identity) and makes moto's Lambda backend run the real handlers in-process,
so moto's Step Functions interpreter executes the real compiled state machines.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import threading
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.models import DynamoDBBackend

from functions.core import aws_clients
from functions.core.data.schema import TTL_ATTRIBUTE, table_definition
from functions.core.settings import get_settings
from functions.nodes.catalog import NODES, RUNS_FUNCTION_NAME, RUNS_HANDLER

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "stepcanvas"
MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

# Function name -> dotted handler path, filled by `start` and read by the Lambda patch.
_HANDLERS: dict[str, str] = {}


@dataclass
class LocalAws:
    mock: Any

    def stop(self) -> None:
        self.mock.stop()
        _reset_clients()


def environment() -> dict[str, str]:
    """The settings the Lambda functions get from CDK in AWS, pointed at moto's resources."""
    arns = {spec.type.value: _function_arn(spec.function_name) for spec in NODES.values()}
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": f"{PREFIX}-table",
        "BUCKET_NAME": f"{PREFIX}-data",
        "NODE_FUNCTION_ARNS": json.dumps(arns),
        "RUNS_FUNCTION_ARN": _function_arn(RUNS_FUNCTION_NAME),
        "STATE_MACHINE_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-state-machine",
        "STATE_MACHINE_PREFIX": PREFIX,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Stepcanvas",
    }


def start(extra_env: dict[str, str] | None = None) -> LocalAws:
    os.environ.update(environment())
    os.environ.update(extra_env or {})
    get_settings.cache_clear()
    _reset_clients()
    mock = mock_aws(config=MOTO_CONFIG)
    mock.start()
    _provision()
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    _make_dynamodb_writes_atomic()
    return LocalAws(mock)


_WRITE_LOCK = threading.RLock()


def _make_dynamodb_writes_atomic() -> None:
    """DynamoDB applies each write (an ADD counter, a conditional put) atomically; moto's
    backend does not lock, and the state machine's concurrent branches write from several
    threads at once. Serialising moto's writes restores the guarantee the code relies on.
    Reads take the lock too: a query iterates the table's dicts, which a write in another
    thread (a node, while the service API tails the run's log) would change under it."""
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "get_item",
        "query",
        "scan",
    ):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialised", False):
            continue

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return _original(*args, **kwargs)

        locked._serialised = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


def _reset_clients() -> None:
    aws_clients.reset()


def _function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}-{name}"


def _provision() -> None:
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(**table_definition(settings.table_name))
    dynamodb.update_time_to_live(
        TableName=settings.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=settings.bucket_name)
    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress=settings.email_sender
    )
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role_arn = iam.create_role(RoleName=f"{PREFIX}-lambda", AssumeRolePolicyDocument=trust)["Role"][
        "Arn"
    ]
    iam.create_role(RoleName=f"{PREFIX}-state-machine", AssumeRolePolicyDocument=trust)
    functions = {spec.function_name: spec.handler for spec in NODES.values()}
    functions[RUNS_FUNCTION_NAME] = RUNS_HANDLER
    lambdas = boto3.client("lambda", region_name=REGION)
    for name, handler in functions.items():
        lambdas.create_function(
            FunctionName=f"{PREFIX}-{name}",
            Runtime="python3.12",
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": _empty_zip()},
        )
        _HANDLERS[f"{PREFIX}-{name}"] = handler


def _empty_zip() -> bytes:
    # moto stores the package but never runs it: the patched invoke calls the handler.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "code runs in-process from functions/")
    return buffer.getvalue()


def _load(handler_path: str) -> Callable[[dict[str, Any], Any], Any]:
    module_name, _, attribute = handler_path.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(
        importlib.import_module(module_name), attribute
    )
    return handler


class _Context:
    """The parts of the Lambda context object that Powertools reads."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = _function_arn(function_name.removeprefix(f"{PREFIX}-"))
        self.memory_limit_in_mb = 512
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _invoke(  # noqa: PLR0917 - the signature of the moto method it replaces
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
    handler = _load(_HANDLERS[name])
    event = json.loads(body) if body else {}
    try:
        result = handler(event, _Context(name))
    except Exception as exc:
        # What the Lambda service answers for an unhandled error; Step Functions reads it.
        response_headers["x-amz-function-error"] = "Unhandled"
        error_type = getattr(exc, "error_type", type(exc).__name__)
        return json.dumps(
            {
                "errorMessage": str(exc),
                "errorType": error_type,
                "stackTrace": traceback.format_exception(exc)[-3:],
            }
        ).encode()
    return json.dumps(result).encode()
