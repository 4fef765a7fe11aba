from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.expressions.templates import Selector, references
from functions.nodes.entities import NodeConfig


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FilterCondition(_Part):
    # For an array of objects (files): the attribute compared (name, size, type ...).
    key: str = ""
    comparison_operator: str = "contains"
    # A template (string/number arrays), a list (`in` on file type), or a boolean.
    value: str | list[str] | bool = ""


class FilterBy(_Part):
    enabled: bool = False
    conditions: list[FilterCondition] = Field(default_factory=list)


class OrderBy(_Part):
    enabled: bool = False
    key: str = ""
    value: Literal["asc", "desc"] = "asc"


class Limit(_Part):
    enabled: bool = False
    size: int = -1


class ExtractBy(_Part):
    enabled: bool = False
    # 1-based; a template, so it may come from a variable.
    serial: str = "1"


class ListOperatorConfig(NodeConfig):
    """Dify's list operator: filter, extract one element, order, then keep the first N."""

    variable: list[str] = Field(min_length=1)
    filter_by: FilterBy = Field(default_factory=FilterBy)
    order_by: OrderBy = Field(default_factory=OrderBy)
    limit: Limit = Field(default_factory=Limit)
    extract_by: ExtractBy = Field(default_factory=ExtractBy)

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        found: list[Selector] = [tuple(self.variable)]
        texts: list[Any] = [c.value for c in self.filter_by.conditions]
        texts.append(self.extract_by.serial)
        for text in texts:
            if isinstance(text, str):
                found.extend(references(text, dify=True))
        return found
