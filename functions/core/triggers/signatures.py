"""Webhook signatures: `X-Stepcanvas-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The signed text is `"<t>.<raw body>"`, keyed by the webhook's secret. A secret is never
stored: it is derived from one deployment key (Secrets Manager) and the webhook's
rotation nonce, which is all the workflow item keeps, so a read of the table reveals no
secret, and deleting a workflow leaves no secret behind.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from functions.core.aws_clients import client
from functions.core.settings import get_settings

HEADER = "x-stepcanvas-signature"
TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label that marks secrets, not one


class BadSignature(ValueError):
    """Why a request's signature is refused (said to the caller as a plain 401)."""


def new_nonce() -> str:
    return secrets.token_hex(16)


def secret_for(workflow_id: str, nonce: str) -> str:
    digest = hmac.new(_key(), f"{workflow_id}:{nonce}".encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender computes (what the README's example does in shell)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes, now: float | None = None) -> int:
    """The signed timestamp, or BadSignature: missing, malformed, wrong, or out of window."""
    if not header:
        raise BadSignature(f"missing {HEADER} header")
    parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not given:
        raise BadSignature("the signature must read t=<unix seconds>,v1=<hex>")
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise BadSignature(f"the timestamp is more than {TOLERANCE_SECONDS} s away")
    expected = sign(secret, body, int(timestamp)).partition(",v1=")[2]
    if not hmac.compare_digest(expected, given):
        raise BadSignature("the signature does not match")
    return int(timestamp)


@lru_cache(maxsize=1)
def _key() -> bytes:
    arn = get_settings().webhook_key_secret_arn
    value: str = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return value.encode()


def forget_key() -> None:
    """Tests and local/ switch between moto sessions, each with its own key."""
    _key.cache_clear()
