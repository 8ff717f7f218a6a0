"""Per fixture: original MB, slim MB, ratio, seccomp allow-list size, and wall seconds per phase
of a default build (openssl-cli: built with three --run commands); then the time a build takes to
fail when the target exits while probed; then the stop behaviour: the build of flask-app, whose
PID 1 ignores SIGTERM, before (verification waits the full stop timeout, as slimmer did before
the sensor reported signal handling) and after (a short grace).

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
from typing import Any

from bench.results import save
from fixtures import ensure_image, get_recipe
from slimmer.engine import Engine

PHASES = ("compose", "inspect", "index", "observe", "select", "rebuild", "verify", "total")
READ_BEFORE = ("--read-image", "save", "--no-cache")  # how builds read images before issue 13
DEFAULT = (
    "nginx", "python-app", "redis", "batch", "jvm-app", "health-exec", "health-shell",
    "pg-app-compose", "flask-app", "openssl-cli",
)  # fmt: skip
EXTRA_ARGS = {
    "openssl-cli": (
        "--run", "dgst -sha256 /data/sample.txt",
        "--run", "enc -base64 -in sample.txt",
        "--run", "x509 -in /data/cert.pem -noout -subject -issuer",
    ),
}  # fmt: skip
STOP_FIXTURE = "flask-app"
# "before": the same build with the short grace switched off, so verification waits the whole
# stop timeout for a target that ignores its stop signal (what every build did before)
STOP_BEFORE = (
    "import sys, slimmer.verify as v; v.SHORT_STOP_WAIT = v.STOP_WAIT; "
    "from slimmer.cli import main; main(sys.argv[1:])"
)
COMPOSE_FILE = Path(__file__).resolve().parent.parent / "fixtures/files/pg-app/compose.yaml"
PROBE_TIMEOUT = 60  # slimmer's default --probe-timeout


def slimmer(
    *args: str, env: dict[str, str] | None = None, stop_before: bool = False
) -> subprocess.CompletedProcess[str]:
    runner = ["-c", STOP_BEFORE] if stop_before else ["-m", "slimmer"]
    return subprocess.run(
        [sys.executable, *runner, *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **(env or {})),
    )


def build(
    name: str, tag: str, out: Path, *options: str, cache: Path, stop_before: bool = False
) -> dict:
    """A default build of fixture ``name`` (the compose service for pg-app-compose), with
    ``options``, its layer cache in ``cache``."""
    env = {"XDG_CACHE_HOME": str(cache)}
    if name == "pg-app-compose":
        env |= {
            "APP_IMAGE": ensure_image("pg-app"),
            "DB_IMAGE": ensure_image("postgres"),
            "DB_PASSWORD": uuid.uuid4().hex,
        }
        source = ["--compose-file", str(COMPOSE_FILE), "--service", "app"]
    else:
        source = [ensure_image(name), *EXTRA_ARGS.get(name, ())]
    done = slimmer(
        "build", *source, "--tag", tag, "--output-dir", str(out), "--json", *options,
        env=env, stop_before=stop_before,
    )  # fmt: skip
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


def build_once(engine: Engine, name: str, *options: str, stop_before: bool = False) -> dict:
    """One build of fixture ``name`` with ``options`` and a new layer cache."""
    tag = f"slimmer-bench/{name}.slim:latest"
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        summary = build(
            name, tag, Path(out) / "out", *options, cache=Path(out) / "cache",
            stop_before=stop_before,
        )  # fmt: skip
    engine.remove_image(tag)
    return summary


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


def stop_figures(before: dict, after: dict) -> dict[str, Any]:
    """Verification and total seconds of the SIGTERM-ignoring fixture, before and after."""
    figures = {
        "name": STOP_FIXTURE,
        "findings": [f["id"] for f in after.get("findings", [])],
        "before": {k: before["timings"][k] for k in ("verify", "total")},
        "after": {k: after["timings"][k] for k in ("verify", "total")},
    }
    print(f"stop behaviour ({STOP_FIXTURE}, PID 1 ignores SIGTERM; findings: "
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
    # before (save stream, no cache) and after (the default, a new layer cache), one run
    pairs = [
        (name, build_once(engine, name, *READ_BEFORE), build_once(engine, name))
        for name in chosen
    ]
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
    if STOP_FIXTURE in chosen:
        stop_before = build_once(engine, STOP_FIXTURE, stop_before=True)
        after = next(after for name, _, after in pairs if name == STOP_FIXTURE)
        figures["stop"] = stop_figures(stop_before, after)
    save("build", figures)


def _row(name: str, summary: dict, before: dict) -> dict:
    """One fixture's figures as the README's table shows them (``summary``: the default
    build), with the build before issue 13 (``before``: the save stream)."""
    seccomp = summary["profiles"]["seccomp_syscalls"]
    if name == "pg-app-compose":
        description = f"{get_recipe('pg-app').description}, built with --compose-file"
    else:
        description = get_recipe(name).description
    runs = EXTRA_ARGS.get(name, ()).count("--run")
    if runs:
        description += f" (built with {runs} `--run`)"
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
