"""Missing prerequisites: a test skips on a developer machine and FAILS when CI=true.

CI must never go green by skipping; `tests/conftest.py` also turns any skip into a failure there.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> NoReturn:
    """Fail in CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)
