"""What one observation run saw: the sensor's report read into Python, plus probe results.

The sensor's on-disk report format is documented in sensors/REPORT.md; slimmer.sensor.report
reads it into these types. Everything downstream (selection, profiles, report) uses only these.
"""

from __future__ import annotations

import enum
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
