"""Writing the slim image when everything is kept: layer write MB/s and peak RSS, plus the time
to write the OCI layout tar and to load the image into the engine.

Cases: the largest fixture image (read from the engine) and a synthetic image over 1 GB. Each
case runs in a fresh child process; "RSS before" is its VmRSS once the image is indexed,
"peak RSS" its VmHWM at the end, so their difference is what writing cost in memory.

Run: `python bench/bench_rebuild.py`. Needs ~4 GB free in the temp directory.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_index import docker_archive, largest_fixture, run_child, synthetic_layers


def _status(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(spec: str, workdir: str) -> None:
    """Index, then time the layer write, the OCI layout write and the engine load."""
    from slimmer.engine import Engine
    from slimmer.imagefs import open_image
    from slimmer.rebuild import load_image, rebuild, write_oci_layout

    engine = Engine.connect()
    work = Path(workdir)
    fs = open_image(spec, work, engine=None if os.path.exists(spec) else engine)
    before = _status("VmRSS")
    started = time.perf_counter()
    image = rebuild(fs, [e.path for e in fs], work)
    write_seconds = time.perf_counter() - started
    started = time.perf_counter()
    shutil.copyfile(image.layer, work / "plain-copy.tar")  # the floor: the same bytes copied
    copy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    write_oci_layout(image, work / "slim-oci.tar", ["slimmer-bench/rebuild.slim:latest"])
    oci_seconds = time.perf_counter() - started
    tag = "slimmer-bench/rebuild.slim:latest"
    started = time.perf_counter()
    load_image(engine, image, tag)
    load_seconds = time.perf_counter() - started
    engine.remove_image(tag)
    figures = {
        "bytes": image.layer_info.size,
        "entries": image.layer_info.entries,
        "write": write_seconds,
        "copy": copy_seconds,
        "oci": oci_seconds,
        "load": load_seconds,
        "rss_before": before,
        "rss_peak": _status("VmHWM"),
    }
    fs.close()
    print(json.dumps(figures))


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-rebuild-") as temporary:
        root = Path(temporary)
        cases = []
        fixture = largest_fixture()
        if fixture:
            cases.append((f"keep all of {fixture}", fixture))
        big_layers = synthetic_layers(root, 20)
        cases.append(
            (
                "keep all of a synthetic 1 GB image",
                str(docker_archive(big_layers, root / "big.tar")),
            )
        )
        for name, spec in cases:
            rows.append((name, run_child(__file__, spec, root / "work")))
    print(
        f"{'case':<52} {'layer MB':>8} {'write s':>7} {'MB/s':>5} {'/copy':>5} {'oci s':>6} "
        f"{'load s':>6} {'RSS before':>10} {'peak RSS':>8}"
    )
    for name, f in rows:
        mb = f["bytes"] / 1e6
        print(
            f"{name:<52} {mb:>8.0f} {f['write']:>7.2f} {mb / f['write']:>5.0f} "
            f"{f['write'] / f['copy']:>5.1f} {f['oci']:>6.2f} {f['load']:>6.2f} "
            f"{f['rss_before']:>10.0f} {f['rss_peak']:>8.0f}"
        )
    print("/copy: layer write time over a plain copy of the same bytes (cp), in the same run")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
