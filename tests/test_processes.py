"""Host commands run in their own process group: nothing they start outlives a timeout, an
interrupt or their own exit."""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest

from slimmer.processes import run_in_group
from slimmer.runner import _host_exec
from tests.processes import running


def test_a_timed_out_command_leaves_no_process() -> None:
    tag = f"slimmer-test-{uuid.uuid4().hex[:8]}"
    result = _host_exec(f"bash -c '(exec -a {tag} sleep 30) & (exec -a {tag} sleep 30) & wait'",
                        "127.0.0.1", {}, timeout=0.5)
    assert result.exit_code == -1 and "timed out" in result.output_tail
    assert running(tag) == []


def test_background_children_of_a_finished_command_are_killed() -> None:
    tag = f"slimmer-test-{uuid.uuid4().hex[:8]}"
    done = run_in_group(["bash", "-c", f"(exec -a {tag} sleep 30) & echo started"], timeout=10)
    assert (done.returncode, done.stdout) == (0, b"started\n")
    assert running(tag) == []


def test_an_interrupt_kills_the_group_and_is_raised_again() -> None:
    tag = f"slimmer-test-{uuid.uuid4().hex[:8]}"
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_in_group(["bash", "-c", f"(exec -a {tag} sleep 30) & wait"], timeout=30)
    timer.join()
    assert running(tag) == []


def test_a_missing_program_is_exit_127() -> None:
    result = _host_exec("/nonexistent/tool --flag", "127.0.0.1", {}, timeout=5)
    assert result.exit_code == 127
