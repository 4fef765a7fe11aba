"""Server-side request forgery guard: a workflow author must not reach the function's own
network (loopback, the VPC, the instance metadata service) through the HTTP node.

A URL is vetted by resolving its host once and checking every address; the request then
connects to those vetted addresses only, so a DNS answer that changes between the check
and the connection (rebinding) cannot redirect it. HTTP_ALLOW_LIST names hosts, IPs or
CIDRs that may be reached although they are private (tests, intranet services).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from functions.core.errors import NodeError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

BLOCKED = "HttpRequestBlocked"
REQUEST_ERROR = "HttpRequestError"

# Names cloud providers give their metadata services, and reserved internal-only suffixes.
# The address check catches these too wherever they resolve; the names are refused even
# where a resolver or proxy would make them look public.
_BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})
_BLOCKED_SUFFIXES = (".localhost", ".internal")

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (`addresses`) and what to ask for (`path`)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    path: str


class AllowList:
    def __init__(self, entries: Iterable[str]) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IpNetwork] = []
        for entry in entries:
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry.lower().rstrip("."))

    def allows_host(self, host: str) -> bool:
        return host in self._hosts

    def allows_address(self, address: IpAddress) -> bool:
        return any(address in network for network in self._networks)


def forbidden(address: IpAddress) -> bool:
    """Whether an address is not on the public internet (or is multicast/reserved)."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 6to4 addresses carry an IPv4 address that is what gets reached.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return forbidden(embedded)
    return not address.is_global or address.is_multicast or address.is_reserved


def vet(url: str, allow: AllowList) -> Target:
    """Check `url` and resolve its host; refuse anything the node must not reach."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise NodeError(
            f"only http and https URLs are allowed, got '{parts.scheme or url}'", BLOCKED
        )
    if parts.username is not None or parts.password is not None:
        raise NodeError("credentials in the URL are not supported; send an Authorization header")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise NodeError(f"URL '{url}' has no host")
    port = _port(parts, scheme)
    host_allowed = allow.allows_host(host)
    if not host_allowed and (host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES)):
        raise NodeError(f"refusing to request internal host '{host}'", BLOCKED)
    addresses = _resolve(host, port)
    if not host_allowed:
        for address in addresses:
            if forbidden(address) and not allow.allows_address(address):
                raise NodeError(
                    f"refusing to request '{host}': it resolves to {address}, which is not a "
                    "public address (add it to HTTP_ALLOW_LIST if it is meant to be reached)",
                    BLOCKED,
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, tuple(str(a) for a in addresses), path)


def _port(parts: SplitResult, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise NodeError(f"URL has an invalid port: {exc}") from exc
    return port if port is not None else DEFAULT_PORTS[scheme]


def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NodeError(f"cannot resolve host '{host}': {exc}", REQUEST_ERROR) from exc
    addresses: list[IpAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses
