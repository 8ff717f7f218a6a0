"""xray: seconds, MB/s of layer data and peak RSS, and the terminal view's wall time.

Cases: the synthetic 1.2 GB docker-archive of bench_index (40,000 small files, 50 big ones of
the same content, whiteouts: every phase has work, duplicates hash 1 GB), the same entries with
a tenth of the content (memory must not grow with contents), and the largest fixture image
(of all recipes) through the engine and as a docker-archive file. "read s" is reading the file
once (page cache after the first case: it is the floor for a file that is cached) or receiving
the engine's save stream. Each case runs in a fresh child process; peak RSS is its VmHWM. Phases:
index (open_image), analysis (xray), and the complete `slimmer xray REF` command as a user runs
it (goal: the terminal view of the largest fixture in under 2 s).

Run: `python -m bench xray`. Needs ~3 GB free in the temp directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_index import (
    docker_archive,
    peak_rss_mb,
    raw_stream_seconds,
    run_child,
    synthetic_layers,
)
from bench.results import save


def child(spec: str, workdir: str) -> None:
    """Index and analyse one image; print the figures as JSON (run in a fresh process)."""
    from slimmer.imagefs import open_image
    from slimmer.xray import XrayOptions, analyze
    from slimmer.xray.packages import package_summary

    started = time.perf_counter()
    with open_image(spec, workdir, keep_layers=True) as fs:
        indexed = time.perf_counter()
        report = analyze(fs, spec, XrayOptions(treemap_nodes=3000), package_summary(fs))
        done = time.perf_counter()
        figures = {
            "index_seconds": indexed - started,
            "xray_seconds": done - indexed,
            "bytes": sum(fs.layer_sizes),
            "entries": len(fs),
            "hashed": report["duplicates"]["hashed_bytes"],
            "rss": peak_rss_mb(),
        }
    print(json.dumps(figures))


def command_seconds(spec: str, *args: str) -> float:
    """Wall time of the `slimmer xray SPEC ARGS` command, output to a pipe."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "slimmer", "xray", spec, *args],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def largest_fixture() -> str | None:
    """The largest fixture image of all recipes (built when missing), by engine size."""
    try:
        from fixtures import all_recipes, ensure_image
        from slimmer.engine import Engine

        engine = Engine.connect()
        refs = [ensure_image(name) for name in sorted(all_recipes())]
        return max(refs, key=lambda ref: engine.inspect_image(ref).size)
    except Exception as exc:  # a bench without an engine or fixtures still reports the rest
        print(f"(engine cases skipped: {exc})")
        return None


def read_seconds(path: str) -> float:
    """Reading the file once and doing nothing with it: the disk-bound floor."""
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as handle:
        while handle.read(1 << 20):
            pass
    return time.perf_counter() - started


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-xray-") as temporary:
        root = Path(temporary)
        cases = []
        for name, big_mb in (
            ("synthetic 1.2 GB, docker-archive", 20),
            ("same entries, 1/10 content", 2),
        ):
            directory = root / name.split(",")[0].replace(" ", "-")
            directory.mkdir()
            cases.append(
                (
                    name,
                    str(
                        docker_archive(synthetic_layers(directory, big_mb), directory / "image.tar")
                    ),
                )
            )
        fixture = largest_fixture()
        if fixture:
            cases.append((f"engine {fixture}", fixture))
            saved = root / "fixture.tar"
            subprocess.run(["docker", "save", fixture, "-o", str(saved)], check=True)
            cases.append(("largest fixture, docker-archive file", str(saved)))
        for name, spec in cases:
            work = root / "work"
            figures = run_child(__file__, spec, work)
            shutil.rmtree(work, ignore_errors=True)
            figures["command"] = command_seconds(spec)
            figures["floor"] = (
                read_seconds(spec) if os.path.isfile(spec) else raw_stream_seconds(spec)
            )
            rows.append((name, figures))
        html_seconds = command_seconds(fixture, "--html", str(root / "r.html")) if fixture else None
    _print_table(rows)
    figures = dict(rows)
    save("xray", {"cases": figures, "html_command_seconds": html_seconds})
    big, small = figures["synthetic 1.2 GB, docker-archive"], figures["same entries, 1/10 content"]
    print(
        f"peak RSS, 1.2 GB image / same entries with 1/10 of the content: "
        f"{big['rss'] / small['rss']:.2f}"
    )
    if fixture:
        view = figures[f"engine {fixture}"]["command"]
        from_file = figures["largest fixture, docker-archive file"]["command"]
        print(
            f"terminal view of the largest fixture ({fixture}): {view:.2f} s from the engine, "
            f"{from_file:.2f} s from its docker-archive (goal < 2 s); "
            f"with --html: {html_seconds:.2f} s"
        )


def _print_table(rows: list[tuple[str, dict]]) -> None:
    print(
        f"{'case':<46} {'MB':>6} {'entries':>7} {'index s':>7} {'xray s':>6} {'MB/s':>5} "
        f"{'hashed MB':>9} {'RSS MB':>6} {'command s':>9} {'read s':>6} {'ratio':>5}"
    )
    for name, f in rows:
        mb = f["bytes"] / 1e6
        total = f["index_seconds"] + f["xray_seconds"]
        print(
            f"{name:<46} {mb:>6.0f} {f['entries']:>7} {f['index_seconds']:>7.2f} "
            f"{f['xray_seconds']:>6.2f} {mb / total:>5.0f} {f['hashed'] / 1e6:>9.0f} "
            f"{f['rss']:>6.0f} {f['command']:>9.2f} {f['floor']:>6.2f} {total / f['floor']:>5.1f}"
        )
    print(
        "read s: reading the archive file (or receiving the engine's save stream) and nothing "
        "else; ratio: (index s + xray s) / read s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        os.environ.setdefault("COLUMNS", "120")
        main()
