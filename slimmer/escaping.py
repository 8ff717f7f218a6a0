"""Names from images in text outputs: any bytes in, valid UTF-8 on one line out.

Paths and other strings an image provides (file names, argv, environment names, log lines) are
Python strings whose undecodable bytes are surrogate escapes. In report.json, kept.txt,
removed.txt and the terminal they are written with ``printable``: a backslash as ``\\\\``, every
character that is not printable (control characters such as newline and tab, and each byte that
was not valid UTF-8) as ``\\xHH`` per byte. The escaping is reversible (``unprintable``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_NEEDS_ESCAPE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2})")


def printable(text: str) -> str:
    """``text`` with backslashes and non-printable characters escaped (see the module)."""
    if not _NEEDS_ESCAPE.search(text):
        return text
    return _NEEDS_ESCAPE.sub(_escape_match, text)


def _escape_match(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    raw = char.encode("utf-8", "surrogateescape")
    return "".join(f"\\x{byte:02x}" for byte in raw)


def unprintable(text: str) -> str:
    """The string ``printable`` was given (undecodable bytes back as surrogate escapes)."""
    pieces: list[bytes] = []
    last = 0
    for match in _ESCAPED.finditer(text):
        pieces.append(text[last:match.start()].encode("utf-8", "surrogateescape"))
        token = match.group(1)
        pieces.append(b"\\" if token == "\\" else bytes([int(token[1:], 16)]))
        last = match.end()
    pieces.append(text[last:].encode("utf-8", "surrogateescape"))
    return b"".join(pieces).decode("utf-8", "surrogateescape")


def printable_tree(value: Any) -> Any:
    """``value`` (JSON-like) with ``printable`` applied to every string, keys included: the same
    path reads the same in report.json and kept.txt."""
    return map_strings(value, printable)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with ``change`` applied to every
    string in it, dictionary keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_strings(key, change): map_strings(item, change) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_strings(item, change) for item in value]
    return value

