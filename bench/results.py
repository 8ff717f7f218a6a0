"""Where benchmarks put their figures: `bench/out/NAME.json`, with the machine and the date.

The README's results table is generated from `bench/out/build.json` by `python -m bench.readme`
(`make bench` runs it after the benchmarks), so the published figures are the measured ones.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, memory, CPU model, kernel, Python."""
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write ``figures`` of benchmark ``name`` with the machine and today's date."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    record = {"bench": name, "date": datetime.date.today().isoformat(), "machine": machine(),
              **figures}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"(figures written to {path.relative_to(OUT.parent.parent)})")
    return path


def load(name: str) -> dict[str, Any]:
    return json.loads((OUT / f"{name}.json").read_text())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
