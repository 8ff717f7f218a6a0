"""The sensor in real profiling containers (needs a Docker engine and `make sensor`)."""

from __future__ import annotations

import os
import time

import pytest

from slimmer.observation import FileEventKind, Observation, Op

from .harness import SensorContainer, run_plain, run_sensor

pytestmark = [pytest.mark.docker, pytest.mark.slow]

GT = "/usr/local/bin/groundtruth"

# (path, op, errno) the ground-truth program must produce, as root, with / as working directory
EXPECTED = {
    ("/etc/debian_version", Op.OPEN_READ, 0),
    ("/tmp/gt", Op.MKDIR, 0),
    ("/tmp/gt/w.txt", Op.OPEN_CREATE, 0),
    ("/tmp/gt/w.txt", Op.OPEN_WRITE, 0),
    ("/tmp/gt/c.txt", Op.OPEN_CREATE, 0),
    ("/etc/passwd", Op.STAT, 0),
    ("/nonexistent/gt-missing", Op.STAT, 2),
    ("/tmp/gt/link", Op.SYMLINK, 0),
    ("/tmp/gt/link", Op.LSTAT, 0),
    ("/bin/sh", Op.ACCESS, 0),
    ("/gt-missing", Op.ACCESS, 2),
    ("/tmp/gt/link", Op.READLINK, 0),
    ("/tmp/gt", Op.CHDIR, 0),
    ("/tmp/gt/w.txt", Op.OPEN_READ, 0),  # "w.txt" after chdir
    ("/tmp/gt/../gt/c.txt", Op.STAT, 0),  # "../gt/./c.txt": ".." kept, "." dropped
    ("/etc", Op.OPEN_READ, 0),
    ("/etc/gt-none", Op.LSTAT, 2),  # newfstatat(dirfd, AT_SYMLINK_NOFOLLOW)
    ("/etc/group", Op.STAT, 0),  # statx(dirfd)
    ("/etc/hostname-gt-missing", Op.ACCESS, 2),  # faccessat(dirfd)
    ("/etc/gt-nolink", Op.READLINK, 2),  # readlinkat(dirfd)
    ("/tmp/gt/c.txt", Op.RENAME_FROM, 0),
    ("/tmp/gt/d.txt", Op.RENAME_TO, 0),
    ("/tmp/gt/w.txt", Op.LINK_FROM, 0),
    ("/tmp/gt/hard", Op.LINK_TO, 0),
    ("/tmp/gt/d.txt", Op.UNLINK, 0),
    ("/tmp/gt/sub", Op.MKDIR, 0),  # relative
    ("/tmp/gt/sub", Op.RMDIR, 0),
    ("/tmp/gt/fifo", Op.MKNOD, 0),
    ("/tmp/gt/w.txt", Op.TRUNCATE, 0),
    ("/tmp/gt/w.txt", Op.CHMOD, 0),
    ("/tmp/gt/w.txt", Op.CHOWN, 0),
    ("/tmp/gt/w.txt", Op.UTIME, 0),
    ("/", Op.STAT, 0),  # statfs
    ("/tmp/gt", Op.INOTIFY, 0),
    ("/gt-thread-99", Op.STAT, 2),  # from a thread
    ("/tmp/gt/sock", Op.BIND, 0),  # relative AF_UNIX path
    (GT, Op.EXEC, 0),
    ("/gt-child-missing", Op.STAT, 2),  # in the exec'd child
    ("/bin/true", Op.EXEC, 0),  # vfork + exec
    ("/gt-no-such-exe", Op.EXEC, 2),
}
EXPECTED_SYSCALLS = {
    "open",
    "openat",
    "creat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "readlink",
    "readlinkat",
    "chdir",
    "mkdirat",
    "renameat",
    "linkat",
    "unlinkat",
    "mknodat",
    "symlinkat",
    "truncate",
    "fchmodat",
    "fchownat",
    "utimensat",
    "getxattr",
    "statfs",
    "inotify_add_watch",
    "socket",
    "bind",
    "personality",
    "execve",
    "vfork",
    "wait4",
    "clone",
}


def triples(obs: Observation) -> set[tuple[str, Op, int]]:
    return {(a.path, a.op, a.errno) for a in obs.paths}


def count(obs: Observation, path: str, op: Op, errno: int = 0) -> int:
    return sum(a.count for a in obs.paths if (a.path, a.op, a.errno) == (path, op, errno))


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ((), "seccomp"),
        (("--allow-hot",), "seccomp"),
        (("--trace-mode", "syscall"), "syscall"),
        (("--no-syscall-info",), "seccomp"),
        (("--trace-mode", "syscall", "--no-syscall-info"), "syscall"),
    ],
    ids=["seccomp", "allow-hot", "syscall", "registers", "syscall-registers"],
)
def test_ground_truth(engine, sensorlab, options, mode):
    run = run_sensor(engine, sensorlab, [GT], options)
    obs = run.obs
    assert run.exit_code == 0, run.logs
    assert b"groundtruth ok 7" in run.logs
    assert obs.target_exit == 0
    assert obs.arch == "x86_64"
    assert obs.ptrace_mode == mode
    assert obs.fanotify_mode == "filesystem"
    assert EXPECTED - triples(obs) == set()
    assert any(a.path == "/tmp/gt/w.txt" and a.op is Op.XATTR_READ for a in obs.paths)
    assert count(obs, "/etc/debian_version", Op.OPEN_READ) == 2  # absolute and dirfd-relative
    assert count(obs, "/etc/passwd", Op.STAT) == 2
    assert count(obs, GT, Op.EXEC) == 2
    assert EXPECTED_SYSCALLS - set(obs.syscalls["x86_64"]) - obs.allowed_untraced == set()
    # the sensor's own child (setgroups, setresuid, capset, prctl) is not counted
    assert not {"setgroups", "setresuid", "capset", "prctl"} & set(obs.syscalls["x86_64"])
    assert [(e.path, e.argv) for e in obs.execs] == [
        (GT, (GT,)),
        (GT, ("groundtruth", "child")),
        ("/bin/true", ("true",)),
    ]
    assert obs.execs[1].ppid == obs.execs[0].pid == obs.execs[2].ppid
    assert {(s.family, s.type) for s in obs.sockets} == {("unix", "stream"), ("inet", "stream")}
    assert obs.bind_ports == [8765]
    by_path = {f.path: f for f in obs.files}
    assert FileEventKind.EXEC in by_path[GT].kinds
    assert FileEventKind.OPEN in by_path["/etc/debian_version"].kinds
    assert by_path["/etc"].is_dir
    assert not any(f.path.startswith("/.slimmer") for f in obs.files)
    assert obs.counters["unresolved_paths"] == 0
    assert obs.counters["fan_overflows"] == 0


def test_pipeline_every_process(engine, sensorlab):
    run = run_sensor(engine, sensorlab, ["sh", "-c", "cat /etc/debian_version | wc -c"])
    assert run.exit_code == 0
    shell = run.obs.execs[0]
    children = {e.path.rsplit("/", 1)[-1]: e for e in run.obs.execs[1:]}
    assert set(children) == {"cat", "wc"}
    assert all(e.ppid == shell.pid for e in children.values())
    assert ("/etc/debian_version", Op.OPEN_READ, 0) in triples(run.obs)
    assert run.obs.counters["tasks"] >= 3


def test_every_thread(engine, sensorlab):
    run = run_sensor(engine, sensorlab, [GT, "threads", "16"])
    assert run.exit_code == 0
    assert {(f"/gt-thread-{i}", Op.STAT, 2) for i in range(16)} <= triples(run.obs)
    assert run.obs.counters["tasks"] >= 17


STATUS = ["sh", "-c", "grep -E '^(Uid|Gid|Groups|Cap)' /proc/self/status; echo HOME=$HOME"]


@pytest.mark.parametrize(
    "user", ["sensoruser", "1500", "1234", "sensoruser:sensorgrpb", "1500:2001", "", "0:2000"]
)
def test_user_groups_caps_as_docker_run(engine, sensorlab, user):
    code, plain = run_plain(engine, sensorlab, STATUS, user)
    assert code == 0
    run = run_sensor(engine, sensorlab, STATUS, ("--user", user))
    assert run.exit_code == 0
    sensed = engine_stdout_lines(run.logs)
    assert sensed == plain.decode().splitlines()
    assert any(line.startswith("CapBnd:") for line in sensed)


def engine_stdout_lines(logs: bytes) -> list[str]:
    return [line for line in logs.decode().splitlines() if not line.startswith("sensor:")]


def test_unknown_user_fails_like_the_engine(engine, sensorlab):
    run = run_sensor(engine, sensorlab, ["true"], ("--user", "nosuchuser"))
    assert run.exit_code == 127
    assert any("unable to find user nosuchuser" in w for w in run.obs.warnings)


@pytest.mark.parametrize("user", ["4294967295", "2147483648", "0:4294967295"])
def test_ids_above_runc_s_limit_are_refused_like_the_engine(engine, sensorlab, user):
    """setresuid(-1, -1, -1) changes nothing: without the check USER 4294967295 ran the target
    as root. The engine refuses these ids; the sensor refuses them too."""
    run = run_sensor(engine, sensorlab, ["id", "-u"], ("--user", user))
    assert run.exit_code == 127, run.logs
    assert b"uids and gids must be in range 0-2147483647" in run.logs
    assert not run.obs.execs


def test_docker_exec_opens_are_seen(engine, sensorlab):
    argv = ["sh", "-c", "echo ready; while :; do sleep 0.2; done"]
    with SensorContainer(engine, sensorlab, argv) as box:
        box.wait_for_output(b"ready")
        code, output = engine.exec_run(box.container, ["cat", "/etc/issue.net"])
        assert code == 0 and output
        engine.kill(box.container, "SIGTERM")
        run = box.finish()
    files = {f.path: f for f in run.obs.files}
    assert FileEventKind.OPEN in files["/etc/issue.net"].kinds
    assert not any(a.path == "/etc/issue.net" for a in run.obs.paths)  # not a traced process
    assert run.exit_code == 143 and run.obs.target_exit == 143


def test_sigterm_forwarded_and_status_kept(engine, sensorlab):
    argv = [
        "sh",
        "-c",
        "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.2; done",
    ]
    with SensorContainer(engine, sensorlab, argv) as box:
        box.wait_for_output(b"ready")
        engine.kill(box.container, "SIGTERM")
        run = box.finish()
    assert b"got-term" in run.logs
    assert run.exit_code == 42
    assert run.obs.target_exit == 42
    assert run.obs.counters["signals_forwarded"] == 1
    assert run.obs.counters["killed_after_grace"] == 0
    assert run.obs.execs[0].argv[0] == "sh"


def test_grace_then_kill(engine, sensorlab):
    argv = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.2; done"]
    with SensorContainer(engine, sensorlab, argv, ("--grace", "1")) as box:
        box.wait_for_output(b"ready")
        engine.kill(box.container, "SIGTERM")
        run = box.finish()
    assert run.exit_code == 137  # 128 + SIGKILL
    assert run.obs.target_exit == 137
    assert run.obs.counters["killed_after_grace"] == 1


def test_stop_signal_only_arms_the_grace(engine, sensorlab):
    argv = ["sh", "-c", "trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.2; done"]
    with SensorContainer(engine, sensorlab, argv, ("--grace", "1", "--stop-signal", "QUIT")) as box:
        box.wait_for_output(b"ready")
        engine.kill(box.container, "SIGHUP")
        box.wait_for_output(b"got-hup")
        time.sleep(1.5)
        assert engine.state(box.container)["Running"]  # a reload signal is no stop
        engine.kill(box.container, "SIGQUIT")
        run = box.finish()
    assert run.obs.counters["signals_forwarded"] == 2


def test_orphans_are_reaped(engine, sensorlab):
    run = run_sensor(engine, sensorlab, [GT, "forktree"])
    assert b"zombies 0" in run.logs
    assert run.exit_code == 0
    assert ("/gt-orphan-missing", Op.STAT, 2) in triples(run.obs)  # traced after reparenting


def test_without_sys_admin_ptrace_alone(engine, sensorlab):
    run = run_sensor(engine, sensorlab, [GT], cap_add=())
    assert run.exit_code == 0
    assert run.obs.fanotify_mode.startswith("off: ")
    assert run.obs.ptrace_mode == "syscall"  # no seccomp filter without SYS_ADMIN
    assert EXPECTED - triples(run.obs) == set()
    assert run.obs.files == []
    # nor the default-profile one (the engine's filter is the target's own then): said so
    assert run.obs.default_seccomp.startswith("off: seccomp filter unavailable")
    assert any("default seccomp profile" in w for w in run.obs.warnings)


def test_without_ptrace_fanotify_alone(engine, sensorlab):
    run = run_sensor(engine, sensorlab, [GT], ("--no-ptrace",))
    assert run.exit_code == 0
    assert run.obs.ptrace_mode.startswith("off: ")
    assert run.obs.syscalls == {}
    assert GT in {f.path for f in run.obs.files}


def test_non_root_target_paths_resolved(engine, sensorlab):
    argv = ["sh", "-c", "cd /etc && cat debian_version >/dev/null && ls -d ../usr/./bin"]
    run = run_sensor(engine, sensorlab, argv, ("--user", "sensoruser"))
    assert run.exit_code == 0
    assert ("/etc/debian_version", Op.OPEN_READ, 0) in triples(run.obs)
    assert ("/etc/../usr/bin", Op.LSTAT, 0) in triples(run.obs) or (
        "/etc/../usr/bin",
        Op.STAT,
        0,
    ) in triples(run.obs)
    assert run.obs.counters["unresolved_paths"] == 0
    assert run.obs.counters["path_read_failed"] == 0
    assert run.obs.execs[0].path == "/usr/bin/sh"  # looked up along PATH as runc does
    assert run.obs.execs[0].argv == ("sh", "-c", argv[2])


def test_sys_ptrace_added_and_dropped(engine, sensorlab):
    code, plain = run_plain(engine, sensorlab, STATUS, "sensoruser")
    assert code == 0
    options = ("--user", "sensoruser", "--drop-cap", "SYS_PTRACE")
    run = run_sensor(engine, sensorlab, STATUS, options, cap_add=("SYS_ADMIN", "SYS_PTRACE"))
    assert engine_stdout_lines(run.logs) == plain.decode().splitlines()
    assert run.obs.counters["vm_readv_fallback"] == 0  # process_vm_readv allowed with the cap


def test_uid_change_at_run_time(engine, sensorlab):
    """A process that switches uid itself is not dumpable: unreadable without CAP_SYS_PTRACE
    (then a warning says so), fully traced with it."""
    run = run_sensor(engine, sensorlab, [GT, "dropuid"])
    assert run.exit_code == 0
    assert run.obs.counters["path_read_failed"] > 0
    assert any("CAP_SYS_PTRACE" in w for w in run.obs.warnings)
    run = run_sensor(
        engine,
        sensorlab,
        [GT, "dropuid"],
        ("--drop-cap", "SYS_PTRACE"),
        cap_add=("SYS_ADMIN", "SYS_PTRACE"),
    )
    assert run.exit_code == 0
    assert {("/gt-dropped-missing", Op.STAT, 2), ("/etc/passwd", Op.STAT, 0)} <= triples(run.obs)
    assert run.obs.warnings == []


@pytest.mark.parametrize(("options", "pinned"), [((), 1), (("--all-cpus",), 0)])
def test_target_runs_on_the_sensors_cpu_unless_all_cpus(engine, sensorlab, options, pinned):
    argv = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"]
    run = run_sensor(engine, sensorlab, argv, options)
    assert run.exit_code == 0
    assert run.obs.counters["cpu_pinned"] == pinned
    allowed = run.logs.decode().split()[-1]
    if pinned and os.cpu_count() and os.cpu_count() > 1:
        assert allowed.isdigit(), allowed  # one CPU, as "3", not a range like "0-1"
    elif not pinned:
        assert allowed == plain_cpus_allowed(engine, sensorlab)


def plain_cpus_allowed(engine, image) -> str:
    _, output = run_plain(
        engine, image, ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"], ""
    )
    return output.decode().split()[-1]
