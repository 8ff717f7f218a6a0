"""The walk's reader: what a well-formed walk gives, and that malformed or hostile walks (they
come from a container of an untrusted image) are refused with WalkError, never anything else."""

from __future__ import annotations

import io

import pytest

from slimmer.imagefs.model import EntryType
from slimmer.imagefs.walk import MAX_LINE, WalkError, read_walk, unescape

CREATED = 2_000_000_000_000_000_000  # the container's creation, in ns
OLD = 1_700_000_000  # layers were unpacked long before (seconds)
NEW = 2_000_000_000  # ... and the engine changed these for the container


def entry(kind: str, path: str, mode: int = 0o755, *, uid: int = 0, gid: int = 0, size: int = 0,
          mtime: tuple[int, int] = (OLD, 5), ctime: tuple[int, int] = (OLD, 9), inode: int = 1,
          links: int = 1, rdev: tuple[int, int] = (0, 0)) -> str:  # fmt: skip
    fields = [kind, path, mode, uid, gid, size, *mtime, *ctime, inode, links, *rdev, 59]
    return "e " + " ".join(str(f) for f in fields)


ROOT = entry("d", "/", ctime=(NEW, 0))
ETC = entry("d", "/etc", ctime=(NEW, 0), inode=2)


def walk(*lines: str, count: int | None = None) -> io.BytesIO:
    entries = sum(1 for line in lines if line.startswith("e "))
    body = ["slimmer-walk 1", *lines, f"end {entries if count is None else count}"]
    return io.BytesIO(("\n".join(body) + "\n").encode())


def read(stream: io.BytesIO):
    return read_walk(stream.readline, CREATED)


def test_a_tree_with_links_attributes_and_devices() -> None:
    walked = read(
        walk(
            ROOT,
            ETC,
            entry("f", "/etc/passwd", 0o644, size=12, inode=3),
            entry("d", "/usr", inode=4),
            entry("f", "/usr/a", 0o4755, uid=7, gid=8, size=5, inode=5, links=2),
            "x security.capability \\x01\\x00\\x00\\x02",
            "x user.empty \\-",
            entry("f", "/usr/b", 0o4755, uid=7, gid=8, size=5, inode=5, links=2),
            entry("l", "/usr/sh", 0o777, inode=6),
            "l dash",
            entry("c", "/usr/null", 0o666, rdev=(1, 3), inode=7),
            entry("f", "/usr/frac", 0o644, mtime=(OLD, 500_000_000), inode=8),
        )
    )
    entries = walked.tree.entries
    assert set(entries) == {"/", "/etc", "/etc/passwd", "/usr", "/usr/a", "/usr/b", "/usr/sh",
                            "/usr/null", "/usr/frac"}  # fmt: skip
    a, b = entries["/usr/a"], entries["/usr/b"]
    assert (a.mode, a.uid, a.gid, a.size) == (0o4755, 7, 8, 5)
    assert a.xattrs == {"security.capability": b"\x01\x00\x00\x02"}  # an empty value is none
    assert (a.layer, a.offset) == (b.layer, b.offset)  # one inode: one content
    assert len(walked.contents) == 3 and walked.contents[a.offset].inode == 5
    assert entries["/usr/sh"].linkname == "dash" and entries["/usr/sh"].type is EntryType.SYMLINK
    assert (entries["/usr/null"].devmajor, entries["/usr/null"].devminor) == (1, 3)
    assert entries["/usr/frac"].mtime == OLD + 0.5
    assert not walked.hidden and not walked.uncertain and not walked.problems


def test_what_the_engine_provides_or_changed_is_left_out() -> None:
    walked = read(
        walk(
            ROOT,
            ETC,
            entry("f", "/etc/passwd", 0o644, inode=3),
            "mount /etc/hosts",
            "mount /proc",
            entry("l", "/etc/mtab", 0o777, ctime=(NEW, 1), inode=4),
            "l /proc/mounts",
            entry("f", "/.dockerenv", 0o755, ctime=(NEW, 2), inode=5),
            entry("f", "/run-file", 0o644, ctime=(NEW, 3), inode=6),
            entry("d", "/var", ctime=(NEW, 4), inode=7),
            "mount /var/volume",
            entry("f", "/var/kept", 0o644, inode=8),
        )
    )
    assert set(walked.tree.entries) == {"/", "/etc", "/etc/passwd", "/var", "/var/kept"}
    assert walked.hidden == {"/run-file", "/var/volume"}
    assert walked.uncertain == {"/var"}  # changed by the engine (a mount point made in it)


def test_a_directory_a_layer_implied_gets_the_layers_reader_values() -> None:
    implied = entry("d", "/implied", 0o755, mtime=(OLD, 7), ctime=(OLD, 7), inode=3)
    odd = entry("d", "/odd", 0o700, mtime=(OLD, 7), ctime=(OLD, 7), inode=4)
    walked = read(walk(ROOT, ETC, entry("f", "/etc/x", inode=9), implied, odd))
    assert walked.tree.entries["/implied"].mtime == 0.0
    assert walked.tree.entries["/odd"].mtime == OLD + 7e-9 and walked.uncertain == {"/odd"}


def test_etc_without_entries_of_the_image_is_not_taken_as_the_images() -> None:
    walked = read(walk(ROOT, ETC, "mount /etc/hosts", entry("f", "/app", 0o755, inode=3)))
    assert "/etc" not in walked.tree.entries and walked.uncertain == {"/etc"}


def test_read_errors_are_problems() -> None:
    walked = read(walk(ROOT, "err /secret 13 readdir", "err /proc/1 13 readdir"))
    assert walked.problems == ["/secret: readdir failed (errno b'13')"]


def test_names_with_any_bytes() -> None:
    walked = read(walk(ROOT, entry("f", "/a\\x20b\\x0a\\xff", 0o644, inode=3)))
    assert "/a b\n\udcff" in walked.tree.entries
    assert unescape(b"x\\x5cy") == b"x\\y" and unescape(b"\\-") == b""


@pytest.mark.parametrize(
    "lines",
    [
        [ROOT, entry("f", "/a/b", inode=3)],  # before its directory
        [ROOT, entry("f", "/a", inode=3), entry("f", "/a", inode=4)],  # twice
        [ROOT, entry("f", "/a/../b", inode=3)],
        [ROOT, entry("f", "//a", inode=3)],
        [ROOT, entry("f", "/a/", inode=3)],
        [ROOT, entry("f", "relative", inode=3)],
        [ROOT, entry("f", "/a\\x00b", inode=3)],
        [ROOT, entry("f", "/" + "n" * 256, inode=3)],
        [ROOT, entry("f", "/a", 0o17777, inode=3)],
        [ROOT, entry("f", "/a", uid=1 << 31, inode=3)],
        [ROOT, entry("f", "/a", mtime=(OLD, 1_000_000_000), inode=3)],
        [ROOT, "e f /a 644 0 0 x 1 2 3 4 5 6 7 8 9"],
        [ROOT, "e f /a 644"],
        [ROOT, entry("q", "/a", inode=3)],
        [ROOT, entry("f", "/a", inode=3), "x bad\\x3dname v"],
        [ROOT, entry("f", "/a", inode=3), "x \\- v"],
        [ROOT, entry("f", "/a", inode=3), "x name " + "\\x41" * 65537],
        [ROOT, entry("f", "/a", inode=3), "l target"],  # a link target for a file
        [ROOT, entry("l", "/a", 0o777, inode=3), "l \\-"],
        [ROOT, "x \\zz v"],
        [ROOT, "bogus record"],
        [entry("f", "/a", inode=3)],  # no root first
        [ROOT, ROOT],
    ],
)
def test_malformed_walks_are_refused(lines: list[str]) -> None:
    with pytest.raises(WalkError):
        read(walk(*lines))


def test_truncated_and_miscounted_walks_are_refused() -> None:
    with pytest.raises(WalkError):
        read(io.BytesIO(b"slimmer-walk 1\n" + ROOT.encode() + b"\n"))
    with pytest.raises(WalkError):
        read(walk(ROOT, count=5))
    with pytest.raises(WalkError):
        read(io.BytesIO(b"slimmer-walk 2\nend 0\n"))
    with pytest.raises(WalkError):
        read(io.BytesIO(b"slimmer-walk 1\n" + b"x" * (MAX_LINE + 10) + b"\n"))
