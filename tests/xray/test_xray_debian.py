"""xray of the Debian fixture images against independent computations: dive's efficiency and
wasted bytes recomputed here from `docker save` with Python's tarfile (written for this test,
sharing no code with slimmer), and the packages against `dpkg-query -W` run in the image."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.xray.helpers import save_image, xray_json

pytestmark = [pytest.mark.docker, pytest.mark.slow]
MULTI_LAYER = "python-app"  # python-base plus a committed layer


def _clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def _layer_nodes(layer: tarfile.TarFile) -> dict[str, tuple[str, int]]:
    """path -> (kind, size) of one layer as dive builds it: parents implied, whiteouts as
    nodes of the path they hide, opaque markers dropped (only their parents kept)."""
    nodes: dict[str, tuple[str, int]] = {}
    for member in layer:
        path = _clean(member.name)
        if path == "/":
            continue
        parent, _, base = path.rpartition("/")
        parts = parent.split("/")[1:]
        for depth in range(1, len(parts) + 1):
            nodes.setdefault("/" + "/".join(parts[:depth]), ("dir", 0))
        if base.startswith(".wh..wh."):
            continue
        if base.startswith(".wh."):
            nodes[f"{parent}/{base[4:]}"] = ("whiteout", 0)
        elif member.isdir():
            nodes[path] = ("dir", 0)
        else:
            nodes[path] = ("file", member.size if member.isreg() else 0)
    return nodes


def dive_figures(archive: Path) -> dict[str, float]:
    sightings: dict[str, list[int]] = {}
    stacked: dict[str, tuple[str, int]] = {}
    layer_bytes: list[int] = []
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        for name in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name), mode="r|") as layer:
                sizes: list[int] = []
                nodes = _layer_nodes(_counting(layer, sizes))
            layer_bytes.append(sum(sizes))
            parents = {p.rpartition("/")[0] or "/" for p in nodes}
            for path, (kind, size) in nodes.items():
                if path in parents:
                    continue  # not a leaf
                if kind == "whiteout":
                    below = stacked.get(path)
                    size = 0
                    if below and below[0] == "dir":
                        size = sum(s for p, (_, s) in stacked.items()
                                   if p == path or p.startswith(path + "/"))
                sightings.setdefault(path, []).append(size)
            for path, (kind, size) in nodes.items():
                if kind == "whiteout":
                    for gone in [p for p in stacked if p == path or p.startswith(path + "/")]:
                        del stacked[gone]
                else:
                    stacked[path] = (kind, size)
    cumulative = sum(sum(s) for s in sightings.values())
    minimum = sum(min(s) for s in sightings.values())
    wasted = sum(sum(s) for s in sightings.values() if len(s) > 1)
    user = sum(layer_bytes[1:])
    return {
        "efficiency": minimum / cumulative if cumulative else 1.0,
        "wasted_bytes": wasted,
        "user_wasted_ratio": wasted / user if user else 0.0,
        "layers": len(layer_bytes),
    }


def _counting(layer: tarfile.TarFile, sizes: list[int]):
    for member in layer:
        sizes.append(member.size if member.isreg() else 0)
        yield member


@pytest.mark.parametrize("name", [MULTI_LAYER, "nginx"])
def test_efficiency_equals_an_independent_computation(name, fixture_image, tmp_path) -> None:
    ref = fixture_image(name)
    expected = dive_figures(save_image(ref, tmp_path / "image.tar"))
    report = xray_json(ref)
    eff = report["efficiency"]
    assert report["image"]["layers"] == expected["layers"]
    assert eff["efficiency"] == pytest.approx(expected["efficiency"], abs=1e-12)
    assert eff["wasted_bytes"] == expected["wasted_bytes"]
    assert eff["user_wasted_ratio"] == pytest.approx(expected["user_wasted_ratio"], abs=1e-12)
    if name == MULTI_LAYER:
        assert eff["wasted_bytes"] > 0 and eff["efficiency"] < 1  # the check can fail
