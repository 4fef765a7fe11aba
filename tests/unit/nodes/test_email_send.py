from __future__ import annotations

import re
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions.core.data import runs
from functions.core.errors import NodeError
from functions.nodes.email_send import handler, node
from functions.nodes.email_send.entities import EmailSendConfig
from functions.nodes.email_send.node import run
from local import aws
from tests.unit.nodes.support import LAMBDA_CONTEXT, RUN_ID, configure, context, task_event


def _sent() -> list[Any]:
    messages: list[Any] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return messages


def test_sends_a_rendered_text_email_through_ses(local_aws: aws.LocalAws) -> None:
    config = EmailSendConfig(
        to="{{trigger.data.to}}",
        cc=["lead@example.com", "ops@example.com"],
        subject="巡检报告 {{trigger.data.building}}\nBcc: evil@example.com",
        body="Site {{fetch.result.site}}: {{fetch.result.devices}}",
    )

    result = run(config, context("email-send"))

    [message] = _sent()
    assert result.outputs == {"result": {"messageId": message.id}, "message_id": message.id}
    assert message.source == "noreply@stepcanvas.local"
    # `ops@` is already a To recipient, so it is not copied again.
    assert message.destinations == {
        "ToAddresses": ["ops@example.com"],
        "CcAddresses": ["lead@example.com"],
    }
    assert message.subject == "巡检报告 A栋 Bcc: evil@example.com"
    assert message.body == ('Site A: [{"id": "d1", "temp": 31}, {"id": "d2", "temp": 12}]')
    assert result.inputs is not None and result.inputs["to"] == ["ops@example.com"]


@pytest.mark.parametrize("html", [True, False])
def test_html_flag_chooses_the_body_part(local_aws: aws.LocalAws, html: bool) -> None:
    # moto keeps only the body's text, so the request itself is captured from botocore.
    sent: list[dict[str, Any]] = []
    events = node._ses("us-east-1").meta.events

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    events.register("before-parameter-build.ses.SendEmail", capture)
    try:
        config = EmailSendConfig(
            to="a@example.com", subject="s", body="<b>{{fetch.result.site}}</b>", html=html
        )
        run(config, context("email-send"))
    finally:
        events.unregister("before-parameter-build.ses.SendEmail", capture)

    part = {"Data": "<b>A</b>", "Charset": "UTF-8"}
    assert sent[0]["Message"]["Body"] == ({"Html": part} if html else {"Text": part})
    assert _sent()[0].body == "<b>A</b>"


@pytest.mark.parametrize(
    ("to", "listed"),
    [
        (
            "a@example.com, b@example.org; c@example.net",
            ["a@example.com", "b@example.org", "c@example.net"],
        ),
        (["a@example.com", "b@example.org, a@example.com"], ["a@example.com", "b@example.org"]),
        ("{{recipients.result}}", ["x@example.com", "y@example.com"]),
    ],
)
def test_recipients_may_be_a_list_or_separated_text(
    local_aws: aws.LocalAws, to: str | list[str], listed: list[str]
) -> None:
    ctx = context(
        "email-send", recipients={"outputs": {"result": ["x@example.com", "y@example.com"]}}
    )

    run(EmailSendConfig(to=to, subject="s"), ctx)

    assert _sent()[0].destinations["ToAddresses"] == listed


@pytest.mark.parametrize(
    ("to", "cc", "message"),
    [
        ("ops@example", [], "to: 'ops@example' is not a valid email address"),
        ("ops@example.com", ["not an address"], "cc: 'not an address' is not a valid"),
        ("Ops <ops@example.com>", [], "to: 'Ops <ops@example.com>' is not a valid"),
        ("{{trigger.data.missing}}", [], "no recipient: 'to' is empty"),
        ("{{fetch.result.devices}}", [], "to: expected an email address, got {'id': 'd1'"),
    ],
)
def test_bad_addresses_are_named(to: str, cc: list[str], message: str) -> None:
    with pytest.raises(NodeError, match=re.escape(message)) as caught:
        run(EmailSendConfig(to=to, cc=cc, subject="s"), context("email-send"))

    assert caught.value.error_type == "InvalidEmailAddress"


def test_too_many_recipients_are_refused() -> None:
    to = [f"user{i}@example.com" for i in range(51)]

    with pytest.raises(NodeError, match="more than 50 recipients"):
        run(EmailSendConfig(to=to, subject="s"), context("email-send"))


def test_ses_refusal_is_an_email_error(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, EMAIL_SENDER="unverified@stepcanvas.local")

    with pytest.raises(NodeError, match="SES refused the message: MessageRejected") as caught:
        run(EmailSendConfig(to="a@example.com", subject="s"), context("email-send"))

    assert caught.value.error_type == "EmailError"


def test_handler_sends_and_records_the_step(local_aws: aws.LocalAws) -> None:
    event = task_event(
        "email-send", {"to": "{{trigger.data.to}}", "subject": "Report", "body": "ok"}
    )

    state = handler.handler(event, LAMBDA_CONTEXT)

    [message] = _sent()
    assert state == {"outputs": {"result": {"messageId": message.id}, "message_id": message.id}}
    finished = runs.events(RUN_ID)[-1]
    assert finished.status == "succeeded"
    assert finished.outputs == state["outputs"]
