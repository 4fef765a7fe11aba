"""Uploads of the service API: checked, kept in S3 under the tenant, used by id in runs.

An upload belongs to one app (workflow) and one end user, as in Dify: only that user's
runs of that app may use it. A run gets its files as `sys.files` (and file inputs as the
same descriptors): Dify's File fields, with `url` the object's `s3://` address, which the
tenant's nodes may read.
"""

from __future__ import annotations

import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from functions.core import clock
from functions.core.data import blobs
from functions.core.data import files as file_store
from functions.core.errors import Refused
from functions.core.services import apps
from functions.core.settings import get_settings

# Dify's file kinds and their extensions; anything else is `unsupported_file_type`.
EXTENSIONS: dict[str, frozenset[str]] = {
    "image": frozenset({"jpg", "jpeg", "png", "gif", "webp", "svg"}),
    "document": frozenset(
        {"txt", "md", "markdown", "mdx", "pdf", "html", "htm", "xlsx", "xls", "docx"}
        | {"csv", "eml", "msg", "pptx", "ppt", "xml", "epub", "json"}
    ),
    "audio": frozenset({"mp3", "m4a", "wav", "webm", "amr", "mpga"}),
    "video": frozenset({"mp4", "mov", "mpeg"}),
}
_ACCEPTED = frozenset().union(*EXTENSIONS.values())


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    data: bytes


class FileRef(BaseModel):
    """How a run request names a file: a URL, or the id of an upload."""

    type: Literal["image", "document", "audio", "video", "custom"]
    transfer_method: Literal["remote_url", "local_file"]
    url: str | None = None
    upload_file_id: str | None = None

    @model_validator(mode="after")
    def _source(self) -> FileRef:
        if self.transfer_method == "remote_url" and not self.url:
            raise ValueError("url is required when transfer_method is remote_url")
        if self.transfer_method == "local_file" and not self.upload_file_id:
            raise ValueError("upload_file_id is required when transfer_method is local_file")
        return self


def upload(tenant_id: str, workflow_id: str, user: str, file: Upload) -> dict[str, Any]:
    name = PurePosixPath(file.filename.replace("\\", "/")).name
    extension = PurePosixPath(name).suffix.lower().lstrip(".")
    if extension not in _ACCEPTED:
        reason = (
            f"files of type '.{extension}' are not accepted"
            if extension
            else f"'{name}' has no extension, which tells the type of a file"
        )
        raise Refused("unsupported_file_type", reason)
    limit = get_settings().upload_max_bytes
    if len(file.data) > limit:
        raise Refused(
            "file_too_large",
            f"'{name}' is {len(file.data):,} bytes; files may be {limit:,} bytes at most",
        )
    file_id = str(uuid.uuid4())
    mime_type = _mime_type(name, file.content_type)
    key = f"tenants/{tenant_id}/uploads/{file_id}.{extension}"
    record = {
        "id": file_id,
        "tenantId": tenant_id,
        "workflowId": workflow_id,
        "user": user,
        "name": name,
        "size": len(file.data),
        "extension": extension,
        "mime_type": mime_type,
        "created_by": apps.end_user_id(tenant_id, workflow_id, user),
        "created_at": clock.iso(),
        "uri": blobs.put_bytes(key, file.data, mime_type),
    }
    file_store.put(record)
    return record


def _mime_type(name: str, declared: str | None) -> str:
    # Clients often send octet-stream for everything; the extension knows better then.
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def resolve(
    tenant_id: str, workflow_id: str, user: str, refs: list[FileRef], where: str
) -> list[dict[str, Any]]:
    """The run's descriptors of `refs`; an upload must be this user's, for this app."""
    return [
        describe(tenant_id, workflow_id, user, ref, f"{where}.{index}")
        for index, ref in enumerate(refs)
    ]


def describe(
    tenant_id: str, workflow_id: str, user: str, ref: FileRef, where: str
) -> dict[str, Any]:
    if ref.transfer_method == "remote_url":
        name = PurePosixPath(str(ref.url).split("?", 1)[0]).name
        return {
            "dify_model_identity": "__dify__file__",
            "id": None,
            "type": ref.type,
            "transfer_method": ref.transfer_method,
            "remote_url": ref.url,
            "related_id": None,
            "filename": name,
            "extension": PurePosixPath(name).suffix.lower() or None,
            "mime_type": mimetypes.guess_type(name)[0],
            "size": -1,
            "url": ref.url,
        }
    record = file_store.get(str(ref.upload_file_id))
    if (
        record is None
        or record["tenantId"] != tenant_id
        or record["workflowId"] != workflow_id
        or record["user"] != user
    ):
        raise Refused(
            "invalid_param",
            f"{where}.upload_file_id: no file '{ref.upload_file_id}' was uploaded "
            f"to this app by user '{user}'",
        )
    return {
        "dify_model_identity": "__dify__file__",
        "id": record["id"],
        "type": ref.type,
        "transfer_method": ref.transfer_method,
        "remote_url": None,
        "related_id": record["id"],
        "filename": record["name"],
        "extension": f".{record['extension']}",
        "mime_type": record["mime_type"],
        "size": record["size"],
        "url": record["uri"],
    }
