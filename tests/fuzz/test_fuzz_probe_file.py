"""Property-based fuzzing of the probe-file reader (slimmer.probes.plan.load_probe_file).

Any file content gives a list of ProbeSpec or a UsageError (the module's own error, a one-line
message that names the file), never another exception (deep nesting, numbers too long for int(),
bytes that are not UTF-8 included); memory stays linear in the input. Fixed seed (derandomize)
and a bounded number of examples; ``SLIMMER_FUZZ_EXAMPLES`` raises it for longer runs.
"""

from __future__ import annotations

import json
import os
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slimmer.errors import UsageError
from slimmer.probes.model import ProbeSpec
from slimmer.probes.plan import PROBE_FILE_KEYS, load_probe_file

EXAMPLES = int(os.environ.get("SLIMMER_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(allow_nan=True),
    st.text(max_size=20), st.sampled_from(["/", "/a b", "GET", "80", "80/tcp", "9" * 5000,
                                           "http", "https", "ftp", "", "/\x00"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)
entries = st.dictionaries(st.sampled_from([*sorted(PROBE_FILE_KEYS), "extra"]), values,
                          max_size=7)
documents = st.one_of(values, st.lists(st.one_of(entries, values), max_size=6))
texts = st.one_of(
    documents.map(lambda doc: json.dumps(doc).encode()),
    st.binary(max_size=2000),
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 200_000).map(lambda depth: b'[{"path": "/", "body": ' + b"[" * depth),
    st.integers(4000, 100_000).map(lambda n: b'[{"path": "/", "port": ' + b"9" * n + b"}]"),
    st.integers(4000, 100_000).map(lambda n: b'[{"path": "/", "port": "' + b"9" * n + b'"}]'),
)


def _load(data: bytes) -> list[ProbeSpec] | UsageError:
    with tempfile.TemporaryDirectory(prefix="slimmer-fuzz-") as tmp:
        path = Path(tmp) / "probes.json"
        path.write_bytes(data)
        try:
            return load_probe_file(path)
        except UsageError as exc:
            assert str(path) in exc.message and "\n" not in exc.message
            return exc


@FUZZ
@given(texts)
def test_any_content(data: bytes) -> None:
    result = _load(data)
    if not isinstance(result, UsageError):
        assert all(isinstance(spec, ProbeSpec) for spec in result)


@FUZZ
@given(st.lists(entries, max_size=6))
def test_probe_shaped_files(document: list) -> None:
    result = _load(json.dumps(document).encode())
    if not isinstance(result, UsageError):
        assert len(result) == len(document)
        assert all(spec.path.startswith("/") and spec.kind == "http" for spec in result)


def test_memory_is_linear_in_the_input() -> None:
    """2 MB of valid entries load within a fixed multiple of their size."""
    entry = {"path": "/x", "method": "POST", "headers": {"A": "b" * 100}, "body": ["y"] * 50}
    data = json.dumps([entry] * 2000).encode()
    tracemalloc.start()
    try:
        assert len(_load(data)) == 2000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30 * len(data), (peak, len(data))
