from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.nodes.entities import NodeConfig

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
DifyBodyType = Literal["none", "json", "raw-text", "form-data", "x-www-form-urlencoded", "binary"]


class BodyItem(BaseModel):
    """One entry of Dify's body: a form field, or (key "") the whole JSON/raw text."""

    model_config = ConfigDict(extra="ignore")

    key: str = ""
    type: Literal["text", "file"] = "text"
    value: str = ""


class DifyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: DifyBodyType = "none"
    data: list[BodyItem] = Field(default_factory=list)

    @field_validator("data", mode="before")
    @classmethod
    def _text_is_one_item(cls, value: Any) -> Any:
        # DSL 0.1.x stores a JSON/raw body as one string.
        if isinstance(value, str):
            return [{"key": "", "type": "text", "value": value}]
        return value if value is not None else []


class ApiKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["basic", "bearer", "custom"] = "bearer"
    api_key: str = ""
    header: str = ""


class Authorization(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["no-auth", "api-key"] = "no-auth"
    config: ApiKey | None = None


class DifyTimeouts(BaseModel):
    """Seconds; 0 or absent means Dify's default. Older DSLs use the `max_*` names."""

    model_config = ConfigDict(extra="ignore")

    connect: float | None = None
    read: float | None = None
    write: float | None = None
    max_connect_timeout: float | None = None
    max_read_timeout: float | None = None
    max_write_timeout: float | None = None


class HttpRequestConfig(NodeConfig):
    """An HTTP request in one of two shapes:

    - v1: `headers` and `query` objects, `body` (an object or list is sent as JSON, a
      string as text), `timeout` in seconds;
    - Dify (recognised by `authorization` or text `headers`): `headers`/`params` as
      "key:value" lines, `body` {type, data}, `authorization` {type: no-auth|api-key,
      config {type: basic|bearer|custom, api_key, header}}, `timeout` {connect, read ...}.
    """

    method: str = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] | str = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    params: str = ""
    body: Any = None
    authorization: Authorization | None = None
    timeout: float | DifyTimeouts = 10

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # What is known at save: the URL itself, or its part before the first template.
        static = value.split("{{", 1)[0]
        if static == value or "://" in static:
            parts = urlsplit(static)
            if parts.scheme.lower() not in ("http", "https") or (
                static == value and not parts.hostname
            ):
                raise ValueError("url must be an http:// or https:// URL with a host")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        method = value.upper()
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(sorted(METHODS))}")
        return method

    @model_validator(mode="after")
    def _dialect(self) -> Self:
        if self.is_dify:
            # Validated here so a bad body is refused at save time, not at run time.
            self.body = DifyBody.model_validate(self.body or {})
        elif isinstance(self.timeout, float | int) and not 0 < self.timeout <= 300:
            raise ValueError("timeout must be more than 0 and at most 300 seconds")
        return self

    @property
    def is_dify(self) -> bool:
        return isinstance(self.headers, str) or self.authorization is not None
