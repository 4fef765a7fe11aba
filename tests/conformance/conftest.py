from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.corpus import DIFY
from tests.unit.core.deploy_env import configure


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not DIFY.is_dir():
        skip = pytest.mark.skip(reason=f"conformance corpus not found at {DIFY}")
        for item in items:
            if "conformance" in str(item.path):
                item.add_marker(skip)


@pytest.fixture
def deploy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from configure(monkeypatch)
