"""moto standing in for every AWS service, in this process.

Creates what infra/ creates in AWS (table, bucket, node/runs functions, the state machine
role, the SES identity) and makes moto's Lambda backend run the real handlers in-process,
so moto's Step Functions interpreter executes the real compiled state machines.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import os
import secrets
import threading
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.events.models import EventPattern, EventPatternParser, Rule
from moto.events.responses import EventsHandler
from moto.stepfunctions.models import StateMachineVersion
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from functions.core import aws_clients
from functions.core.data.schema import TTL_ATTRIBUTE, table_definition
from functions.core.settings import get_settings
from functions.core.triggers import signatures
from functions.nodes.catalog import (
    NODES,
    RUNS_FUNCTION_NAME,
    RUNS_HANDLER,
    SANDBOX_FUNCTION_NAME,
    SANDBOX_HANDLER,
)
from local import interpreter, sync_executions

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "stepcanvas"
TRIGGER_QUEUE = f"{PREFIX}-triggers"
# As infra/triggers.py: a message that fails this many receives goes to the DLQ.
MAX_RECEIVES = 3
MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

# Function name -> dotted handler path, filled by `start` and read by the Lambda patch.
_HANDLERS: dict[str, str] = {}


@dataclass
class LocalAws:
    mock: Any
    # The environment's values before `start` set its own (None: unset), put back by `stop`
    # so what a test of the stand-in set does not follow the next test of the process.
    replaced: dict[str, str | None]

    def stop(self) -> None:
        self.mock.stop()
        for name, value in self.replaced.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
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
        "CODE_SANDBOX_FUNCTION_ARN": _function_arn(SANDBOX_FUNCTION_NAME),
        "STATE_MACHINE_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-state-machine",
        "STATE_MACHINE_PREFIX": PREFIX,
        "TRIGGER_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{TRIGGER_QUEUE}",
        "TRIGGER_QUEUE_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{TRIGGER_QUEUE}",
        "SCHEDULE_GROUP": PREFIX,
        "SCHEDULER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-scheduler",
        "EVENT_BUS_NAME": f"{PREFIX}-events",
        "WEBHOOK_KEY_SECRET_ARN": f"{PREFIX}/webhook-key",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Stepcanvas",
    }


def start(extra_env: dict[str, str] | None = None) -> LocalAws:
    settings = {**environment(), **(extra_env or {})}
    replaced = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    _reset_clients()
    mock = mock_aws(config=MOTO_CONFIG)
    mock.start()
    _provision()
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    _make_dynamodb_writes_atomic()
    _transform_s3_events()
    EventsHandler.test_event_pattern = _test_event_pattern  # type: ignore[method-assign, assignment]
    _start_versions()
    _transact_without_table_copies()
    _query_one_partition()
    interpreter.install()
    sync_executions.install()
    return LocalAws(mock, replaced)


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


# The partition a base-table Query of this thread reads (see _query_one_partition).
_queried = threading.local()


def _query_one_partition() -> None:
    """DynamoDB answers a Query from one partition; moto's base-table Query takes its
    candidates from `all_items`, which sorts every item of the table, under the lock above.
    So each query cost O(table) and every request waited behind it: local runs slowed as
    history grew (92 % of a loaded server's samples). During a base-table Query of a table
    with a sort key, `all_items` answers that partition's items alone, in the order moto's
    Query sorts them anyway; index queries and scans are unchanged."""
    if getattr(Table.query, "_one_partition", False):
        return
    every_item, query = Table.all_items, Table.query

    def all_items(self: Table) -> list[Any]:
        target = getattr(_queried, "partition", None)
        if target is None or target[0] is not self:
            return every_item(self)
        partition = self.items.get(target[1]) or {}
        return sorted(partition.values(), key=lambda item: item.range_key)

    def one_partition(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # index_name is the 8th positional argument (moto's backend passes it so).
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is not None or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        _queried.partition = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _queried.partition = None

    one_partition._one_partition = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = one_partition  # type: ignore[method-assign]


def _reset_clients() -> None:
    aws_clients.reset()
    interpreter.forget()
    signatures.forget_key()


def _test_event_pattern(self: EventsHandler) -> str:
    """TestEventPattern, which moto leaves unimplemented, judged by moto's own matcher (the
    one its rules deliver by), so the answer agrees with what the rules do."""
    pattern = self._get_param("EventPattern")
    parsed = EventPatternParser(pattern).parse()  # InvalidEventPatternException as AWS
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": EventPattern(pattern, parsed).matches_event(event)})


def _transform_s3_events() -> None:
    """moto's S3 hands "Object Created" events to the rules of the default bus without
    applying a target's input transformer (its own put_events does apply them); EventBridge
    always does, and the trigger queue's messages are the transformed ones."""
    original = Rule.send_to_targets
    if getattr(original, "_transforms", False):
        return

    def send_to_targets(self: Rule, event: Any, transform_input: bool = True) -> None:
        event.setdefault("ingestion-time", event.get("time"))
        original(self, event, transform_input=True)

    send_to_targets._transforms = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign, assignment]


class _NoTableCopies:
    """`copy` for moto's DynamoDB models while a transaction is known to succeed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_without_table_copies() -> None:
    """moto deep-copies every table a transaction writes, to roll it back if a condition
    fails: O(table) per transaction, so each publish got slower as the table grew (3.3 s
    with 20,000 items). Under the write lock nothing changes between checking every
    condition first (with moto's own evaluator) and applying the writes, so a transaction
    whose conditions hold needs no copy, and one whose conditions fail is cancelled, with
    DynamoDB's reasons, before anything is written."""
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_checked_first", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _WRITE_LOCK:
            reasons = [_condition_failure(self, item) for item in transact_items]
            if any(reason[0] for reason in reasons):
                raise TransactionCanceledException(reasons)  # type: ignore[arg-type]
            dynamodb_models.copy = _NoTableCopies()  # type: ignore[assignment, attr-defined]
            try:
                original(self, transact_items)
            finally:
                dynamodb_models.copy = copy  # type: ignore[attr-defined]

    transact_write_items._checked_first = True  # type: ignore[attr-defined]
    # Serialised already (it holds the lock): _make_dynamodb_writes_atomic leaves it be.
    transact_write_items._serialised = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _condition_failure(
    backend: DynamoDBBackend, item: dict[str, Any]
) -> tuple[str | None, str | None, None]:
    kind, operation = next(iter(item.items()))
    condition = operation.get("ConditionExpression")
    if condition is None:
        return None, None, None
    table = backend.get_table(operation["TableName"])
    if kind == "Put":
        attributes = operation["Item"]
        key = {table.hash_key_attr: attributes[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attributes[table.range_key_attr]
    else:
        key = operation["Key"]
    current = backend.get_item(operation["TableName"], key)
    check = get_filter_expression(
        condition,
        operation.get("ExpressionAttributeNames"),
        operation.get("ExpressionAttributeValues"),
    )
    if check.expr(current):
        return None, None, None
    return "ConditionalCheckFailed", "The conditional request failed", None


_DEFINITION_LOCK = threading.Lock()


def _start_versions() -> None:
    """Step Functions starts a published version by its ARN and runs that version's
    definition; moto's interpreter can start only a state machine. A version ARN is
    started here as its machine, with the version's definition in place for the moment
    the execution snapshots it (moto deep-copies the machine at start), so a run pinned
    to version N executes N even after N+1 was published."""
    start = StepFunctionsParserBackend.start_execution
    update = StepFunctionsParserBackend.update_state_machine
    if getattr(start, "_versions", False):
        return

    def start_execution(
        self: StepFunctionsParserBackend, state_machine_arn: str, *args: Any, **kwargs: Any
    ) -> Any:
        machine = self.describe_state_machine(state_machine_arn)
        if not isinstance(machine, StateMachineVersion):
            with _DEFINITION_LOCK:
                return start(self, state_machine_arn, *args, **kwargs)
        source = self.describe_state_machine(machine.source_arn)
        with _DEFINITION_LOCK:
            latest = source.definition
            source.definition = machine.definition
            try:
                return start(self, source.arn, *args, **kwargs)
            finally:
                source.definition = latest

    def update_state_machine(self: StepFunctionsParserBackend, *args: Any, **kwargs: Any) -> Any:
        with _DEFINITION_LOCK:  # never between a versioned start's swap and its restore
            return update(self, *args, **kwargs)

    start_execution._versions = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
    StepFunctionsParserBackend.update_state_machine = update_state_machine  # type: ignore[method-assign]


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
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=settings.bucket_name)
    # As infra/storage.py: object events go to EventBridge, where S3 triggers' rules are.
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket_name,
        NotificationConfiguration={"EventBridgeConfiguration": {}},
    )
    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress=settings.email_sender
    )
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role_arn = iam.create_role(RoleName=f"{PREFIX}-lambda", AssumeRolePolicyDocument=trust)["Role"][
        "Arn"
    ]
    iam.create_role(RoleName=f"{PREFIX}-state-machine", AssumeRolePolicyDocument=trust)
    _provision_triggers(iam, trust)
    functions = {spec.function_name: spec.handler for spec in NODES.values()}
    functions[RUNS_FUNCTION_NAME] = RUNS_HANDLER
    functions[SANDBOX_FUNCTION_NAME] = SANDBOX_HANDLER
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


def _provision_triggers(iam: Any, trust: str) -> None:
    """What infra/triggers.py makes: the queue and its DLQ, the bus, the schedule group,
    the Scheduler role and the key webhook secrets derive from."""
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName=f"{TRIGGER_QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    redrive = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": MAX_RECEIVES,
    }
    sqs.create_queue(
        QueueName=TRIGGER_QUEUE,
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "30"},
    )
    boto3.client("events", region_name=REGION).create_event_bus(Name=settings.event_bus_name)
    boto3.client("scheduler", region_name=REGION).create_schedule_group(
        Name=settings.schedule_group
    )
    iam.create_role(RoleName=f"{PREFIX}-scheduler", AssumeRolePolicyDocument=trust)
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=settings.webhook_key_secret_arn, SecretString=secrets.token_hex(32)
    )


def dead_letter_queue_url() -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{TRIGGER_QUEUE}-dlq"


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


class FunctionContext:
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
    if name not in _HANDLERS:
        raise UnknownFunctionException(function_name)  # as Lambda answers: 404
    handler = _load(_HANDLERS[name])
    event = json.loads(body) if body else {}
    try:
        result = handler(event, FunctionContext(name))
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
