"""Profiles of fixture images through the real pipeline (`slimmer profile` / `slimmer build`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def slimmer(*args: str, tmpdir: Path, timeout: float = 600) -> tuple[int, dict, str]:
    """`python -m slimmer ARGS --json`: exit code, JSON summary, stderr."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmpdir))
    done = subprocess.run(
        [sys.executable, "-m", "slimmer", *args, "--json"], env=env, capture_output=True,
        text=True, timeout=timeout, check=False,
    )
    summary = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, summary, done.stderr


def profile_of(ref: str, out: Path, *extra: str) -> dict:
    """Run `slimmer profile` on ``ref`` into ``out``; the report (report.json)."""
    code, _summary, stderr = slimmer("profile", ref, "--output-dir", str(out), *extra,
                                     tmpdir=out.parent / "tmp")
    assert code == 0, f"slimmer profile {ref} exited {code}: {stderr[-3000:]}"
    return json.loads((out / "report.json").read_text())
