"""The image's /etc/ld.so.conf: the directories ldconfig indexes, `include` globs followed."""

from __future__ import annotations

import fnmatch
import posixpath

from slimmer.elf.view import ImageView, read_text
from slimmer.imagefs.model import EntryType

LD_SO_CONF = "/etc/ld.so.conf"
MAX_FILES = 256
MAX_DEPTH = 8
MAX_GLOB_MATCHES = 1024


def ld_so_conf_dirs(fs: ImageView, path: str = LD_SO_CONF) -> list[str]:
    """Directories listed by ld.so.conf and the files it includes, in order, without repeats."""
    dirs: list[str] = []
    seen_files: set[str] = set()
    _read_conf(fs, path, dirs, seen_files, 0)
    return dirs


def _read_conf(fs: ImageView, path: str, dirs: list[str], seen: set[str], depth: int) -> None:
    if path in seen or len(seen) >= MAX_FILES or depth > MAX_DEPTH:
        return
    seen.add(path)
    text = read_text(fs, path)
    if text is None:
        return
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "include":
            for pattern in words[1:]:
                if not pattern.startswith("/"):
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                for included in sorted(_glob(fs, pattern)):
                    _read_conf(fs, included, dirs, seen, depth + 1)
        elif words[0] == "hwcap":
            continue
        else:
            for item in line.replace(",", " ").replace(":", " ").replace("\t", " ").split():
                directory = _clean_dir(item.split("=", 1)[0])
                if directory and directory not in dirs:
                    dirs.append(directory)


def _clean_dir(item: str) -> str:
    if not item.startswith("/"):
        return ""
    return posixpath.normpath(item).replace("//", "/")


def _glob(fs: ImageView, pattern: str) -> list[str]:
    """Expand a glob against the image's tree, one component at a time (bounded)."""
    matches = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        expanded: list[str] = []
        for base in matches:
            if not _has_magic(part):
                expanded.append(posixpath.join(base, part))
                continue
            resolved = fs.resolve(base)
            if resolved.entry is None or resolved.entry.type is not EntryType.DIR:
                continue
            for name in fs.listdir(resolved.path):
                hidden = name.startswith(".") and not part.startswith(".")
                if fnmatch.fnmatchcase(name, part) and not hidden:
                    expanded.append(posixpath.join(base, name))
        matches = expanded[:MAX_GLOB_MATCHES]
    return matches


def _has_magic(part: str) -> bool:
    return any(c in part for c in "*?[")
