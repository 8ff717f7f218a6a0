"""Read the sensor's report (format: sensors/REPORT.md) into an Observation."""

from __future__ import annotations

import re
from collections.abc import Callable

from slimmer.errors import SensorError
from slimmer.observation import (
    ExecRecord,
    FileEvent,
    FileEventKind,
    Observation,
    Op,
    PathAccess,
    Pid1Signals,
    SocketUse,
)
from slimmer.sensor.syscalls import ARCH_ABIS, syscall_name

MAGIC = "slimmer-sensor-report"
SUPPORTED_VERSIONS = (1,)
_HINT = "the report is damaged or from another sensor version: rebuild the sensor (`make sensor`)"

FAMILIES = {
    0: "unspec", 1: "unix", 2: "inet", 3: "ax25", 4: "ipx", 5: "appletalk", 6: "netrom",
    7: "bridge", 8: "atmpvc", 9: "x25", 10: "inet6", 11: "rose", 12: "decnet", 13: "netbeui",
    14: "security", 15: "key", 16: "netlink", 17: "packet", 18: "ash", 19: "econet",
    20: "atmsvc", 21: "rds", 22: "sna", 23: "irda", 24: "pppox", 25: "wanpipe", 26: "llc",
    27: "ib", 28: "mpls", 29: "can", 30: "tipc", 31: "bluetooth", 32: "iucv", 33: "rxrpc",
    34: "isdn", 35: "phonet", 36: "ieee802154", 37: "caif", 38: "alg", 39: "nfc",
    40: "vsock", 41: "kcm", 42: "qipcrtr", 43: "smc", 44: "xdp", 45: "mctp",
}
SOCKET_TYPES = {1: "stream", 2: "dgram", 3: "raw", 4: "rdm", 5: "seqpacket", 6: "dccp",
                10: "packet"}
_FILE_KINDS = {"o": FileEventKind.OPEN, "a": FileEventKind.ACCESS, "x": FileEventKind.EXEC}
_ESCAPE = re.compile(rb"\\(x[0-9a-f]{2}|-)")


def unescape(field: bytes) -> str:
    """A report field back to text: ``\\xHH`` is a byte, ``\\-`` the empty string.

    Paths may hold any bytes: those that are not UTF-8 come back as surrogate escapes
    (``os.fsencode`` restores the original bytes).
    """
    raw = _ESCAPE.sub(lambda m: b"" if m.group(1) == b"-" else bytes([int(m.group(1)[1:], 16)]),
                      field)
    return raw.decode("utf-8", "surrogateescape")


def read_report(data: bytes) -> Observation:
    """Parse a complete report; SensorError when it is not one."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines or not lines[0].startswith(MAGIC.encode() + b" "):
        raise SensorError("this is not a slimmer sensor report", _HINT)
    try:
        version = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise SensorError("the sensor report has no valid version", _HINT) from None
    if version not in SUPPORTED_VERSIONS:
        raise SensorError(
            f"sensor report version {version} is not supported (this slimmer reads "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))})",
            _HINT,
        )
    if lines[-1] != b"end":
        raise SensorError("the sensor report is truncated (no end line)", _HINT)
    obs = Observation(arch="", format_version=version)
    for number, line in enumerate(lines[1:-1], start=2):
        fields = line.split(b" ")
        handler = _HANDLERS.get(fields[0].decode("ascii", "replace"))
        if handler is None:
            continue  # record types added later within the same version are skipped
        try:
            handler(obs, fields[1:])
        except (IndexError, ValueError, KeyError) as exc:
            raise SensorError(
                f"sensor report line {number} is malformed ({type(exc).__name__}: {exc})",
                _HINT,
            ) from None
    if obs.arch not in ARCH_ABIS:
        raise SensorError(f"sensor report names an unknown architecture {obs.arch!r}", _HINT)
    obs.paths.sort(key=lambda a: (a.path, a.op.value, a.errno))
    obs.files.sort(key=lambda e: e.path)
    obs.sockets.sort(key=lambda s: (s.family, s.type))
    obs.bind_ports.sort()
    obs.warnings += _counter_warnings(obs.counters)
    return obs


# counters that mean the observation may have missed something, and what to do about it
_LOSSES = {
    "fan_overflows": "the fanotify queue overflowed {n} times: file accesses may be missing "
    "(keep them with --include-path)",
    "path_read_failed": "{n} path arguments could not be read from a tracee",
    "exec_log_dropped": "{n} execs were left out of the exec log (it is bounded)",
}


def _counter_warnings(counters: dict[str, int]) -> list[str]:
    return [text.format(n=counters[name]) for name, text in _LOSSES.items() if counters.get(name)]


def _arch(obs: Observation, f: list[bytes]) -> None:
    obs.arch = f[0].decode()


def _fanotify(obs: Observation, f: list[bytes]) -> None:
    obs.fanotify_mode = unescape(f[0])


def _ptrace(obs: Observation, f: list[bytes]) -> None:
    obs.ptrace_mode = unescape(f[0])


def _target_exit(obs: Observation, f: list[bytes]) -> None:
    code = int(f[0])
    obs.target_exit = code if code >= 0 else None


def _counter(obs: Observation, f: list[bytes]) -> None:
    obs.counters[f[0].decode()] = int(f[1])


def _warning(obs: Observation, f: list[bytes]) -> None:
    obs.warnings.append(unescape(f[0]))


def _syscall_name(obs: Observation, f: list[bytes]) -> str | None:
    abi, nr = f[0].decode(), int(f[1])
    name = syscall_name(abi, nr)
    if name is None:
        obs.warnings.append(f"syscall {nr} of ABI {abi} is not in slimmer's tables: ignored")
    return name


def _syscall(obs: Observation, f: list[bytes]) -> None:
    name = _syscall_name(obs, f)
    if name is not None:
        calls = obs.syscalls.setdefault(f[0].decode(), {})
        calls[name] = calls.get(name, 0) + int(f[2])


def _allowed(obs: Observation, f: list[bytes]) -> None:
    """A syscall the filter let through untraced (not observed, always allowed)."""
    name = _syscall_name(obs, f)
    if name is not None:
        obs.allowed_untraced.add(name)


def _path(obs: Observation, f: list[bytes]) -> None:
    obs.paths.append(
        PathAccess(path=unescape(f[3]), op=Op(f[0].decode()), errno=int(f[1]), count=int(f[2]))
    )


def _file(obs: Observation, f: list[bytes]) -> None:
    letters = f[0].decode()
    obs.files.append(
        FileEvent(
            path=unescape(f[2]),
            kinds=frozenset(_FILE_KINDS[c] for c in letters if c in _FILE_KINDS),
            is_dir="d" in letters,
            count=int(f[1]),
        )
    )


def _exec(obs: Observation, f: list[bytes]) -> None:
    argc = int(f[3])
    argv = tuple(unescape(a) for a in f[4:4 + argc])
    if len(argv) != argc:
        raise ValueError(f"exec record announces {argc} arguments, has {len(argv)}")
    obs.execs.append(ExecRecord(pid=int(f[0]), ppid=int(f[1]), path=unescape(f[2]), argv=argv))


def _socket(obs: Observation, f: list[bytes]) -> None:
    family, kind = int(f[0]), int(f[1])
    obs.sockets.append(
        SocketUse(
            family=FAMILIES.get(family, str(family)),
            type=SOCKET_TYPES.get(kind, str(kind)),
            count=int(f[2]),
        )
    )


def _bind_port(obs: Observation, f: list[bytes]) -> None:
    port = int(f[0])
    if port not in obs.bind_ports:
        obs.bind_ports.append(port)


def _pid1_signals(obs: Observation, f: list[bytes]) -> None:
    when = f[0].decode()
    if when not in ("stop", "running"):
        raise ValueError(f"pid1-signals sampled {when!r}")
    if len(f[1]) > 16 or len(f[2]) > 16:
        raise ValueError("pid1-signals masks are 64 bits")
    obs.pid1_signals = Pid1Signals(
        caught=int(f[1], 16), ignored=int(f[2], 16), at_stop=when == "stop"
    )


def _orphans(obs: Observation, f: list[bytes]) -> None:
    obs.orphans = int(f[0])


def _zombies(obs: Observation, f: list[bytes]) -> None:
    obs.zombies = int(f[0])


_HANDLERS: dict[str, Callable[[Observation, list[bytes]], None]] = {
    "arch": _arch,
    "fanotify": _fanotify,
    "ptrace": _ptrace,
    "target-exit": _target_exit,
    "counter": _counter,
    "warning": _warning,
    "sys": _syscall,
    "allowed": _allowed,
    "path": _path,
    "file": _file,
    "exec": _exec,
    "socket": _socket,
    "bind-port": _bind_port,
    "pid1-signals": _pid1_signals,
    "orphans": _orphans,
    "zombies": _zombies,
}
