"""The engine's view of an image (what the layers' reader gives a build, and what the walk of a
container shows): attributes the kernel refuses or rewrites, clamped times, fixed values where a
container never shows the image's own. The end-to-end check that the engine really does this is
tests/speed/test_fast_vs_save.py::test_engine_view_image."""

from __future__ import annotations

import struct

import pytest

from slimmer.imagefs.engineview import (
    engine_mtime,
    engine_provided,
    engine_xattrs,
    mtime_from_ns,
    output_entry,
)
from slimmer.imagefs.model import Entry, EntryType
from slimmer.imagefs.tarstream import _pax_time
from slimmer.rebuild.config import created_text

CAP_V2 = struct.pack("<IIIII", 0x02000001, 0x400, 0, 0, 0)


def cap_v3(root: int) -> bytes:
    return struct.pack("<IIIIII", 0x03000001, 0x400, 0, 0, 0, root)


def acl(*entries: tuple[int, int, int]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


USER_OBJ, USER, GROUP_OBJ, MASK, OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
NONE = 0xFFFFFFFF


def test_attributes_the_kernel_refuses_or_hides_are_dropped() -> None:
    given = {"user.a": b"1", "trusted.overlay.opaque": b"y", "trusted.b": b"2", "security.c": b"3"}
    assert engine_xattrs(EntryType.FILE, 0o644, given) == {
        "user.a": b"1", "trusted.b": b"2", "security.c": b"3"
    }  # fmt: skip
    assert engine_xattrs(EntryType.SYMLINK, 0o777, given) == {"trusted.b": b"2", "security.c": b"3"}
    assert "user.a" in engine_xattrs(EntryType.DIR, 0o755, given)
    assert "user.a" not in engine_xattrs(EntryType.FIFO, 0o644, given)


def test_a_revision_3_capability_of_root_reads_back_as_revision_2() -> None:
    assert engine_xattrs(EntryType.FILE, 0o755, {"security.capability": cap_v3(0)}) == {
        "security.capability": CAP_V2
    }
    other = cap_v3(1000)
    assert engine_xattrs(EntryType.FILE, 0o755, {"security.capability": other}) == {
        "security.capability": other
    }


def test_access_acls_as_the_kernel_stores_them_after_chmod() -> None:
    plain = acl((USER_OBJ, 7, 0), (GROUP_OBJ, 5, 0), (OTHER, 5, 0))
    assert engine_xattrs(EntryType.FILE, 0o755, {"system.posix_acl_access": plain}) == {}
    named = (USER, 7, 1000)
    extended = acl((USER_OBJ, 7, 0), named, (GROUP_OBJ, 5, 0), (MASK, 7, 0), (OTHER, 5, 0))
    stored = engine_xattrs(EntryType.FILE, 0o640, {"system.posix_acl_access": extended})
    assert stored == {
        "system.posix_acl_access": acl(
            (USER_OBJ, 6, NONE), (USER, 7, 1000), (GROUP_OBJ, 5, NONE), (MASK, 4, NONE),
            (OTHER, 0, NONE),
        )
    }  # fmt: skip
    default = acl((USER_OBJ, 7, 0), (GROUP_OBJ, 5, 3), (OTHER, 0, 0))
    assert engine_xattrs(EntryType.DIR, 0o755, {"system.posix_acl_default": default}) == {
        "system.posix_acl_default": acl((USER_OBJ, 7, NONE), (GROUP_OBJ, 5, NONE), (OTHER, 0, NONE))
    }


@pytest.mark.parametrize(
    ("kind", "given", "shown"),
    [
        (EntryType.FILE, -5.0, 0.0),
        (EntryType.DIR, 1e10, 0.0),
        (EntryType.FILE, 1700000000.25, 1700000000.25),
        (EntryType.SYMLINK, -5.0, -5.0),
    ],
)
def test_times_the_engine_cannot_set_become_the_epoch(kind, given, shown) -> None:
    assert engine_mtime(kind, given) == shown


@pytest.mark.parametrize("text", [b"1700000000.123456789", b"-1.5", b"0.000000001", b"12"])
def test_nanoseconds_give_the_float_a_pax_time_gives(text: bytes) -> None:
    seconds, _, fraction = text.lstrip(b"-").partition(b".")
    total = int(seconds) * 10**9 + int(fraction.ljust(9, b"0") or b"0")
    total = -total if text.startswith(b"-") else total
    assert mtime_from_ns(total) == _pax_time(text, ValueError)


def test_engine_provided_paths() -> None:
    assert all(map(engine_provided, ["/etc/hosts", "/proc", "/dev/null", "/sys/x", "/.dockerenv"]))
    assert not any(map(engine_provided, ["/etc", "/etc/hosts.allow", "/device", "/procs"]))


def test_the_slim_layer_writes_fixed_values_where_no_container_sees_the_images() -> None:
    root = Entry("/", EntryType.DIR, 0o700, uid=5, gid=6, mtime=9.0, xattrs={"user.a": b"1"})
    assert output_entry(root) == Entry("/", EntryType.DIR, 0o755)
    etc = Entry("/etc", EntryType.DIR, 0o750, uid=0, gid=4, mtime=9.0, uname="root")
    assert output_entry(etc) == Entry("/etc", EntryType.DIR, 0o750, gid=4)
    usr = Entry("/usr", EntryType.DIR, 0o755, mtime=9.0, uname="root", gname="root")
    assert output_entry(usr) == Entry("/usr", EntryType.DIR, 0o755, mtime=9.0)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ("2024-01-01T00:00:00.000000000Z", "2024-01-01T00:00:00Z"),
        ("2024-01-01T00:00:00.120Z", "2024-01-01T00:00:00.12Z"),
        ("2024-01-01T00:00:00.123456789123Z", "2024-01-01T00:00:00.123456789Z"),
        ("2024-01-01T02:00:00+02:00", "2024-01-01T02:00:00+02:00"),
        ("2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", ""),
        (None, ""),
    ],
)
def test_creation_times_as_the_engine_writes_them(raw, shown) -> None:
    assert created_text(raw) == shown
