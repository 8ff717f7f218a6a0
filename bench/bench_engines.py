"""Build time of one fixture (default nginx) on Docker, rootful Podman and Docker behind TLS on
a loopback port, in one run: the same build, rounds interleaved, median wall seconds per engine
and per phase, and each engine's ratio to the local Docker socket.

The Podman service and the TLS dockerd are the ones the tests start (tests/engines/services.py):
their own storage, removed afterwards. The image is copied into each with save/load first (not
timed).

Run: `python bench/bench_engines.py [NAME] [ROUNDS]` (or `python -m bench engines`). Figures go
to bench/out/engines.json.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.results import save
from fixtures import ensure_image
from slimmer.engine import ChunkReader, Engine
from tests.engines.services import make_certificates, podman_service, tls_dockerd

PHASES = ("observe", "index_wait", "select", "rebuild", "verify")


def build(ref: str, tag: str, env: dict[str, str], engine_host: str | None) -> tuple[float, dict]:
    """One `slimmer build` in a subprocess: wall seconds and its JSON summary."""
    host = ["--engine-host", engine_host] if engine_host else []
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "slimmer", "build", ref, "--tag", tag, "--output-dir", out,
             "--json", *host],
            capture_output=True, text=True, check=False, env={**os.environ, **env},
        )
        wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"build of {ref} ({engine_host or env}) failed: {done.stderr.strip()}")
    return wall, json.loads(done.stdout)


def copy_image(source: Engine, ref: str, destination: Engine) -> None:
    if not destination.has_image(ref):
        destination.load_image(io.BufferedReader(ChunkReader(source.save_image(ref)), 1 << 20))


def main(name: str = "nginx", rounds: int = 3) -> None:
    docker = Engine.connect()
    ref = ensure_image(name)
    tag = f"slimmer-bench/{name}.slim:engines"
    with ExitStack() as stack:
        podman = stack.enter_context(podman_service())
        certificates = make_certificates(Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="slimmer-bench-tls-"))))
        tls = stack.enter_context(tls_dockerd(certificates))
        engines = {
            "docker": ({}, None, docker),
            "podman": ({}, podman.socket, podman.engine),
            "docker-tls": (tls.env(), None, tls.engine),
        }
        for _, _, engine in engines.values():
            copy_image(docker, ref, engine)
        build(ref, tag, {}, None)  # warm-up: caches, the sensor binary, Python imports
        walls: dict[str, list[float]] = {kind: [] for kind in engines}
        phases: dict[str, dict[str, list[float]]] = {kind: {} for kind in engines}
        for _ in range(rounds):
            for kind, (env, host, engine) in engines.items():
                wall, summary = build(ref, tag, env, host)
                engine.remove_image(tag)
                walls[kind].append(wall)
                for phase in PHASES:
                    phases[kind].setdefault(phase, []).append(summary["timings"].get(phase, 0.0))
    docker.remove_image(tag)
    docker.close()
    median = {kind: statistics.median(values) for kind, values in walls.items()}
    print(f"{name}: median of {rounds} builds, wall seconds (phases from the report)")
    print(f"{'engine':<11} {'wall':>6} {'ratio':>6} " + " ".join(f"{p:>10}" for p in PHASES))
    for kind in engines:
        cells = " ".join(f"{statistics.median(phases[kind][p]):>10.2f}" for p in PHASES)
        print(f"{kind:<11} {median[kind]:>6.2f} {median[kind] / median['docker']:>6.2f} {cells}")
    save("engines", {
        "image": name,
        "rounds": rounds,
        "wall_seconds": {kind: [round(v, 3) for v in values] for kind, values in walls.items()},
        "median_seconds": {kind: round(v, 3) for kind, v in median.items()},
        "ratio_to_docker": {kind: round(v / median["docker"], 3) for kind, v in median.items()},
        "phase_medians": {
            kind: {p: round(statistics.median(v), 3) for p, v in values.items()}
            for kind, values in phases.items()
        },
        "versions": {
            "docker": docker_version(),
            "podman": subprocess.run(["podman", "--version"], capture_output=True,
                                     text=True).stdout.strip(),
        },
    })


def docker_version() -> str:
    engine = Engine.connect()
    try:
        return str(engine.version().get("Version"))
    finally:
        engine.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0] if args else "nginx", int(args[1]) if len(args) > 1 else 3)
