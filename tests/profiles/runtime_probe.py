"""Helpers to run a do-nothing container under a seccomp profile (runtime-set research and tests).

The entrypoint is a static binary whose first and only instruction is exit_group(0), so every
syscall that must be allowed for the container to start and exit 0 is the runtime's own (made
between installing the filter and exec'ing the entrypoint) plus execve and exit_group.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import signal
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from slimmer.engine import Engine
from slimmer.errors import EngineUnavailable, SlimmerError

EXIT0_SOURCE = r"""
void _start(void) {
#if defined(__x86_64__)
    __asm__ volatile("mov $231, %eax\n xor %edi, %edi\n syscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x8, #94\n mov x0, #0\n svc #0");
#endif
    for (;;) {}
}
"""

IMAGE_REPO = "slimmer-test/exit0"
LABEL = "io.slimmer.test"


def build_exit0(workdir: Path) -> bytes:
    """The static exit_group(0) binary for the host architecture."""
    source = workdir / "exit0.c"
    source.write_text(EXIT0_SOURCE)
    out = workdir / "exit0"
    subprocess.run(
        ["gcc", "-static", "-nostdlib", "-Os", "-o", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def one_file_image(
    engine: Engine, ref: str, name: str, build: Callable[[Path], bytes], changes: list[str]
) -> str:
    """Import (once per engine) an image holding only the static binary ``/NAME``."""
    try:
        engine.inspect_image(ref)
        return ref
    except SlimmerError:
        pass
    with tempfile.TemporaryDirectory(prefix="slimmer-test-") as tmp:
        data = build(Path(tmp))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    engine.import_rootfs(buffer.getvalue(), ref, changes)
    return ref


def exit0_image(engine: Engine, user: str = "") -> str:
    """A one-file image whose entrypoint is the exit0 binary."""
    tag = f"{platform.machine()}{'-' + user.replace(':', '-') if user else ''}"
    changes = ['ENTRYPOINT ["/exit0"]', f"LABEL {LABEL}=exit0"]
    if user:
        changes.append(f"USER {user}")
    return one_file_image(engine, f"{IMAGE_REPO}:{tag}", "exit0", build_exit0, changes)


def starts_under(
    engine: Engine,
    image: str,
    profile: dict,
    extra_opts: list[str] | None = None,
    timeout: int = 20,
) -> bool:
    """Whether a container of ``image`` starts and exits 0 under the seccomp ``profile``.

    A runtime whose own calls are denied can hang in ``runc create``; when the start does not
    answer within ``timeout`` seconds the runtime processes of that container are killed (this
    needs the engine on this machine) and the run counts as a failure.
    """
    session = f"test-{uuid.uuid4().hex[:12]}"
    opts = ["seccomp=" + json.dumps(profile), *(extra_opts or [])]
    container = engine.create_container(image, session=session, security_opt=opts)
    saved, engine.api.timeout = engine.api.timeout, timeout
    try:
        try:
            engine.start(container)
        except EngineUnavailable:  # the request timed out: the runtime hangs
            kill_runtime_of(container)
            return False
        except SlimmerError:  # the engine reported the runtime's failure
            return False
        return engine.wait(container, timeout=timeout) == 0
    finally:
        engine.api.timeout = saved
        engine.remove_container(container)


def kill_runtime_of(container: str) -> None:
    """SIGKILL the ``runc``/``crun`` processes working on ``container`` (by pid, deepest first)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if container.encode() in cmdline and Path(cmdline[0].decode(errors="replace")).name in (
            "runc",
            "crun",
        ):
            pids.append(int(proc.name))
    for pid in pids:
        for child in _children(pid)[::-1]:
            _kill(child)
        _kill(pid)


def _children(pid: int) -> list[int]:
    """All descendants of ``pid``, parents before children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found.append(int(child))
            found.extend(_children(int(child)))
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def allow_profile(
    names: set[str] | frozenset[str], arch: str = "x86_64", default_action: str = "SCMP_ACT_ERRNO"
) -> dict:
    """A bare profile allowing exactly ``names`` (what the experiment shrinks)."""
    from slimmer.profiles.seccomp import ARCHITECTURES

    profile: dict = {
        "defaultAction": default_action,
        "architectures": ARCHITECTURES[arch],
        "syscalls": [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}],
    }
    if default_action == "SCMP_ACT_ERRNO":
        profile["defaultErrnoRet"] = 1
    return profile
