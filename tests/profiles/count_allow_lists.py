"""Print the seccomp allow-list size of every fixture next to Docker's default list.

    python -m tests.profiles.count_allow_lists [FIXTURE...]

Runs `slimmer profile --no-verify` on each fixture (real sensor) in a temporary directory.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fixtures import all_recipes, ensure_image
from slimmer.profiles.docker_default import docker_default_names
from tests.profiles.pipeline import profile_of


def main(names: list[str]) -> int:
    docker = len(docker_default_names("x86_64"))
    print(f"{'fixture':<16} {'allowed':>7} {'docker':>6} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="slimmer-counts-") as tmp:
        for name in names or sorted(all_recipes()):
            out = Path(tmp) / name
            profile_of(ensure_image(name), out, "--no-verify")
            allowed = len(json.loads((out / "seccomp.json").read_text())["syscalls"][0]["names"])
            print(f"{name:<16} {allowed:>7} {docker:>6} {allowed / docker:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
