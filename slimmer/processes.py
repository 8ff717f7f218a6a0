"""Host commands slimmer starts (--host-exec, tools it drives), each in its own process group:
on a timeout, Ctrl-C or SIGTERM the whole group is killed, and what a command left running in
the background when it exited is killed then, so nothing they started outlives the run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL to the group
OUTPUT_KEPT = 64 << 10  # the last bytes of a command's output that are kept


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the timeout
    output: bytes  # the end of stdout and stderr, interleaved


def run_in_group(argv: Sequence[str], timeout: float,
                 env: Mapping[str, str] | None = None) -> Finished:
    """Run ``argv`` in a new session (its own process group). It ends when the command exits
    (what it left running in the background is killed then), at the timeout, or when this
    thread is interrupted (KeyboardInterrupt, or slimmer's Terminated): the group gets SIGTERM,
    then SIGKILL, and an interrupt is raised again. Output goes to an anonymous temp file, so
    background children holding it open cannot stall the wait."""
    with tempfile.TemporaryFile(prefix="slimmer-") as output:
        process = subprocess.Popen(
            list(argv), env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            kill_group(process)
        output.seek(max(0, output.seek(0, os.SEEK_END) - OUTPUT_KEPT))
        return Finished(returncode, output.read())


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group, SIGKILL after a grace (the leader is reaped)."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
