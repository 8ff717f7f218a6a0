"""Debian packages of any architecture for the ELF tests, without changing the machine's apt
configuration: apt-get runs with a private state and cache under ~/.cache/slimmer-tests/ and the
machine's own sources (so no mirror is named here). Downloads are kept and reused."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tarfile
import time
from contextlib import contextmanager
from pathlib import Path

from tests.elf.memfs import MemFs


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "slimmer-tests" / "debs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _locked(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _apt(arch: str, *args: str, cwd: Path) -> None:
    state = cache_root() / f"apt-{arch}"
    for sub in ("state/lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    status = state / "status"
    status.touch()
    options = [
        f"-oDir::State={state / 'state'}", f"-oDir::State::status={status}",
        f"-oDir::Cache={state / 'cache'}", f"-oAPT::Architecture={arch}",
        f"-oAPT::Architectures::={arch}", "-oAPT::Sandbox::User=root", "-oDebug::NoLocking=1",
    ]
    result = subprocess.run(["apt-get", "-q", *options, *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"apt-get {' '.join(args)} ({arch}) failed: {result.stderr[-2000:]}")


def _update(arch: str, folder: Path) -> None:
    """apt-get update, retried: a mirror in mid-sync fails an index now and then. When one
    index still fails, the download below says whether what was fetched is enough."""
    for attempt in range(3):
        try:
            _apt(arch, "update", cwd=folder)
            return
        except RuntimeError:
            time.sleep(5 * (attempt + 1))


def download(arch: str, packages: list[str]) -> list[Path]:
    """The .deb files of ``packages`` for ``arch`` (downloaded once, then reused)."""
    folder = cache_root() / arch
    folder.mkdir(exist_ok=True)
    index_path = folder / "index.json"
    with _locked(folder / ".lock"):
        index = json.loads(index_path.read_text()) if index_path.exists() else {}
        missing = [p for p in packages if not (folder / index.get(p, "-")).is_file()]
        if missing:
            _update(arch, folder)
            before = set(folder.glob("*.deb"))
            _apt(arch, "download", *missing, cwd=folder)
            for deb in set(folder.glob("*.deb")) - before:
                name = deb.name.split("_", 1)[0]
                index[name] = deb.name
            index_path.write_text(json.dumps(index, indent=1, sort_keys=True))
        return [folder / index[p] for p in packages]


def fsys_tar(deb: Path) -> Path:
    """The data tar of a .deb (cached beside it)."""
    out = deb.with_suffix(".tar")
    if not out.exists():
        partial = out.with_suffix(".tar.partial")
        with open(partial, "wb") as handle:
            subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=handle, check=True)
        partial.rename(out)
    return out


def deb_fs(arch: str, packages: list[str]) -> MemFs:
    """An image tree made of the packages' files (no maintainer scripts run)."""
    fs = MemFs()
    for deb in download(arch, packages):
        fs.add_tar(fsys_tar(deb))
    return fs


def extract(arch: str, packages: list[str], into: Path) -> Path:
    """The packages unpacked in ``into`` (a test's own temporary directory)."""
    into.mkdir(parents=True, exist_ok=True)
    for deb in download(arch, packages):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into


def tar_tree(root: Path, out: Path) -> Path:
    """A tar of a staging directory, symlinks stored as symlinks (for `docker import`)."""
    with tarfile.open(out, "w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return out


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
