"""HTTP tests: the real local server process (`python -m local`), spoken to over TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local_server import Server, running


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    # The service API tests' slow node calls a local server that the HTTP node's SSRF
    # guard would otherwise refuse.
    with running({"HTTP_ALLOW_LIST": "127.0.0.1"}) as started:
        yield started
