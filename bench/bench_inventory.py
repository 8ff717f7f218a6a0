"""Package inventory and SBOM: time to read the inventory (and render both SBOM formats) of
the largest fixture and of the 1.2 GB synthetic image of bench_index, each in a fresh
process; and per Debian fixture, the bytes the trimmed package database adds to the slim
image (a build with and one without it).

Run: `python bench/bench_inventory.py`. Needs an engine and the fixtures for the engine cases.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_index import FIXTURES, docker_archive, largest_fixture, run_child, synthetic_layers


def child(spec: str, workdir: str) -> None:
    """Index one image, then time the inventory and the SBOM documents; print JSON."""
    from slimmer.imagefs import open_image
    from slimmer.inventory import read_inventory
    from slimmer.sbom import make_subject, render

    engine = None
    if not Path(spec).exists():
        from slimmer.engine import Engine

        engine = Engine.connect()
    with open_image(spec, workdir, engine=engine) as fs:
        started = time.perf_counter()
        inventory = read_inventory(fs)
        inventory_seconds = time.perf_counter() - started
        started = time.perf_counter()
        subject = make_subject(fs, inventory, "bench:1", fs.digest)
        documents = render(subject, ["cyclonedx", "spdx"])
        sbom_seconds = time.perf_counter() - started
        print(
            json.dumps(
                {
                    "entries": len(fs),
                    "bytes": sum(fs.layer_sizes),
                    "packages": len(inventory.packages),
                    "files": sum(len(p.files) for p in inventory.packages),
                    "inventory": inventory_seconds,
                    "sbom": sbom_seconds,
                    "sbom_bytes": sum(len(d) for d in documents.values()),
                }
            )
        )


def database_cost(ref: str, name: str, work: Path) -> dict:
    """Slim image sizes with and without the trimmed package database (no verification)."""
    from slimmer.engine import Engine

    sizes = {}
    engine = Engine.connect()
    for flag in ("--package-db", "--no-package-db"):
        tag = f"slimmer-bench/{name}.slim:{flag.strip('-')}"
        out = work / f"{name}{flag}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "slimmer",
                "build",
                ref,
                "--tag",
                tag,
                "--no-verify",
                flag,
                "--sbom-format",
                "none",
                "--output-dir",
                str(out),
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            if done.returncode != 0:
                raise RuntimeError(done.stderr.strip().splitlines()[-1])
            report = json.loads((out / "report.json").read_text())
            sizes[flag] = (report["result"]["size"], report["packages"])
        finally:
            engine.remove_image(tag)
    (with_db, packages), (without_db, _) = sizes["--package-db"], sizes["--no-package-db"]
    return {
        "database_bytes": packages["database_bytes"],
        "database_files": packages["database_files"],
        "kept": len(packages["kept"]),
        "removed": len(packages["removed"]),
        "image_delta": with_db - without_db,
        "slim": with_db,
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-inventory-") as temporary:
        root = Path(temporary)
        big = root / "big"
        big.mkdir()
        cases = [
            (
                "synthetic 1.2 GB, docker-archive",
                docker_archive(synthetic_layers(big, 20), big / "image.tar"),
            )
        ]
        fixture = largest_fixture()
        if fixture:
            cases.append((f"largest fixture {fixture}", fixture))
        print(
            f"{'case':<52} {'layer MB':>8} {'entries':>8} {'pkgs':>5} {'files':>6} "
            f"{'inventory s':>11} {'SBOMs s':>8} {'SBOM KB':>8}"
        )
        for name, spec in cases:
            f = run_child(__file__, str(spec), root / "work")
            print(
                f"{name:<52} {f['bytes'] / 1e6:>8.0f} {f['entries']:>8} {f['packages']:>5} "
                f"{f['files']:>6} {f['inventory']:>11.3f} {f['sbom']:>8.2f} "
                f"{f['sbom_bytes'] / 1e3:>8.0f}"
            )
        if not fixture:
            return
        from fixtures import ensure_image

        print(
            f"\n{'fixture':<12} {'db bytes':>9} {'db files':>8} {'kept':>5} {'removed':>7} "
            f"{'image delta B':>13} {'slim B':>10}"
        )
        for name in FIXTURES:
            cost = database_cost(ensure_image(name), name, root)
            print(
                f"{name:<12} {cost['database_bytes']:>9} {cost['database_files']:>8} "
                f"{cost['kept']:>5} {cost['removed']:>7} {cost['image_delta']:>13} "
                f"{cost['slim']:>10}"
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
