"""The report reader on crafted reports (format: sensors/REPORT.md)."""

from __future__ import annotations

import os

import pytest

from slimmer.errors import SensorError
from slimmer.observation import ExecRecord, FileEventKind, Op, PathAccess, SocketUse
from slimmer.sensor.report import read_report, unescape

GOOD = b"""slimmer-sensor-report 2
arch x86_64
fanotify filesystem
ptrace seccomp
default-seccomp docker-20.10.24
target-exit 143
counter ptrace_stops 12
counter fan_overflows 0
warning seccomp\\x20filter\\x20unavailable
sys x86_64 257 3
sys x86_64 0 5
sys i386 5 1
sys x32 0 2
sys x86_64 999 1
allowed x86_64 0
allowed x86_64 1
path open_r 0 3 /etc/passwd
path stat 2 1 /etc/gt\\x20missing
path exec 0 1 /usr/bin/\\xff\\xfeodd
path rename_to 0 1 /tmp/a
file oax 2 /usr/bin/sh
file od 1 /etc
exec 7 1 /bin/sh 3 sh -c echo\\x20hi
exec 9 7 /bin/true 1 \\-
socket 2 1 4
socket 10 2 1
socket 44 3 1
bind-port 8080
bind-port 8080
future-record whatever 1 2 3
end
"""


def test_reads_every_record():
    obs = read_report(GOOD)
    assert obs.arch == "x86_64"
    assert obs.format_version == 2
    assert (obs.fanotify_mode, obs.ptrace_mode) == ("filesystem", "seccomp")
    assert obs.default_seccomp == "docker-20.10.24"
    assert obs.target_exit == 143
    assert obs.counters == {"ptrace_stops": 12, "fan_overflows": 0}
    assert obs.syscalls["x86_64"] == {"openat": 3, "read": 5}
    assert obs.allowed_untraced == {"read", "write"}
    assert obs.syscalls["i386"] == {"open": 1}
    assert obs.syscalls["x32"] == {"read": 2}
    assert obs.warnings[0] == "seccomp filter unavailable"
    assert any("999" in w for w in obs.warnings)  # unknown numbers are reported, not guessed
    assert PathAccess("/etc/passwd", Op.OPEN_READ, 0, 3) in obs.paths
    assert PathAccess("/etc/gt missing", Op.STAT, 2, 1) in obs.paths
    assert PathAccess("/tmp/a", Op.RENAME_TO, 0, 1) in obs.paths
    odd = next(a for a in obs.paths if a.op is Op.EXEC)
    assert os.fsencode(odd.path) == b"/usr/bin/\xff\xfeodd"
    sh, etc = sorted(obs.files, key=lambda f: f.path, reverse=True)
    assert sh.kinds == {FileEventKind.OPEN, FileEventKind.ACCESS, FileEventKind.EXEC}
    assert (sh.count, sh.is_dir, etc.is_dir) == (2, False, True)
    assert obs.execs == [
        ExecRecord(7, 1, "/bin/sh", ("sh", "-c", "echo hi")),
        ExecRecord(9, 7, "/bin/true", ("",)),
    ]
    assert obs.sockets == [
        SocketUse("inet", "stream", 4), SocketUse("inet6", "dgram", 1), SocketUse("xdp", "raw", 1)
    ]
    assert obs.bind_ports == [8080]
    assert [a.path for a in obs.paths] == sorted(a.path for a in obs.paths)


def test_negative_exit_is_unknown():
    obs = read_report(GOOD.replace(b"target-exit 143", b"target-exit -1"))
    assert obs.target_exit is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a slimmer sensor report"),
        (b"hello\nend\n", "not a slimmer sensor report"),
        (GOOD.replace(b"report 2", b"report 1"), "version 1 is not supported"),
        (GOOD.replace(b"report 2", b"report x"), "no valid version"),
        (GOOD.replace(b"report 2", b"report " + b"9" * 5000), "no valid version"),
        (GOOD[: GOOD.index(b"socket 2")], "truncated"),
        (GOOD.replace(b"path open_r 0 3", b"path open_x 0 3"), "line 17 is malformed"),
        (GOOD.replace(b"exec 7 1 /bin/sh 3", b"exec 7 1 /bin/sh 4"), "malformed"),
        (GOOD.replace(b"arch x86_64", b"arch mips"), "unknown architecture"),
        # fields that become keys or paths on the host are checked against the known sets
        (GOOD.replace(b"sys x86_64 257 3", b"sys ../../../../etc/passwd 257 3"), "unknown ABI"),
        (GOOD.replace(b"sys x86_64 257 3", b"sys aarch64 56 3"), "names ABI 'aarch64'"),
        (GOOD.replace(b"allowed x86_64 0", b"allowed x86_64/../i386 0"), "unknown ABI"),
        (GOOD.replace(b"counter ptrace_stops", b"counter ../x"), "bad counter name"),
        (GOOD.replace(b"bind-port 8080\nbind", b"bind-port 70000\nbind"), "out of range"),
        (GOOD.replace(b"path stat 2 1", b"path stat 99999 1"), "out of range"),
        (GOOD.replace(b"sys x86_64 0 5", b"sys x86_64 0 -5"), "out of range"),
        (GOOD.replace(b"socket 2 1 4", b"socket 2 1 " + b"1" * 5000), "not a number"),
        (GOOD.replace(b"default-seccomp docker-20.10.24\n", b""), "no default-seccomp"),
    ],
)
def test_rejects_bad_reports(data, message):
    with pytest.raises(SensorError) as caught:
        read_report(data)
    assert message in caught.value.message
    assert "make sensor" in caught.value.hint


def test_unescape():
    assert unescape(b"a\\x20b\\x5cc") == "a b\\c"
    assert unescape(b"\\-") == ""
    assert unescape(b"\\xc3\\xbc") == "ü"


def test_counters_that_mean_losses_become_warnings() -> None:
    report = GOOD.replace(b"counter fan_overflows 0", b"counter fan_overflows 3")
    assert b"counter fan_overflows 3" in report
    obs = read_report(report)
    assert any("overflowed 3 times" in w for w in obs.warnings)
    assert not any("overflowed" in w for w in read_report(GOOD).warnings)


def test_the_default_seccomp_record() -> None:
    obs = read_report(GOOD.replace(b"default-seccomp docker-20.10.24",
                                   b"default-seccomp off:\\x20disabled"))
    assert obs.default_seccomp == "off: disabled"
    assert any("plain `docker run` denies" in w for w in obs.warnings)
    assert not any("docker run" in w for w in read_report(GOOD).warnings)


def test_many_distinct_ports_stay_linear() -> None:
    lines = b"".join(b"bind-port %d\n" % (port % 65536) for port in range(200_000))
    obs = read_report(GOOD.replace(b"bind-port 8080\n", lines))
    assert len(obs.bind_ports) == 65536 and obs.bind_ports == sorted(obs.bind_ports)
