"""Name the syscall(s) a run under a seccomp profile lacked, by re-running with candidates added.

The kernel log that SCMP_ACT_LOG writes is not readable through a (possibly remote) engine, and
SCMP_ACT_TRACE needs a tracer. So: add candidate names (Docker's default allow list is a good
source: what a working image needs is almost always in it) to the allow rule; when the target
then behaves, shrink the added set by adaptive group testing to a minimal one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable


def shrink(names: Iterable[str], works: Callable[[set[str]], bool]) -> list[str]:
    """A subset of ``names`` that still ``works``, from which no single name can be removed.

    ``works(names)`` is assumed true for the whole set. Adaptive group testing: try to drop each
    chunk; when that breaks the run, halve the chunk and retry its halves. About
    2 x (needed names) x log2(len(names)) calls.
    """
    kept = set(names)

    def drop(chunk: list[str]) -> None:
        if not chunk:
            return
        if works(kept - set(chunk)):
            kept.difference_update(chunk)
            return
        if len(chunk) > 1:
            half = len(chunk) // 2
            drop(chunk[:half])
            drop(chunk[half:])

    drop(sorted(kept))
    return sorted(kept)


def with_allowed(profile: dict, names: Iterable[str]) -> dict:
    """A copy of ``profile`` whose first allow rule also has ``names``."""
    result = copy.deepcopy(profile)
    extra = set(names)
    for rule in result.setdefault("syscalls", []):
        if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args"):
            rule["names"] = sorted(set(rule["names"]) | extra)
            return result
    if extra:
        result["syscalls"].append({"names": sorted(extra), "action": "SCMP_ACT_ALLOW"})
    return result


def find_missing_syscalls(
    run: Callable[[dict], bool], profile: dict, candidates: list[str]
) -> list[str]:
    """The fewest ``candidates`` whose addition to ``profile`` makes ``run`` succeed.

    ``run(profile)`` runs the target with its probes under a profile and says whether it
    behaved. Returns [] when the profile already works, and also when even all candidates
    together do not help (the failure has another cause, or needs a name not in the list).
    """
    allowed = {n for rule in profile.get("syscalls", []) if rule.get("action") == "SCMP_ACT_ALLOW"
               for n in rule.get("names", [])}
    extra = sorted(set(candidates) - allowed)
    if run(profile) or not extra or not run(with_allowed(profile, extra)):
        return []
    return shrink(extra, lambda names: run(with_allowed(profile, names)))
