"""Shared fixtures: a fresh moto world per test, with the real functions wired in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local import aws


@pytest.fixture
def local_aws() -> Iterator[aws.LocalAws]:
    world = aws.start()
    yield world
    world.stop()
