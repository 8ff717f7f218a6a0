"""The closure's result and the objects a simulated load tree is made of."""

from __future__ import annotations

from dataclasses import dataclass, field

from slimmer.elf.dynamic import ElfInfo
from slimmer.elf.probe import Candidate


@dataclass
class Closure:
    """Files the roots need, each with why (the first reason found), and the names that could
    not be resolved with the object that needs them (warnings, not errors)."""

    files: dict[str, str] = field(default_factory=dict)
    unresolved: list[tuple[str, str]] = field(default_factory=list)
    _missing: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False,
                                           compare=False)

    def add(self, path: str, reason: str) -> None:
        self.files.setdefault(path, reason)

    def add_candidate(self, candidate: Candidate, reason: str) -> None:
        """The file a loader opens, and every symlink it passes on the way."""
        for link in candidate.links:
            self.add(link, f"symlink on the way to {candidate.real} ({reason})")
        self.add(candidate.real, reason)

    def miss(self, name: str, needed_by: str) -> None:
        if (name, needed_by) not in self._missing:
            self._missing.add((name, needed_by))
            self.unresolved.append((name, needed_by))


@dataclass(eq=False)
class Loaded:
    """One object of a simulated process: ``name`` is the path it was opened by (the loader's
    l_name, which gives $ORIGIN for libraries), ``real`` the file it resolves to."""

    name: str
    real: str
    info: ElfInfo
    loader: Loaded | None
    origin: str
    names: set[str] = field(default_factory=set)

    def chain(self) -> list[Loaded]:
        """This object and the objects that loaded it, up to the main program."""
        found: list[Loaded] = []
        current: Loaded | None = self
        while current is not None and current not in found:
            found.append(current)
            current = current.loader
        return found
