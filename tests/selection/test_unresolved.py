"""Unresolved-library warnings name only what the run never had: a library loaded by full path
(a JVM's libjvm.so) satisfies its SONAME without a search the static closure could repeat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slimmer.imagefs import open_image
from slimmer.observation import FileEvent, FileEventKind, Observation, Op, PathAccess
from slimmer.options import SelectOptions
from slimmer.selection import select
from tests.elf.build import shared_lib
from tests.imagefs.crafted import config, directory, docker_archive, file, layer

JVM = "usr/lib/jvm/lib"


@pytest.fixture
def jvm_image(tmp_path: Path):
    """lib/libjava.so NEEDs libjvm.so, which lives in lib/server/, on no search path."""
    jvm = shared_lib(tmp_path / "build/libjvm.so", "libjvm.so")
    java = shared_lib(tmp_path / "build/libjava.so", "libjava.so", "-Wl,--no-as-needed", str(jvm))
    data = layer([
        directory("usr"), directory("usr/lib"), directory("usr/lib/jvm"), directory(JVM),
        directory(f"{JVM}/server"),
        file(f"{JVM}/libjava.so", java.read_bytes(), mode=0o755),
        file(f"{JVM}/server/libjvm.so", jvm.read_bytes(), mode=0o755),
    ])
    base = json.loads(config([data]))
    base["config"]["Cmd"] = ["/usr/lib/jvm/bin/java"]
    archive = docker_archive(tmp_path / "image.tar", [data], config_bytes=json.dumps(base).encode())
    with open_image(archive, tmp_path / "work") as fs:
        yield fs


def _libjvm_warnings(fs, observation: Observation) -> list[str]:
    selection = select(fs, observation, SelectOptions())
    return [w for w in selection.warnings if w.startswith("library libjvm.so")]


def test_a_library_the_run_never_had_is_a_warning(jvm_image) -> None:
    seen = Observation(arch="x86_64", paths=[PathAccess(f"/{JVM}/libjava.so", Op.OPEN_READ)])
    assert _libjvm_warnings(jvm_image, seen) == [
        f"library libjvm.so needed by /{JVM}/libjava.so not found in the image"
    ]


@pytest.mark.parametrize("how", ["ptrace", "fanotify"])
def test_a_library_loaded_by_full_path_is_no_warning(jvm_image, how: str) -> None:
    java, jvm = f"/{JVM}/libjava.so", f"/{JVM}/server/libjvm.so"
    if how == "ptrace":
        seen = Observation(arch="x86_64", paths=[PathAccess(java, Op.OPEN_READ),
                                                 PathAccess(jvm, Op.OPEN_READ)])
    else:
        seen = Observation(arch="x86_64", files=[
            FileEvent(path, frozenset({FileEventKind.OPEN})) for path in (java, jvm)])
    assert _libjvm_warnings(jvm_image, seen) == []
    assert jvm in select(jvm_image, seen, SelectOptions()).kept


def test_a_failed_open_does_not_count(jvm_image) -> None:
    seen = Observation(arch="x86_64", paths=[
        PathAccess(f"/{JVM}/libjava.so", Op.OPEN_READ),
        PathAccess(f"/{JVM}/server/libjvm.so", Op.OPEN_READ, errno=13)])
    assert len(_libjvm_warnings(jvm_image, seen)) == 1
