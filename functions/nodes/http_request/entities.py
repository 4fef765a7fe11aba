from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.nodes.entities import NodeConfig

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
DifyBodyType = Literal["none", "json", "raw-text", "form-data", "x-www-form-urlencoded", "binary"]

# RFC 9110 §5.1/§5.6.2: a field name is a token, one or more `tchar`.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HEADER_NAME_CHARS = "letters, digits and !#$%&'*+-.^_`|~"
# Any template, in either dialect (`{{a.b}}`, `{{#a.b#}}`) or not a reference at all
# (`{{url}}`): what it becomes is only known when the node runs.
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_SCHEMES = ("http://", "https://")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# What urlsplit ignores: leading C0 controls and spaces, and tabs and line breaks anywhere.
_LEADING = "".join(chr(c) for c in range(0x21))
_IGNORED = str.maketrans("", "", "\t\r\n")
# A host name's labels (Unicode letters allowed: IDNA encodes them when the node connects).
_LABEL = re.compile(r"(?!-)[\w-]{1,63}")
# What may be written of an authority before a template completes it (`https://api.{{…}}`).
_PARTIAL_AUTHORITY = re.compile(r"[\w.:\[\]%-]*")
URL_RULE = "url must be an http:// or https:// URL with a host"


def is_header_name(name: str) -> bool:
    return _TOKEN.fullmatch(name) is not None


def bad_header_name(name: str) -> str:
    return (
        f"header name '{name}' is not an HTTP field name (RFC 9110 token: {HEADER_NAME_CHARS}; "
        "no spaces or other characters)"
    )


def url_problem(url: str) -> str | None:
    """What makes `url` a URL the node can never fetch, judged by its literal parts: the
    text before the first template must begin an http(s) URL, and a host written out in
    full must be a host. None when nothing known is wrong."""
    first = _TEMPLATE.search(url)
    templated = first is not None
    # The node strips the rendered URL; text before a template is the rendered URL's start.
    head = (url[: first.start()] if first else url.rstrip(_LEADING)).translate(_IGNORED)
    head = head.lstrip(_LEADING)
    lowered = head.lower()
    scheme = next((s for s in _SCHEMES if lowered.startswith(s)), None)
    if scheme is None:
        if templated and any(s.startswith(lowered) for s in _SCHEMES):
            return None  # the template writes the scheme, or its end: `{{url}}`, `http{{s}}://`
        found = _SCHEME.match(head)
        return URL_RULE + (f"; scheme '{found[1]}' is not allowed" if found else "")
    rest = head[len(scheme) :]
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    authority = rest[: min(ends)] if ends else rest
    if "@" in authority:
        return f"{URL_RULE}; credentials in the URL are not supported, send an Authorization header"
    if templated and not ends:
        # A template completes the authority: only what is written of it can be judged.
        if _PARTIAL_AUTHORITY.fullmatch(authority) is None:
            return f"{URL_RULE}; '{authority}' cannot begin a host"
        return None
    return _authority_problem(scheme + authority)


def _authority_problem(origin: str) -> str | None:
    try:
        parts = urlsplit(origin)
        host, _port = parts.hostname or "", parts.port
    except ValueError as exc:  # a bad port or IPv6 literal
        return f"{URL_RULE}; {exc}"
    if not host:
        return f"{URL_RULE}; it has no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        if not all(_LABEL.fullmatch(label) for label in labels):
            return f"{URL_RULE}; '{host}' is not a host name"
    return None


def _header_names(text: str) -> list[str]:
    """The header names of Dify's "key:value" lines that are known before rendering: the
    whole name when a line's colon comes before any template, else what is written of it
    before the first template (the template may complete the name, or write the colon)."""
    names = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        first = _TEMPLATE.search(stripped)
        head = stripped[: first.start()] if first else stripped
        name, colon, _ = head.partition(":")
        if colon or first is None or name.strip():
            names.append(name.strip())
    return names


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

    @field_validator("header")
    @classmethod
    def _token(cls, value: str) -> str:
        if value and not is_header_name(value):
            raise ValueError(bad_header_name(value))
        return value


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
        # What is known at save; a templated URL is vetted again when the node runs.
        problem = url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("headers")
    @classmethod
    def _header_tokens(cls, value: dict[str, str] | str) -> dict[str, str] | str:
        # v1 header names are never rendered; Dify's lines are, so a templated name is
        # checked again when the node runs.
        names = list(value) if isinstance(value, dict) else _header_names(value)
        bad = [name for name in names if not is_header_name(name)]
        if bad:
            raise ValueError("; ".join(bad_header_name(name) for name in bad))
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
