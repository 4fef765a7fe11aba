from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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


class StartConfig(NodeConfig):
    """Dify's start node: the run's input form. The inputs come from the trigger's data."""

    variables: list[InputVariable] = Field(default_factory=list)

    @property
    def is_dify(self) -> bool:
        return True
