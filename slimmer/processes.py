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
from pathlib import Path
from typing import BinaryIO

KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL to the group
OUTPUT_KEPT = 64 << 10  # by default, the last bytes of a command's output that are kept


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the timeout
    stdout: bytes  # the end of it (all of it when it is at most ``keep`` bytes)
    stderr: bytes  # empty when stderr went to stdout


def run_in_group(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None,
                 *, cwd: Path | None = None, merge_stderr: bool = True,
                 keep: int = OUTPUT_KEPT) -> Finished:
    """Run ``argv`` in a new session (its own process group). It ends when the command exits
    (what it left running in the background is killed then), at the timeout, or when this
    thread is interrupted (KeyboardInterrupt, or slimmer's Terminated): the group gets SIGTERM,
    then SIGKILL, and an interrupt is raised again. Output goes to anonymous temp files, so
    background children holding it open cannot stall the wait; the last ``keep`` bytes of
    each are returned."""
    with tempfile.TemporaryFile(prefix="slimmer-") as out, \
            tempfile.TemporaryFile(prefix="slimmer-") as err:
        process = subprocess.Popen(
            list(argv), env=dict(env) if env is not None else None, cwd=cwd,
            stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT if merge_stderr else err, start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            kill_group(process)
        return Finished(returncode, _tail_of(out, keep), _tail_of(err, keep))


def _tail_of(handle: BinaryIO, keep: int) -> bytes:
    handle.seek(max(0, handle.seek(0, os.SEEK_END) - keep))
    return handle.read()


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
