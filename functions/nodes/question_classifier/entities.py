from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.core.expressions.templates import Selector, references
from functions.nodes.llm.entities import ModelTaskConfig


class ClassSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    name: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _text_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class QuestionClassifierConfig(ModelTaskConfig):
    """Dify's question classifier: a model puts the query in one class; the outgoing edge
    whose handle is that class's id is taken."""

    query_variable_selector: list[str] = Field(min_length=1)
    classes: list[ClassSpec] = Field(min_length=1)

    def handles(self) -> set[str] | None:
        return {c.id for c in self.classes}

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        return [
            tuple(self.query_variable_selector),
            *references(self.instruction, dify=True),
        ]
