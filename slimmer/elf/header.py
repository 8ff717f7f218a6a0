"""ELF identification from the first bytes of a file: cheap, no pyelftools."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from slimmer.elf.cache import cache_for
from slimmer.elf.view import ImageView, content_entry
from slimmer.imagefs.model import Entry, EntryType

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_EXEC, ET_DYN = 2, 3
EM_386, EM_ARM, EM_X86_64, EM_AARCH64 = 3, 40, 62, 183
EF_ARM_ABI_FLOAT_SOFT, EF_ARM_ABI_FLOAT_HARD = 0x200, 0x400
HEADER_SIZE = 64  # an Elf64_Ehdr; an Elf32_Ehdr is 52
MIN_SIZE = 52
_CONTENT_TYPES = (EntryType.FILE, EntryType.HARDLINK)


@dataclass(frozen=True, slots=True)
class ElfHeader:
    elf_class: int
    data: int
    machine: int
    type: int
    flags: int

    @property
    def bits(self) -> int:
        return 64 if self.elf_class == ELFCLASS64 else 32

    @property
    def identity(self) -> tuple[int, int, int]:
        return (self.elf_class, self.data, self.machine)

    @property
    def arm_float(self) -> str:
        """"hard", "soft" or "" (32-bit ARM float ABI from e_flags)."""
        if self.machine != EM_ARM:
            return ""
        if self.flags & EF_ARM_ABI_FLOAT_HARD:
            return "hard"
        if self.flags & EF_ARM_ABI_FLOAT_SOFT:
            return "soft"
        return ""

    def can_load(self, other: ElfHeader) -> bool:
        """Whether a process of this header's kind can load ``other`` (class, byte order,
        machine, and for ARM a float ABI that does not contradict)."""
        if self.identity != other.identity:
            return False
        mine, theirs = self.arm_float, other.arm_float
        return not (mine and theirs and mine != theirs)


def parse_header(data: bytes) -> ElfHeader | None:
    """The header of an ELF image given its first bytes, or None when it is not ELF."""
    if len(data) < MIN_SIZE or data[:4] != ELF_MAGIC:
        return None
    elf_class, byte_order = data[4], data[5]
    if elf_class not in (ELFCLASS32, ELFCLASS64) or byte_order not in (ELFDATA2LSB, ELFDATA2MSB):
        return None
    endian = "<" if byte_order == ELFDATA2LSB else ">"
    e_type, machine = struct.unpack_from(endian + "HH", data, 16)
    if elf_class == ELFCLASS64:
        if len(data) < HEADER_SIZE:
            return None
        (flags,) = struct.unpack_from(endian + "I", data, 48)
    else:
        (flags,) = struct.unpack_from(endian + "I", data, 36)
    return ElfHeader(elf_class, byte_order, machine, e_type, flags)


def elf_header(fs: ImageView, entry: Entry) -> ElfHeader | None:
    """The ELF header of a file entry (hardlinks followed), cached per image; None if not ELF."""
    headers = cache_for(fs).headers
    if entry.path in headers:
        return headers[entry.path]
    header = None
    data_entry = content_entry(fs, entry) if entry.type in _CONTENT_TYPES else None
    if data_entry is not None and data_entry.size >= MIN_SIZE:
        with fs.open(data_entry) as stream:
            header = parse_header(stream.read(HEADER_SIZE))
    headers[entry.path] = header
    return header


def is_elf(fs: ImageView, entry: Entry) -> bool:
    """Whether the entry is an ELF file: reads only its first 64 bytes, once per image."""
    return elf_header(fs, entry) is not None

