from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.core.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the environment it set (monkeypatch restores it afterwards)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
