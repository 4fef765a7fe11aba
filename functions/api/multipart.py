"""`multipart/form-data` bodies (uploads), parsed with the standard library's MIME parser.

API Gateway hands a binary media type to the function base64-encoded; the route decodes
it (context.raw_body) and this splits it into its parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

from pydantic import BaseModel, Field


class UploadForm(BaseModel):
    """The form POST /v1/files/upload reads (routes/service.py), as the OpenAPI document
    states it: the file as the part `file`, and the end user it belongs to."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
    user: str | None = None


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def parse(content_type: str, body: bytes) -> list[Part]:
    """The named parts of the form; nothing when the body is not multipart/form-data."""
    if not content_type.lower().startswith("multipart/form-data"):
        return []
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return []
    parts: list[Part] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        parts.append(
            Part(
                name=name,
                filename=_filename(part),
                content_type=part.get_content_type() if part.get("content-type") else None,
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts


def _filename(part: MIMEPart) -> str | None:
    filename = part.get_filename()
    if filename is None:
        return None
    # Browsers and httpx send UTF-8 names as raw bytes, which the parser keeps as
    # surrogate escapes; turn them back into the name the client meant.
    try:
        return filename.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return filename
