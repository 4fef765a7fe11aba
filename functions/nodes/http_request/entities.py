from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from functions.nodes.entities import NodeConfig


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    # An object or list is sent as JSON, a string as text.
    body: Any = None
    timeout: float = Field(default=10, gt=0, le=300)
