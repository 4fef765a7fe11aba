from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.core.expressions.templates import Selector, references
from functions.nodes.llm.entities import ModelTaskConfig

# Dify's parameter types; `bool` and `select` are its older names (`select` is a string
# that must be one of `options`).
PARAMETER_TYPES = frozenset(
    {
        "string",
        "number",
        "boolean",
        "array[string]",
        "array[number]",
        "array[object]",
        "array[boolean]",
    }
)
_OLD_NAMES = {"bool": "boolean", "select": "string"}
RESERVED_NAMES = frozenset({"__reason", "__is_success", "__usage"})


class Parameter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    type: str
    description: str = ""
    required: bool = False
    options: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_NAMES:
            raise ValueError(f"parameter name {value} is reserved")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        value = _OLD_NAMES.get(value, value)
        if value not in PARAMETER_TYPES:
            raise ValueError(f"type {value} is not allowed in a parameter extractor")
        return value

    @property
    def element_type(self) -> str | None:
        return self.type[len("array[") : -1] if self.type.startswith("array[") else None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"description": self.description}
        element = self.element_type
        if element is not None:
            schema["type"] = "array"
            schema["items"] = {"type": element}
        else:
            schema["type"] = self.type
        if self.options:
            schema["enum"] = self.options
        return schema


class ParameterExtractorConfig(ModelTaskConfig):
    """Dify's parameter extractor: a model reads `query` and fills in typed parameters."""

    query: list[str] = Field(min_length=1)
    parameters: list[Parameter] = Field(min_length=1)

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {p.name: p.json_schema() for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
        }

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        return [tuple(self.query), *references(self.instruction, dify=True)]
