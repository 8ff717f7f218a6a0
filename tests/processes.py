"""Which host processes a test left running (by a unique tag in their command line)."""

from __future__ import annotations

import subprocess
import time


def running(tag: str) -> list[str]:
    """Processes whose command line holds ``tag``, once SIGKILL had time to end them: a killed
    process leaves the process table when it is next scheduled, which on a loaded machine
    is not at once (polled for at most 5 s; an empty list comes back as soon as it is so)."""
    deadline = time.monotonic() + 5
    while True:
        done = subprocess.run(
            ["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True
        )
        found = [line for line in done.stdout.splitlines() if tag in line and "ps -eo" not in line]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
