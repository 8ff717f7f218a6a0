"""Sensor overhead: the same workload in the same image with and without the sensor.

Workloads (timed inside the container by the ground-truth program, so container start-up is not
counted): Python interpreter start-ups importing several modules, and a loop of stat calls.
Modes: plain (no sensor), the default (seccomp filter, every syscall traced, all on one CPU),
--allow-hot (the filter lets the documented hot syscalls through; what slimmer build runs, with
the sensor's second filter, Docker's default profile for the target's capabilities), the same
without that second filter (--default-seccomp none), --trace-mode syscall
(PTRACE_SYSCALL), --no-fanotify, --all-cpus (tracer and tracees not kept on one CPU). Prints
the median of REPEAT runs and the ratio to plain, all from one run.

Run: `python bench/bench_sensor.py [REPEAT]` (needs a Docker engine and `make sensor`).
"""

from __future__ import annotations

import statistics
import sys
import uuid

from fixtures import ensure_image
from slimmer.engine import Engine
from slimmer.observe import PROFILING_CAPS, SensorLayout, sensor_command
from slimmer.sensor.assets import sensor_binary

GT = "/usr/local/bin/groundtruth"
IMPORTS = "import os, re, subprocess, argparse, email.parser, pathlib, tempfile, logging, typing"
WORKLOADS = {
    "python start-ups (x20)": [GT, "spawn", "20", "python3", "-c", IMPORTS],
    "stat loop (x200000)": [GT, "statloop", "200000", "/etc/passwd"],
}
MODES: dict[str, tuple[str, ...] | None] = {
    "plain": None,
    "sensor": (),
    "sensor --allow-hot (slimmer build)": ("--allow-hot",),
    "sensor --allow-hot --default-seccomp none": ("--allow-hot", "--default-seccomp", "none"),
    "sensor --trace-mode syscall": ("--trace-mode", "syscall"),
    "sensor --no-fanotify": ("--no-fanotify",),
    "sensor --all-cpus": ("--all-cpus",),
}


def elapsed(engine: Engine, image: str, argv: list[str], options: tuple[str, ...] | None) -> float:
    """Seconds the workload took inside one container."""
    session = f"bench-sensor-{uuid.uuid4().hex[:12]}"
    try:
        if options is None:
            container = engine.create_container(
                image, session=session, entrypoint=[], command=argv, network_mode="none"
            )
        else:
            # as the pipeline runs it (slimmer.observe): SYS_ADMIN and SYS_PTRACE, dropped for
            # the target
            layout = SensorLayout.new()
            entrypoint = [*sensor_command(layout, engine, "--drop-cap", "SYS_PTRACE", *options),
                          "--"]
            container = engine.create_container(
                image,
                session=session,
                entrypoint=entrypoint,
                command=argv,
                user="0:0",
                cap_add=PROFILING_CAPS,
                network_mode="none",
            )
            layout.install(engine, container, sensor_binary("x86_64"))
        engine.start(container)
        code = engine.wait(container, timeout=300)
        output = engine.stdout(container).decode()
        if code != 0 or "elapsed_ns" not in output:
            raise SystemExit(f"workload failed ({code}): {engine.logs(container)[-400:]!r}")
        return int(output.split("elapsed_ns")[1].split()[0]) / 1e9
    finally:
        engine.remove_session(session)


def main(repeat: int) -> None:
    engine = Engine.connect()
    image = ensure_image("sensorbench")
    for workload, argv in WORKLOADS.items():
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(repeat):  # interleaved, so drift hits every mode alike
            for mode, options in MODES.items():
                times[mode].append(elapsed(engine, image, argv, options))
        base = statistics.median(times["plain"])
        print(f"{workload}: median of {repeat}")
        for mode, values in times.items():
            median = statistics.median(values)
            print(f"  {mode:36} {median:8.3f} s   ratio {median / base:5.2f}x")
    engine.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
