"""S3: large node outputs (claim checks) and uploads. The only module that talks to S3."""

from __future__ import annotations

import json
from typing import Any

from functions.core.aws_clients import client
from functions.core.settings import get_settings

SCHEME = "s3://"
# Everything of one run (claim-check outputs, big trigger data, big events) is under its
# own prefix, so retention deletes a run's objects with one listing (delete_prefix).
RUN_PREFIX = "runs/"


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


def run_prefix(run_id: str) -> str:
    """The prefix of every object of run `run_id`."""
    return f"{RUN_PREFIX}{run_id}/"


def delete_prefix(prefix: str) -> int:
    """Delete every object under `prefix` (1,000 per request); how many there were."""
    bucket = get_settings().bucket_name
    deleted = 0
    for page in _client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if not objects:
            continue
        answer = _client().delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise RuntimeError(
                f"{len(answer['Errors'])} objects under s3://{bucket}/{prefix} were not "
                f"deleted, first {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )
        deleted += len(objects)
    return deleted
