"""Compare what the slim image answered with what the original answered to the same probes.

Results are paired in order (the slim run replays the original's specs). Compared: whether the
target answered at all; for HTTP the status, and when it is the same the content type and the
body hash, the hash only where the original answered the same body twice (``stable``), so
dynamic pages do not count; for
protocols the reply summary where it was stable; for TCP whether the server speaks first or
waits (banners may hold host names, so their bytes are not compared).
"""

from __future__ import annotations

from slimmer.probes.model import ProbeResult


def answered(result: ProbeResult) -> bool:
    """Whether the target answered the probe at all (an error status is an answer)."""
    return result.ok or result.status is not None or bool(result.reply)


def compare(original: list[ProbeResult], slim: list[ProbeResult]) -> list[str]:
    """One line per difference; empty when the slim image behaved like the original."""
    differences = []
    if len(original) != len(slim):
        differences.append(
            f"{len(original)} probes ran against the original, {len(slim)} against the slim image")
    for before, after in zip(original, slim, strict=False):
        name = before.spec.describe()
        if before.spec != after.spec:
            differences.append(f"{name}: the slim run probed {after.spec.describe()} instead")
            continue
        if answered(before) != answered(after):
            differences.append(f"{name}: {_outcome(before)} in the original, "
                               f"{_outcome(after)} in the slim image")
            continue
        if not answered(before):
            continue
        if before.spec.kind == "http":
            differences += _http_differences(name, before, after)
        elif before.stable and before.reply != after.reply:
            differences.append(f"{name}: replied {before.reply!r} in the original, "
                               f"{after.reply!r} in the slim image")
    return differences


def _http_differences(name: str, before: ProbeResult, after: ProbeResult) -> list[str]:
    if before.status != after.status:  # then the rest differs too: one line says it
        return [f"{name}: status {before.status} in the original, "
                f"{after.status} in the slim image"]
    found = []
    if before.content_type != after.content_type:
        found.append(f"{name}: content type {before.content_type or '(none)'!r} in the original, "
                     f"{after.content_type or '(none)'!r} in the slim image")
    if before.stable and before.body_sha256 != after.body_sha256:
        found.append(f"{name}: body differs ({before.body_len} B sha256 "
                     f"{before.body_sha256[:12]} in the original, {after.body_len} B sha256 "
                     f"{after.body_sha256[:12]} in the slim image)")
    return found


def _outcome(result: ProbeResult) -> str:
    if not answered(result):
        return f"failed ({result.error or 'no answer'})"
    if result.spec.kind == "http":
        return f"answered {result.status}"
    return f"replied {result.reply!r}"
