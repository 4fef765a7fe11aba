from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.nodes.dify_entities import ValueType
from functions.nodes.entities import NodeConfig


class InputType(StrEnum):
    TEXT_INPUT = "text-input"
    PARAGRAPH = "paragraph"
    SELECT = "select"
    NUMBER = "number"
    CHECKBOX = "checkbox"
    JSON_OBJECT = "json_object"
    FILE = "file"
    FILE_LIST = "file-list"


class InputVariable(BaseModel):
    """One field of Dify's start form."""

    model_config = ConfigDict(extra="ignore")

    variable: str = Field(min_length=1)
    label: str = ""
    type: InputType = InputType.TEXT_INPUT
    required: bool = False
    # Characters for text, files for a file list; 0/None: no limit.
    max_length: int | None = None
    options: list[str] = Field(default_factory=list)
    default: Any = None


class TriggerSource(StrEnum):
    """The Dify trigger node a start stands for (None: Dify's start node, a form)."""

    SCHEDULE = "schedule"  # trigger-schedule
    WEBHOOK = "webhook"  # trigger-webhook


# Dify's types of a webhook's declared field.
WebhookFieldType = ValueType | Literal["file"]


class WebhookField(BaseModel):
    """A header, query parameter or body field a trigger-webhook declares."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    type: WebhookFieldType = "string"
    required: bool = False


class StartConfig(NodeConfig):
    """Dify's start node: the run's input form. The inputs come from the trigger's data.

    A Dify trigger node imports as a start with a `source`: a schedule outputs only the
    system variables (as Dify's trigger-schedule node); a webhook outputs its declared
    headers, query parameters and body fields, typed, plus the whole request (webhook.py).
    """

    variables: list[InputVariable] = Field(default_factory=list)
    source: TriggerSource | None = None
    # trigger-webhook
    content_type: str = "application/json"
    headers: list[WebhookField] = Field(default_factory=list)
    params: list[WebhookField] = Field(default_factory=list)
    body: list[WebhookField] = Field(default_factory=list)

    @property
    def is_dify(self) -> bool:
        return True
