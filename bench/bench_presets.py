"""Slim image size per fixture with each size preset (safe, default, lean), every build verified
(the slim image as is and under its seccomp.json); ratios to default from the same run.

Run: `python bench/bench_presets.py [NAME...]` (default: the fixtures in DEFAULT; postgres gets
its POSTGRES_* variables, `pg-app-compose` is the app service of fixtures/files/pg-app/
compose.yaml with its PostgreSQL started by Compose). Figures go to bench/out/presets.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.bench_build import COMPOSE_FILE, slimmer
from bench.results import save
from fixtures import ensure_image
from slimmer.engine import Engine
from slimmer.summary import human_size

PRESETS = ("safe", "default", "lean")
DEFAULT = (
    "nginx", "python-app", "redis", "batch", "jvm-app", "postgres", "health-exec",
    "health-shell", "pg-app-compose", "crafted-layers", "crafted-links", "crafted-caps",
    "crafted-config",
)  # fmt: skip
POSTGRES_ENV = ("POSTGRES_USER=fixture", "POSTGRES_PASSWORD=fixture-pw", "POSTGRES_DB=shop")


def source(name: str) -> tuple[list[str], dict[str, str] | None]:
    """The build arguments naming fixture ``name``, and the environment it needs."""
    if name == "pg-app-compose":
        env = {
            "APP_IMAGE": ensure_image("pg-app"),
            "DB_IMAGE": ensure_image("postgres"),
            "DB_PASSWORD": uuid.uuid4().hex,
        }
        return ["--compose-file", str(COMPOSE_FILE), "--service", "app"], env
    if name == "postgres":
        return [ensure_image(name), *(f"--env={item}" for item in POSTGRES_ENV)], None
    return [ensure_image(name)], None


def build(engine: Engine, name: str, preset: str) -> dict:
    """One verified build of ``name`` with ``preset``: its figures (exits when not verified)."""
    args, env = source(name)
    tag = f"slimmer-bench/{name}.{preset}:latest"
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-") as out:
        start = time.monotonic()
        done = slimmer("build", *args, "--preset", preset, "--tag", tag, "--output-dir", out,
                       "--json", env=env)  # fmt: skip
        seconds = time.monotonic() - start
        report_file = Path(out) / "report.json"
        report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    engine.remove_image(tag)
    if done.returncode != 0:
        raise SystemExit(f"{name} --preset {preset}: exit {done.returncode}: {done.stderr[-800:]}")
    runs = {run["name"]: run["verdict"] for run in report["verification"]["runs"]}
    if set(runs.values()) != {"passed"} or len(runs) != 2:
        raise SystemExit(f"{name} --preset {preset}: verification {runs}")
    return {
        "original_bytes": report["source"]["size"],
        "slim_bytes": report["result"]["size"],
        "kept_paths": report["kept"]["count"],
        "kept_file_bytes": report["kept"]["bytes"],
        "verification": runs,
        "seconds": round(seconds, 2),
    }


def main(names: list[str]) -> None:
    engine = Engine.connect()
    rows = []
    for name in names or DEFAULT:
        figures = {preset: build(engine, name, preset) for preset in PRESETS}
        rows.append({"name": name, "original_bytes": figures["default"]["original_bytes"],
                     "presets": figures})  # fmt: skip
        print(f"  {name}: " + ", ".join(
            f"{p} {f['slim_bytes'] / 1e6:.2f} MB" for p, f in figures.items()), flush=True)
    print(
        f"{'image':<15} {'original':>9} {'safe':>9} {'default':>9} {'lean':>9} "
        f"{'lean/default':>12} {'safe/default':>12} {'lean saves':>10} {'kept paths s/d/l':>17}"
    )
    for row in rows:
        figures = row["presets"]
        size = {p: figures[p]["slim_bytes"] for p in PRESETS}
        paths = "/".join(str(figures[p]["kept_paths"]) for p in PRESETS)
        print(
            f"{row['name']:<15} {human_size(row['original_bytes']):>9} "
            + " ".join(f"{human_size(size[p]):>9}" for p in PRESETS)
            + f" {size['lean'] / size['default']:>12.3f} {size['safe'] / size['default']:>12.3f}"
            + f" {human_size(size['default'] - size['lean']):>10} {paths:>17}"
        )
    print("(sizes as the engine reports them, 1 MB = 10^6 B; every build above passed both")
    print(" verification runs: the slim image as is and under its seccomp.json)")
    save("presets", {"presets": list(PRESETS), "rows": rows})


if __name__ == "__main__":
    main(sys.argv[1:])
