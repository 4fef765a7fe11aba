"""One HTTP exchange, sent only to addresses the guard vetted.

Built on the stdlib's http.client (what urllib uses underneath) because urllib resolves the
host itself when it connects; these connections take the vetted addresses instead, while
the Host header and the TLS certificate check still use the URL's host name. Redirects are
followed by hand so that every hop is vetted again.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from functions.core.errors import NodeError
from functions.nodes.http_request.guard import REQUEST_ERROR, AllowList, Target, vet

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = "HttpTimeout"
TOO_LARGE = "HttpResponseTooLarge"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# Credentials meant for one origin must not travel to another one a redirect names.
_ORIGIN_BOUND_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    charset: str | None
    content_type: str


def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
    allow: AllowList,
) -> Response:
    """Send the request; `timeout` bounds connecting and each read, in seconds."""
    for _ in range(MAX_REDIRECTS + 1):
        target = vet(url, allow)
        response, location = _exchange(target, method, headers, body, timeout)
        if response.status not in _REDIRECTS or location is None:
            return response
        next_url = urljoin(url, location)
        if _origin(next_url) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() not in _ORIGIN_BOUND_HEADERS}
        # What browsers do: 303, and 301/302 after anything but GET/HEAD, become a GET.
        if response.status == 303 or (
            response.status in {301, 302} and method not in {"GET", "HEAD"}
        ):
            method = "GET"
            body = None
            headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
        url = next_url
    raise NodeError(f"more than {MAX_REDIRECTS} redirects, last to '{url}'", REQUEST_ERROR)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _exchange(
    target: Target, method: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[Response, str | None]:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, timeout)
    else:
        connection = _PinnedHTTPConnection(target, timeout)
    try:
        connection.request(method, target.path, body=body, headers=headers)
        reply = connection.getresponse()
        location = reply.getheader("Location") if reply.status in _REDIRECTS else None
        data = b"" if location is not None else _read_capped(reply, target.host)
    except NodeError:
        raise
    except TimeoutError as exc:
        raise NodeError(
            f"request to '{target.host}' timed out after {timeout:g} s", TIMEOUT
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise NodeError(
            f"request to '{target.host}' failed: {exc or type(exc).__name__}", REQUEST_ERROR
        ) from exc
    finally:
        connection.close()
    merged: dict[str, str] = {}
    for name, value in reply.getheaders():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    response = Response(
        status=reply.status,
        headers=merged,
        body=data,
        charset=reply.msg.get_content_charset(),
        content_type=reply.msg.get_content_type(),
    )
    return response, location


def _read_capped(reply: http.client.HTTPResponse, host: str) -> bytes:
    declared = reply.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise NodeError(_too_large(host), TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    while chunk := reply.read(_CHUNK):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise NodeError(_too_large(host), TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(host: str) -> str:
    return f"response from '{host}' is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB"


def _connect(target: Target, timeout: float | None) -> socket.socket:
    """Like socket.create_connection over a DNS answer, but over the vetted addresses (a
    numeric address involves no lookup); the last address's failure is the one raised."""
    *others, last = target.addresses
    for address in others:
        try:
            return socket.create_connection((address, target.port), timeout)
        except OSError:
            continue  # the next address may be reachable (IPv6 without a route, say)
    return socket.create_connection((last, target.port), timeout)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        self.sock = _connect(self._target, self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=_tls_context())
        self._target = target

    def connect(self) -> None:
        sock = _connect(self._target, self.timeout)
        # SNI and certificate verification use the URL's host, not the address.
        self.sock = _tls_context().wrap_socket(sock, server_hostname=self._target.host)
