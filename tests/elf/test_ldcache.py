from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from slimmer.elf import parse_ld_cache
from slimmer.elf.ldcache import NEW_MAGIC
from slimmer.elf.machine import AARCH64, ARMHF, I386, X86_64
from tests.elf.build import shared_lib
from tests.elf.conftest import need_tool

SYS = "usr/lib/x86_64-linux-gnu"


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory) -> Path:
    """A root with a few libraries, one with a glibc-hwcaps variant, for the real ldconfig."""
    need_tool("gcc", "gcc")
    need_tool("ldconfig", "libc-bin")
    root = tmp_path_factory.mktemp("ldcache")
    shared_lib(root / SYS / "libalpha.so.1", "libalpha.so.1")
    shared_lib(root / SYS / "libbeta.so.2", "libbeta.so.2")
    shared_lib(root / SYS / "glibc-hwcaps/x86-64-v3/libbeta.so.2", "libbeta.so.2")
    shared_lib(root / "opt/extra/libgamma.so.0", "libgamma.so.0")
    (root / "etc").mkdir()
    (root / "etc/ld.so.conf").write_text("/opt/extra\n")
    return root


def _ldconfig(root: Path, fmt: str) -> bytes:
    out = root / f"cache.{fmt}"
    subprocess.run(["ldconfig", "-X", "-c", fmt, "-r", str(root), "-C", f"/cache.{fmt}"],
                   check=True, capture_output=True)
    return out.read_bytes()


def _printed(root: Path, fmt: str) -> set[tuple[str, str]]:
    """What glibc's own `ldconfig -p` reads from the cache: (name, path) pairs."""
    text = subprocess.run(["ldconfig", "-p", "-C", str(root / f"cache.{fmt}")], check=True,
                          capture_output=True).stdout.decode("utf-8", "replace")
    return set(re.findall(r"^\s+(\S+) \(.*\) => (\S+)$", text, re.M))


@pytest.mark.parametrize("fmt", ["old", "compat", "new"])
def test_parses_every_format_ldconfig_writes(cache_root, fmt):
    cache = parse_ld_cache(_ldconfig(cache_root, fmt))
    assert cache is not None and cache.format == fmt
    assert {(e.name, e.path) for e in cache.entries} == _printed(cache_root, fmt)
    [alpha] = cache.lookup("libalpha.so.1")
    assert alpha.path == "/usr/lib/x86_64-linux-gnu/libalpha.so.1"
    assert X86_64.accepts_cache_flags(alpha.flags) and not AARCH64.accepts_cache_flags(alpha.flags)
    assert cache.lookup("libgamma.so.0")[0].path == "/opt/extra/libgamma.so.0"


def test_new_format_marks_glibc_hwcaps_variants(cache_root):
    cache = parse_ld_cache(_ldconfig(cache_root, "new"))
    entries = cache.lookup("libbeta.so.2")
    assert {e.path for e in entries if e.baseline} == {"/usr/lib/x86_64-linux-gnu/libbeta.so.2"}
    assert {e.path for e in entries if not e.baseline} == {
        "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libbeta.so.2"}


def test_reads_the_machines_own_cache():
    data = Path("/etc/ld.so.cache").read_bytes()
    cache = parse_ld_cache(data)
    assert cache is not None
    assert any(e.path.endswith("/libc.so.6") for e in cache.lookup("libc.so.6"))


def _new_cache(entries: list[tuple[int, str, str, int]], endian: str, flag: int) -> bytes:
    strings = b""
    offsets = []
    base = 48 + 24 * len(entries)
    for _flags, name, path, _hwcap in entries:
        offsets.append((base + len(strings), base + len(strings) + len(name) + 1))
        strings += name.encode() + b"\0" + path.encode() + b"\0"
    header = NEW_MAGIC + struct.pack(endian + "IIB3xI12x", len(entries), len(strings), flag, 0)
    body = b"".join(
        struct.pack(endian + "iIIIQ", flags, key, value, 0, hwcap)
        for (flags, _n, _p, hwcap), (key, value) in zip(entries, offsets, strict=True)
    )
    return header + body + strings


def test_big_endian_and_foreign_architecture_flags():
    entries = [(0x0A03, "libz.so.1", "/lib/aarch64-linux-gnu/libz.so.1", 0),
               (0x0903, "libz.so.1", "/lib/arm-linux-gnueabihf/libz.so.1", 0),
               (0x0003, "libz.so.1", "/lib/i386-linux-gnu/libz.so.1", 0)]
    for endian, flag in ((">", 3), ("<", 2), ("<", 0)):
        cache = parse_ld_cache(_new_cache(entries, endian, flag))
        assert cache is not None
        found = {
            m.name: [e.path for e in cache.lookup("libz.so.1") if m.accepts_cache_flags(e.flags)]
            for m in (AARCH64, ARMHF, I386, X86_64)
        }
        assert found == {
            "aarch64": ["/lib/aarch64-linux-gnu/libz.so.1"],
            "armhf": ["/lib/arm-linux-gnueabihf/libz.so.1", "/lib/i386-linux-gnu/libz.so.1"],
            "i386": ["/lib/i386-linux-gnu/libz.so.1"],
            "x86_64": [],
        }


def test_damaged_caches_never_raise(cache_root):
    for fmt in ("old", "compat", "new"):
        data = _ldconfig(cache_root, fmt)
        for cut in range(0, len(data), 7):
            parse_ld_cache(data[:cut])
        damaged = bytearray(data)
        for offset in range(20, len(damaged), 13):
            damaged[offset] ^= 0xFF
        parse_ld_cache(bytes(damaged))
    assert parse_ld_cache(b"") is None
    assert parse_ld_cache(b"not a cache at all") is None
