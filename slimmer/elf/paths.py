"""Loader path strings: dynamic string tokens ($ORIGIN, $LIB, $PLATFORM) and search lists."""

from __future__ import annotations

import itertools
import posixpath
import re

MAX_EXPANSIONS = 16
_GLIBC_DST = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")
_MUSL_DST = re.compile(r"\$(?:\{ORIGIN\}|ORIGIN)")


def expand_glibc(text: str, origin: str, lib_names: tuple[str, ...],
                 platforms: tuple[str, ...]) -> list[str]:
    """Every expansion of glibc's tokens in ``text``: $ORIGIN is the object's directory, $LIB
    and $PLATFORM expand to each value the image's loader may use. Unknown tokens stay as
    written (glibc copies them)."""
    values = {"ORIGIN": (origin,), "LIB": lib_names, "PLATFORM": platforms}
    pieces: list[tuple[str, ...]] = []
    last = 0
    for match in _GLIBC_DST.finditer(text):
        pieces.append((text[last:match.start()],))
        pieces.append(values[match.group(1) or match.group(2)] or ("",))
        last = match.end()
    pieces.append((text[last:],))
    return ["".join(combo) for combo in itertools.islice(itertools.product(*pieces),
                                                          MAX_EXPANSIONS)]


def expand_musl(text: str, origin: str) -> str | None:
    """musl knows only $ORIGIN; a path list with any other `$` is ignored whole (None)."""
    expanded = _MUSL_DST.sub(lambda _m: origin, text)
    return None if "$" in expanded else expanded


def split_glibc(value: str) -> list[str]:
    """glibc splits search lists at ':' and ';'; an empty element means the working directory."""
    return re.split(r"[:;]", value)


def split_musl(value: str) -> list[str]:
    """musl splits at ':' and newlines and skips empty elements."""
    return [part for part in re.split(r"[:\n]", value) if part]


def in_dir(directory: str, name: str, cwd: str) -> str:
    """``name`` inside ``directory`` as the loader builds it; relative ones against ``cwd``."""
    path = f"{directory}/{name}" if directory else name
    return absolute(path, cwd)


def absolute(path: str, cwd: str) -> str:
    """Make ``path`` absolute against the working directory; '..' is left for the in-image
    resolver, which applies it after following symlinks like the kernel does."""
    if not path.startswith("/"):
        path = posixpath.join(cwd or "/", path)
    return re.sub("/+", "/", path)


def dirname(path: str) -> str:
    return posixpath.dirname(path) or "/"
