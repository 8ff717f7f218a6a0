"""Hypothesis profiles for the fuzz tests.

``ci`` (the default): a fixed seed (derandomized) and a small number of examples per test, so
the whole fuzz suite takes about a minute. ``long`` (``make fuzz``, or SLIMMER_FUZZ=long):
random seeds, many more examples, failures saved in .hypothesis/ and replayed first.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, settings

from slimmer.errors import SlimmerError

T = TypeVar("T")
MEMORY_LIMIT_MB = 64  # far above what a fuzz input of a few kB may legitimately cost

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("SLIMMER_FUZZ_EXAMPLES", "400")),
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.register_profile(
    "long",
    derandomize=False,
    deadline=None,
    max_examples=int(os.environ.get("SLIMMER_FUZZ_EXAMPLES", "5000")),
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.load_profile(os.environ.get("SLIMMER_FUZZ", "ci"))


def own_error_or_result(call: Callable[[], T]) -> T | SlimmerError:
    """``call()``'s result, or the SlimmerError (ImageFormatError included) it raised; any other
    exception fails the test. Python memory allocated meanwhile must stay bounded."""
    tracemalloc.start()
    try:
        try:
            return call()
        except SlimmerError as exc:
            line = exc.one_line()
            assert exc.message and line.isprintable(), line
            line.encode("utf-8")  # printable on any UTF-8 terminal
            return exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_LIMIT_MB << 20, f"peak {peak >> 20} MB"
