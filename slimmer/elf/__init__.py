"""Static ELF dependency closure over an image index: no ldd, no container run.

``elf_closure(fs, roots, env)`` simulates glibc's and musl's loaders (PT_INTERP, DT_NEEDED,
DT_RPATH/DT_RUNPATH with $ORIGIN/$LIB/$PLATFORM, LD_LIBRARY_PATH, ld.so.cache, ld.so.conf,
default directories, /etc/ld-musl-ARCH.path); ``is_elf(fs, entry)`` is the cheap header check.
"""

from slimmer.elf.closure import elf_closure, env_value
from slimmer.elf.dynamic import ElfInfo, elf_info
from slimmer.elf.header import ElfHeader, elf_header, is_elf
from slimmer.elf.ldcache import LdCache, parse_ld_cache
from slimmer.elf.model import Closure

__all__ = [
    "Closure",
    "ElfHeader",
    "ElfInfo",
    "LdCache",
    "elf_closure",
    "elf_header",
    "elf_info",
    "env_value",
    "is_elf",
    "parse_ld_cache",
]
