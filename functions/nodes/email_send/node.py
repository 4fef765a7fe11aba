"""Send one email through Amazon SES, from the deployment's verified sender address."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws_clients
from functions.core.errors import NodeError
from functions.core.settings import get_settings
from functions.nodes.email_send.entities import EmailSendConfig
from functions.nodes.entities import NodeContext, NodeResult

INVALID_ADDRESS = "InvalidEmailAddress"
EMAIL_ERROR = "EmailError"
# SES refuses a message with more recipients than this.
MAX_RECIPIENTS = 50

# Plain addresses only (no display names): local part, @, a domain with a dot.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_SEPARATORS = re.compile(r"[,;]")


def run(config: EmailSendConfig, ctx: NodeContext) -> NodeResult:
    to = _addresses(ctx.resolve(config.to), "to")
    cc = [address for address in _addresses(ctx.resolve(config.cc), "cc") if address not in to]
    if not to:
        raise NodeError("no recipient: 'to' is empty", INVALID_ADDRESS)
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise NodeError(f"more than {MAX_RECIPIENTS} recipients", INVALID_ADDRESS)
    # A subject is one header line; a templated value must not break it.
    subject = " ".join(ctx.render(config.subject).splitlines()).strip()
    body = ctx.render(config.body)
    destination: dict[str, list[str]] = {"ToAddresses": to}
    if cc:
        destination["CcAddresses"] = cc
    settings = get_settings()
    try:
        response = _ses(settings.region).send_email(
            Source=settings.email_sender,
            Destination=destination,
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Html" if config.html else "Text": {"Data": body, "Charset": "UTF-8"}},
            },
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise NodeError(
            f"SES refused the message: {error.get('Code', 'Error')}: {error.get('Message', '')}",
            EMAIL_ERROR,
        ) from exc
    except BotoCoreError as exc:
        raise NodeError(f"cannot reach SES: {exc}", EMAIL_ERROR) from exc
    message_id: str = response["MessageId"]
    return NodeResult(
        outputs={"result": {"messageId": message_id}, "message_id": message_id},
        inputs={"to": to, "cc": cc, "subject": subject, "body": body, "html": config.html},
    )


def _addresses(value: Any, field: str) -> list[str]:
    """Recipients from a resolved `to`/`cc`: a string (comma or semicolon separated) or a
    list of them, as a template like `{{trigger.emails}}` may yield either."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            raise NodeError(f"{field}: expected an email address, got {item!r}", INVALID_ADDRESS)
        for part in _SEPARATORS.split(item):
            address = part.strip()
            if not address:
                continue
            if not _ADDRESS.match(address):
                raise NodeError(
                    f"{field}: '{address}' is not a valid email address", INVALID_ADDRESS
                )
            if address not in found:
                found.append(address)
    return found


def _ses(region: str) -> Any:
    return aws_clients.client("ses", region)
