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
    """`python -m slimmer ARGS` with TMPDIR pointed at ``tmpdir`` (to find leftovers)."""
    environment = dict(os.environ, **(env or {}))
    environment.pop("FORCE_COLOR", None)
    if tmpdir is not None:
        tmpdir.mkdir(parents=True, exist_ok=True)
        environment["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "slimmer", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


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
