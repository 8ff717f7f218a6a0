"""AppArmor profiles from an observation: file rules, network families, capabilities.

The rules (documented in docs/profiles.md):

- Files read (fanotify events, kernel-resolved paths, and successful read opens): ``r``; shared
  libraries (``*.so``, ``*.so.*``) also ``m``; executed files ``mrix`` (``ix``: the child stays
  under this profile); directories listed: ``/dir/ r``.
- Files written in place (write opens, truncate, unlink): ``w`` on the path; chmod, chown,
  utime, xattr writes, rmdir and rename sources may act on directories too: ``PATH{,/} w``.
  Entries created (O_CREAT opens, mkdir, mknod, symlink,
  rename and link targets, bound unix sockets): ``/parent/** rw``, because created names vary from
  run to run (temporary files, pid-suffixed sockets, nginx's hashed temp directories); link
  targets also get ``l``. Unix sockets connected to: ``rw``.
- A directory is used wholesale when at least ``GLOB_MIN_FILES`` distinct files directly in it
  were read: it becomes ``/dir/** r`` (``mr`` when a library is below it), replacing the
  read rules below it. Failed accesses give no rule (AppArmor is asked only about files that
  exist). stat, access, readlink and chdir are not mediated by file rules and give none.
- /proc paths of a process (``self``, ``thread-self``, a pid) become ``@{PROC}/@{pid}/...``.
- Paths are escaped per apparmor.d(5) before any pattern is added (``escape_path``), and every
  rule's path is quoted: no byte of a file name (newline, quote, comma, ``#``, glob characters,
  ``@{``, bytes that are not UTF-8) can end the rule, start another, or widen it.
- Network: one ``network FAMILY TYPE,`` rule per (family, type) seen in socket() calls.
- Capabilities: inferred from what the target did (``CAPABILITY_RULES``), see infer_capabilities.
- Docker's default profile's signal, ptrace, /proc and /sys rules (moby
  profiles/apparmor/template.go), with dockerd's own profile taken as unconfined.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections import defaultdict

from slimmer.observation import FileEventKind, Observation, Op
from slimmer.profiles.kubernetes import resource_name

GLOB_MIN_FILES = 10
# the sensor's directory: /.slimmer-<32 hex digits> (slimmer.observe.SensorLayout), or /.slimmer
SENSOR_DIR = re.compile(r"^/\.slimmer(?:-[0-9a-f]{32})?(?:/|$)")

# Syscall names whose use exercises a capability (when the caller is not the owner / is root).
CAPABILITY_RULES: dict[str, frozenset[str]] = {
    "setuid": frozenset({
        "setuid", "setuid32", "setreuid", "setreuid32", "setresuid", "setresuid32", "setfsuid",
        "setfsuid32",
    }),
    "setgid": frozenset({
        "setgid", "setgid32", "setregid", "setregid32", "setresgid", "setresgid32", "setfsgid",
        "setfsgid32", "setgroups", "setgroups32",
    }),
    "chown": frozenset({
        "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    }),
    "sys_chroot": frozenset({"chroot"}),
    "mknod": frozenset({"mknod", "mknodat"}),
}
_KILL_CALLS = frozenset({"kill", "tkill", "tgkill", "rt_sigqueueinfo", "pidfd_send_signal"})
_UNPRIVILEGED_PORT_START = 1024
_NETWORK_TYPES = {"stream", "dgram", "seqpacket", "rdm", "raw", "packet"}
# Families this apparmor_parser (3.0) knows; the sensor may name others (then no rule is made).
_NETWORK_FAMILIES = {
    "unix", "inet", "ax25", "ipx", "appletalk", "netrom", "bridge", "atmpvc", "x25", "inet6",
    "rose", "netbeui", "security", "key", "netlink", "packet", "ash", "econet", "atmsvc", "rds",
    "sna", "irda", "pppox", "wanpipe", "llc", "ib", "mpls", "can", "tipc", "bluetooth", "iucv",
    "rxrpc", "isdn", "phonet", "ieee802154", "caif", "alg", "nfc", "vsock", "kcm", "qipcrtr",
    "smc", "xdp", "mctp",
}

_READ_OPS = {Op.OPEN_READ}
_WRITE_FILE = {Op.OPEN_WRITE, Op.TRUNCATE, Op.UNLINK}
# may act on a directory as well as on a file: the rule covers both (``PATH{,/}``)
_WRITE_ANY = {Op.CHMOD, Op.CHOWN, Op.UTIME, Op.XATTR_WRITE, Op.RMDIR, Op.RENAME_FROM}
_FILE_OR_DIR = "{,/}"
_CREATES = {Op.OPEN_CREATE, Op.MKDIR, Op.MKNOD, Op.SYMLINK, Op.RENAME_TO, Op.LINK_TO, Op.BIND}

# Docker's default profile (moby profiles/apparmor/template.go): signals, ptrace, /proc, /sys.
_DOCKER_RULES = """\
  # from Docker's default profile (moby profiles/apparmor/template.go)
  signal (receive) peer=unconfined,
  signal (send,receive) peer={name},
  ptrace (trace,read,tracedby,readby) peer={name},

  deny @{{PROC}}/* w,   # deny write for all files directly in /proc (not in a subdir)
  # deny write to files not in /proc/<number>/** or /proc/sys/**
  deny @{{PROC}}/{{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}}/** w,
  deny @{{PROC}}/sys/[^k]** w,  # deny /proc/sys except /proc/sys/k* (effectively /proc/sys/kernel)
  deny @{{PROC}}/sys/kernel/{{?,??,[^s][^h][^m]**}} w,  # deny all but shm* in /proc/sys/kernel/
  deny @{{PROC}}/sysrq-trigger rwklx,
  deny @{{PROC}}/kcore rwklx,

  deny mount,

  deny /sys/[^f]*/** wklx,
  deny /sys/f[^s]*/** wklx,
  deny /sys/fs/[^c]*/** wklx,
  deny /sys/fs/c[^g]*/** wklx,
  deny /sys/fs/cg[^r]*/** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
"""


def profile_name(name: str) -> str:
    """The AppArmor profile name for an image name: ``slimmer-NAME``."""
    return f"slimmer-{resource_name(name)}"


def apparmor_profile(obs: Observation, name: str) -> str:
    """The AppArmor profile text for what ``obs`` saw, named ``slimmer-NAME``."""
    profile = profile_name(name)
    lines = [
        "# AppArmor profile generated by slimmer from an observed run.",
        f"# Load: apparmor_parser -r -W FILE; use: docker run --security-opt apparmor={profile}",
        "#include <tunables/global>",
        "",
        f"profile {profile} flags=(attach_disconnected,mediate_deleted) {{",
        "  #include <abstractions/base>",
        "",
    ]
    networks = network_rules(obs)
    if networks:
        lines += ["  # address families and types seen in socket() calls", *networks, ""]
    capabilities = infer_capabilities(obs)
    if capabilities:
        lines += ["  # capabilities the target exercised"]
        lines += [f"  capability {cap}," for cap in capabilities]
        lines.append("")
    lines.append("  # files (read r, library mmap m, exec ix, write w, link l)")
    lines += [f'  "{path}" {perms},' for path, perms in file_rules(obs)]
    lines += ["", _DOCKER_RULES.format(name=profile).rstrip("\n"), "}"]
    return "\n".join(lines) + "\n"


def network_rules(obs: Observation) -> list[str]:
    rules = set()
    for use in obs.sockets:
        if use.family not in _NETWORK_FAMILIES:
            continue
        kind = f" {use.type}" if use.type in _NETWORK_TYPES else ""
        rules.add(f"  network {use.family}{kind},")
    return sorted(rules)


def infer_capabilities(obs: Observation) -> list[str]:
    """Capabilities the observation shows the target exercising.

    setuid/setgid families -> setuid/setgid; chown family -> chown; chroot -> sys_chroot;
    mknod -> mknod; binding a port below 1024 -> net_bind_service; raw or packet sockets ->
    net_raw. A target that switches users (setuid family) runs as root and works on files and
    processes of the users it switches to: it also gets kill (signalling its workers, when it
    sends signals), dac_override, dac_read_search and fowner (files owned by those users).
    """
    calls = {name for per_abi in obs.syscalls.values() for name, n in per_abi.items() if n}
    caps = {cap for cap, names in CAPABILITY_RULES.items() if calls & names}
    if any(op.op is Op.CHOWN and op.errno == 0 for op in obs.paths):
        caps.add("chown")
    if any(0 < port < _UNPRIVILEGED_PORT_START for port in obs.bind_ports):
        caps.add("net_bind_service")
    if any(use.type == "raw" or use.family == "packet" for use in obs.sockets):
        caps.add("net_raw")
    if "setuid" in caps:
        caps |= {"dac_override", "dac_read_search", "fowner"}
        if calls & _KILL_CALLS:
            caps.add("kill")
    return sorted(caps)


def file_rules(obs: Observation) -> list[tuple[str, str]]:
    """(path pattern, permissions) pairs, sorted by path; the patterns are escaped
    (``escape_path``) and go between double quotes."""
    perms: dict[str, set[str]] = defaultdict(set)
    for event in obs.files:
        path = _normal(event.path)
        if path is None:
            continue
        if event.is_dir:
            perms[path.rstrip("/") + "/"].add("r")
            continue
        perms[path].add("r")
        if FileEventKind.EXEC in event.kinds:
            perms[path] |= {"m", "i", "x"}
    for access in obs.paths:
        path = _normal(access.path)
        if path is None or access.errno != 0:
            continue
        if access.op in _READ_OPS:
            perms[path].add("r")
        elif access.op is Op.EXEC:
            perms[path] |= {"r", "m", "i", "x"}
        elif access.op in _WRITE_FILE:
            perms[path].add("w")
        elif access.op in _WRITE_ANY:
            perms[path.rstrip("/") + _FILE_OR_DIR].add("w")
        elif access.op is Op.CONNECT:
            perms[path] |= {"r", "w"}
        elif access.op in _CREATES:
            parent = posixpath.dirname(path.rstrip("/")) or "/"
            perms[parent.rstrip("/") + "/**"] |= {"r", "w"}
            if access.op is Op.LINK_TO:
                perms[path].add("l")
    for path in list(perms):
        if _is_library(path):
            perms[path].add("m")
        if path + "/" in perms and perms[path] == {"r"}:  # a directory opened: "/dir/" has it
            del perms[path]
    return _collapse(perms)


def _collapse(perms: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Replace the read rules of directories used wholesale with one ``/dir/** r`` rule."""
    by_dir: dict[str, list[str]] = defaultdict(list)
    for path, granted in perms.items():
        if not path.endswith(("/", "/**", _FILE_OR_DIR)) and granted <= {"r", "m"}:
            by_dir[posixpath.dirname(path)].append(path)
    globs: dict[str, set[str]] = {}
    for directory in sorted(by_dir, key=lambda d: (d.count("/"), d)):
        members = by_dir[directory]
        if len(members) < GLOB_MIN_FILES or directory in ("/", "@{PROC}") or directory.startswith(
            "@{PROC}/"
        ):
            continue
        if any(directory == g or directory.startswith(g + "/") for g in globs):
            continue
        below = [p for p, g in perms.items() if p.startswith(directory + "/") and g <= {"r", "m"}]
        globs[directory] = {"r"}.union(*(perms[p] for p in below))
    result: dict[str, set[str]] = {}
    for path, granted in perms.items():
        covering = [g for g in globs if path.startswith(g + "/")]
        if covering and granted <= globs[covering[0]]:
            continue
        result[path] = granted
    for directory, granted in globs.items():
        result[directory.rstrip("/") + "/**"] = result.get(directory + "/**", set()) | granted
    return [(path, _perm_string(result[path])) for path in sorted(result)]


def _perm_string(granted: set[str]) -> str:
    """Permissions in the usual order: m r w l i x (as in ``mrix``, ``rw``)."""
    order = "mrwlix" if "m" in granted else "rwlix"
    return "".join(c for c in order if c in granted)


def _is_library(path: str) -> bool:
    base = posixpath.basename(path)
    return base.endswith(".so") or ".so." in base


_PROC_TASK = re.compile(r"^/proc/(?:self|\d+)/task/(?:\d+)(?=/|$)")
_PROC_PID = re.compile(r"^/proc/(?:self|\d+)(?=/|$)")
_PROC_THREAD = re.compile(r"^/proc/thread-self(?=/|$)")


def _normal(path: str) -> str | None:
    """The rule pattern (escaped) for an observed path; None for paths that get no rule."""
    if not path.startswith("/") or SENSOR_DIR.match(path):
        return None
    # AppArmor sees resolved paths; fold ".." the usual way, then escape every literal byte
    path = escape_path(posixpath.normpath(path))
    path = _PROC_TASK.sub("/proc/@{pid}/task/@{tid}", path)
    path = _PROC_THREAD.sub("/proc/@{pid}/task/@{tid}", path)
    path = _PROC_PID.sub("/proc/@{pid}", path)
    path = re.sub(r"^/dev/pts/\d+$", "/dev/pts/[0-9]*", path)
    if path == "/proc" or path.startswith("/proc/"):
        path = "@{PROC}" + path[len("/proc"):]
    return path


# glob, alternation, variable, quoting, comment and rule-separator characters
_BACKSLASHED = frozenset(b'"\\@*?[]{}^,#')


def escape_path(path: str) -> str:
    """A literal path as an AppArmor path expression for a quoted rule (apparmor.d(5)):
    ``\\`` before the characters that have a meaning, ``\\ooo`` (octal) for control bytes,
    DEL and every byte above 0x7e (so names that are not UTF-8 keep their exact bytes)."""
    out = []
    for byte in os.fsencode(path):
        if byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03o}")
        elif byte in _BACKSLASHED:
            out.append("\\" + chr(byte))
        else:
            out.append(chr(byte))
    return "".join(out)
