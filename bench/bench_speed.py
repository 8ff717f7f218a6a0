"""How a build's time grows with the image (issue 13), before and after, in one run:

1. nginx plus 2 GB of data files the app never reads (``slimmer-fixture/nginx-data:HASH``, built
   once and kept like a fixture): its build time against nginx's own. Before: the save stream
   (``--read-image save --no-cache``, every byte of every layer). After: the default
   (``--read-image auto``, a new layer cache: a first build reads the image by a walk of a
   fresh container and moves only what it reads).
2. A second build of an image that differs from an already-built one only in its top layer
   (python-app, then python-app with one changed app file): its time against the first's, with
   the layer cache (both ways) and without.

Times are medians of interleaved runs: the wall time of the whole command and the report's
total. Run: ``python bench/bench_speed.py [--runs N]``; figures go to bench/out/speed.json.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.results import save
from fixtures import ensure_image, image_exists
from fixtures.images import build_container, derive_image
from slimmer.engine import Engine, split_ref

DATA_FILES = 20
DATA_FILE_BYTES = 100 << 20  # 20 x 100 MiB = 2 GiB of random data
DATA_RECIPE = b"nginx-data/1"
BEFORE = ("--read-image", "save", "--no-cache")
AFTER: tuple[str, ...] = ()


class RandomTar(io.RawIOBase):
    """A tar of ``DATA_FILES`` files of random bytes under data/, generated while it is read."""

    def __init__(self) -> None:
        super().__init__()
        self._parts = self._generate()
        self._rest = b""

    def _generate(self) -> Iterator[bytes]:
        directory = tarfile.TarInfo("data")
        directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 1704067200
        yield directory.tobuf()
        for number in range(DATA_FILES):
            info = tarfile.TarInfo(f"data/blob-{number:02d}.bin")
            info.size, info.mode, info.mtime = DATA_FILE_BYTES, 0o644, 1704067200
            yield info.tobuf()
            for _ in range(DATA_FILE_BYTES >> 20):
                yield os.urandom(1 << 20)
        yield bytes(1024)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._rest:
            self._rest = next(self._parts, b"")
            if not self._rest:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def data_image(engine: Engine) -> str:
    """nginx plus 2 GB of random data files, committed once per nginx recipe (cached)."""
    base = ensure_image("nginx")
    digest = hashlib.sha256(DATA_RECIPE + base.encode()).hexdigest()[:12]
    ref = f"slimmer-fixture/nginx-data:{digest}"
    if image_exists(ref):
        return ref
    print(f"building {ref} (2 GB of random data on {base})...", flush=True)
    with build_container(base) as container:
        engine.api.put_archive(container, "/", io.BufferedReader(RandomTar(), 1 << 20))
        repo, tag = split_ref(ref)
        engine.api.commit(container, repository=repo, tag=tag)
    return ref


def derived_image(base: str) -> str:
    """``base`` with one changed app file (a new top layer only)."""
    ref = f"slimmer-bench/python-app-derived:{uuid.uuid4().hex[:12]}"
    app = Path(__file__).resolve().parent.parent / "fixtures/files/python-app/app.py"
    source = app.read_bytes() + b"\n# changed for the second build\n"
    derive_image(base, {"/app/app.py": (source, 0o644)}, [], ref)
    return ref


def build(ref: str, cache: Path, *options: str) -> dict:
    """One `slimmer build --json`; its wall time, total, phases, read method and image id."""
    tag = f"slimmer-bench/speed:{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "slimmer", "build", ref, "--tag", tag, "--output-dir", out,
             "--json", *options],
            capture_output=True, text=True, check=False,
            env=dict(os.environ, XDG_CACHE_HOME=str(cache)),
        )  # fmt: skip
        wall = time.monotonic() - start
    Engine.connect().remove_image(tag)
    if done.returncode != 0:
        raise SystemExit(f"build of {ref} failed ({done.returncode}): {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    return {
        "wall": round(wall, 2),
        "total": summary["timings"]["total"],
        "timings": summary["timings"],
        "method": summary["image_read"]["method"],
        "id": summary["result"]["id"],
    }


def median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 2)


def data_bench(engine: Engine, runs: int) -> dict:
    """nginx and nginx+2GB, before and after, interleaved."""
    images = {"nginx": ensure_image("nginx"), "nginx-data": data_image(engine)}
    results: dict[str, list[dict]] = {}
    for _ in range(runs):
        for way, options in (("before", BEFORE), ("after", AFTER)):
            for name, ref in images.items():
                with tempfile.TemporaryDirectory(prefix="slimmer-bench-cache-") as cache:
                    done = build(ref, Path(cache), *options)
                results.setdefault(f"{name} {way}", []).append(done)
    figures: dict = {"runs": runs, "builds": {}}
    print(f"{'build':<20} {'wall s':>7} {'total s':>8} {'index s':>8} {'read':>6}")
    for key, found in results.items():
        index = statistics.median(r["timings"].get("index", 0.0) for r in found)
        row = {"wall": median(found, "wall"), "total": median(found, "total"),
               "index": round(index, 2), "method": found[-1]["method"]}  # fmt: skip
        figures["builds"][key] = row
        times = f"{row['wall']:>7.2f} {row['total']:>8.2f} {index:>8.2f}"
        print(f"{key:<20} {times} {row['method']:>6}")
    for way in ("before", "after"):
        small, large = figures["builds"][f"nginx {way}"], figures["builds"][f"nginx-data {way}"]
        ratio = {k: round(large[k] / small[k], 2) for k in ("wall", "total")}
        figures[f"ratio_{way}"] = ratio
        print(f"nginx+2GB / nginx, {way}: {ratio['wall']}x wall, {ratio['total']}x total")
    ids = {r["id"] for key, found in results.items() if key.startswith("nginx-data") for r in found}
    figures["same_image_both_ways"] = len(ids) == 1
    print(f"same slim image before and after: {len(ids) == 1}")
    return figures


def second_build_bench(runs: int) -> dict:
    """python-app, then a derived image with one changed app file: the second build's time
    against the first's, per way of reading (a new cache for each pair)."""
    first_ref = ensure_image("python-app")
    second_ref = derived_image(first_ref)
    ways = {
        "save stream, no cache (before)": BEFORE,
        "save stream, layer cache": ("--read-image", "save"),
        "auto (after)": AFTER,
    }
    pairs: dict[str, list[tuple[dict, dict]]] = {}
    try:
        for _ in range(runs):
            for label, options in ways.items():
                with tempfile.TemporaryDirectory(prefix="slimmer-bench-cache-") as cache:
                    first = build(first_ref, Path(cache), *options)
                    second = build(second_ref, Path(cache), *options)
                pairs.setdefault(label, []).append((first, second))
    finally:
        Engine.connect().remove_image(second_ref)
    figures: dict = {}
    print(f"{'second build (derived python-app)':<32} {'first s':>8} {'second s':>9} {'ratio':>6}")
    for label, found in pairs.items():
        first = median([p[0] for p in found], "wall")
        second = median([p[1] for p in found], "wall")
        first_index = statistics.median(p[0]["timings"].get("index", 0.0) for p in found)
        second_index = statistics.median(p[1]["timings"].get("index", 0.0) for p in found)
        figures[label] = {
            "first_wall": first, "second_wall": second, "ratio": round(second / first, 2),
            "first_index": round(first_index, 2), "second_index": round(second_index, 2),
            "methods": [found[-1][0]["method"], found[-1][1]["method"]],
        }  # fmt: skip
        print(f"{label:<32} {first:>8.2f} {second:>9.2f} {second / first:>6.2f}"
              f"   (reading: {first_index:.2f} s -> {second_index:.2f} s)")
    return figures


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    engine = Engine.connect()
    figures = {"data_image": data_bench(engine, runs), "second_build": second_build_bench(runs)}
    save("speed", figures)


if __name__ == "__main__":
    main(sys.argv[1:])
