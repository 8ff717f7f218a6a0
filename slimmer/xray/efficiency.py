"""Efficiency and wasted bytes exactly as dive defines them (filetree/efficiency.go).

For every layer, each *leaf* of the layer's own tree (a path with nothing under it in that
layer: files, links, empty directories, whiteouts) is one sighting of its path. A sighting's
size is the tar size of the entry (0 for directories, links and hardlinks); a whiteout's is the
size of everything under the path in the layers below if that was a directory, else 0.
Per path: ``cumulative`` = the sum of its sightings, ``minimum`` = the smallest one.

- efficiency = sum(minimum) / sum(cumulative) over all paths (1.0 when nothing is stored);
- wasted bytes = sum(cumulative) over the paths sighted at least twice;
- user wasted ratio = wasted bytes / the bytes of every layer but the first (a layer's bytes
  are the sum of its entries' tar sizes).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Sightings:
    cumulative: int
    minimum: int
    layers: list[int]


@dataclass
class Efficiency:
    paths: dict[str, Sightings] = field(default_factory=dict)
    layer_bytes: list[int] = field(default_factory=list)

    def see(self, path: str, size: int, layer: int) -> None:
        found = self.paths.get(path)
        if found is None:
            self.paths[path] = Sightings(size, size, [layer])
            return
        found.cumulative += size
        found.minimum = min(found.minimum, size)
        found.layers.append(layer)

    def score(self) -> float:
        stored = sum(s.cumulative for s in self.paths.values())
        if stored == 0:
            return 1.0
        return sum(s.minimum for s in self.paths.values()) / stored

    def wasted(self) -> list[tuple[str, Sightings]]:
        """Paths sighted more than once, largest cumulative size first."""
        found = [(p, s) for p, s in self.paths.items() if len(s.layers) > 1]
        found.sort(key=lambda item: (-item[1].cumulative, item[0]))
        return found

    def summary(self, limit: int) -> dict[str, object]:
        wasted = self.wasted()
        wasted_bytes = sum(s.cumulative for _, s in wasted)
        user_bytes = sum(self.layer_bytes[1:])
        return {
            "efficiency": self.score(),
            "wasted_bytes": wasted_bytes,
            "user_bytes": user_bytes,
            "user_wasted_ratio": wasted_bytes / user_bytes if user_bytes else 0.0,
            "wasted_paths": [
                {"path": p, "bytes": s.cumulative, "layers": s.layers}
                for p, s in wasted[:limit]
                if s.cumulative
            ],
            "wasted_paths_total": sum(1 for _, s in wasted if s.cumulative),
        }
