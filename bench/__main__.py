"""`python -m bench [NAME...]`: run bench/bench_NAME.py scripts (all when none given)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [HERE / f"bench_{name}.py" for name in names]
    failed = 0
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        env = dict(os.environ, PYTHONPATH=str(HERE.parent))
        done = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, env=env, check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
