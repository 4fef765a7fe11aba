"""Server-side request forgery guard: a workflow author must not reach the function's own
network (loopback, the VPC, the instance metadata service) through the HTTP node.

A URL is vetted by resolving its host once and checking every address; the request then
connects to those vetted addresses only, so a DNS answer that changes between the check
and the connection (rebinding) cannot redirect it. HTTP_ALLOW_LIST names hosts, IPs or
CIDRs that may be reached although they are private (tests, intranet services), each on
any port or, written `host:port`, on that port only.
"""

from __future__ import annotations

import ipaddress
import re
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


class AllowListError(ValueError):
    """An HTTP_ALLOW_LIST entry that is none of the forms AllowList takes."""


# One label of a host name; the last one (a top-level domain) is not all digits.
_LABEL = re.compile(r"(?!-)[\w-]{1,63}")
_PORT = re.compile(r"[0-9]{1,5}")
_FORMS = (
    "a host name, an IP address or a CIDR, optionally with ':port' "
    "(intranet.example.com, 10.0.0.5:8080, 10.0.0.0/8, [fd00::1]:8443)"
)


class AllowList:
    """What HTTP_ALLOW_LIST lets the node reach although it is private or internal.

    An entry is a host name (`intranet.example.com`: that name, whatever it resolves to),
    an IP address or a CIDR (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`: the addresses a host
    resolves to), each on any port, or on one port when written with it
    (`intranet.example.com:8443`, `10.0.0.5:8080`, `10.0.0.0/8:8080`, an IPv6 address or
    network in brackets: `[fd00::1]:8443`). Anything else raises AllowListError, naming the
    entry: a mistyped entry must not leave the guard quietly stricter, or looser, than meant.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self._hosts: list[tuple[str, int | None]] = []
        self._networks: list[tuple[IpNetwork, int | None]] = []
        for entry in entries:
            allowed, port = _entry(entry)
            if isinstance(allowed, str):
                self._hosts.append((allowed, port))
            else:
                self._networks.append((allowed, port))

    def allows_host(self, host: str, port: int) -> bool:
        return any(name == host and allowed in (None, port) for name, allowed in self._hosts)

    def allows_address(self, address: IpAddress, port: int) -> bool:
        return any(
            address in network and allowed in (None, port) for network, allowed in self._networks
        )


def _entry(entry: str) -> tuple[str | IpNetwork, int | None]:
    """One allow-list entry: a host name (lower case) or a network, and its port if any."""
    text = entry.strip()
    if "://" in text:
        raise AllowListError(
            f"HTTP_ALLOW_LIST entry '{entry}' is a URL; name its host instead: {_FORMS}"
        )
    if text.startswith("["):  # an IPv6 address or network, in brackets to take a port
        address, bracket, rest = text[1:].partition("]")
        network = _network(address) if bracket else None
        if network is None or network.version != 6 or (rest and not rest.startswith(":")):
            raise _malformed(entry)
        return network, _port(rest[1:], entry) if rest else None
    network = _network(text)
    if network is not None:
        # IPv6 too (`fd00::1:80` is an address): with a port, it is written in brackets.
        return network, None
    host, colon, port_text = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    port = _port(port_text, entry) if colon else None
    network = _network(host)
    if network is not None:
        return network, port
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise _malformed(entry)
    return name, port


def _network(text: str) -> IpNetwork | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _port(text: str, entry: str) -> int:
    if _PORT.fullmatch(text) is None or not 0 < int(text) <= 65535:
        raise AllowListError(
            f"HTTP_ALLOW_LIST entry '{entry}': '{text}' is not a port (1 to 65535); an entry "
            f"is {_FORMS}"
        )
    return int(text)


def _malformed(entry: str) -> AllowListError:
    return AllowListError(f"HTTP_ALLOW_LIST entry '{entry}' is not {_FORMS}")


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
    port = _url_port(parts, scheme)
    host_allowed = allow.allows_host(host, port)
    if not host_allowed and (host in _BLOCKED_NAMES or host.endswith(_BLOCKED_SUFFIXES)):
        raise NodeError(f"refusing to request internal host '{host}'", BLOCKED)
    addresses = _resolve(host, port)
    if not host_allowed:
        for address in addresses:
            if forbidden(address) and not allow.allows_address(address, port):
                raise NodeError(
                    f"refusing to request '{host}': it resolves to {address}, which is not a "
                    "public address (add it to HTTP_ALLOW_LIST if it is meant to be reached)",
                    BLOCKED,
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, host, port, tuple(str(a) for a in addresses), path)


def _url_port(parts: SplitResult, scheme: str) -> int:
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
