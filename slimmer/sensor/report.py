"""Read the sensor's report (format: sensors/REPORT.md) into an Observation.

The report is untrusted input in one respect: fields that become keys or paths on the host are
checked against known sets (ABIs, ops, counter names) and numbers against their ranges; anything
else gives a SensorError.
"""

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
from slimmer.sensor.syscalls import ABIS, ARCH_ABIS, syscall_name

MAGIC = "slimmer-sensor-report"
SUPPORTED_VERSIONS = (2,)
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
_UNESCAPED = {b"-": b"", **{b"x%02x" % n: bytes([n]) for n in range(256)}}
_COUNTER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MAX_COUNT = (1 << 63) - 1
_MAX_PORT = 65535


def unescape(field: bytes) -> str:
    """A report field back to text: ``\\xHH`` is a byte, ``\\-`` the empty string.

    Paths may hold any bytes: those that are not UTF-8 come back as surrogate escapes
    (``os.fsencode`` restores the original bytes).
    """
    if b"\\" not in field:
        return field.decode("utf-8", "surrogateescape")
    raw = _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], field)
    return raw.decode("utf-8", "surrogateescape")


def read_report(data: bytes) -> Observation:
    """Parse a complete report; SensorError when it is not one."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines or not lines[0].startswith(MAGIC.encode() + b" "):
        raise SensorError("this is not a slimmer sensor report", _HINT)
    header = lines[0].split(b" ")
    if len(header) != 2 or not re.fullmatch(rb"[0-9]{1,9}", header[1]):
        raise SensorError("the sensor report has no valid version", _HINT)
    version = int(header[1])
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
        raise SensorError(
            f"sensor report names an unknown architecture {obs.arch[:40]!r}", _HINT
        )
    if not obs.default_seccomp:
        raise SensorError("the sensor report does not say which seccomp profile the target "
                          "ran under (no default-seccomp record)", _HINT)
    foreign = sorted(set(obs.syscalls) - set(ARCH_ABIS[obs.arch]))
    if foreign:
        raise SensorError(
            f"sensor report of a {obs.arch} sensor names ABI {foreign[0]!r}", _HINT
        )
    obs.paths.sort(key=lambda a: (a.path, a.op.value, a.errno))
    obs.files.sort(key=lambda e: e.path)
    obs.sockets.sort(key=lambda s: (s.family, s.type))
    obs.bind_ports = sorted(set(obs.bind_ports))
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


def _number(field: bytes, low: int = 0, high: int = _MAX_COUNT) -> int:
    """A decimal field within [low, high] (ValueError otherwise)."""
    if not re.fullmatch(rb"-?[0-9]{1,20}", field):
        raise ValueError(f"not a number: {field[:40]!r}")
    value = int(field)
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range")
    return value


def _abi(field: bytes) -> str:
    abi = field.decode("ascii")
    if abi not in ABIS:
        raise ValueError(f"unknown ABI {abi[:40]!r}")
    return abi


def _arch(obs: Observation, f: list[bytes]) -> None:
    obs.arch = f[0].decode("ascii")


def _fanotify(obs: Observation, f: list[bytes]) -> None:
    obs.fanotify_mode = unescape(f[0])


def _ptrace(obs: Observation, f: list[bytes]) -> None:
    obs.ptrace_mode = unescape(f[0])


def _default_seccomp(obs: Observation, f: list[bytes]) -> None:
    obs.default_seccomp = unescape(f[0])
    if obs.default_seccomp.startswith("off"):
        obs.warnings.append(
            f"the target ran without Docker's default seccomp profile for its own capabilities "
            f"({obs.default_seccomp}): it may have made syscalls a plain `docker run` denies"
        )


def _target_exit(obs: Observation, f: list[bytes]) -> None:
    code = _number(f[0], -1, 255 + 128)
    obs.target_exit = code if code >= 0 else None


def _counter(obs: Observation, f: list[bytes]) -> None:
    name = f[0].decode("ascii")
    if not _COUNTER_NAME.fullmatch(name):
        raise ValueError(f"bad counter name {name[:40]!r}")
    obs.counters[name] = _number(f[1])


def _warning(obs: Observation, f: list[bytes]) -> None:
    obs.warnings.append(unescape(f[0]))


def _syscall_name(obs: Observation, f: list[bytes]) -> str | None:
    abi, nr = _abi(f[0]), _number(f[1], 0, 0xFFFFFFFF)
    name = syscall_name(abi, nr)
    if name is None:
        obs.warnings.append(f"syscall {nr} of ABI {abi} is not in slimmer's tables: ignored")
    return name


def _syscall(obs: Observation, f: list[bytes]) -> None:
    name = _syscall_name(obs, f)
    count = _number(f[2])
    if name is not None:
        calls = obs.syscalls.setdefault(_abi(f[0]), {})
        calls[name] = calls.get(name, 0) + count


def _allowed(obs: Observation, f: list[bytes]) -> None:
    """A syscall the filter let through untraced (not observed, always allowed)."""
    name = _syscall_name(obs, f)
    if name is not None:
        obs.allowed_untraced.add(name)


def _path(obs: Observation, f: list[bytes]) -> None:
    obs.paths.append(PathAccess(
        path=unescape(f[3]), op=Op(f[0].decode("ascii")), errno=_number(f[1], 0, 4095),
        count=_number(f[2]),
    ))


def _file(obs: Observation, f: list[bytes]) -> None:
    letters = f[0].decode("ascii")
    obs.files.append(
        FileEvent(
            path=unescape(f[2]),
            kinds=frozenset(_FILE_KINDS[c] for c in letters if c in _FILE_KINDS),
            is_dir="d" in letters,
            count=_number(f[1]),
        )
    )


def _exec(obs: Observation, f: list[bytes]) -> None:
    argc = _number(f[3])
    if len(f) - 4 != argc:
        raise ValueError(f"exec record announces {argc} arguments, has {len(f) - 4}")
    argv = tuple(unescape(a) for a in f[4:])
    obs.execs.append(ExecRecord(
        pid=_number(f[0], 0, 1 << 31), ppid=_number(f[1], 0, 1 << 31), path=unescape(f[2]),
        argv=argv,
    ))


def _socket(obs: Observation, f: list[bytes]) -> None:
    family, kind = _number(f[0], -(1 << 31), 1 << 31), _number(f[1], -(1 << 31), 1 << 31)
    obs.sockets.append(
        SocketUse(
            family=FAMILIES.get(family, str(family)),
            type=SOCKET_TYPES.get(kind, str(kind)),
            count=_number(f[2]),
        )
    )


def _bind_port(obs: Observation, f: list[bytes]) -> None:
    obs.bind_ports.append(_number(f[0], 0, _MAX_PORT))  # duplicates go at the end


def _pid1_signals(obs: Observation, f: list[bytes]) -> None:
    when = f[0].decode("ascii")
    if when not in ("stop", "running"):
        raise ValueError(f"pid1-signals sampled {when[:40]!r}")
    caught, ignored = (_mask(field) for field in f[1:3])
    obs.pid1_signals = Pid1Signals(caught=caught, ignored=ignored, at_stop=when == "stop")


def _mask(field: bytes) -> int:
    """A 64-bit signal mask: 16 hexadecimal digits, as /proc/PID/status shows it."""
    if not re.fullmatch(rb"[0-9a-f]{16}", field):
        raise ValueError(f"not a signal mask: {field[:40]!r}")
    return int(field, 16)


def _orphans(obs: Observation, f: list[bytes]) -> None:
    obs.orphans = _number(f[0])


def _zombies(obs: Observation, f: list[bytes]) -> None:
    obs.zombies = _number(f[0])


_HANDLERS: dict[str, Callable[[Observation, list[bytes]], None]] = {
    "arch": _arch,
    "fanotify": _fanotify,
    "ptrace": _ptrace,
    "default-seccomp": _default_seccomp,
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
