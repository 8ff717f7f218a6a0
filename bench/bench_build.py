"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build.

Run: `python bench/bench_build.py [NAME...]` (default: the fixtures in DEFAULT). The figures
go to bench/out/build.json, from which `python -m bench.readme` makes the README's table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.results import save
from fixtures import ensure_image, get_recipe
from slimmer.engine import Engine

PHASES = ("inspect", "index", "observe", "select", "rebuild", "verify", "total")
DEFAULT = ("nginx", "python-app", "redis", "batch", "jvm-app")


def build(ref: str, tag: str, out: Path) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "slimmer",
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"build of {ref} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def main(names: list[str]) -> None:
    engine = Engine.connect()
    rows = []
    for name in names or DEFAULT:
        ref = ensure_image(name)
        tag = f"slimmer-bench/{name}.slim:latest"
        with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
            summary = build(ref, tag, Path(out))
        engine.remove_image(tag)
        rows.append((name, summary))
    header = f"{'image':<12} {'orig MB':>8} {'slim MB':>8} {'ratio':>6} {'seccomp':>7} " + " ".join(
        f"{p:>8}" for p in PHASES
    )
    print(header)
    for name, summary in rows:
        original = summary["source"]["size"] / 1e6
        slim = summary["result"]["size"] / 1e6
        timings = summary["timings"]
        phases = " ".join(f"{timings.get(p, 0.0):>8.2f}" for p in PHASES)
        allowed = summary["profiles"]["seccomp_syscalls"]["allowed"]
        sizes = f"{original:>8.1f} {slim:>8.1f} {original / slim:>6.1f}"
        print(f"{name:<12} {sizes} {allowed:>7} {phases}")
    print("(seconds of wall time per phase; index runs while observe runs, so phases overlap)")
    save("build", {"rows": [_row(name, summary) for name, summary in rows]})


def _row(name: str, summary: dict) -> dict:
    """One fixture's figures as the README's table shows them."""
    seccomp = summary["profiles"]["seccomp_syscalls"]
    return {
        "name": name,
        "description": get_recipe(name).description,
        "original_bytes": summary["source"]["size"],
        "slim_bytes": summary["result"]["size"],
        "seccomp_allowed": seccomp["allowed"],
        "docker_default": seccomp["docker_default"],
        "timings": summary["timings"],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
