"""What one observation run saw: the sensor's report read into Python, plus probe results.

The sensor's on-disk report format is documented in sensors/REPORT.md; slimmer.sensor.report
reads it into these types. Everything downstream (selection, profiles, report) uses only these.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field


class Op(enum.Enum):
    """The kind of a path access, as the tracee meant it."""

    OPEN_READ = "open_r"  # open for reading (O_RDONLY), files and directories
    OPEN_WRITE = "open_w"  # open for writing without creating (O_WRONLY/O_RDWR, no O_CREAT)
    OPEN_CREATE = "open_c"  # open with O_CREAT or O_TMPFILE, creat()
    EXEC = "exec"  # execve/execveat (the path as given, before the kernel resolves it)
    STAT = "stat"  # stat, newfstatat, statx, statfs, ... (follows the final symlink)
    LSTAT = "lstat"  # lstat and AT_SYMLINK_NOFOLLOW variants
    ACCESS = "access"  # access, faccessat, faccessat2
    READLINK = "readlink"
    CHDIR = "chdir"
    MKDIR = "mkdir"
    MKNOD = "mknod"
    UNLINK = "unlink"
    RMDIR = "rmdir"
    RENAME_FROM = "rename_from"
    RENAME_TO = "rename_to"
    LINK_FROM = "link_from"  # existing path of link()
    LINK_TO = "link_to"  # new path of link()
    SYMLINK = "symlink"  # the new symlink's path
    TRUNCATE = "truncate"
    CHMOD = "chmod"
    CHOWN = "chown"
    UTIME = "utime"
    XATTR_READ = "xattr_r"  # getxattr, listxattr families
    XATTR_WRITE = "xattr_w"  # setxattr, removexattr families
    INOTIFY = "inotify"
    BIND = "bind"  # bind() on an AF_UNIX path socket
    CONNECT = "connect"  # connect() on an AF_UNIX path socket

    @property
    def writes(self) -> bool:
        """Whether the access changes the filesystem at that path."""
        return self in _WRITES


_WRITES = {
    Op.OPEN_WRITE,
    Op.OPEN_CREATE,
    Op.MKDIR,
    Op.MKNOD,
    Op.UNLINK,
    Op.RMDIR,
    Op.RENAME_FROM,
    Op.RENAME_TO,
    Op.LINK_TO,
    Op.SYMLINK,
    Op.TRUNCATE,
    Op.CHMOD,
    Op.CHOWN,
    Op.UTIME,
    Op.XATTR_WRITE,
    Op.BIND,
}


@dataclass(frozen=True, slots=True)
class PathAccess:
    """A path-taking syscall seen by ptrace, aggregated: (path, op, errno) with a count.

    ``path`` is absolute (a relative path is joined to the tracee's cwd or dirfd path) with "."
    components and repeated slashes removed, but ".." kept and NOT symlink-resolved: it is the
    path as the tracee meant it (only the image's resolver can apply ".." after a symlink).
    ``errno`` is 0 on success, else the positive errno (2 = ENOENT).
    """

    path: str
    op: Op
    errno: int = 0
    count: int = 1


class FileEventKind(enum.Enum):
    OPEN = "open"
    ACCESS = "access"
    EXEC = "exec"


@dataclass(frozen=True, slots=True)
class FileEvent:
    """A file or directory fanotify reported opened/read/executed (kernel-resolved path)."""

    path: str
    kinds: frozenset[FileEventKind]
    is_dir: bool = False
    count: int = 1


@dataclass(frozen=True, slots=True)
class ExecRecord:
    pid: int
    ppid: int
    path: str
    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SocketUse:
    """A socket() call: address family and type names, e.g. ("inet", "stream")."""

    family: str
    type: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Pid1Signals:
    """The target's signal dispositions (``/proc/PID/status`` SigCgt and SigIgn masks, bit N-1
    for signal N), sampled when the stop signal arrived (``at_stop``) or, when it never did,
    the last time the target was seen running. In production the target is PID 1, and the
    kernel drops any signal PID 1 has no handler for."""

    caught: int
    ignored: int
    at_stop: bool = False

    def disposition(self, sig: str | int) -> str | None:
        """"caught", "ignored" or "default" for a signal name ("SIGTERM", "TERM") or number;
        None for a name this machine does not know."""
        number = signal_number(sig)
        if number is None:
            return None
        bit = 1 << (number - 1)
        if self.caught & bit:
            return "caught"
        return "ignored" if self.ignored & bit else "default"


def signal_number(sig: str | int) -> int | None:
    """The number of a signal given as the engine's StopSignal does: 15, "15", "TERM", "SIGTERM",
    "SIGRTMIN+3"."""
    text = str(sig).strip().upper()
    if text.isdigit():
        return int(text) or None
    name = text if text.startswith("SIG") else f"SIG{text}"
    base, plus, offset = name.partition("+")
    try:
        number = int(signal.Signals[base]) + (int(offset) if plus else 0)
    except (KeyError, ValueError):
        return None
    return number if 0 < number < 65 else None


@dataclass
class Observation:
    """Everything one sensor run reported."""

    arch: str  # kernel name of the sensor's architecture: x86_64 or aarch64
    format_version: int = 1
    # syscall names per ABI ("x86_64", "i386", "x32", "aarch64", "arm") -> call count
    syscalls: dict[str, dict[str, int]] = field(default_factory=dict)
    # names the sensor's filter let through untraced (--allow-hot): made or not, never counted,
    # always allowed by the profiles
    allowed_untraced: set[str] = field(default_factory=set)
    paths: list[PathAccess] = field(default_factory=list)
    files: list[FileEvent] = field(default_factory=list)
    execs: list[ExecRecord] = field(default_factory=list)
    sockets: list[SocketUse] = field(default_factory=list)
    bind_ports: list[int] = field(default_factory=list)  # AF_INET/AF_INET6 ports bound
    target_exit: int | None = None  # exit code, 128+signal when killed; None when unknown
    fanotify_mode: str = ""  # "filesystem", "mount" or "off: <reason>"
    ptrace_mode: str = ""  # "seccomp", "syscall" or "off: <reason>"
    # the default seccomp profile the sensor applied to the target ("docker-20.10.24", ...) or
    # "off: <reason>"
    default_seccomp: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # PID 1 duties (None: the sensor did not say). Orphans: processes whose parent exited, so
    # PID 1 had to reap them; zombies: exited processes their living parent left unreaped.
    pid1_signals: Pid1Signals | None = None
    orphans: int | None = None
    zombies: int | None = None


def merge_observations(observations: Iterable[Observation]) -> Observation:
    """The union of several runs of one image (``--run``): every path, file, syscall, exec and
    socket any run saw, counts added; the first run's modes and PID 1 signals."""
    runs = list(observations)
    merged = Observation(arch=runs[0].arch, format_version=runs[0].format_version)
    paths: dict[tuple[str, Op, int], int] = {}
    files: dict[str, FileEvent] = {}
    sockets: dict[tuple[str, str], int] = {}
    for obs in runs:
        for abi, calls in obs.syscalls.items():
            into = merged.syscalls.setdefault(abi, {})
            for name, count in calls.items():
                into[name] = into.get(name, 0) + count
        merged.allowed_untraced |= obs.allowed_untraced
        for access in obs.paths:
            key = (access.path, access.op, access.errno)
            paths[key] = paths.get(key, 0) + access.count
        for event in obs.files:
            files[event.path] = _merge_file(files.get(event.path), event)
        for use in obs.sockets:
            sockets[(use.family, use.type)] = sockets.get((use.family, use.type), 0) + use.count
        merged.execs += obs.execs
        merged.bind_ports = sorted(set(merged.bind_ports) | set(obs.bind_ports))
        for name, value in obs.counters.items():
            merged.counters[name] = merged.counters.get(name, 0) + value
        merged.warnings += [w for w in obs.warnings if w not in merged.warnings]
        merged.orphans = _add(merged.orphans, obs.orphans)
        merged.zombies = _add(merged.zombies, obs.zombies)
    first = runs[0]
    merged.paths = [PathAccess(p, op, errno, n) for (p, op, errno), n in sorted(
        paths.items(), key=lambda item: (item[0][0], item[0][1].value, item[0][2]))]
    merged.files = [files[path] for path in sorted(files)]
    merged.sockets = [SocketUse(f, t, n) for (f, t), n in sorted(sockets.items())]
    merged.target_exit = next((o.target_exit for o in runs if o.target_exit), first.target_exit)
    merged.fanotify_mode, merged.ptrace_mode = first.fanotify_mode, first.ptrace_mode
    merged.pid1_signals = first.pid1_signals
    return merged


def _merge_file(known: FileEvent | None, event: FileEvent) -> FileEvent:
    if known is None:
        return event
    return FileEvent(
        path=event.path,
        kinds=known.kinds | event.kinds,
        is_dir=known.is_dir or event.is_dir,
        count=known.count + event.count,
    )


def _add(total: int | None, value: int | None) -> int | None:
    return value if total is None else total + (value or 0)
