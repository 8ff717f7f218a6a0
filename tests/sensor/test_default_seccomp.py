"""The target under the sensor gets no syscall a plain `docker run` denies: the static probe
(syscall_probe.c) prints, call by call, the result it got, and the output under the sensor (in a
profiling container with SYS_ADMIN and SYS_PTRACE, as slimmer makes it) must equal the output of
a plain container of the same image, line by line (errno by errno), for the x86_64 and the i386
ABI, as root and as a non-root user."""

from __future__ import annotations

import pytest

from slimmer.profiles.docker_default import profile_for_engine

from .harness import run_plain, run_sensor
from .images import probe_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROFILING = ("SYS_ADMIN", "SYS_PTRACE")
# what a plain container answers on any kernel these tests run on (the filter decides these)
DENIED = {
    "unshare-newuser": "errno 1", "unshare-none": "errno 1", "setns": "errno 1",
    "clone-newuser": "errno 1", "clone3": "errno 38", "bpf": "errno 1",
    "perf_event_open": "errno 1", "kcmp": "errno 1", "pidfd_getfd": "errno 1",
    "personality-bsd": "errno 1", "fanotify_init": "errno 1", "process_vm_writev": "errno 1",
}


def _results(output: bytes) -> dict[str, str]:
    lines = [line.split(" ", 1) for line in output.decode().splitlines()]
    return {name: result for name, result in lines}


@pytest.mark.parametrize("arch", ["x86_64", "x86"])
@pytest.mark.parametrize("user", ["0:0", "1000:1000"])
def test_same_errno_as_a_plain_run(engine, arch: str, user: str) -> None:
    image = probe_image(engine, arch)
    plain_code, plain = run_plain(engine, image, ["/probe"], user)
    observed = run_sensor(
        engine, image, ["/probe"], ("--user", user, "--drop-cap", "SYS_PTRACE", "--allow-hot"),
        cap_add=PROFILING,
    )
    assert plain_code == 0 and observed.exit_code == 0, observed.logs
    expected, got = _results(plain), _results(observed.stdout)
    assert len(expected) >= 30
    differences = {name: (expected[name], got.get(name)) for name in expected
                   if got.get(name) != expected[name]}
    assert not differences, f"probe: (plain docker run, under the sensor): {differences}"
    if engine.version()["Version"].startswith("20.10"):
        assert {name: expected[name] for name in DENIED} == DENIED
    assert observed.obs.default_seccomp == profile_for_engine(engine.version())


def test_the_widened_filter_is_what_the_sensor_takes_back(engine) -> None:
    """Without the sensor's filter (--default-seccomp none) the profiling container's engine
    filter lets the target unshare a user namespace: the test above can fail."""
    image = probe_image(engine, "x86_64")
    observed = run_sensor(
        engine, image, ["/probe"], ("--drop-cap", "SYS_PTRACE", "--default-seccomp", "none"),
        cap_add=PROFILING,
    )
    got = _results(observed.stdout)
    assert got["unshare-newuser"] == "ok" and got["clone3"] == "ok"
    assert observed.obs.default_seccomp.startswith("off: disabled")
    assert any("default seccomp profile" in w for w in observed.obs.warnings)
