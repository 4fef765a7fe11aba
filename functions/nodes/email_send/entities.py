from __future__ import annotations

from pydantic import Field

from functions.nodes.entities import NodeConfig


class EmailSendConfig(NodeConfig):
    to: str | list[str]
    subject: str = Field(min_length=1)
    body: str = ""
    cc: list[str] = Field(default_factory=list)
    html: bool = False
