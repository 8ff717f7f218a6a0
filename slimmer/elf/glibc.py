"""glibc's ld.so, simulated over an image: which file each NEEDED name loads.

Order (elf/dl-load.c): a name with '/' is a path. Otherwise DT_RPATH of the requesting object
and of the objects that loaded it, then of the executable (only when the requester has no
DT_RUNPATH; an object's DT_RPATH is ignored when it has DT_RUNPATH), LD_LIBRARY_PATH,
DT_RUNPATH of the requester only, /etc/ld.so.cache, the default directories (these last two
skipped under DF_1_NODEFLIB). Objects already loaded are matched by the name they were opened
by, the names asked for, and their SONAME; a file already loaded under another name is reused.
Candidates of another class, byte order or machine are skipped, like the loader does.

CPUs: the slim image runs on machines other than the one that built it, so every file a loader
may pick on some CPU is kept. The file chosen is what ldd picks on a baseline CPU (ld.so.cache
entries without hwcap bits, plain directories, the first `$PLATFORM` value). glibc-hwcaps and
legacy hwcap variants of the same library (cache entries with hwcap bits, and
glibc-hwcaps/<level>/ beside the chosen file) are kept too, and so is what the search finds
for every other value `$PLATFORM` may take (x86_64: haswell, xeon_phi), including the
fall-through to later directories when that value's directory lacks the library.

Beyond the runtime loader: /etc/ld.so.conf directories are searched when the image has no
ld.so.cache (in its place), and as a last resort when the cache misses a name.
"""

from __future__ import annotations

from slimmer.elf.cache import cache_for
from slimmer.elf.header import ElfHeader
from slimmer.elf.ldcache import LdCache, parse_ld_cache
from slimmer.elf.ldconf import ld_so_conf_dirs
from slimmer.elf.machine import Machine, machine_of
from slimmer.elf.model import Closure, Loaded
from slimmer.elf.paths import absolute, dirname, expand_glibc, in_dir, split_glibc
from slimmer.elf.probe import Candidate, Prober
from slimmer.elf.tree import LoadTree
from slimmer.elf.view import ImageView, read_bytes

LD_SO_CACHE = "/etc/ld.so.cache"
MAX_CACHE_BYTES = 64 << 20

Found = tuple[Candidate | None, tuple[Candidate, ...]]


class GlibcLoader:
    """One per image and environment; search results are shared by every simulated process."""

    def __init__(self, fs: ImageView, prober: Prober, ld_library_path: str | None, cwd: str):
        self.fs = fs
        self.probe = prober
        self.ld_library_path = ld_library_path
        self.cwd = cwd
        self._searches: dict[tuple, Found] = {}

    # ---- image facts (parsed once per image) ---------------------------------------------

    @property
    def ld_cache(self) -> LdCache | None:
        facts = cache_for(self.fs).facts
        if "ld.so.cache" not in facts:
            data = read_bytes(self.fs, LD_SO_CACHE, MAX_CACHE_BYTES)
            facts["ld.so.cache"] = parse_ld_cache(data) if data is not None else None
        return facts["ld.so.cache"]

    @property
    def conf_dirs(self) -> list[str]:
        facts = cache_for(self.fs).facts
        if "ld.so.conf" not in facts:
            facts["ld.so.conf"] = ld_so_conf_dirs(self.fs)
        return facts["ld.so.conf"]

    # ---- one process -------------------------------------------------------------------------

    def load(self, main: Candidate, closure: Closure) -> None:
        """Simulate starting ``main`` (or loading a library on its own): add every file the
        loader opens to ``closure``."""
        assert main.info is not None
        tree = LoadTree()
        main_obj = Loaded(main.real, main.real, main.info, None, dirname(main.real))
        tree.add(main_obj)
        if main.info.interp:
            self._interpreter(main, main.info.interp, tree, closure)
        while (obj := tree.next()) is not None:
            for name in obj.info.needed:
                if self._needed(name, obj, main_obj, tree, closure) is None:
                    closure.miss(name, obj.real)

    def _interpreter(self, main: Candidate, interp: str, tree: LoadTree, closure: Closure) -> None:
        found = self.probe(absolute(interp, self.cwd))
        if found is None or found.info is None:
            closure.miss(interp, main.real)
            return
        closure.add_candidate(found, f"interpreter of {main.real}")
        obj = Loaded(interp, found.real, found.info, None, dirname(found.path))
        tree.add(obj, (found.info.soname,))

    def _needed(self, name: str, requester: Loaded, main: Loaded, tree: LoadTree,
                closure: Closure) -> Loaded | None:
        loaded = tree.by_name.get(name)
        if loaded is not None:
            return loaded
        found, variants = self._find(name, requester, main, machine_of(main.info.header),
                                     main.info.header)
        if found is None or found.info is None:
            return None
        reason = f"NEEDED {name} of {requester.real}"
        closure.add_candidate(found, reason)
        for variant in variants:
            closure.add_candidate(variant, f"variant of {found.real} for other CPUs ({reason})")
        loaded = tree.by_real.get(found.real)
        if loaded is not None:
            tree.name(loaded, name, found.path)
            return loaded
        obj = Loaded(found.path, found.real, found.info, requester, dirname(found.path))
        tree.add(obj, (name, found.info.soname))
        for variant in variants:
            if variant.info is not None and variant.real not in tree.by_real:
                tree.add(Loaded(variant.path, variant.real, variant.info, requester,
                                dirname(variant.path)))
        return obj

    # ---- the search ------------------------------------------------------------------------

    def _find(self, name: str, requester: Loaded, main: Loaded, machine: Machine,
              want: ElfHeader) -> Found:
        """The file ``name`` loads, and the files other CPUs make the loader pick instead: each
        `$PLATFORM` value is searched apart (a value whose directory lacks the library falls
        through to the rest of the search), the first value's choice leads."""
        found: Candidate | None = None
        variants: list[Candidate] = []
        for view in machine.platform_views():
            choice, others = self._find_one(name, requester, main, view, want)
            for candidate in (choice, *others):
                if candidate is None:
                    continue
                if found is None:
                    found = candidate
                elif candidate.real != found.real and all(candidate.real != v.real
                                                          for v in variants):
                    variants.append(candidate)
        return found, tuple(variants)

    def _find_one(self, name: str, requester: Loaded, main: Loaded, machine: Machine,
                  want: ElfHeader) -> Found:
        names = [name]
        if "$" in name:
            names = expand_glibc(name, requester.origin, machine.lib_names, machine.platforms)
        for expanded in names:
            if "/" in expanded:
                candidate = self.probe.loadable(absolute(expanded, self.cwd), want)
                if candidate is not None:
                    return candidate, ()
                continue
            found = self._search(expanded, requester, main, machine, want)
            if found[0] is not None:
                return found
        return None, ()

    def _search(self, name: str, requester: Loaded, main: Loaded, machine: Machine,
                want: ElfHeader) -> Found:
        dirs: list[str] = []
        info = requester.info
        if info.runpath is None:
            chain = requester.chain()
            if main not in chain:
                chain.append(main)
            for obj in chain:
                if obj.info.rpath is not None and obj.info.runpath is None:
                    dirs += self._dirs(obj.info.rpath, obj.origin, machine)
        if self.ld_library_path is not None:
            dirs += self._dirs(self.ld_library_path, main.origin, machine)
        if info.runpath is not None:
            dirs += self._dirs(info.runpath, requester.origin, machine)
        key = (name, tuple(dirs), info.nodeflib, machine.name, want)
        if key not in self._searches:
            self._searches[key] = self._search_uncached(name, dirs, info.nodeflib, machine, want)
        return self._searches[key]

    def _search_uncached(self, name: str, dirs: list[str], nodeflib: bool, machine: Machine,
                         want: ElfHeader) -> Found:
        found = self._in_dirs(name, dirs, machine, want)
        if found[0] is not None or nodeflib:
            return found
        cache = self.ld_cache
        if cache is not None:
            found = self._in_cache(cache, name, machine, want)
        else:
            found = self._in_dirs(name, self.conf_dirs, machine, want)
        if found[0] is None:
            found = self._in_dirs(name, list(machine.default_dirs), machine, want)
        if found[0] is None and cache is not None:
            found = self._in_dirs(name, self.conf_dirs, machine, want)
        return found

    def _in_dirs(self, name: str, dirs: list[str], machine: Machine, want: ElfHeader) -> Found:
        for directory in dirs:
            found = self.probe.loadable(in_dir(directory, name, self.cwd), want)
            if found is not None:
                return found, self._hwcaps_dirs(directory, name, machine, want)
        return None, ()

    def _hwcaps_dirs(self, directory: str, name: str, machine: Machine,
                     want: ElfHeader) -> tuple[Candidate, ...]:
        """Builds of ``name`` in glibc-hwcaps/<level>/ under ``directory``."""
        variants = (
            self.probe.loadable(in_dir(f"{directory}/glibc-hwcaps/{level}", name, self.cwd), want)
            for level in machine.hwcaps
        )
        return tuple(v for v in variants if v is not None)

    def _in_cache(self, cache: LdCache, name: str, machine: Machine, want: ElfHeader) -> Found:
        found: Candidate | None = None
        variants: list[Candidate] = []
        for entry in cache.lookup(name):
            if not machine.accepts_cache_flags(entry.flags):
                continue
            candidate = self.probe.loadable(absolute(entry.path, "/"), want)
            if candidate is None:
                continue
            if entry.baseline:
                found = found or candidate
            else:
                variants.append(candidate)
        if found is None:
            return None, ()
        for variant in self._hwcaps_dirs(dirname(found.path), name, machine, want):
            if all(variant.real != v.real for v in variants):
                variants.append(variant)
        return found, tuple(variants)

    def _dirs(self, value: str, origin: str, machine: Machine) -> list[str]:
        dirs: list[str] = []
        for element in split_glibc(value):
            if "$" in element:
                dirs += expand_glibc(element, origin, machine.lib_names, machine.platforms)
            else:
                dirs.append(element)
        return dirs
