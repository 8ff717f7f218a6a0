"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build; then the time a build takes to fail when the target exits while probed.

Each fixture is built twice in one run: before (the image read from the engine's save stream,
`--read-image save --no-cache`) and after (the default, with a new layer cache: a first build
reads the image by a walk of a fresh container); both tables are printed with their ratio.

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
BEFORE = ("--read-image", "save", "--no-cache")  # how builds read images before issue 13
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


def build(name: str, tag: str, out: Path, *options: str, cache: Path | None = None) -> dict:
    """A default build of fixture ``name`` (the compose service for pg-app-compose), with
    ``options``, its layer cache in ``cache``."""
    env = {"XDG_CACHE_HOME": str(cache)} if cache is not None else {}
    if name == "pg-app-compose":
        env |= {
            "APP_IMAGE": ensure_image("pg-app"),
            "DB_IMAGE": ensure_image("postgres"),
            "DB_PASSWORD": uuid.uuid4().hex,
        }
        source = ["--compose-file", str(COMPOSE_FILE), "--service", "app"]
    else:
        source = [ensure_image(name)]
    done = slimmer(
        "build", *source, "--tag", tag, "--output-dir", str(out), "--json", *options, env=env
    )
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


def build_both(name: str) -> tuple[dict, dict]:
    """Fixture ``name`` built before (save stream) and after (default, a new layer cache)."""
    engine = Engine.connect()
    tag = f"slimmer-bench/{name}.slim:latest"
    found = []
    for options in (BEFORE, ()):
        with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
            found.append(build(name, tag, Path(out) / "out", *options, cache=Path(out) / "cache"))
        engine.remove_image(tag)
    return found[0], found[1]


def print_table(title: str, rows: list[tuple[str, dict]]) -> None:
    print(title)
    header = f"{'image':<15} {'orig MB':>8} {'slim MB':>8} {'ratio':>6} {'seccomp':>7} "
    print(header + " ".join(f"{p:>8}" for p in PHASES) + "  read")
    for name, summary in rows:
        original = summary["source"]["size"] / 1e6
        slim = summary["result"]["size"] / 1e6
        timings = summary["timings"]
        phases = " ".join(f"{timings.get(p, 0.0):>8.2f}" for p in PHASES)
        allowed = summary["profiles"]["seccomp_syscalls"]["allowed"]
        sizes = f"{original:>8.1f} {slim:>8.1f} {original / slim:>6.1f}"
        print(f"{name:<15} {sizes} {allowed:>7} {phases}  {summary['image_read']['method']}")


def main(names: list[str]) -> None:
    pairs = [(name, *build_both(name)) for name in names or DEFAULT]
    print_table("before: the save stream (--read-image save --no-cache)",
                [(name, before) for name, before, _ in pairs])
    print_table("after: the default (first build, new layer cache)",
                [(name, after) for name, _, after in pairs])
    print(f"{'image':<15} {'before s':>9} {'after s':>8} {'after/before':>13} {'same image':>11}")
    for name, before, after in pairs:
        first, second = before["timings"]["total"], after["timings"]["total"]
        same = before["result"]["id"] == after["result"]["id"]
        print(f"{name:<15} {first:>9.2f} {second:>8.2f} {second / first:>13.2f} {same!s:>11}")
    print("(seconds of wall time per phase; index runs while observe runs, so phases overlap;")
    print(" compose: starting the service's dependencies, PostgreSQL's initdb included)")
    figures: dict = {"rows": [_row(name, after, before) for name, before, after in pairs]}
    if not names:
        figures["early_exit_seconds"] = early_exit()
    save("build", figures)


def _row(name: str, summary: dict, before: dict) -> dict:
    """One fixture's figures as the README's table shows them (``summary``: the default
    build), with the build before issue 13 (``before``: the save stream)."""
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
        "timings_before": before["timings"],
        "read": summary["image_read"]["method"],
        "same_image_before_and_after": summary["result"]["id"] == before["result"]["id"],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
