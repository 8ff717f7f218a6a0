"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build; then the time a build takes to fail when the target exits while probed.

Run: `python bench/bench_build.py [NAME...]` (default: the fixtures in DEFAULT; `pg-app-compose`
builds the app service of fixtures/files/pg-app/compose.yaml, its PostgreSQL started by
Compose). The figures go to bench/out/build.json, from which `python -m bench.readme` makes the
README's table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.results import save
from fixtures import ensure_image, get_recipe
from slimmer.engine import Engine

PHASES = ("compose", "inspect", "index", "observe", "select", "rebuild", "verify", "total")
DEFAULT = (
    "nginx", "python-app", "redis", "batch", "jvm-app", "health-exec", "health-shell",
    "pg-app-compose",
)  # fmt: skip
COMPOSE_FILE = Path(__file__).resolve().parent.parent / "fixtures/files/pg-app/compose.yaml"
PROBE_TIMEOUT = 60  # slimmer's default --probe-timeout


def slimmer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slimmer", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **(env or {})),
    )


def build(name: str, tag: str, out: Path) -> dict:
    """A default build of fixture ``name`` (the compose service for pg-app-compose)."""
    env = None
    if name == "pg-app-compose":
        env = {
            "APP_IMAGE": ensure_image("pg-app"),
            "DB_IMAGE": ensure_image("postgres"),
            "DB_PASSWORD": uuid.uuid4().hex,
        }
        source = ["--compose-file", str(COMPOSE_FILE), "--service", "app"]
    else:
        source = [ensure_image(name)]
    done = slimmer("build", *source, "--tag", tag, "--output-dir", str(out), "--json", env=env)
    if done.returncode != 0:
        raise SystemExit(f"build of {name} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def early_exit() -> float:
    """pg-app without DATABASE_URL exits at once: how long until slimmer says so."""
    ref = ensure_image("pg-app")
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        start = time.monotonic()
        done = slimmer("build", ref, "--output-dir", out)
        seconds = time.monotonic() - start
    if done.returncode != 1 or "DATABASE_URL is not set" not in done.stderr:
        raise SystemExit(f"the early-exit build did not fail as expected: {done.stderr.strip()}")
    print(
        f"target exits while probed (pg-app without DATABASE_URL): failed after {seconds:.1f} s; "
        f"before: the whole --probe-timeout ({PROBE_TIMEOUT} s) was waited first; "
        f"ratio {PROBE_TIMEOUT / seconds:.0f}x"
    )
    return round(seconds, 2)


def main(names: list[str]) -> None:
    engine = Engine.connect()
    rows = []
    for name in names or DEFAULT:
        tag = f"slimmer-bench/{name}.slim:latest"
        with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
            summary = build(name, tag, Path(out))
        engine.remove_image(tag)
        rows.append((name, summary))
    header = f"{'image':<15} {'orig MB':>8} {'slim MB':>8} {'ratio':>6} {'seccomp':>7} "
    print(header + " ".join(f"{p:>8}" for p in PHASES))
    for name, summary in rows:
        original = summary["source"]["size"] / 1e6
        slim = summary["result"]["size"] / 1e6
        timings = summary["timings"]
        phases = " ".join(f"{timings.get(p, 0.0):>8.2f}" for p in PHASES)
        allowed = summary["profiles"]["seccomp_syscalls"]["allowed"]
        sizes = f"{original:>8.1f} {slim:>8.1f} {original / slim:>6.1f}"
        print(f"{name:<15} {sizes} {allowed:>7} {phases}")
    print("(seconds of wall time per phase; index runs while observe runs, so phases overlap;")
    print(" compose: starting the service's dependencies, PostgreSQL's initdb included)")
    figures: dict = {"rows": [_row(name, summary) for name, summary in rows]}
    if not names:
        figures["early_exit_seconds"] = early_exit()
    save("build", figures)


def _row(name: str, summary: dict) -> dict:
    """One fixture's figures as the README's table shows them."""
    seccomp = summary["profiles"]["seccomp_syscalls"]
    if name == "pg-app-compose":
        description = f"{get_recipe('pg-app').description}, built with --compose-file"
    else:
        description = get_recipe(name).description
    return {
        "name": name,
        "description": description,
        "original_bytes": summary["source"]["size"],
        "slim_bytes": summary["result"]["size"],
        "seccomp_allowed": seccomp["allowed"],
        "docker_default": seccomp["docker_default"],
        "timings": summary["timings"],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
