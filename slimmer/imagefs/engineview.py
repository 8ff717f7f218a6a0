"""The image as the engine shows it to a container, for the parts where that differs from the
layers' tar headers. Both ways of reading an image for a build (its layers, or a walk of a
fresh container's tree) give the same tree, and the slim layer is written from it.

- What the engine unpacks (moby's `UnpackLayer` on Linux): a modification time before the Unix
  epoch or beyond 2262 becomes 0 (except on symlinks); `user.*` attributes cannot be set on
  anything but files and directories and are dropped; `trusted.overlay.*` belongs to the
  overlay driver; a file capability of revision 3 whose root is uid 0 reads back as revision 2;
  a POSIX access ACL equivalent to the mode is not stored, another gets the final mode's bits.
  A hardlinked file's capability is the one its last header sets (each header's chown clears
  it); its other attributes add up.
- What every engine provides at run time, replacing the image's own (`ENGINE_FILES`,
  `ENGINE_TREES`): never part of a build's tree, so never kept.
- What a container never shows as the image has it (`output_entry`): the root directory (the
  container's own layer's root), the modification time of /etc (the engine adds files to it
  when it creates a container) and user and group names (engines apply numeric ids only). The
  slim layer writes fixed values there.
"""

from __future__ import annotations

import dataclasses
import posixpath
import struct
from collections.abc import Iterable, Mapping

from slimmer.imagefs.model import Entry, EntryType

ENGINE_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv")
ENGINE_TREES = ("/proc", "/sys", "/dev")
MASKED_DIRS = ("/", "/etc")  # the engine's init layer writes into them at container creation
MAX_GO_TIME = 9223372036.854775807  # moby's Chtimes: later times become the epoch

CAPABILITY = "security.capability"
ACL_ACCESS = "system.posix_acl_access"
ACL_DEFAULT = "system.posix_acl_default"
_ACL_VERSION = 2
_ACL_USER_OBJ, _ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP, _ACL_MASK, _ACL_OTHER = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20,
)  # fmt: skip
_ACL_UNDEFINED_ID = 0xFFFFFFFF
_NAMED = (_ACL_USER, _ACL_GROUP)


def engine_provided(path: str) -> bool:
    """A path the engine provides in every container (the image's own is never seen)."""
    return path in ENGINE_FILES or any(
        path == top or path.startswith(top + "/") for top in ENGINE_TREES
    )


def engine_paths(paths: Iterable[str]) -> list[str]:
    """The top-most engine-provided paths among ``paths`` (their trees go with them)."""
    return [p for p in paths if engine_provided(p) and not engine_provided(posixpath.dirname(p))]


def engine_mtime(kind: EntryType, mtime: float) -> float:
    """The modification time the engine gives an unpacked entry."""
    if kind is EntryType.SYMLINK:
        return mtime
    return 0.0 if mtime < 0 or mtime > MAX_GO_TIME else mtime


def mtime_from_ns(total_ns: int) -> float:
    """A time in nanoseconds as the float the tar reader makes of the same PAX value."""
    magnitude = abs(total_ns)
    value = magnitude // 1_000_000_000 + (magnitude % 1_000_000_000) / 1e9
    return -value if total_ns < 0 else value


def engine_xattrs(kind: EntryType, mode: int, xattrs: Mapping[str, bytes]) -> dict[str, bytes]:
    """The extended attributes the engine leaves on an entry of ``kind`` and final ``mode``."""
    found: dict[str, bytes] = {}
    for name, value in xattrs.items():
        if name.startswith("trusted.overlay."):
            continue
        if name.startswith("user.") and kind not in (EntryType.FILE, EntryType.DIR):
            continue
        if name == CAPABILITY:
            value = _capability(value)
        elif name == ACL_ACCESS:
            acl = _access_acl(value, mode)
            if acl is None:
                continue
            value = acl
        elif name == ACL_DEFAULT:
            value = _acl_ids(value)
        found[name] = value
    return found


def _capability(value: bytes) -> bytes:
    """Revision 3 with root uid 0 reads back as revision 2 in the initial user namespace."""
    if len(value) == 24 and value[3] == 3 and value[20:24] == bytes(4):
        return value[:3] + b"\x02" + value[4:20]
    return value


def _acl_entries(value: bytes) -> list[list[int]] | None:
    if len(value) < 4 or (len(value) - 4) % 8 or struct.unpack_from("<I", value)[0] != 2:
        return None
    count = (len(value) - 4) // 8
    return [list(struct.unpack_from("<HHI", value, 4 + 8 * i)) for i in range(count)]


def _acl_bytes(entries: list[list[int]]) -> bytes:
    ids = [(t, p, i if t in _NAMED else _ACL_UNDEFINED_ID) for t, p, i in entries]
    return struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in ids)


def _acl_ids(value: bytes) -> bytes:
    entries = _acl_entries(value)
    return value if entries is None else _acl_bytes(entries)


def _access_acl(value: bytes, mode: int) -> bytes | None:
    """The access ACL as stored after the engine's chmod: None when it only restates the mode
    (the kernel keeps no attribute then)."""
    entries = _acl_entries(value)
    if entries is None:
        return value
    tags = {t for t, _p, _i in entries}
    if tags <= {_ACL_USER_OBJ, _ACL_GROUP_OBJ, _ACL_OTHER}:
        return None
    group_tag = _ACL_MASK if _ACL_MASK in tags else _ACL_GROUP_OBJ
    bits = {_ACL_USER_OBJ: (mode >> 6) & 7, group_tag: (mode >> 3) & 7, _ACL_OTHER: mode & 7}
    for entry in entries:
        if entry[0] in bits:
            entry[1] = bits[entry[0]]
    return _acl_bytes(entries)


def output_entry(entry: Entry) -> Entry:
    """``entry`` as the slim layer writes it (module doc): no user or group names, fixed values
    where no container sees the image's own."""
    changes: dict = {}
    if entry.uname or entry.gname:
        changes.update(uname="", gname="")
    if entry.path == "/":
        changes.update(mode=0o755, uid=0, gid=0, mtime=0.0, xattrs={})
    elif entry.type is EntryType.DIR and entry.path in MASKED_DIRS and entry.mtime:
        changes.update(mtime=0.0)
    return dataclasses.replace(entry, **changes) if changes else entry
