"""Small images of the sensor's tests, built once per engine and source version.

- ``probe_image(engine, arch)``: the static syscall probe (``syscall_probe.c``) for the x86_64 or
  the i386 ABI.
- ``attack_image(engine)``: the hostile target (``report_attack.c``) with a forged report planted
  at ``/.slimmer/report/`` and the files the real and the forged reports name.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from functools import cache
from pathlib import Path

from fixtures.tools import compile_static
from slimmer.engine import Engine
from slimmer.errors import SlimmerError

HERE = Path(__file__).resolve().parent
PROBE = HERE / "syscall_probe.c"
ATTACK = HERE / "report_attack.c"
LABEL = "LABEL io.slimmer.test=sensor"
# what report_attack.c forges (version 1: what slimmer read before the report's name was drawn
# per run), planted in the image as well
FORGED = (
    b"slimmer-sensor-report 1\narch x86_64\nfanotify filesystem\nptrace seccomp\n"
    b"default-seccomp docker-20.10.24\ntarget-exit 0\npath open_r 0 1 /forged-keep\n"
    b"file oa 1 /forged-keep\nsys x86_64 314 1\nend\n"
)


@cache
def _compiled(source: Path, arch: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="slimmer-test-") as tmp:
        return compile_static([source], Path(tmp) / source.stem, arch).read_bytes()


def _image(
    engine: Engine, repo: str, files: dict[str, tuple[bytes, int]], changes: list[str]
) -> str:
    """``repo:DIGEST`` (of the files and the config changes), imported unless it exists."""
    parts = [p.encode() for p in changes] + [
        f"{path}:{mode:o}".encode() + b"\0" + data for path, (data, mode) in sorted(files.items())
    ]
    ref = f"{repo}:{hashlib.sha256(b''.join(parts)).hexdigest()[:12]}"
    try:
        engine.inspect_image(ref)
        return ref
    except SlimmerError:
        pass
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directories = {str(p) for path in files for p in Path(path.lstrip("/")).parents}
        for directory in sorted(directories - {"."}):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    engine.import_rootfs(buffer.getvalue(), ref, changes)
    return ref


def probe_image(engine: Engine, arch: str = "x86_64") -> str:
    """The syscall probe for ``arch`` (zig target: x86_64 or x86) as the image's entrypoint."""
    return _image(engine, f"slimmer-test/sensor-probe-{arch}",
                  {"/probe": (_compiled(PROBE, arch), 0o755)}, ['CMD ["/probe"]', LABEL])


def attack_image(engine: Engine, mode: str = "dir") -> str:
    """The hostile target (CMD ``/attack MODE``) and its planted forged report."""
    files = {
        "/attack": (_compiled(ATTACK, "x86_64"), 0o755),
        "/real-used-by-attacker": (b"real\n", 0o644),
        "/forged-keep": (b"kept only when the forged report is used\n", 0o644),
        "/.slimmer/report/forged": (FORGED, 0o644),
    }
    return _image(engine, "slimmer-test/report-attack", files,
                  [f'CMD ["/attack", "{mode}"]', LABEL])
