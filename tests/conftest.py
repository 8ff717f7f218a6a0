"""Shared test fixtures.

Tests that need a container engine use the ``engine`` fixture (or ``fixture_image``). Without an
engine they skip on a developer machine and FAIL when CI=true: CI must never go green by skipping.
"""

from __future__ import annotations

import os

import pytest

from slimmer.engine import Engine
from slimmer.errors import EngineUnavailable


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        connected = Engine.connect(timeout=120)
    except EngineUnavailable as exc:
        if _in_ci():
            pytest.fail(f"CI=true and no container engine: {exc.one_line()}")
        pytest.skip(f"no container engine: {exc.one_line()}")
    yield connected
    connected.close()


@pytest.fixture(scope="session")
def fixture_image(engine: Engine):
    """Factory: fixture_image("nginx") builds (or finds cached) the named fixture image; its ref."""
    from fixtures import ensure_image

    def get(name: str) -> str:
        return ensure_image(name)

    return get
