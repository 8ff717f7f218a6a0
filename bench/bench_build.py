"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build (openssl-cli: built with three --run commands). Then the stop behaviour: the
build of flask-app, whose PID 1 ignores SIGTERM, before (verification waits the full stop timeout,
as slimmer did before the sensor reported signal handling) and after (a short grace).

Run: `python bench/bench_build.py [NAME...]` (default: the fixtures in DEFAULT). The figures
go to bench/out/build.json, from which `python -m bench.readme` makes the README's table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.results import save
from fixtures import ensure_image, get_recipe
from slimmer.engine import Engine

PHASES = ("inspect", "index", "observe", "select", "rebuild", "verify", "total")
DEFAULT = ("nginx", "python-app", "redis", "batch", "jvm-app", "flask-app", "openssl-cli")
EXTRA_ARGS = {
    "openssl-cli": (
        "--run", "dgst -sha256 /data/sample.txt",
        "--run", "enc -base64 -in sample.txt",
        "--run", "x509 -in /data/cert.pem -noout -subject -issuer",
    ),
}
STOP_FIXTURE = "flask-app"
# "before": the same build with the short grace switched off, so verification waits the whole
# stop timeout for a target that ignores its stop signal (what every build did before)
BEFORE = (
    "import sys, slimmer.verify as v; v.SHORT_STOP_WAIT = v.STOP_WAIT; "
    "from slimmer.cli import main; main(sys.argv[1:])"
)


def build(ref: str, tag: str, out: Path, extra: tuple[str, ...] = (), before: bool = False) -> dict:
    runner = ["-c", BEFORE] if before else ["-m", "slimmer"]
    done = subprocess.run(
        [
            sys.executable,
            *runner,
            "build",
            ref,
            "--tag",
            tag,
            "--output-dir",
            str(out),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"build of {ref} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def build_once(engine: Engine, name: str, before: bool = False) -> dict:
    ref = ensure_image(name)
    tag = f"slimmer-bench/{name}.slim:latest"
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        summary = build(ref, tag, Path(out), EXTRA_ARGS.get(name, ()), before)
    engine.remove_image(tag)
    return summary


def print_table(rows: list[tuple[str, dict]]) -> None:
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


def stop_figures(before: dict, after: dict) -> dict[str, Any]:
    """Verification and total seconds of the SIGTERM-ignoring fixture, before and after."""
    figures = {
        "name": STOP_FIXTURE,
        "findings": [f["id"] for f in after.get("findings", [])],
        "before": {k: before["timings"][k] for k in ("verify", "total")},
        "after": {k: after["timings"][k] for k in ("verify", "total")},
    }
    print(f"\nstop behaviour ({STOP_FIXTURE}, PID 1 ignores SIGTERM; findings: "
          f"{', '.join(figures['findings'])})")
    print(f"{'':<8} {'verify s':>9} {'total s':>8}")
    for label in ("before", "after"):
        print(f"{label:<8} {figures[label]['verify']:>9.2f} {figures[label]['total']:>8.2f}")
    verify = figures["before"]["verify"] / figures["after"]["verify"]
    total = figures["before"]["total"] / figures["after"]["total"]
    print(f"verification {verify:.1f}x faster, build {total:.1f}x faster")
    return figures


def main(names: list[str]) -> None:
    engine = Engine.connect()
    chosen = names or list(DEFAULT)
    rows = [(name, build_once(engine, name)) for name in chosen]
    print_table(rows)
    figures: dict[str, Any] = {"rows": [_row(name, summary) for name, summary in rows]}
    if STOP_FIXTURE in chosen:
        before = build_once(engine, STOP_FIXTURE, before=True)
        figures["stop"] = stop_figures(before, dict(rows)[STOP_FIXTURE])
    save("build", figures)


def _row(name: str, summary: dict) -> dict:
    """One fixture's figures as the README's table shows them."""
    seccomp = summary["profiles"]["seccomp_syscalls"]
    runs = EXTRA_ARGS.get(name, ()).count("--run")
    description = get_recipe(name).description
    return {
        "name": name,
        "description": f"{description} (built with {runs} `--run`)" if runs else description,
        "original_bytes": summary["source"]["size"],
        "slim_bytes": summary["result"]["size"],
        "seccomp_allowed": seccomp["allowed"],
        "docker_default": seccomp["docker_default"],
        "timings": summary["timings"],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
