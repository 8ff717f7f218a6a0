"""Keep what the observation saw the target use; find the directories it wrote into."""

from __future__ import annotations

import posixpath

from slimmer.observation import Observation, Op
from slimmer.selection.keeper import TRACE, Keeper, Reason

# Engine-provided or sensor paths: never taken from the trace.
IGNORED_PREFIXES = ("/proc/", "/sys/", "/dev/", "/.slimmer/")
IGNORED_PATHS = {"/proc", "/sys", "/dev", "/.slimmer", "/.dockerenv"}

# Ops that name a path whose target must exist in the slim image when it did in the original.
_NO_FOLLOW = {Op.LSTAT, Op.READLINK, Op.UNLINK, Op.RMDIR, Op.RENAME_FROM, Op.SYMLINK, Op.LINK_FROM}


def ignored(path: str) -> bool:
    return path in IGNORED_PATHS or path.startswith(IGNORED_PREFIXES)


def keep_traced(keeper: Keeper, observation: Observation) -> None:
    """Keep every path the target touched that exists in the image.

    Failed lookups keep the symlinks passed on the way (the path still resolves the same way),
    successful ones the final entry too. fanotify paths are already resolved by the kernel.
    """
    for access in observation.paths:
        if ignored(access.path):
            continue
        reason = Reason(
            TRACE, access.op.value if not access.errno else f"{access.op.value} (failed)"
        )
        keeper.keep(access.path, reason, follow=access.op not in _NO_FOLLOW)
    for event in observation.files:
        if ignored(event.path):
            continue
        kinds = ",".join(sorted(k.value for k in event.kinds))
        keeper.keep(event.path, Reason(TRACE, f"fanotify {kinds}"))


def written_directories(keeper: Keeper, observation: Observation) -> set[str]:
    """Directories (resolved in the image) the target changed during the run: they hold state."""
    written: set[str] = set()
    for access in observation.paths:
        if access.errno or not access.op.writes or ignored(access.path):
            continue
        parent = posixpath.dirname(access.path)
        resolution = keeper.fs.resolve(parent)
        if resolution.entry is not None:
            written.add(resolution.path)
    return written
