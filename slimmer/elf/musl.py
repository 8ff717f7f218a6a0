"""musl's dynamic linker (ldso/dynlink.c), simulated over an image.

musl's libc is its loader: NEEDED names like libc.so, libc.musl-x86_64.so.1, libpthread.so.0
or libm.so.6 are the interpreter itself. Other names: a name with '/' is a path; then objects
already loaded under that file name; then LD_LIBRARY_PATH, the DT_RUNPATH (else DT_RPATH) of
the requester and of each object that loaded it (only $ORIGIN is expanded; a path with any
other `$` is ignored), then the system path from PREFIX/etc/ld-musl-ARCH.path (PREFIX is the
interpreter's path minus its last two components), or /lib:/usr/local/lib:/usr/lib when that
file does not exist. musl opens the first file that exists: if it cannot be loaded, the name
is unresolved.
"""

from __future__ import annotations

import posixpath

from slimmer.elf.cache import cache_for
from slimmer.elf.machine import machine_of
from slimmer.elf.model import Closure, Loaded
from slimmer.elf.paths import absolute, dirname, expand_musl, in_dir, split_musl
from slimmer.elf.probe import Candidate, Prober
from slimmer.elf.tree import LoadTree
from slimmer.elf.view import ImageView, read_text

DEFAULT_SYS_PATH = ("/lib", "/usr/local/lib", "/usr/lib")
_RESERVED = ("c", "pthread", "rt", "m", "dl", "util", "xnet")


def is_musl_libc_name(name: str) -> bool:
    """Whether musl maps a NEEDED name to itself. This is musl's exact test: "lib" + a stem up
    to the first '.', where strncmp(stem, reserved, len(stem)) == 0 for a reserved name."""
    if not name.startswith("lib") or "." not in name:
        return False
    stem = name[3:name.index(".")]
    return any(len(stem) <= len(word) and word[: len(stem)] == stem for word in _RESERVED)


def musl_loader_path(arch: str) -> str:
    return f"/lib/ld-musl-{arch}.so.1"


class MuslLoader:
    def __init__(self, fs: ImageView, prober: Prober, ld_library_path: str | None, cwd: str):
        self.fs = fs
        self.probe = prober
        self.env_dirs = split_musl(ld_library_path) if ld_library_path else []
        self.cwd = cwd

    def sys_path(self, ldso_name: str, arch: str) -> list[str]:
        """The system search path a musl loader at ``ldso_name`` uses in this image."""
        prefix = ""
        if ldso_name.startswith("/"):
            slashes = [i for i, char in enumerate(ldso_name) if char == "/"]
            prefix = ldso_name[: slashes[-2]] if len(slashes) > 1 else ""
        path = f"{prefix}/etc/ld-musl-{arch}.path"
        facts = cache_for(self.fs).facts
        key = f"musl-path:{path}"
        if key not in facts:
            text = read_text(self.fs, path)
            facts[key] = (
                list(DEFAULT_SYS_PATH) if text is None else split_musl(text.split("\0", 1)[0])
            )
        return facts[key]

    def load(self, main: Candidate, closure: Closure) -> None:
        assert main.info is not None
        want = main.info.header
        arch = machine_of(want).musl_arch
        ldso_name = main.info.interp or musl_loader_path(arch)
        ldso = self.probe(absolute(ldso_name, self.cwd))
        if ldso is not None and ldso.info is None:
            ldso = None
        if main.info.interp:
            if ldso is None:
                closure.miss(ldso_name, main.real)
            else:
                closure.add_candidate(ldso, f"interpreter of {main.real}")
        sys_dirs = self.sys_path(ldso_name, arch)
        tree = LoadTree()
        tree.add(Loaded(main.real, main.real, main.info, None, dirname(main.real)))
        while (obj := tree.next()) is not None:
            for name in obj.info.needed:
                if is_musl_libc_name(name) or name == ldso_name:
                    if ldso is None:
                        closure.miss(name, obj.real)
                    else:
                        closure.add_candidate(
                            ldso, f"NEEDED {name} of {obj.real} (musl libc is its loader)")
                    continue
                if "/" not in name and name in tree.by_name:
                    continue
                found = self._open(name, obj, sys_dirs)
                if found is None or not found.loadable_by(want):
                    closure.miss(name, obj.real)
                    continue
                closure.add_candidate(found, f"NEEDED {name} of {obj.real}")
                short = () if "/" in name else (posixpath.basename(found.path),)
                loaded = tree.by_real.get(found.real)
                if loaded is not None:
                    tree.name(loaded, *short)
                    continue
                assert found.info is not None
                tree.add(Loaded(found.path, found.real, found.info, obj, dirname(found.path)),
                         short)

    def _open(self, name: str, requester: Loaded, sys_dirs: list[str]) -> Candidate | None:
        if "/" in name:
            return self.probe(absolute(name, self.cwd))
        dirs = list(self.env_dirs)
        for obj in requester.chain():
            search = obj.info.runpath if obj.info.runpath is not None else obj.info.rpath
            expanded = expand_musl(search, obj.origin) if search else None
            if expanded:
                dirs += split_musl(expanded)
        dirs += sys_dirs
        for directory in dirs:
            found = self.probe(in_dir(directory, name, self.cwd))
            if found is not None:
                return found
        return None
