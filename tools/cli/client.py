"""The HTTP API of a Stepcanvas deployment, as the CLI uses it.

Where to talk to, and with which key: `--url`/`STEPCANVAS_URL` (default the local system,
`http://127.0.0.1:8080`), `--key`/`STEPCANVAS_KEY`, else the URL and admin key `make run`
saved (local/saved_key.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from local import saved_key

DEFAULT_URL = "http://127.0.0.1:8080"
# A stream is quiet while a node runs; the server pings every 10 s.
STREAM_READ_SECONDS = 60.0
TIMEOUT_SECONDS = 30.0
_STREAM_TIMEOUT = httpx.Timeout(TIMEOUT_SECONDS, read=STREAM_READ_SECONDS)


@dataclass
class ApiError(Exception):
    """A refusal: the server's `{code, message, status}` and, for a workflow, `problems`."""

    status: int
    code: str
    message: str
    problems: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class Unreachable(Exception):
    """No answer from the deployment at all."""


class NoKey(Exception):
    """No API key was given anywhere."""


def resolve(url: str | None, key: str | None) -> tuple[str, str | None]:
    """The base URL and key to use: given (flag or environment), else the saved local ones.
    The saved key is used only for the saved (local) URL, never sent anywhere else."""
    saved = saved_key.load()
    base = (url or saved.get("url") or DEFAULT_URL).rstrip("/")
    if key:
        return base, key
    if saved.get("key") and base == (saved.get("url") or DEFAULT_URL).rstrip("/"):
        return base, saved["key"]
    return base, None


class Client:
    def __init__(self, base_url: str, key: str | None) -> None:
        self.base_url = base_url
        self._key = key
        self._http = httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        self._http.close()

    def _headers(self, bearer: str | None = None) -> dict[str, str]:
        if bearer is not None:
            return {"Authorization": f"Bearer {bearer}"}
        if self._key is None:
            raise NoKey
        return {"X-API-Key": self._key}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        bearer: str | None = None,
    ) -> Any:
        try:
            response = self._http.request(
                method,
                path,
                json=body,
                params=params,
                headers=self._headers(bearer),
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any = None, *, bearer: str | None = None) -> Any:
        return self.request("POST", path, body={} if body is None else body, bearer=bearer)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def events(self, path: str, body: Any, *, bearer: str | None = None) -> Iterator[Event]:
        """POST `body` and yield each server-sent event as it arrives."""
        request = self._http.build_request(
            "POST", path, json=body, headers=self._headers(bearer), timeout=_STREAM_TIMEOUT
        )
        yield from self._stream(request)

    def follow(self, path: str, last_event_id: str | None = None) -> Iterator[Event]:
        """GET a stream of server-sent events, after `last_event_id` when given; each event
        with its id, so a stream that ends early can be resumed."""
        headers = self._headers()
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        request = self._http.build_request("GET", path, headers=headers, timeout=_STREAM_TIMEOUT)
        yield from self._stream(request)

    def _stream(self, request: httpx.Request) -> Iterator[Event]:
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {exc}") from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise _error(response)
            yield from parse_events(response.iter_lines())
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base_url}: {exc}") from exc
        finally:
            response.close()


@dataclass(frozen=True)
class Event:
    """One server-sent event that carried a JSON object, and its id (None: it had none)."""

    data: dict[str, Any]
    id: str | None = None


def parse_events(lines: Iterator[str]) -> Iterator[Event]:
    """The events whose `data:` is a JSON object, each with its `id:`; comments and pings
    (no data) are skipped."""
    data: list[str] = []
    event_id: str | None = None
    for line in _closed(lines):
        if line == "":
            payload = _json("\n".join(data)) if data else None
            if isinstance(payload, dict):
                yield Event(payload, event_id)
            data, event_id = [], None
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line.startswith("id:"):
            event_id = line[3:].strip()


def _closed(lines: Iterator[str]) -> Iterator[str]:
    """The lines, then the blank line that ends an event a stream cut short."""
    yield from lines
    yield ""


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip() or response.reason_phrase
        return ApiError(response.status_code, "http_error", text[:500])
    problems = body.get("problems")
    return ApiError(
        status=response.status_code,
        code=str(body.get("code") or "error"),
        message=str(body.get("message") or response.reason_phrase),
        problems=[p for p in problems if isinstance(p, dict)] if isinstance(problems, list) else [],
    )
