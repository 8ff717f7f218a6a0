"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build.

Run: `python bench/bench_build.py [NAME...]` (default: nginx python-app redis batch).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from fixtures import ensure_image
from slimmer.engine import Engine

PHASES = ("inspect", "index", "observe", "select", "rebuild", "verify", "total")
DEFAULT = ("nginx", "python-app", "redis", "batch")


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


if __name__ == "__main__":
    main(sys.argv[1:])
