from __future__ import annotations

import struct
from pathlib import Path

from slimmer.elf import elf_header, is_elf
from slimmer.elf.header import EM_AARCH64, EM_ARM, EM_X86_64, ElfHeader, parse_header
from tests.elf.memfs import MemFs


def _header(elf_class=2, data=1, machine=EM_X86_64, e_type=3, flags=0) -> bytes:
    endian = "<" if data == 1 else ">"
    ident = b"\x7fELF" + bytes([elf_class, data, 1]) + bytes(9)
    if elf_class == 2:
        rest = struct.pack(endian + "HHIQQQIHHHHHH", e_type, machine, 1, 0, 64, 0, flags, 64,
                           56, 0, 64, 0, 0)
    else:
        rest = struct.pack(endian + "HHIIIIIHHHHHH", e_type, machine, 1, 0, 52, 0, flags, 52,
                           32, 0, 40, 0, 0)
    return ident + rest


def test_parse_header_reads_class_machine_and_flags():
    assert parse_header(_header()) == ElfHeader(2, 1, EM_X86_64, 3, 0)
    arm = parse_header(_header(elf_class=1, machine=EM_ARM, flags=0x5000400))
    assert arm is not None and arm.bits == 32 and arm.arm_float == "hard"
    big = parse_header(_header(data=2, machine=EM_AARCH64))
    assert big is not None and big.machine == EM_AARCH64 and big.data == 2


def test_parse_header_rejects_non_elf_and_truncated_data():
    assert parse_header(b"#!/bin/sh\n" + bytes(60)) is None
    assert parse_header(_header()[:40]) is None
    assert parse_header(b"\x7fELF" + bytes([3, 1]) + bytes(58)) is None  # bad class
    assert parse_header(_header()[:60]) is None  # a 64-bit header is 64 bytes


def test_can_load_needs_same_class_order_machine_and_float_abi():
    x64 = parse_header(_header())
    assert x64.can_load(parse_header(_header(e_type=2)))
    assert not x64.can_load(parse_header(_header(elf_class=1)))
    assert not x64.can_load(parse_header(_header(machine=EM_AARCH64)))
    hard = parse_header(_header(elf_class=1, machine=EM_ARM, flags=0x400))
    soft = parse_header(_header(elf_class=1, machine=EM_ARM, flags=0x200))
    unknown = parse_header(_header(elf_class=1, machine=EM_ARM, flags=0))
    assert not hard.can_load(soft)
    assert hard.can_load(unknown) and unknown.can_load(soft)


def test_is_elf_on_real_files_and_entry_kinds():
    fs = (MemFs()
          .copy_host_file("/bin/true", "/usr/bin/true")
          .file("/bin/script", b"#!/bin/sh\necho hello, this script is long enough to read\n")
          .file("/tiny", b"\x7fELF")
          .symlink("/bin/link", "true")
          .hardlink("/bin/hard", "/bin/true"))
    assert is_elf(fs, fs.lookup("/bin/true"))
    assert is_elf(fs, fs.lookup("/bin/hard"))
    assert not is_elf(fs, fs.lookup("/bin/script"))
    assert not is_elf(fs, fs.lookup("/tiny"))
    assert not is_elf(fs, fs.lookup("/bin/link"))  # a symlink has no content; callers resolve
    assert not is_elf(fs, fs.lookup("/bin"))


def test_is_elf_reads_each_file_once_and_never_small_ones():
    fs = MemFs().copy_host_file("/bin/true", "/usr/bin/true").file("/small", b"x" * 20)
    for _ in range(3):
        assert is_elf(fs, fs.lookup("/bin/true"))
        assert not is_elf(fs, fs.lookup("/small"))
    assert fs.opened == 1


def test_is_elf_costs_one_header_read_per_file():
    """Not a timing test: counts that each non-ELF file costs one 64-byte read and no parse."""
    fs = MemFs()
    for index in range(2000):
        fs.file(f"/data/{index}.txt", b"plain text " * 10)
    host_elf = Path("/usr/bin/true").read_bytes()
    fs.file("/usr/bin/true", host_elf)
    found = [e.path for e in fs.entries.values() if is_elf(fs, e)]
    assert found == ["/usr/bin/true"]
    assert fs.opened == 2001
    assert elf_header(fs, fs.lookup("/usr/bin/true")).machine == EM_X86_64
    assert fs.opened == 2001
