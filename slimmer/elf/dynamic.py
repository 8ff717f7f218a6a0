"""The loader-relevant facts of an ELF file (PT_INTERP and the dynamic section), via pyelftools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from slimmer.elf.cache import cache_for
from slimmer.elf.header import ElfHeader, elf_header
from slimmer.elf.view import ImageView, content_entry
from slimmer.imagefs.model import Entry

DF_1_NODEFLIB = 0x800
MAX_NEEDED = 4096
MAX_STRING = 4096


@dataclass(frozen=True, slots=True)
class ElfInfo:
    header: ElfHeader
    interp: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: str | None = None
    runpath: str | None = None
    nodeflib: bool = False


def elf_info(fs: ImageView, entry: Entry) -> ElfInfo | None:
    """Interpreter, NEEDED, SONAME, RPATH, RUNPATH and DF_1_NODEFLIB of an ELF entry, cached per
    image. None when the entry is not ELF; a malformed ELF gives what could be read of it."""
    infos = cache_for(fs).infos
    if entry.path in infos:
        return infos[entry.path]
    header = elf_header(fs, entry)
    info = None
    if header is not None:
        data_entry = content_entry(fs, entry)
        assert data_entry is not None  # elf_header found content
        with fs.open(data_entry) as stream:
            info = _parse(stream, header)
    infos[entry.path] = info
    return info


def _parse(stream: BinaryIO, header: ElfHeader) -> ElfInfo:
    interp: str | None = None
    needed: list[str] = []
    values: dict[str, str] = {}
    flags_1 = 0
    seen_dynamic = False
    try:
        elf = ELFFile(stream)
        for segment in elf.iter_segments():
            kind = segment["p_type"]
            if kind == "PT_INTERP" and interp is None:
                interp = _text(segment.get_interp_name())
            elif isinstance(segment, DynamicSegment) and not seen_dynamic:
                seen_dynamic = True  # the loader reads the first PT_DYNAMIC only
                for tag in segment.iter_tags():
                    name = tag.entry.d_tag
                    if name == "DT_NEEDED" and len(needed) < MAX_NEEDED:
                        needed.append(_text(tag.needed))
                    elif name in ("DT_SONAME", "DT_RPATH", "DT_RUNPATH"):
                        values.setdefault(name, _text(getattr(tag, name[3:].lower())))
                    elif name == "DT_FLAGS_1":
                        flags_1 = int(tag.entry.d_val)
    except Exception:  # hostile or truncated ELF: pyelftools raises many kinds; keep what was read
        pass
    return ElfInfo(
        header=header,
        interp=interp,
        needed=tuple(needed),
        soname=values.get("DT_SONAME"),
        rpath=values.get("DT_RPATH"),
        runpath=values.get("DT_RUNPATH"),
        nodeflib=bool(flags_1 & DF_1_NODEFLIB),
    )


def _text(value: str) -> str:
    """pyelftools decodes as latin-1; re-decode as UTF-8 (undecodable bytes kept) like tar names,
    and cut at a sane length."""
    return value[:MAX_STRING].encode("latin-1", "replace").decode("utf-8", "surrogateescape")
