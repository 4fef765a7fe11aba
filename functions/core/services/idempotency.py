"""Idempotency-Key: a request retried with the same key gets the first request's outcome.

Every route that starts runs (v1, Dify, canvas, Cortex) and POST /v1/events takes the
header. Powertools idempotency keeps the first outcome (a run id, or an event's answer)
under the tenant, the route and the key, with a hash of the body: the same key with
another body answers 409, as does a retry while the first request is still being
answered. Records expire after a day (DynamoDB TTL). Without the header nothing is
recorded. The dispatcher uses the same store for its deliveries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from functions.core.aws_clients import client
from functions.core.data.schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from functions.core.errors import Conflict, Refused
from functions.core.settings import get_settings

HEADER = "Idempotency-Key"
# Long enough for any client's retries, short enough not to keep keys around.
EXPIRES_SECONDS = 24 * 3600
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
CONFIG = IdempotencyConfig(
    event_key_jmespath="key",
    payload_validation_jmespath="body",
    expires_after_seconds=EXPIRES_SECONDS,
)
_layers: dict[str, tuple[Any, DynamoDBPersistenceLayer]] = {}

Outcome = dict[str, Any]


def persistence(name: str) -> DynamoDBPersistenceLayer:
    """The idempotency records of `name` in the table, bound to this process's client
    (made lazily: the table is a setting, and importing must not touch AWS)."""
    dynamodb = client("dynamodb")
    cached = _layers.get(name)
    if cached is None or cached[0] is not dynamodb:
        layer = DynamoDBPersistenceLayer(
            table_name=get_settings().table_name,
            key_attr=PARTITION_KEY,
            sort_key_attr=SORT_KEY,
            static_pk_value=f"IDEMPOTENCY#{name}",
            expiry_attr=TTL_ATTRIBUTE,
            boto3_client=dynamodb,
        )
        cached = _layers[name] = (dynamodb, layer)
    return cached[1]


def once(
    tenant_id: str, route: str, key: str | None, body: bytes, produce: Callable[[], Outcome]
) -> Outcome:
    """What `produce` answers, or, for a key seen before with this body, what it answered
    then (JSON: a run id, an event's answer)."""
    if key is None:
        return produce()
    if not _VALID_KEY.match(key):
        raise Refused("invalid_param", f"{HEADER}: 1 to 255 visible ASCII characters")

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools: untyped
        data_keyword_argument="request", persistence_store=persistence("requests"), config=CONFIG
    )
    def first(request: dict[str, str]) -> Outcome:
        return produce()

    request = {"key": f"{tenant_id}#{route}#{key}", "body": hashlib.sha256(body).hexdigest()}
    try:
        outcome: Outcome = first(request=request)
    except IdempotencyValidationError as exc:
        raise Conflict(f"{HEADER} '{key}' was used with another body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(f"a request with {HEADER} '{key}' is still being answered") from exc
    return outcome
