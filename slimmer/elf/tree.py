"""The objects of one simulated process, found by the names a loader matches them by."""

from __future__ import annotations

from collections import deque

from slimmer.elf.model import Loaded

MAX_OBJECTS = 4096  # per simulated process; a real one with more is beyond any sane image


class LoadTree:
    def __init__(self) -> None:
        self.by_name: dict[str, Loaded] = {}
        self.by_real: dict[str, Loaded] = {}
        self.queue: deque[Loaded] = deque()
        self.count = 0

    def add(self, obj: Loaded, names: tuple[str | None, ...] = ()) -> None:
        """Register a newly loaded object; its NEEDED entries are processed in load order."""
        self.by_real.setdefault(obj.real, obj)
        self.name(obj, obj.name, *names)
        if self.count < MAX_OBJECTS:
            self.count += 1
            self.queue.append(obj)

    def name(self, obj: Loaded, *names: str | None) -> None:
        for name in names:
            if name:
                obj.names.add(name)
                self.by_name.setdefault(name, obj)

    def next(self) -> Loaded | None:
        return self.queue.popleft() if self.queue else None
