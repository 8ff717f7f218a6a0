"""Image indexing: MB/s of layer data and peak RSS, per source kind.

Cases: a synthetic image over 1 GB (as a docker-archive file and as an OCI layout directory),
a synthetic image with the same entries and a tenth of the content (memory must not grow with
contents), gzip and zstd OCI layouts, and the engine's save stream of the largest fixture.
Then crafted hostile layers under 1 MB (deep paths, a global PAX header full of xattrs, one big
hardlink group), each at two sizes: peak RSS must stay under 100 MB and time and memory grow
linearly (the ratios are printed). Each case runs in a fresh child process; peak RSS is its
VmHWM.

Run: `python bench/bench_index.py` (all), `--hostile` (only the crafted layers), and
`--baseline REV` to also run the crafted layers on the code of git revision REV (before/after
in one run). Needs ~4 GB free in the temp directory for the full run.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import zstandard

SMALL_FILES = 40_000  # 4 KiB each, in 400 directories
BIG_FILES = 50
FIXTURES = ("nginx", "python-app", "redis", "batch")


class Pattern(io.RawIOBase):
    """``size`` bytes of a repeating pattern, for file contents that cost nothing to make."""

    BLOCK = bytes(range(256)) * 4096

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        got = min(len(buffer), self.left, len(self.BLOCK))
        buffer[:got] = self.BLOCK[:got]
        self.left -= got
        return got


def _add(tar: tarfile.TarFile, name: str, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 1_700_000_000
    tar.addfile(info, io.BufferedReader(Pattern(size), 1 << 20) if size else None)


def synthetic_layers(directory: Path, big_file_mb: int) -> list[Path]:
    """Two layers: many small files, then a few big ones plus whiteouts of some small ones."""
    first, second = directory / "layer0.tar", directory / "layer1.tar"
    with tarfile.open(first, "w", format=tarfile.PAX_FORMAT) as tar:
        for number in range(SMALL_FILES):
            if number % 100 == 0:
                info = tarfile.TarInfo(f"usr/share/d{number // 100:03d}")
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            _add(tar, f"usr/share/d{number // 100:03d}/f{number:05d}", 4096)
    with tarfile.open(second, "w", format=tarfile.PAX_FORMAT) as tar:
        for number in range(BIG_FILES):
            _add(tar, f"opt/big/blob{number:02d}", big_file_mb << 20)
        for number in range(0, SMALL_FILES, 1000):
            _add(tar, f"usr/share/d{number // 100:03d}/.wh.f{number:05d}", 0)
    return [first, second]


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _config(diff_ids: list[str]) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()


def docker_archive(layers: list[Path], target: Path) -> Path:
    diff_ids = [_digest(p) for p in layers]
    config = _config(diff_ids)
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    with tarfile.open(target, "w") as tar:
        _bytes(tar, config_name, config)
        for number, path in enumerate(layers):
            tar.add(path, f"l{number}/layer.tar")
        manifest = [
            {"Config": config_name, "Layers": [f"l{n}/layer.tar" for n in range(len(layers))]}
        ]
        _bytes(tar, "manifest.json", json.dumps(manifest).encode())
    return target


def oci_directory(layers: list[Path], target: Path, compression: str) -> Path:
    blobs = target / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    diff_ids, descriptors = [], []
    for path in layers:
        diff_ids.append(_digest(path))
        stored = blobs / "incoming"
        if compression == "gzip":
            with open(path, "rb") as source, gzip.open(stored, "wb", compresslevel=1) as out:
                shutil.copyfileobj(source, out, 1 << 20)
        elif compression == "zstd":
            with open(path, "rb") as source, open(stored, "wb") as out:
                zstandard.ZstdCompressor(level=1).copy_stream(source, out)
        else:
            shutil.copyfile(path, stored)
        digest = _digest(stored)
        stored.rename(blobs / digest[7:])
        media = "application/vnd.oci.image.layer.v1.tar" + (
            "" if compression == "tar" else f"+{compression}"
        )
        descriptors.append(
            {"mediaType": media, "digest": digest, "size": (blobs / digest[7:]).stat().st_size}
        )
    config = _config(diff_ids)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _put(blobs, config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _put(blobs, manifest),
                "size": len(manifest),
            }
        ],
    }
    (target / "index.json").write_text(json.dumps(index))
    (target / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return target


def _put(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return "sha256:" + digest


def _bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def peak_rss_mb(field: str = "VmHWM") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(spec: str, workdir: str) -> None:
    """Index one image and print its figures as JSON (run in a fresh process)."""
    from slimmer.imagefs import open_image

    engine = None
    if not os.path.exists(spec):
        from slimmer.engine import Engine

        engine = Engine.connect()
    from slimmer.errors import ImageFormatError

    start_rss = peak_rss_mb("VmRSS")
    started = time.perf_counter()
    try:
        fs = open_image(spec, workdir, engine=engine)
    except ImageFormatError:  # a crafted layer over a bound: refused (at what cost is the figure)
        seconds = time.perf_counter() - started
        figures = {"seconds": seconds, "entries": 0, "rss": peak_rss_mb(), "refused": True}
        print(json.dumps({**figures, "start_rss": start_rss}))
        return
    seconds = time.perf_counter() - started
    layer_bytes = sum(fs.layer_sizes)
    figures = {"seconds": seconds, "bytes": layer_bytes, "entries": len(fs), "rss": peak_rss_mb()}
    print(json.dumps({**figures, "start_rss": start_rss}))
    fs.close()


def run_child(script: str, spec: str, workdir: Path, pythonpath: str | None = None) -> dict:
    """Run ``script --child SPEC WORKDIR`` in a fresh process (its own peak RSS); its figures.
    ``pythonpath`` puts another checkout's slimmer first (a baseline)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, script, "--child", spec, str(workdir)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "child failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def largest_fixture() -> str | None:
    try:
        from fixtures import ensure_image
        from slimmer.engine import Engine

        engine = Engine.connect()
        refs = [ensure_image(name) for name in FIXTURES]
        return max(refs, key=lambda ref: engine.inspect_image(ref).size)
    except Exception as exc:  # a bench without an engine or fixtures still reports the rest
        print(f"(engine case skipped: {exc})")
        return None


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="slimmer-bench-index-") as temporary:
        root = Path(temporary)
        big = root / "big"
        big.mkdir()
        big_layers = synthetic_layers(big, 20)
        cases = [
            ("synthetic 1 GB, docker-archive", docker_archive(big_layers, big / "image.tar")),
            ("synthetic 1 GB, OCI dir", oci_directory(big_layers, big / "oci", "tar")),
        ]
        small = root / "small"
        small.mkdir()
        small_layers = synthetic_layers(small, 2)
        cases += [
            ("same entries, 1/10 content", docker_archive(small_layers, small / "image.tar")),
            ("OCI dir, gzip layers", oci_directory(small_layers, small / "gzip", "gzip")),
            ("OCI dir, zstd layers", oci_directory(small_layers, small / "zstd", "zstd")),
        ]
        fixture = largest_fixture()
        if fixture:
            cases.append((f"engine save stream {fixture}", fixture))
        for name, spec in cases:
            work = root / "work"
            figures = run_child(__file__, str(spec), work)
            shutil.rmtree(work, ignore_errors=True)
            rows.append((name, figures))
        stream_seconds = raw_stream_seconds(fixture) if fixture else None
    print(f"{'case':<44} {'layer MB':>9} {'entries':>8} {'s':>6} {'MB/s':>6} {'peak RSS MB':>11}")
    for name, f in rows:
        mb = f["bytes"] / 1e6
        rate = mb / f["seconds"]
        print(
            f"{name:<44} {mb:>9.0f} {f['entries']:>8} {f['seconds']:>6.2f} {rate:>6.0f} "
            f"{f['rss']:>11.0f}"
        )
    figures = dict(rows)
    big_rss = figures["synthetic 1 GB, docker-archive"]["rss"]
    small_rss = figures["same entries, 1/10 content"]["rss"]
    print(
        f"peak RSS, 1 GB image / same entries with 1/10 of the content: {big_rss / small_rss:.2f}"
    )
    if fixture and stream_seconds:
        indexed = figures[f"engine save stream {fixture}"]["seconds"]
        print(
            f"engine: indexing the save stream / only receiving it: {indexed / stream_seconds:.2f} "
            f"({indexed:.2f} s / {stream_seconds:.2f} s)"
        )


def raw_stream_seconds(ref: str) -> float:
    """How long the engine takes to send its save stream when nothing is done with it."""
    from slimmer.engine import Engine

    engine = Engine.connect()
    started = time.perf_counter()
    for _chunk in engine.save_image(ref):
        pass
    return time.perf_counter() - started


# ---- crafted hostile layers ------------------------------------------------------------------

DEPTH = 500  # components of each deep chain: paths of up to 1 kB
REPEAT = 3


def _tar_bytes(infos: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in infos:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def deep_path_layer(chains: int) -> bytes:
    """``chains`` files each DEPTH directories deep, no directory given: every parent is an
    implicit entry."""
    return _tar_bytes(
        [(tarfile.TarInfo(f"c{i:04d}/" + "d/" * DEPTH + "f"), b"") for i in range(chains)]
    )


def deepest_path_layer(chains: int) -> bytes:
    """``chains`` files at the engine's depth limit (2000 directories, 4 kB paths): the
    directories no entry names are over slimmer's bound, so the layer is refused."""
    return _tar_bytes(
        [(tarfile.TarInfo(f"c{i:04d}/" + "d/" * 2000 + "f"), b"") for i in range(chains)]
    )


def global_xattr_layer(members: int) -> bytes:
    """A PAX global header of 5,000 xattr records (about 250 kB), then ``members`` files."""
    records = b"".join(_pax_record(b"SCHILY.xattr.user.x%05d" % i, b"v" * 20) for i in range(5000))
    head = tarfile.TarInfo("pax_global_header")
    head.type, head.size = tarfile.XGLTYPE, len(records)
    block = head.tobuf(tarfile.USTAR_FORMAT)
    body = _tar_bytes([(tarfile.TarInfo(f"f{i:05d}"), b"") for i in range(members)])
    return block + records + bytes(-len(records) % 512) + body


def hardlink_layer(links: int) -> bytes:
    """One file and ``links`` hardlinks to it (one group)."""
    infos = [(tarfile.TarInfo("f"), b"data")]
    for i in range(links):
        link = tarfile.TarInfo(f"l{i:05d}")
        link.type, link.linkname = tarfile.LNKTYPE, "f"
        infos.append((link, b""))
    return _tar_bytes(infos)


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


HOSTILE = [  # (case, layer builder, small size, large size)
    ("deep paths (chains of 500 dirs)", deep_path_layer, 40, 80),
    ("deep paths (chains of 2000 dirs, 4 kB paths)", deepest_path_layer, 40, 80),
    ("global xattrs (5000 in a g header), files", global_xattr_layer, 1000, 2000),
    ("hardlinks in one group", hardlink_layer, 4000, 8000),
]


def hostile(root: Path, baseline: str | None) -> None:
    """Index each crafted layer at two sizes (and with the baseline's code); print figures."""
    checkouts = [("after", None)]
    if baseline:
        checkouts.insert(0, (f"before ({baseline})", str(_worktree(root / "baseline", baseline))))
    try:
        rows = []
        for case, build, small, large in HOSTILE:
            for size in (small, large):
                data = build(size)
                folder = root / f"hostile-{build.__name__}-{size}"
                folder.mkdir()
                (folder / "layer.tar").write_bytes(data)
                archive = docker_archive([folder / "layer.tar"], folder / "image.tar")
                for label, path in checkouts:
                    runs = []
                    for _ in range(REPEAT):  # the fastest of a few: the machine is shared
                        runs.append(run_child(__file__, str(archive), folder / "work", path))
                        shutil.rmtree(folder / "work", ignore_errors=True)
                    figures = min(runs, key=lambda f: f["seconds"])
                    rows.append((case, size, len(data), label, figures))
    finally:
        if baseline:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(root / "baseline")],
                cwd=Path(__file__).resolve().parent.parent,
                check=False,
                capture_output=True,
            )
    _print_hostile(rows)


def _worktree(path: Path, revision: str) -> Path:
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), revision],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
    )
    return path


def _print_hostile(rows: list) -> None:
    print(
        f"{'crafted layer':<46} {'size':>5} {'layer kB':>8} {'code':<18} {'entries':>8} "
        f"{'s':>6} {'peak RSS MB':>11} {'index MB':>8}"
    )
    for case, size, length, label, f in rows:
        print(
            f"{case:<46} {size:>5} {length / 1e3:>8.0f} {label:<18} {f['entries']:>8} "
            f"{f['seconds']:>6.2f} {f['rss']:>11.0f} {_grown(f):>8.1f}"
            + ("  refused" if f.get("refused") else "")
        )
    print("large / small size (2x the input; linear is about 2; index MB = peak - start RSS):")
    for case, *_ in HOSTILE:
        for label in dict.fromkeys(r[3] for r in rows):
            small, large = [r[4] for r in rows if r[0] == case and r[3] == label]
            print(
                f"  {case:<46} {label:<18} time x{large['seconds'] / small['seconds']:.2f}  "
                f"index MB x{_grown(large) / max(_grown(small), 0.1):.2f}  entries x"
                f"{large['entries'] / max(small['entries'], 1):.2f}"
            )


def _grown(figures: dict) -> float:
    return figures["rss"] - figures.get("start_rss", 0.0)


def _arguments(argv: list[str]) -> tuple[bool, str | None]:
    baseline = argv[argv.index("--baseline") + 1] if "--baseline" in argv else None
    return "--hostile" in argv, baseline


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        only_hostile, baseline_revision = _arguments(sys.argv[1:])
        if not only_hostile:
            main()
        with tempfile.TemporaryDirectory(prefix="slimmer-bench-hostile-") as scratch:
            hostile(Path(scratch), baseline_revision)
