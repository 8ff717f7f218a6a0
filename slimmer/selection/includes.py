"""What the user asked for explicitly: --include-*, --include-shell, and --exclude."""

from __future__ import annotations

import fnmatch

from slimmer.options import SelectOptions
from slimmer.selection.keeper import INCLUDE, Keeper, Reason
from slimmer.selection.rules import which

SHELL_TOOLS = (
    "sh",
    "bash",
    "ls",
    "cat",
    "env",
    "echo",
    "id",
    "ps",
    "grep",
    "head",
    "tail",
    "mkdir",
    "rm",
    "cp",
    "mv",
    "find",
    "less",
    "vi",
    "busybox",
)


def keep_includes(
    keeper: Keeper, options: SelectOptions, env: list[str], workdir: str
) -> list[str]:
    """Keep what the user asked for; warnings for what the image does not have."""
    warnings = []
    for path in options.include_paths:
        if keeper.keep_tree(path, Reason(INCLUDE, f"--include-path {path}")) is None:
            warnings.append(f"--include-path {path}: not in the image")
    for path in options.include_bins:
        if keeper.keep(path, Reason(INCLUDE, f"--include-bin {path}")) is None:
            warnings.append(f"--include-bin {path}: not in the image")
    for name in options.include_exes:
        found = which(keeper.fs, name, env, workdir)
        if found is None:
            warnings.append(f"--include-exe {name}: not found through the image's PATH")
        else:
            keeper.keep(found, Reason(INCLUDE, f"--include-exe {name}"))
    if options.include_shell:
        for tool in SHELL_TOOLS:
            found = which(keeper.fs, tool, env, workdir)
            if found:
                keeper.keep(found, Reason(INCLUDE, "--include-shell"))
    return warnings


def apply_excludes(keeper: Keeper, patterns: list[str]) -> int:
    """Drop kept paths matching a pattern, or under a directory matching it; how many."""
    if not patterns:
        return 0
    dropped = [p for p in keeper.kept if _excluded(p, patterns)]
    for path in dropped:
        del keeper.kept[path]
    return len(dropped)


def _excluded(path: str, patterns: list[str]) -> bool:
    candidates = [path]
    parent = path
    while parent not in ("", "/"):
        parent = parent.rsplit("/", 1)[0] or "/"
        candidates.append(parent)
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns if c != "/")
