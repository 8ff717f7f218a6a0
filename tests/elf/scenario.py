"""A crafted glibc image exercising the loader's search order: Debian's libc6 plus libraries
named libfoo.so.1 in several directories, and programs that reach them through DT_RPATH,
DT_RUNPATH, $ORIGIN, $LIB, $PLATFORM, LD_LIBRARY_PATH, ld.so.cache and the default directories.

The same tree is indexed for the static resolver and imported into the engine, where the real
loader lists what it loads, so each expectation is checked against glibc itself.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.elf.build import program, shared_lib
from tests.elf.debs import download, extract, fsys_tar, tar_tree
from tests.elf.memfs import MemFs

SYS = "/usr/lib/x86_64-linux-gnu"


@dataclass(frozen=True)
class Case:
    prog: str
    env: tuple[str, ...] = ()
    foo: str | None = None  # the real path libfoo.so.1 must come from, when it is needed
    also: tuple[str, ...] = ()  # other real files that must be in the closure
    # libfoo.so.1 of other CPUs: the loader's choice depends on the CPU it runs on (`$PLATFORM`
    # is x86_64, haswell or xeon_phi), so the closure keeps these beside ``foo``
    other_cpus: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()


@dataclass
class Scenario:
    root: Path
    tar: Path
    fs: MemFs
    cases: list[Case] = field(default_factory=list)


CASES = [
    Case("/opt/app/bin/origin", foo="/opt/app/lib/libfoo.so.1"),
    Case("/opt/app/bin/plain", foo=f"{SYS}/libfoo.so.1"),
    Case("/opt/app/bin/rpath_a", foo="/opt/a/libfoo.so.1"),
    Case("/opt/app/bin/rpath_a", env=("LD_LIBRARY_PATH=/opt/b",), foo="/opt/a/libfoo.so.1"),
    Case("/opt/app/bin/runpath_a", foo="/opt/a/libfoo.so.1"),
    Case("/opt/app/bin/runpath_a", env=("LD_LIBRARY_PATH=/opt/b",), foo="/opt/b/libfoo.so.1"),
    Case("/opt/app/bin/plain", env=("LD_LIBRARY_PATH=/nowhere:/opt/b",),
         foo="/opt/b/libfoo.so.1"),
    Case("/opt/app/bin/rpath_chain", foo="/opt/a/libfoo.so.1", also=("/opt/bar/libbar.so.1",)),
    Case("/opt/app/bin/runpath_chain", foo=f"{SYS}/libfoo.so.1",
         also=("/opt/bar/libbar.so.1",)),
    Case("/opt/app/bin/lib_token", foo="/opt/lib/x86_64-linux-gnu/libfoo.so.1"),
    # no /opt/haswell: on a haswell-class CPU the loader falls through to the default directory
    Case("/opt/app/bin/platform_token", foo="/opt/x86_64/libfoo.so.1",
         other_cpus=("/opt/xeon_phi/libfoo.so.1", f"{SYS}/libfoo.so.1")),
    Case("/opt/app/bin/decoy", foo="/opt/a/libfoo.so.1"),
    Case("/opt/app/bin/cached", also=("/opt/cached/libcached.so.1",)),
    Case("/opt/app/bin/cycle", also=("/opt/cyc/libcyc1.so", "/opt/cyc/libcyc2.so")),
    Case("/opt/app/bin/missing", unresolved=("libmissing.so.1",)),
    Case("/opt/app/bin/loop", unresolved=("libloop.so.1",)),
    Case("/opt/app/bin/nodeflib", unresolved=("libc.so.6", "libfoo.so.1")),
    Case("/opt/app/sbin/link_to_origin", foo="/opt/app/lib/libfoo.so.1"),
]


def build(work: Path, decoy: Path) -> Scenario:
    """Build the tree in ``work`` (a temporary directory); ``decoy`` is a foreign-architecture
    shared library placed first on one search path (the loader must skip it)."""
    root = extract("amd64", ["libc6"], work / "root")
    build_dir = work / "build"
    foo = {}
    for where in ("opt/app/lib", "opt/a", "opt/b", "usr/lib/x86_64-linux-gnu",
                  "opt/lib/x86_64-linux-gnu", "opt/x86_64", "opt/xeon_phi"):
        foo[where] = shared_lib(root / where / "libfoo.so.1", "libfoo.so.1", tag=where)
    stub_foo = foo["opt/a"]
    bar = shared_lib(root / "opt/bar/libbar.so.1", "libbar.so.1", "-Wl,--no-as-needed",
                     str(stub_foo))
    cached = shared_lib(root / "opt/cached/libcached.so.1", "libcached.so.1")
    missing = shared_lib(build_dir / "libmissing.so.1", "libmissing.so.1")
    loop_stub = shared_lib(build_dir / "libloop.so.1", "libloop.so.1")
    (root / "usr/lib/x86_64-linux-gnu/libloop.so.1").symlink_to("libloop.so.1")
    cyc2_stub = shared_lib(build_dir / "libcyc2.so", "libcyc2.so")
    cyc1 = shared_lib(root / "opt/cyc/libcyc1.so", "libcyc1.so", "-Wl,--no-as-needed",
                      str(cyc2_stub), "-Wl,-rpath,$ORIGIN", "-Wl,--enable-new-dtags")
    shared_lib(root / "opt/cyc/libcyc2.so", "libcyc2.so", "-Wl,--no-as-needed", str(cyc1),
               "-Wl,-rpath,$ORIGIN", "-Wl,--enable-new-dtags")
    shutil.copy(decoy, root / "opt/decoy.so")
    (root / "opt/decoy").mkdir()
    shutil.copy(decoy, root / "opt/decoy/libfoo.so.1")

    runpath = ["-Wl,--enable-new-dtags"]
    rpath = ["-Wl,--disable-new-dtags"]
    bins = root / "opt/app/bin"
    program(bins / "origin", [stub_foo], "-Wl,-rpath,$ORIGIN/../lib", *runpath)
    program(bins / "plain", [stub_foo])
    program(bins / "rpath_a", [stub_foo], "-Wl,-rpath,/opt/a", *rpath)
    program(bins / "runpath_a", [stub_foo], "-Wl,-rpath,/opt/a", *runpath)
    program(bins / "rpath_chain", [bar], "-Wl,-rpath,/opt/bar:/opt/a", *rpath)
    program(bins / "runpath_chain", [bar], "-Wl,-rpath,/opt/bar:/opt/a", *runpath)
    program(bins / "lib_token", [stub_foo], "-Wl,-rpath,/opt/$LIB", *rpath)
    program(bins / "platform_token", [stub_foo], "-Wl,-rpath,/opt/${PLATFORM}", *runpath)
    program(bins / "decoy", [stub_foo], "-Wl,-rpath,/opt/decoy:/opt/a", *runpath)
    program(bins / "cached", [cached])
    program(bins / "cycle", [cyc1], "-Wl,-rpath,/opt/cyc", *runpath)
    program(bins / "missing", [missing])
    program(bins / "loop", [loop_stub])
    program(bins / "nodeflib", [stub_foo], "-Wl,-z,nodefaultlib")
    (root / "opt/app/sbin").mkdir()
    (root / "opt/app/sbin/link_to_origin").symlink_to("../bin/origin")

    conf = root / "etc/ld.so.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "opt.conf").write_text("/opt/cached\n")
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    subprocess.run(["ldconfig", "-X", "-r", str(root)], check=True, capture_output=True)
    assert (root / "etc/ld.so.cache").is_file()
    tar = tar_tree(root, work / "image.tar")
    return Scenario(root, tar, MemFs.from_tar(tar), CASES)


def libc6_tar() -> Path:
    return fsys_tar(download("amd64", ["libc6"])[0])
