"""`.dockerignore` patterns as BuildKit reads them: Go filepath.Match syntax plus `**`, `!` to
re-include, the last matching pattern wins, and a pattern that matches a directory excludes
everything under it."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class IgnorePattern:
    text: str  # as written
    line: int
    regex: re.Pattern[str]
    negated: bool


def parse_dockerignore(text: str) -> list[IgnorePattern]:
    patterns = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        body = line[1:].strip() if negated else line
        body = posixpath.normpath(body.lstrip("/")) if body.strip("/") else "."
        patterns.append(IgnorePattern(raw.strip(), number, _compile(body), negated))
    return patterns


def is_excluded(patterns: list[IgnorePattern], path: str) -> bool:
    """True when ``path`` (relative to the context, `/`-separated) is left out of the context."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        if any(pattern.regex.fullmatch(candidate) for candidate in candidates):
            excluded = not pattern.negated
    return excluded


def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))
