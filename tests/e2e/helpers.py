"""Run the real `slimmer` command in a subprocess and inspect what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from slimmer.engine import Engine


def slimmer(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    tmpdir: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m slimmer ARGS` with TMPDIR pointed at ``tmpdir`` (to find leftovers).

    A run that outlives ``timeout`` gets SIGTERM (so it cleans up), and fails the test.
    """
    environment = dict(os.environ, **(env or {}))
    environment.pop("FORCE_COLOR", None)
    if tmpdir is not None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        environment["TMPDIR"] = str(tmpdir)
    command = [sys.executable, "-m", "slimmer", *args]
    with subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            stdout, stderr = process.communicate(timeout=60)
            message = f"slimmer {' '.join(args)} took over {timeout}s:\n{stderr}"
            raise AssertionError(message) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def summary(done: subprocess.CompletedProcess[str]) -> dict:
    assert done.stdout.strip(), f"no JSON summary; stderr:\n{done.stderr}"
    return json.loads(done.stdout)


def sessions_in(tmpdir: Path) -> list[str]:
    """Session ids of the slimmer runs that used ``tmpdir`` (from their work directory names)."""
    return sorted({p.name.rsplit("-", 1)[0] for p in tmpdir.glob("slimmer-*")})


def leftovers(engine: Engine, session: str) -> list[str]:
    """Containers and volumes still labelled with ``session``."""
    found = [f"container {c[:12]}" for c in engine.containers_of(session)]
    found += [f"volume {v}" for v in engine.volumes_of(session)]
    return found
