"""musl's loader on images made of Debian's musl package and musl-gcc-built files, checked
against musl's own ldd mode run in the image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from slimmer.elf import elf_closure
from tests.elf.build import program, shared_lib
from tests.elf.conftest import need_tool
from tests.elf.debs import extract, tar_tree
from tests.elf.lddcheck import compare
from tests.elf.memfs import MemFs

MUSL_LIBC = "/lib/x86_64-linux-musl/libc.so"


@dataclass(frozen=True)
class Case:
    prog: str
    env: tuple[str, ...] = ()
    foo: str | None = None
    also: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()


CASES = [
    Case("/app/bin/origin", foo="/app/lib/libmfoo.so"),
    Case("/app/bin/rpath_a", foo="/opt/a/libmfoo.so"),
    # musl puts LD_LIBRARY_PATH before DT_RPATH (glibc does the opposite)
    Case("/app/bin/rpath_a", env=("LD_LIBRARY_PATH=/opt/b",), foo="/opt/b/libmfoo.so"),
    # musl searches the RUNPATH of every object up the chain (glibc only the requester's)
    Case("/app/bin/chain", foo="/opt/a/libmfoo.so", also=("/opt/bar/libmbar.so",)),
    # /etc/ld-musl-x86_64.path lists /usr/lib/x86_64-linux-musl
    Case("/app/bin/syspath", foo="/usr/lib/x86_64-linux-musl/libmfoo.so"),
    Case("/app/bin/missing", unresolved=("libmgone.so",)),
]


@pytest.fixture(scope="module")
def musl_tree(tmp_path_factory) -> tuple[Path, MemFs]:
    need_tool("musl-gcc", "musl-tools")
    work = tmp_path_factory.mktemp("musl")
    root = extract("amd64", ["musl"], work / "root")
    build = work / "build"
    foo = {where: shared_lib(root / where / "libmfoo.so", "libmfoo.so", compiler="musl-gcc")
           for where in ("app/lib", "opt/a", "opt/b", "usr/lib/x86_64-linux-musl")}
    bar = shared_lib(root / "opt/bar/libmbar.so", "libmbar.so", "-Wl,--no-as-needed",
                     str(foo["opt/a"]), compiler="musl-gcc")
    gone = shared_lib(build / "libmgone.so", "libmgone.so", compiler="musl-gcc")
    bins = root / "app/bin"
    stub = foo["opt/b"]
    program(bins / "origin", [stub], "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--enable-new-dtags",
            compiler="musl-gcc")
    program(bins / "rpath_a", [stub], "-Wl,-rpath,/opt/a", "-Wl,--disable-new-dtags",
            compiler="musl-gcc")
    program(bins / "chain", [bar], "-Wl,-rpath,/opt/bar:/opt/a", "-Wl,--enable-new-dtags",
            compiler="musl-gcc")
    program(bins / "syspath", [stub], compiler="musl-gcc")
    program(bins / "missing", [gone], compiler="musl-gcc")
    (root / "usr/bin/ldd").symlink_to("/lib/ld-musl-x86_64.so.1")  # musl's ldd mode
    tar = tar_tree(root, work / "image.tar")
    return tar, MemFs.from_tar(tar)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.prog.rsplit("/", 1)[1] + str(len(c.env)))
def test_musl_search_order(musl_tree, case: Case):
    _tar, fs = musl_tree
    closure = elf_closure(fs, [case.prog], list(case.env))
    files = {p for p in closure.files if fs.lookup(p).type.value == "file"}
    assert {p for p in files if p.endswith("/libmfoo.so")} == ({case.foo} if case.foo else set())
    assert set(case.also) <= files
    assert MUSL_LIBC in files
    assert closure.files["/lib/ld-musl-x86_64.so.1"].startswith("symlink")
    assert closure.files[MUSL_LIBC].startswith("interpreter of ")
    assert sorted({name for name, _by in closure.unresolved}) == sorted(case.unresolved)


def test_without_a_path_file_musl_uses_its_defaults(musl_tree):
    tar, _fs = musl_tree
    fs = MemFs.from_tar(tar)
    del fs.entries["/etc/ld-musl-x86_64.path"]
    closure = elf_closure(fs, ["/app/bin/syspath"], [])
    assert closure.unresolved == [("libmfoo.so", "/app/bin/syspath")]
    fs.copy_host_file("/usr/local/lib/libmfoo.so", Path(tar.parent / "root/opt/a/libmfoo.so"))
    closure = elf_closure(fs, ["/app/bin/syspath"], [])
    assert "/usr/local/lib/libmfoo.so" in closure.files


def test_a_musl_library_on_its_own_uses_musl(musl_tree):
    _tar, fs = musl_tree
    closure = elf_closure(fs, ["/opt/bar/libmbar.so"], [])
    assert closure.files[MUSL_LIBC].startswith("NEEDED libc.so of /opt/bar/libmbar.so")
    assert closure.files["/usr/lib/x86_64-linux-musl/libmfoo.so"] == (
        "NEEDED libmfoo.so of /opt/bar/libmbar.so")
    assert closure.unresolved == []


@pytest.mark.docker
def test_musl_matches_its_own_ldd(musl_tree, images):
    tar, fs = musl_tree
    ref = images.load(tar, "musl")
    problems = []
    for case in CASES:
        listed = images.run(ref, ["/usr/bin/ldd", case.prog], list(case.env))
        assert "ld-musl-x86_64.so.1" in listed, listed
        problems += compare(fs, case.prog, listed, list(case.env))
    assert problems == []
