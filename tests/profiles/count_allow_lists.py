"""Print the seccomp allow-list size of every fixture next to Docker's default profile.

    python -m tests.profiles.count_allow_lists [FIXTURE...]

Runs `slimmer profile --no-verify` on each fixture (real sensor) in a temporary directory. Both
figures come from report.json's ``profiles.seccomp_syscalls``: syscalls of the x86_64 ABI
allowed (always or for some arguments) to a container with Docker's default capabilities. Also
prints how many names are allowed only under argument conditions.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fixtures import all_recipes, ensure_image
from tests.profiles.pipeline import profile_of


def main(names: list[str]) -> int:
    print(f"{'fixture':<16} {'allowed':>7} {'with args':>9} {'docker':>6} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="slimmer-counts-") as tmp:
        for name in names or sorted(all_recipes()):
            out = Path(tmp) / name
            counts = profile_of(ensure_image(name), out, "--no-verify")["profiles"][
                "seccomp_syscalls"]
            rules = json.loads((out / "seccomp.json").read_text())["syscalls"]
            conditional = {n for rule in rules[1:] if rule["action"] == "SCMP_ACT_ALLOW"
                           for n in rule["names"]}
            allowed, docker = counts["allowed"], counts["docker_default"]
            print(f"{name:<16} {allowed:>7} {len(conditional):>9} {docker:>6} "
                  f"{allowed / docker:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
