"""Progress on stderr: a live status line with phase and elapsed time on a TTY, plain lines
otherwise (CI logs). Also records the wall time of each phase for the report.

Texts are plain: names from images and users never become markup (they are escaped, and
non-printable characters are written as ``slimmer.escaping.printable`` does)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from slimmer.escaping import printable


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.timings: dict[str, float] = {}
        self.spans: list[tuple[str, float, float]] = []  # phase, start, end (since started)
        self.started = time.monotonic()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str, description: str) -> Iterator[None]:
        """Show a phase while it runs and record how long it took."""
        start = time.monotonic()  # a phase may run several times: timings add up
        if self.live:
            with self.console.status(f"{_markup_safe(description)}…"), self.timed(name):
                yield
            self._print(f"[green]✓[/] {_markup_safe(description)} "
                        f"[dim]({time.monotonic() - start:.1f}s)[/]")
            return
        self.say(f"{description}…")
        with self.timed(name):
            yield
        self.say(f"{description}: done in {time.monotonic() - start:.1f}s")

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Record the wall time of a piece of work (any thread) without showing it."""
        start = time.monotonic()
        try:
            yield
        finally:
            end = time.monotonic()
            with self._lock:
                self.timings[name] = round(self.timings.get(name, 0.0) + end - start, 3)
                self.spans.append((name, start - self.started, end - self.started))

    def timeline(self) -> list[dict[str, float | str]]:
        """Every timed piece of work with its start and end (seconds since the start), in
        the order they started: what ran side by side shows as overlapping spans."""
        with self._lock:
            spans = sorted(self.spans, key=lambda span: span[1])
        return [{"phase": n, "start": round(s, 3), "end": round(e, 3)} for n, s, e in spans]

    def say(self, text: str) -> None:
        """Show a plain text line."""
        if self.live:
            self._print(_markup_safe(text))
        else:
            elapsed = time.monotonic() - self.started
            self._print(f"[{elapsed:6.1f}s] {printable(text)}", markup=False)

    def warn(self, text: str) -> None:
        if self.live:
            self._print(f"[yellow]warning:[/] {_markup_safe(text)}")
        else:
            self.say(f"warning: {text}")

    def _print(self, line: str, markup: bool = True) -> None:
        if not self.quiet:
            self.console.print(line, markup=markup)


def _markup_safe(text: str) -> str:
    return escape(printable(text))
