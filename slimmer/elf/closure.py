"""The static ELF closure: every file the dynamic loader opens to start the given programs
(or to load the given libraries), found in the image without running anything in it."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from slimmer.elf.dynamic import ElfInfo
from slimmer.elf.glibc import LD_SO_CACHE, GlibcLoader
from slimmer.elf.machine import machine_of
from slimmer.elf.model import Closure
from slimmer.elf.musl import MuslLoader, is_musl_libc_name, musl_loader_path
from slimmer.elf.paths import absolute
from slimmer.elf.probe import Prober
from slimmer.elf.view import ImageView


def elf_closure(fs: ImageView, roots: Iterable[str], env: list[str], cwd: str = "/") -> Closure:
    """Files the ELF ``roots`` need, with the reason each is needed, and the names that could not
    be resolved. ``env`` is the image's Env ("NAME=value"; LD_LIBRARY_PATH is honoured), ``cwd``
    its WorkingDir (for relative paths). Roots that are not ELF are skipped; a root itself is
    not listed unless another root needs it, but the symlinks it passes and its target are."""
    closure = Closure()
    prober = Prober(fs)
    ld_library_path = env_value(env, "LD_LIBRARY_PATH")
    glibc = GlibcLoader(fs, prober, ld_library_path, cwd)
    musl = MuslLoader(fs, prober, ld_library_path, cwd)
    for root in roots:
        path = absolute(root, cwd)
        main = prober(path)
        if main is None or main.info is None:
            continue
        for link in main.links:
            if link != path:
                closure.add(link, f"symlink on the way to {main.real} (root {path})")
        if main.real != path:
            closure.add(main.real, f"target of root {path}")
        loader = musl if _uses_musl(prober, main.info) else glibc
        loader.load(main, closure)
    return closure


def env_value(env: list[str], name: str) -> str | None:
    """The value of ``name`` in a Docker-style environment list (the last one wins)."""
    value = None
    for item in env:
        key, sep, rest = item.partition("=")
        if sep and key == name:
            value = rest
    return value


def _uses_musl(prober: Prober, info: ElfInfo) -> bool:
    """Programs name their loader; a library on its own is musl's when it needs musl's libc,
    or needs no libc at all in an image with a musl loader and no ld.so.cache."""
    if info.interp:
        return posixpath.basename(info.interp).startswith("ld-musl-")
    if "libc.so.6" in info.needed:
        return False
    if any(name == "libc.so" or name.startswith("libc.musl-") for name in info.needed):
        return True
    if any(is_musl_libc_name(name) for name in info.needed):
        return False
    loader = musl_loader_path(machine_of(info.header).musl_arch)
    return prober(loader) is not None and prober(LD_SO_CACHE) is None
