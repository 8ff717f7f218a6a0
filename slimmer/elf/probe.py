"""Look at a candidate path the way a loader opening it would: resolve it in the image,
read its ELF facts, check that the requesting process can load it."""

from __future__ import annotations

from dataclasses import dataclass

from slimmer.elf.dynamic import ElfInfo, elf_info
from slimmer.elf.header import ElfHeader
from slimmer.elf.view import ImageView
from slimmer.imagefs.model import EntryType

_OPENABLE = (EntryType.FILE, EntryType.HARDLINK)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A path as the loader names it (``path``), the file it resolves to in the image
    (``real``), every symlink passed, and its ELF facts (None when it is not ELF)."""

    path: str
    real: str
    links: tuple[str, ...]
    info: ElfInfo | None

    def loadable_by(self, want: ElfHeader) -> bool:
        return self.info is not None and want.can_load(self.info.header)


class Prober:
    """Resolves candidate paths once per image and remembers the answers."""

    def __init__(self, fs: ImageView) -> None:
        self.fs = fs
        self._seen: dict[str, Candidate | None] = {}

    def __call__(self, path: str) -> Candidate | None:
        """The file at ``path`` (symlinks followed in the image), or None when there is no
        regular file there."""
        if path in self._seen:
            return self._seen[path]
        resolution = self.fs.resolve(path)
        entry = resolution.entry
        found = None
        if entry is not None and entry.type in _OPENABLE:
            found = Candidate(path, resolution.path, tuple(resolution.links),
                              elf_info(self.fs, entry))
        self._seen[path] = found
        return found

    def loadable(self, path: str, want: ElfHeader) -> Candidate | None:
        candidate = self(path)
        return candidate if candidate is not None and candidate.loadable_by(want) else None
