from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.core.deploy_env import configure


@pytest.fixture
def deploy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from configure(monkeypatch)
