"""Property-based fuzzing of the sensor report reader (slimmer.sensor.report.read_report).

Any bytes give an Observation or a SensorError, never another exception; a report that parses
holds only known ABIs (the ABI becomes a file name on the host), counter names of the sensor's
form and numbers in range; memory stays linear in the input. Fixed seed (derandomize) and a
bounded number of examples: the same run in CI and on a laptop. ``SLIMMER_FUZZ_EXAMPLES`` raises
the number of examples for longer runs.
"""

from __future__ import annotations

import os
import tracemalloc

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from slimmer.errors import SensorError
from slimmer.observation import Observation
from slimmer.sensor.report import read_report
from slimmer.sensor.syscalls import ABIS, ARCH_ABIS

EXAMPLES = int(os.environ.get("SLIMMER_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = [b"x86_64", b"i386", b"x32", b"aarch64", b"arm", b"mips", b"../etc/passwd", b"",
         b"open_r", b"stat", b"exec", b"oax", b"d", b"\\-", b"\\xff", b"\\x2", b"-1", b"0",
         b"18446744073709551616", b"9" * 30, b"65536", b"ptrace_stops", b"Bad-Counter",
         b"docker-20.10.24", b"off:\\x20x"]
RECORDS = [b"arch", b"fanotify", b"ptrace", b"default-seccomp", b"target-exit", b"counter",
           b"warning", b"sys", b"allowed", b"path", b"file", b"exec", b"socket", b"bind-port",
           b"end", b"unknown-record"]
field = st.one_of(st.sampled_from(WORDS), st.integers(-(2**70), 2**70).map(lambda n: b"%d" % n),
                  st.binary(max_size=12))
record = st.builds(lambda name, fields: b" ".join([name, *fields]),
                   st.sampled_from(RECORDS), st.lists(field, max_size=7))
header = st.sampled_from([b"slimmer-sensor-report 2", b"slimmer-sensor-report 1",
                          b"slimmer-sensor-report", b"slimmer-sensor-report 2 x", b""])
base = [b"arch x86_64", b"fanotify filesystem", b"ptrace seccomp",
        b"default-seccomp docker-20.10.24"]
structured = st.builds(
    lambda head, keep, records, end: b"\n".join([head, *(base if keep else []), *records, end]),
    header, st.booleans(), st.lists(record, max_size=30), st.sampled_from([b"end", b"end\n", b""]),
)


def _check(data: bytes) -> None:
    try:
        obs = read_report(data)
    except SensorError as exc:
        assert exc.message and len(exc.message) < 2000
        return
    assert isinstance(obs, Observation)
    assert obs.arch in ARCH_ABIS and set(obs.syscalls) <= set(ARCH_ABIS[obs.arch]) <= ABIS
    assert all(0 <= port <= 65535 for port in obs.bind_ports)
    assert all(name.isidentifier() and name.islower() for name in obs.counters)
    assert all(count >= 0 for per_abi in obs.syscalls.values() for count in per_abi.values())


@FUZZ
@given(st.binary(max_size=4000))
def test_any_bytes(data: bytes) -> None:
    _check(data)


@FUZZ
@given(structured)
@example(b"slimmer-sensor-report 1\narch x86_64\nsys arm 1 1\nend\n")
@example(b"\n".join([b"slimmer-sensor-report 2", *base, b"sys arm 1 1", b"end"]))
@example(b"\n".join([b"slimmer-sensor-report 2", *base, b"counter ../../x 1", b"end"]))
def test_report_shaped_input(data: bytes) -> None:
    _check(data)


def test_memory_is_linear_in_the_input() -> None:
    """1 MB of hostile records (long argument lists, long escaped paths, many ports) parse
    within a fixed multiple of their size."""
    lines = [b"slimmer-sensor-report 2", *base]
    lines += [b"exec 1 1 /x 20000 " + b" ".join([b"\\xff"] * 20000)] * 2
    lines += [b"path open_r 0 1 /" + b"\\x41" * 100_000] * 2
    lines += [b"bind-port %d" % (n % 65536) for n in range(30_000)]
    data = b"\n".join([*lines, b"end"])
    tracemalloc.start()
    try:
        read_report(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * len(data), (peak, len(data))
