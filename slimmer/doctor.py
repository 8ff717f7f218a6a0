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

from slimmer.arch import SENSOR_ARCH, sensor_arch
from slimmer.engine import Engine, endpoint
from slimmer.errors import SlimmerError
from slimmer.observe import PROFILING_CAPS, SensorLayout, fetch_report, sensor_command
from slimmer.runner import RunResult
from slimmer.sensor.assets import sensor_binary
from slimmer.sensor.report import read_report
from slimmer.session import open_session

FIELD_SEPARATOR = "; "


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
                FIELD_SEPARATOR.join([
                    endpoint(),
                    f"{version.get('Components', [{}])[0].get('Name', 'Engine')} "
                    f"{version.get('Version', '?')}",
                    f"API {version.get('ApiVersion', '?')}",
                    f"{version.get('Os', '?')}/{engine_arch}",
                ]),
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
    fields = [f"fanotify: {observation.fanotify_mode}", f"ptrace: {observation.ptrace_mode}"]
    if not ok:
        fields.append(
            "the engine must allow --cap-add SYS_ADMIN and ptrace of the sensor's children"
        )
    return Check(name, ok, FIELD_SEPARATOR.join(fields))


def _empty_rootfs() -> bytes:
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    return buffer.getvalue()


def print_checks(checks: list[Check], as_json: bool) -> None:
    """One line per check; a detail too long for the terminal wraps between its fields only,
    indented under the first."""
    if as_json:
        sys.stdout.write(json.dumps([asdict(c) for c in checks], indent=2) + "\n")
        return
    console = Console(highlight=False)
    name_width = max(len(check.name) for check in checks)
    indent = len("FAIL") + 2 + name_width + 2
    for check in checks:
        mark = "ok" if check.ok else ("FAIL" if check.required else "missing")
        colour = "green" if check.ok else ("red" if check.required else "yellow")
        lines = wrap_fields(check.detail.split(FIELD_SEPARATOR), console.width - indent)
        first = f"[{colour}]{mark:<4}[/]  {escape(check.name):<{name_width}}  "
        console.print(first + escape(lines[0]), soft_wrap=True)
        for line in lines[1:]:
            console.print(" " * indent + escape(line), soft_wrap=True)


def wrap_fields(fields: list[str], width: int) -> list[str]:
    """Join ``fields`` with the separator into lines of at most ``width`` characters (with the
    separator that ends a line), breaking only between fields; a field longer than a line gets
    a line of its own."""
    lines: list[str] = []
    for field in fields:
        joined = f"{lines[-1]}{FIELD_SEPARATOR}{field}" if lines else field
        if lines and len(joined) + len(FIELD_SEPARATOR.rstrip()) <= width:
            lines[-1] = joined
        else:
            if lines:
                lines[-1] += FIELD_SEPARATOR.rstrip()
            lines.append(field)
    return lines or [""]
