"""glibc's /etc/ld.so.cache: the old libc5-era format ("ld.so-1.7.0"), the new format
("glibc-ld.so.cache1.1") and the old format carrying the new one ("compat")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache1.1"
OLD_HEADER = 16  # magic[11], pad, uint32 nlibs (at 12)
OLD_ENTRY = 12  # int32 flags, uint32 key, uint32 value
NEW_HEADER = 48
NEW_ENTRY = 24  # + uint32 osversion, uint64 hwcap
NEW_ALIGN = 8
ENDIAN_LITTLE, ENDIAN_BIG = 2, 3
MAX_NAME = 4096


@dataclass(frozen=True, slots=True)
class CacheEntry:
    flags: int
    name: str  # the soname looked up
    path: str  # where ldconfig found it
    hwcap: int = 0  # non-zero: a glibc-hwcaps or legacy hwcap variant

    @property
    def baseline(self) -> bool:
        """What the loader picks on a CPU with no optional features."""
        return self.hwcap == 0


class LdCache:
    """Entries by soname, in file order (the loader's order of preference)."""

    def __init__(self, entries: list[CacheEntry], fmt: str) -> None:
        self.format = fmt
        self.entries = entries
        self._by_name: dict[str, list[CacheEntry]] = {}
        for entry in entries:
            self._by_name.setdefault(entry.name, []).append(entry)

    def lookup(self, name: str) -> list[CacheEntry]:
        return self._by_name.get(name, [])


def parse_ld_cache(data: bytes) -> LdCache | None:
    """Parse an ld.so.cache; None when the data is no cache we can read (the loader then
    ignores it too). The new format is preferred when both are present, like glibc does."""
    if data.startswith(NEW_MAGIC):
        entries = _parse_new(data, 0)
        return None if entries is None else LdCache(entries, "new")
    if not data.startswith(OLD_MAGIC):
        return None
    for endian in "<>":
        old = _parse_old(data, endian)
        if old is None:
            continue
        entries, end = old
        start = (end + NEW_ALIGN - 1) & ~(NEW_ALIGN - 1)
        if data.startswith(NEW_MAGIC, start):
            new_entries = _parse_new(data, start)
            if new_entries is not None:
                return LdCache(new_entries, "compat")
        return LdCache(entries, "old")
    return None


def _parse_old(data: bytes, endian: str) -> tuple[list[CacheEntry], int] | None:
    if len(data) < OLD_HEADER:
        return None
    (count,) = struct.unpack_from(endian + "I", data, 12)
    strings = OLD_HEADER + count * OLD_ENTRY
    if strings > len(data):
        return None
    entries = []
    for index in range(count):
        flags, key, value = struct.unpack_from(endian + "iII", data, OLD_HEADER + index * OLD_ENTRY)
        name, path = _string(data, strings + key), _string(data, strings + value)
        if name and path:
            entries.append(CacheEntry(flags, name, path))
    return entries, strings


def _parse_new(data: bytes, base: int) -> list[CacheEntry] | None:
    if len(data) < base + NEW_HEADER:
        return None
    endian_flag = data[base + 28] & 3
    orders = {ENDIAN_LITTLE: "<", ENDIAN_BIG: ">"}.get(endian_flag)
    for endian in orders or "<>":
        (count,) = struct.unpack_from(endian + "I", data, base + 20)
        if base + NEW_HEADER + count * NEW_ENTRY <= len(data):
            break
    else:
        return None
    entries = []
    for index in range(count):
        offset = base + NEW_HEADER + index * NEW_ENTRY
        flags, key, value, _os, hwcap = struct.unpack_from(endian + "iIIIQ", data, offset)
        name, path = _string(data, base + key), _string(data, base + value)
        if name and path:
            entries.append(CacheEntry(flags, name, path, hwcap))
    return entries


def _string(data: bytes, offset: int) -> str:
    """A NUL-terminated string at ``offset``; empty when out of bounds or unterminated."""
    if not 0 <= offset < len(data):
        return ""
    end = data.find(b"\0", offset, offset + MAX_NAME)
    if end < 0:
        return ""
    return data[offset:end].decode("utf-8", "surrogateescape")
