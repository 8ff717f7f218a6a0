"""One run's resources: a session id for engine labels and a work directory, always cleaned up.

The session removes every container and volume labelled with its id and its work directory when
it closes, whether the run succeeded, failed, was interrupted (Ctrl-C) or terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from slimmer.engine import Engine
from slimmer.errors import SlimmerError


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Session:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.id = f"slimmer-{uuid.uuid4().hex[:12]}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
        self.cancelled = threading.Event()

    def close(self) -> None:
        """Remove everything the session made; safe to call twice, never raises. What cannot
        be removed is said on stderr, with the command that removes it."""
        self.cancelled.set()
        with signals_deferred():
            try:
                self.engine.remove_session(self.id)
            except SlimmerError as exc:
                print(f"slimmer: warning: {exc.one_line()}", file=sys.stderr)
            shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def open_session(engine: Engine) -> Iterator[Session]:
    """A session whose resources are removed on any exit, SIGTERM included."""
    session = Session(engine)
    try:
        with terminate_as_interrupt():
            yield session
    finally:
        session.close()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception so `finally` blocks run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = {
        sig: signal.signal(sig, raise_terminated) for sig in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while cleaning up, so a second Ctrl-C cannot leave debris."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
