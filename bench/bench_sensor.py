"""Sensor overhead: the same workload in the same image with and without the sensor.

Workloads (timed inside the container, so container start-up is not counted): Python
interpreter start-ups importing several modules, and a loop of stat calls (the ground-truth
program times both). Each run also reads the container's CPU time (its cgroup) before and after
the workload: the CPU the workload and the sensor used together, which a loaded machine
disturbs less than elapsed time.

Variants: plain (no sensor) and the sensor as `slimmer build` runs it (`--allow-hot`: seccomp
filter, hot syscalls untraced, Docker's default profile as the second filter, tracer and target
on one CPU). `--baseline REV` adds the same with the sensor built from git revision REV (before
and after in one run); `--all-modes` adds the other modes (every syscall traced,
`--default-seccomp none`, `--trace-mode syscall`, `--no-fanotify`, `--all-cpus`,
`--no-ptrace`). Rounds
alternate the variants, so drift hits each alike; ratios are taken within a round (variant /
plain of the same round) and the median and range over the rounds are printed.

`--floors` also runs bench/sensor_floors.c in the image: the least any per-call observation
costs on this machine (a pipe round trip, a seccomp user notification, a ptrace stop with and
without the exit stop that gives the result), as ratios to the plain stat.

Run: `python bench/bench_sensor.py [--repeat N] [--baseline REV] [--all-modes] [--floors]
[--only python|stat]`
(needs a Docker engine and `make sensor`). Figures go to bench/out/sensor.json.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench import results
from fixtures import ensure_image
from fixtures.static import compile_static
from slimmer.engine import Engine
from slimmer.observe import PROFILING_CAPS, SensorLayout, sensor_command
from slimmer.sensor.assets import sensor_binary

ROOT = Path(__file__).resolve().parent.parent
GT = "/usr/local/bin/groundtruth"
IMPORTS = "import os, re, subprocess, argparse, email.parser, pathlib, tempfile, logging, typing"
WORKLOADS = {
    "python start-ups (x20)": [GT, "spawn", "20", "python3", "-c", IMPORTS],
    "stat loop (x200000)": [GT, "statloop", "200000", "/etc/passwd"],
}
BUILD = ("--allow-hot",)
OTHER_MODES: dict[str, tuple[str, ...]] = {
    "sensor, every syscall traced": (),
    "sensor --allow-hot --default-seccomp none": ("--allow-hot", "--default-seccomp", "none"),
    "sensor --trace-mode syscall": ("--trace-mode", "syscall"),
    "sensor --allow-hot --no-fanotify": ("--allow-hot", "--no-fanotify"),
    "sensor --allow-hot --all-cpus": ("--allow-hot", "--all-cpus"),
    "sensor --no-ptrace (fanotify alone)": ("--no-ptrace",),
}
# the container's CPU time in ns (cgroup v1 cpuacct, else v2 cpu.stat), before and after
CPU_WRAPPER = (
    'u() { cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null'
    ' || sed -n "s/^usage_usec \\(.*\\)/\\1000/p" /sys/fs/cgroup/cpu.stat; }; '
    'a=$(u); "$@" || exit $?; echo "cgroup_cpu_ns $a $(u)"'
)
SENSOR_FLAGS = ["-static", "-Os", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections",
                "-Wl,--gc-sections", "-s"]


@dataclass
class Variant:
    name: str
    binary: bytes | None  # None: no sensor
    options: tuple[str, ...] = ()


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def build_sensor(revision: str) -> bytes:
    """The x86_64 sensor of git revision ``revision``, built as sensors/Makefile builds it."""
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as scratch:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "sensors/src"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        sources = sorted(str(p) for p in Path(scratch, "sensors", "src").glob("*.c"))
        out = Path(scratch) / "sensor"
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-musl",
                        *SENSOR_FLAGS, "-o", str(out), *sources], check=True)
        return out.read_bytes()


def run_once(engine: Engine, image: str, argv: list[str], variant: Variant) -> tuple[float, float]:
    """Elapsed and CPU seconds (container cgroup) of the workload in one container."""
    session = f"bench-sensor-{uuid.uuid4().hex[:12]}"
    command = ["sh", "-c", CPU_WRAPPER, "sh", *argv]
    try:
        if variant.binary is None:
            container = engine.create_container(
                image, session=session, entrypoint=[], command=command, network_mode="none"
            )
        else:
            # as the pipeline runs it (slimmer.observe): SYS_ADMIN and SYS_PTRACE, dropped for
            # the target
            layout = SensorLayout.new()
            options = ("--drop-cap", "SYS_PTRACE", *variant.options)
            container = engine.create_container(
                image,
                session=session,
                entrypoint=[*sensor_command(layout, engine, *options), "--"],
                command=command,
                user="0:0",
                cap_add=PROFILING_CAPS,
                network_mode="none",
            )
            layout.install(engine, container, variant.binary)
        engine.start(container)
        code = engine.wait(container, timeout=600)
        output = engine.stdout(container).decode()
        if code != 0 or "cgroup_cpu_ns" not in output:
            raise SystemExit(f"{variant.name} failed ({code}): {engine.logs(container)[-400:]!r}")
        wall = int(output.split("elapsed_ns")[1].split()[0]) / 1e9
        before, after = output.split("cgroup_cpu_ns")[1].split()[:2]
        return wall, (int(after) - int(before)) / 1e9
    finally:
        engine.remove_session(session)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f}x ({min(values):.2f}-{max(values):.2f})"


def workload(engine: Engine, image: str, argv: list[str], variants: list[Variant],
             repeat: int) -> dict[str, dict[str, float | list[float]]]:
    """Rounds of every variant; per variant the median times and the per-round ratios."""
    figures = {v.name: Figures() for v in variants}
    for _ in range(repeat):
        for variant in variants:
            wall, cpu = run_once(engine, image, argv, variant)
            figures[variant.name].wall.append(wall)
            figures[variant.name].cpu.append(cpu)
    plain = figures["plain"]
    out: dict[str, dict[str, float | list[float]]] = {}
    for name, f in figures.items():
        wall_ratios = [w / p for w, p in zip(f.wall, plain.wall, strict=True)]
        cpu_ratios = [c / p for c, p in zip(f.cpu, plain.cpu, strict=True)]
        print(f"  {name:44} elapsed {statistics.median(f.wall):7.3f} s  {spread(wall_ratios)}"
              f"   cpu {statistics.median(f.cpu):7.3f} s  {spread(cpu_ratios)}")
        out[name] = {
            "elapsed_s": f.wall, "cpu_s": f.cpu,
            "elapsed_ratio_median": round(statistics.median(wall_ratios), 3),
            "elapsed_ratios": [round(r, 3) for r in wall_ratios],
            "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
            "cpu_ratios": [round(r, 3) for r in cpu_ratios],
        }
    return out


def floors(engine: Engine, image: str, calls: int = 100_000) -> dict[str, float]:
    """Per-call CPU of each observation mechanism (sensor_floors.c), as ratios to plain stat."""
    session = f"bench-sensor-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as scratch:
        program = compile_static([ROOT / "bench" / "sensor_floors.c"],
                                 Path(scratch) / "floors").read_bytes()
    try:
        container = engine.create_container(
            image, session=session, entrypoint=["/floors"], command=[str(calls)],
            user="0:0", cap_add=PROFILING_CAPS, network_mode="none",
        )
        engine.put_file(container, "/", "floors", program, 0o755)
        engine.start(container)
        code = engine.wait(container, timeout=600)
        output = engine.stdout(container).decode()
        if code != 0:
            raise SystemExit(f"sensor_floors failed ({code}): {engine.logs(container)[-400:]!r}")
    finally:
        engine.remove_session(session)
    cpu = {line.split()[1]: int(line.split()[3]) for line in output.splitlines()
           if line.startswith("floor ")}
    ratios = {mode: round(value / cpu["plain"], 2) for mode, value in cpu.items()}
    print(f"floors ({calls} stat calls, CPU per call and ratio to plain):")
    for mode, value in cpu.items():
        print(f"  {mode:14} {value / calls / 1000:6.2f} us   {ratios[mode]:5.2f}x")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV")
    parser.add_argument("--all-modes", action="store_true")
    parser.add_argument("--floors", action="store_true")
    parser.add_argument("--only", choices=["python", "stat"], help="run one workload")
    args = parser.parse_args()
    engine = Engine.connect()
    image = ensure_image("sensorbench")
    current = sensor_binary("x86_64")
    variants = [Variant("plain", None)]
    if args.baseline:
        variants.append(Variant(f"before ({args.baseline}) --allow-hot",
                                build_sensor(args.baseline), BUILD))
    variants.append(Variant("sensor --allow-hot (slimmer build)", current, BUILD))
    if args.all_modes:
        variants += [Variant(name, current, options) for name, options in OTHER_MODES.items()]
    saved: dict[str, object] = {"repeat": args.repeat, "baseline": args.baseline}
    for name, argv in WORKLOADS.items():
        if args.only and not name.startswith(args.only):
            continue
        print(f"{name}: {args.repeat} rounds; elapsed and CPU, ratio to plain: median (range)")
        saved[name] = workload(engine, image, argv, variants, args.repeat)
    if args.floors:
        saved["floors_cpu_ratio"] = floors(engine, image)
    engine.close()
    results.save("sensor", saved)


if __name__ == "__main__":
    main()
