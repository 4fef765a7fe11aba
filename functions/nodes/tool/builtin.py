"""The built-in tools: each takes the node's resolved input and returns the tool's result."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError

from functions.core import clock
from functions.core.data import blobs
from functions.core.errors import NodeError
from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext
from functions.nodes.tool import jsonpath

INPUT_ERROR = "ToolInputError"
TOOL_ERROR = "ToolError"
# A tenant's objects in the data bucket; s3_read reads nothing outside its own tenant's.
TENANT_PREFIX = "tenants/{tenant_id}/"

Tool = Callable[[dict[str, Any], NodeContext], Any]


def _text(args: dict[str, Any], key: str) -> str | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NodeError(f"input.{key} must be a string", INPUT_ERROR)
    return value


def _required_text(args: dict[str, Any], key: str) -> str:
    value = _text(args, key)
    if value is None:
        raise NodeError(f"input.{key} is required", INPUT_ERROR)
    return value


def current_time(args: dict[str, Any], _ctx: NodeContext) -> str:
    """Now, in `timezone` (an IANA name, default UTC): ISO 8601, or `format` (strftime)."""
    zone_name = _text(args, "timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise NodeError(f"unknown timezone '{zone_name}'", INPUT_ERROR) from exc
    moment = clock.now().astimezone(zone)
    pattern = _text(args, "format")
    return moment.strftime(pattern) if pattern else moment.isoformat(timespec="seconds")


def json_path(args: dict[str, Any], _ctx: NodeContext) -> Any:
    """The value at `path` inside `data`; `data` may also be JSON text (an HTTP body)."""
    path = _required_text(args, "path")
    data = args.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise NodeError("input.data is text that is not JSON", INPUT_ERROR) from exc
    return jsonpath.find(data, path)


def json_parse(args: dict[str, Any], _ctx: NodeContext) -> Any:
    """JSON text parsed (Dify's json_process/json_parse): `content` (or `json_string`),
    and optionally only the value at `json_filter`, a JSONPath as json_path takes."""
    text = _text(args, "content") or _required_text(args, "json_string")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NodeError(f"input is not valid JSON: {exc}", INPUT_ERROR) from exc
    path = _text(args, "json_filter")
    return jsonpath.find(data, path) if path else data


def s3_read(args: dict[str, Any], ctx: NodeContext) -> Any:
    """An object of the data bucket, under the calling tenant's prefix: parsed JSON when the
    key ends in `.json`, else UTF-8 text.

    Only the data bucket, and only the tenant's own objects: the bucket also holds other
    tenants' uploads and run payloads, and a workflow must not read them (nor any other
    bucket the function's role could reach). `key` is relative to `tenants/<tenant>/`; a
    key that already starts with that prefix (an S3 trigger's key) is used as it is.
    """
    bucket_name = get_settings().bucket_name
    bucket = _text(args, "bucket") or bucket_name
    if bucket != bucket_name:
        raise NodeError(
            f"s3_read reads only the data bucket '{bucket_name}', not '{bucket}'", INPUT_ERROR
        )
    key = _required_text(args, "key")
    prefix = TENANT_PREFIX.format(tenant_id=ctx.tenant_id)
    full_key = key if key.startswith(prefix) else prefix + key.lstrip("/")
    try:
        data = blobs.read(f"{blobs.SCHEME}{bucket}/{full_key}")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        if code in {"NoSuchKey", "404"}:
            raise NodeError(f"s3_read: no object '{key}'", TOOL_ERROR) from exc
        raise NodeError(f"s3_read: cannot read '{key}': {code}", TOOL_ERROR) from exc
    if full_key.endswith(".json"):
        try:
            return json.loads(data)
        except ValueError as exc:
            raise NodeError(f"s3_read: '{key}' is not valid JSON", TOOL_ERROR) from exc
    return data.decode("utf-8", "replace")


def echo(args: dict[str, Any], _ctx: NodeContext) -> Any:
    """The input, unchanged: wires values through and tests workflows."""
    return args


BUILTIN_TOOLS: dict[str, Tool] = {
    "current_time": current_time,
    "json_path": json_path,
    "s3_read": s3_read,
    "echo": echo,
    "json_parse": json_parse,
}
