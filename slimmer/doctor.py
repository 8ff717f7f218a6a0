"""`slimmer doctor`: can this machine and engine run slimmer? Each check says what to do."""

from __future__ import annotations

import io
import json
import platform
import sys
import tarfile
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slimmer.arch import SENSOR_ARCH, sensor_arch
from slimmer.engine import Engine, endpoint
from slimmer.errors import SlimmerError
from slimmer.observe import PROFILING_CAPS, SensorLayout, fetch_report, sensor_command
from slimmer.runner import RunResult
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report
from slimmer.session import open_session


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def run_checks() -> list[Check]:
    checks = [Check("host", True, f"{platform.system()} {platform.machine()}", required=False)]
    for oci_arch, arch in sorted(SENSOR_ARCH.items()):
        try:
            size = len(sensor_binary(arch))
            checks.append(Check(f"sensor {oci_arch}", True, f"{size // 1024} KiB", required=False))
        except SlimmerError as exc:
            checks.append(Check(f"sensor {oci_arch}", False, exc.one_line(), required=False))
    try:
        engine = Engine.connect(timeout=30)
    except SlimmerError as exc:
        checks.append(Check("engine", False, exc.one_line()))
        return checks
    try:
        version = engine.version()
        engine_arch = version.get("Arch", "")
        checks.append(
            Check(
                "engine",
                True,
                f"{endpoint()}: {version.get('Components', [{}])[0].get('Name', 'Engine')} "
                f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')}, "
                f"{version.get('Os', '?')}/{engine_arch})",
            )
        )
        checks.append(_profiling_check(engine, engine_arch))
    finally:
        engine.close()
    return checks


def _profiling_check(engine: Engine, engine_arch: str) -> Check:
    """Run the sensor in a throwaway container the way an observation does."""
    name = "profiling container"
    try:
        binary = sensor_binary(sensor_arch(engine_arch))
    except SlimmerError as exc:
        return Check(name, False, exc.one_line())
    with open_session(engine) as session:
        ref = f"{session.id}-doctor:latest"
        layout = SensorLayout.new()
        try:
            engine.import_rootfs(_empty_rootfs(), ref)
            container = engine.create_container(
                ref,
                session=session.id,
                entrypoint=[*sensor_command(layout, engine), "--", layout.binary, "--help"],
                user="0:0",
                cap_add=PROFILING_CAPS,
            )
            layout.install(engine, container, binary)
            engine.start(container)
            code = engine.wait(container, timeout=60)
            run = RunResult(exit_code=code, log_tail=engine.logs(container, tail=5).decode())
            observation = read_report(fetch_report(engine, container, run, layout))
        except SlimmerError as exc:
            return Check(name, False, exc.one_line())
        finally:
            engine.remove_session(session.id)
            engine.remove_image(ref)
    ok = not observation.fanotify_mode.startswith("off") and not observation.ptrace_mode.startswith(
        "off"
    )
    detail = f"fanotify: {observation.fanotify_mode}; ptrace: {observation.ptrace_mode}"
    if not ok:
        detail += " (the engine must allow --cap-add SYS_ADMIN and ptrace of the sensor's children)"
    return Check(name, ok, detail)


def _empty_rootfs() -> bytes:
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    return buffer.getvalue()


def print_checks(checks: list[Check], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps([asdict(c) for c in checks], indent=2) + "\n")
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    for check in checks:
        mark = (
            "[green]ok[/]"
            if check.ok
            else ("[red]FAIL[/]" if check.required else "[yellow]missing[/]")
        )
        table.add_row(mark, check.name, escape(check.detail))
    Console(highlight=False).print(table)
