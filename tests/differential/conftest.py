"""The differential test's own local server (the HTTP tests' one is theirs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local_server import Server, running


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running() as started:
        yield started
