"""HTTP_ALLOW_LIST: host names, IP addresses and CIDRs, each on any port or on one port
(`host:port`); an entry that is none of these is refused, naming it, never ignored."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from functions.core.errors import NodeError
from functions.nodes.http_request.guard import AllowList, AllowListError, vet


def _resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            raise socket.gaierror(f"no test answer for {host}")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


@pytest.mark.parametrize(
    ("entry", "host", "allowed", "refused"),
    [
        ("intranet.example.com", "intranet.example.com", [80, 443, 8443], []),
        ("Intranet.Example.COM.", "intranet.example.com", [80, 8443], []),
        ("intranet.example.com:8443", "intranet.example.com", [8443], [80, 443, 8444]),
        ("localhost:8080", "localhost", [8080], [80, 8081]),
        ("bücher.example:443", "bücher.example", [443], [80]),
    ],
)
def test_a_host_entry_allows_its_port_or_every_port(
    entry: str, host: str, allowed: list[int], refused: list[int]
) -> None:
    allow = AllowList([entry])

    assert [p for p in allowed + refused if allow.allows_host(host, p)] == allowed
    assert not allow.allows_host("other.example.com", allowed[0])


@pytest.mark.parametrize(
    ("entry", "address", "allowed", "refused"),
    [
        ("10.0.0.5", "10.0.0.5", [80, 8080], []),
        ("10.0.0.5:8080", "10.0.0.5", [8080], [80, 443]),
        ("10.0.0.0/8", "10.1.2.3", [80, 9000], []),
        ("10.0.0.0/8:9000", "10.1.2.3", [9000], [80]),
        ("10.0.0.1/8", "10.200.0.1", [80], []),  # host bits are ignored, as before
        ("::1", "::1", [80, 8443], []),
        ("fd00::1:80", "fd00::1:80", [80, 443], []),  # an IPv6 address: no port without []
        ("[::1]", "::1", [80, 8443], []),
        ("[::1]:8443", "::1", [8443], [80]),
        ("[fd00::/8]:8443", "fd12::1", [8443], [80]),
    ],
)
def test_an_address_entry_allows_its_port_or_every_port(
    entry: str, address: str, allowed: list[int], refused: list[int]
) -> None:
    allow = AllowList([entry])
    ip = ipaddress.ip_address(address)

    assert [p for p in allowed + refused if allow.allows_address(ip, p)] == allowed
    assert not allow.allows_address(ipaddress.ip_address("192.168.1.1"), allowed[0])


@pytest.mark.parametrize(
    ("entry", "detail"),
    [
        ("intranet:http", "'http' is not a port"),
        ("intranet:", "'' is not a port"),
        ("intranet:0", "'0' is not a port"),
        ("intranet:65536", "'65536' is not a port"),
        ("intranet: 80", "' 80' is not a port"),
        ("[::1]:", "'' is not a port"),
        ("[::1]:x", "'x' is not a port"),
        ("http://intranet.example.com", "is a URL; name its host instead"),
        ("*.example.com", "is not a host name"),
        ("intranet example", "is not a host name"),
        ("10.0.0.0/33", "is not a host name"),
        ("10.0.0.300", "is not a host name"),
        ("-intranet", "is not a host name"),
        ("a..b", "is not a host name"),
        ("host:80:90", "is not a host name"),
        ("[::1", "is not a host name"),
        ("[::1]8080", "is not a host name"),
        ("[10.0.0.5]:80", "is not a host name"),
        ("", "is not a host name"),
    ],
)
def test_a_malformed_entry_is_refused_naming_it(entry: str, detail: str) -> None:
    with pytest.raises(AllowListError) as caught:
        AllowList(["127.0.0.1", entry])

    message = str(caught.value)
    assert message.startswith(f"HTTP_ALLOW_LIST entry '{entry}'")
    assert detail in message
    assert "host name, an IP address or a CIDR, optionally with ':port'" in message


def test_a_host_allowed_on_one_port_is_refused_on_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, {"intranet.example.com": "10.1.2.3"})
    allow = AllowList(["intranet.example.com:8443"])

    target = vet("https://intranet.example.com:8443/x?y=1", allow)
    assert (target.host, target.port, target.addresses) == (
        "intranet.example.com",
        8443,
        ("10.1.2.3",),
    )
    for url in ("https://intranet.example.com/", "http://intranet.example.com:8444/"):
        with pytest.raises(NodeError, match=r"it resolves to 10\.1\.2\.3") as caught:
            vet(url, allow)
        assert caught.value.error_type == "HttpRequestBlocked"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/",
        "http://10.0.0.6:8080/",
        "http://127.0.0.1:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:10.0.0.5]:80/",
    ],
)
def test_private_addresses_outside_the_allowed_ports_stay_refused(url: str) -> None:
    allow = AllowList(["10.0.0.5:8080", "[fd00::1]:8080"])

    with pytest.raises(NodeError, match="refusing to request") as caught:
        vet(url, allow)
    assert caught.value.error_type == "HttpRequestBlocked"
    assert vet("http://10.0.0.5:8080/", allow).addresses == ("10.0.0.5",)


def test_internal_names_are_refused_unless_allowed_on_the_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, {"metadata.google.internal": "169.254.169.254"})
    allow = AllowList(["metadata.google.internal:8080"])

    assert vet("http://metadata.google.internal:8080/", allow).port == 8080
    with pytest.raises(NodeError, match=r"internal host 'metadata\.google\.internal'"):
        vet("http://metadata.google.internal/computeMetadata/v1/", allow)
