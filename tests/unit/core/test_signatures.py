"""Webhook signatures: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, 300 s window."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from functions.core.triggers import signatures

SECRET = "whsec_test"
BODY = b'{"a": 1}'
NOW = 1_800_000_000


def _header(secret: str = SECRET, body: bytes = BODY, at: int = NOW) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def test_a_correct_signature_gives_its_timestamp() -> None:
    assert signatures.verify(SECRET, _header(), BODY, now=NOW + 299) == NOW
    assert signatures.sign(SECRET, BODY, NOW) == _header()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=abc", "t=<unix seconds>"),
        ("t=abc,v1=00", "t=<unix seconds>"),
        (f"t={NOW}", "t=<unix seconds>"),
        (_header(secret="whsec_other"), "does not match"),
        (_header(body=b'{"a": 2}'), "does not match"),
        (_header(at=NOW - 301), "300 s"),
        (_header(at=NOW + 301), "300 s"),
    ],
)
def test_a_wrong_or_stale_signature_is_refused(header: str | None, reason: str) -> None:
    with pytest.raises(signatures.BadSignature, match=reason.replace("<", ".").replace(">", ".")):
        signatures.verify(SECRET, header, BODY, now=NOW)
