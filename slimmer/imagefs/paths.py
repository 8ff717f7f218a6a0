"""Lexical path helpers for paths inside an image (never resolved on the host)."""

from __future__ import annotations


class PathEscape(ValueError):
    """A name whose ``..`` components climb above the image root."""


def normalise(name: str) -> str:
    """An archive member name as an absolute image path: "./usr//bin/../lib/" -> "/usr/lib".

    Absolute names are taken relative to the image root; ``..`` that would leave the root
    raises ``PathEscape`` (the engine rejects such layers too).
    """
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise PathEscape(name)
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def clean(path: str) -> str:
    """Like ``normalise`` but ``..`` stops at the root, as it does inside a container."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def parent(path: str) -> str:
    head = path.rpartition("/")[0]
    return head or "/"


def join(directory: str, name: str) -> str:
    return directory + name if directory == "/" else f"{directory}/{name}"
