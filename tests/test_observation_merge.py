"""The union of several observation runs (--run): everything any run saw, counts added."""

from __future__ import annotations

from slimmer.observation import (
    ExecRecord,
    FileEvent,
    FileEventKind,
    Observation,
    Op,
    PathAccess,
    Pid1Signals,
    SocketUse,
    merge_observations,
)

OPEN, ACCESS, EXEC = FileEventKind.OPEN, FileEventKind.ACCESS, FileEventKind.EXEC


def test_union_of_runs() -> None:
    first = Observation(
        arch="x86_64",
        syscalls={"x86_64": {"openat": 3, "read": 1}},
        allowed_untraced={"read"},
        paths=[PathAccess("/etc/a", Op.OPEN_READ, 0, 2), PathAccess("/x", Op.STAT, 2, 1)],
        files=[FileEvent("/bin/tool", frozenset({OPEN, EXEC}))],
        execs=[ExecRecord(3, 1, "/bin/tool", ("tool", "one"))],
        sockets=[SocketUse("inet", "stream", 1)],
        bind_ports=[80],
        target_exit=0,
        fanotify_mode="filesystem",
        ptrace_mode="seccomp",
        counters={"tasks": 2},
        warnings=["w1"],
        pid1_signals=Pid1Signals(caught=2, ignored=0),
        orphans=0,
        zombies=1,
    )
    second = Observation(
        arch="x86_64",
        syscalls={"x86_64": {"openat": 1, "mmap": 4}, "i386": {"open": 1}},
        allowed_untraced={"write"},
        paths=[PathAccess("/etc/a", Op.OPEN_READ, 0, 1), PathAccess("/data/b", Op.OPEN_READ)],
        files=[
            FileEvent("/bin/tool", frozenset({ACCESS}), count=2),
            FileEvent("/d", frozenset(), is_dir=True),
        ],
        execs=[ExecRecord(3, 1, "/bin/tool", ("tool", "two"))],
        sockets=[SocketUse("inet", "stream", 2), SocketUse("unix", "dgram", 1)],
        bind_ports=[443, 80],
        target_exit=2,
        fanotify_mode="mount",
        counters={"tasks": 1, "execs": 1},
        warnings=["w1", "w2"],
        orphans=3,
    )
    merged = merge_observations([first, second])
    assert merged.syscalls == {"x86_64": {"openat": 4, "read": 1, "mmap": 4}, "i386": {"open": 1}}
    assert merged.allowed_untraced == {"read", "write"}
    assert merged.paths == [
        PathAccess("/data/b", Op.OPEN_READ, 0, 1),
        PathAccess("/etc/a", Op.OPEN_READ, 0, 3),
        PathAccess("/x", Op.STAT, 2, 1),
    ]
    assert merged.files == [
        FileEvent("/bin/tool", frozenset({OPEN, EXEC, ACCESS}), count=3),
        FileEvent("/d", frozenset(), is_dir=True),
    ]
    assert [e.argv[1] for e in merged.execs] == ["one", "two"]
    assert merged.sockets == [SocketUse("inet", "stream", 3), SocketUse("unix", "dgram", 1)]
    assert merged.bind_ports == [80, 443]
    assert merged.target_exit == 2  # a run that failed is not hidden by one that did not
    assert (merged.fanotify_mode, merged.ptrace_mode) == ("filesystem", "seccomp")
    assert merged.counters == {"tasks": 3, "execs": 1}
    assert merged.warnings == ["w1", "w2"]
    assert merged.pid1_signals == Pid1Signals(caught=2, ignored=0)
    assert (merged.orphans, merged.zombies) == (3, 1)
    assert first.paths[0].count == 2  # the runs themselves are untouched


def test_pid1_counts_stay_unknown_when_no_run_knows() -> None:
    merged = merge_observations([Observation(arch="aarch64"), Observation(arch="aarch64")])
    assert (merged.arch, merged.orphans, merged.zombies, merged.pid1_signals) == (
        "aarch64", None, None, None
    )
