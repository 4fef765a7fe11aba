"""S3: large node outputs (claim checks) and uploads. The only module that talks to S3."""

from __future__ import annotations

import json
from typing import Any

from functions.core.aws_clients import client
from functions.core.settings import get_settings

SCHEME = "s3://"


def _client() -> Any:
    return client("s3")


def put_json(key: str, value: Any) -> str:
    bucket = get_settings().bucket_name
    _client().put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(value, ensure_ascii=False).encode(),
        ContentType="application/json",
    )
    return f"{SCHEME}{bucket}/{key}"


def put_bytes(key: str, data: bytes, content_type: str) -> str:
    bucket = get_settings().bucket_name
    _client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return f"{SCHEME}{bucket}/{key}"


def get_json(uri: str) -> Any:
    return json.loads(read(uri))


def read(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix(SCHEME).partition("/")
    body: bytes = _client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def head(bucket: str, key: str) -> dict[str, Any]:
    """An object's metadata (ContentType, ContentLength, ETag)."""
    answer: dict[str, Any] = _client().head_object(Bucket=bucket, Key=key)
    return answer
