"""aarch64, 32-bit ARM (armhf) and i386 binaries from Debian packages: the static closure of
every program equals what that architecture's own glibc loader lists (run under qemu-user with
the package tree as its root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from slimmer.elf import elf_closure, elf_info
from tests.elf.conftest import need_tool
from tests.elf.debs import extract, tar_tree
from tests.elf.lddcheck import compare, parse_sections
from tests.elf.memfs import MemFs

PACKAGES = ["libc6", "coreutils", "libselinux1", "libpcre2-8-0", "libacl1", "libattr1",
            "libgmp10", "libssl3", "openssl", "zlib1g", "gzip", "dash"]
ARCHES = {
    # Debian arch: (qemu, interpreter, multiarch)
    "arm64": ("qemu-aarch64", "/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu"),
    "armhf": ("qemu-arm", "/lib/ld-linux-armhf.so.3", "arm-linux-gnueabihf"),
    "i386": ("qemu-i386", "/lib/ld-linux.so.2", "i386-linux-gnu"),
}


@pytest.fixture(scope="module", params=sorted(ARCHES))
def tree(request, tmp_path_factory) -> tuple[str, Path, MemFs]:
    arch = request.param
    work = tmp_path_factory.mktemp(arch)
    root = extract(arch, PACKAGES, work / "root")
    # the host's ldconfig writes a cache for i386 (multilib) and an empty one for the others;
    # the loaders under test read it either way, never the host's
    subprocess.run(["ldconfig", "-X", "-r", str(root)], check=True, capture_output=True)
    return arch, root, MemFs.from_tar(tar_tree(root, work / "image.tar"))


def _programs(fs: MemFs) -> list[str]:
    found = []
    for path, entry in sorted(fs.entries.items()):
        if path.startswith(("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")) \
                and entry.type.value == "file":
            info = elf_info(fs, entry)
            if info is not None and info.interp:
                found.append(path)
    return found


def test_programs_resolve_to_the_architectures_own_files(tree):
    arch, _root, fs = tree
    _qemu, interp, triplet = ARCHES[arch]
    programs = _programs(fs)
    assert "/bin/ls" in programs and "/usr/bin/openssl" in programs
    closure = elf_closure(fs, programs, [])
    assert closure.unresolved == []
    files = {p for p in closure.files if fs.lookup(p).type.value == "file"}
    assert f"/lib/{triplet}/libc.so.6" in files
    assert closure.files[interp].startswith("symlink")
    assert any(p.startswith(f"/usr/lib/{triplet}/libssl.so.3") for p in closure.files)
    assert all(triplet in p for p in files), sorted(files)

    ls = elf_closure(fs, ["/bin/ls"], [])
    assert {p.rsplit("/", 1)[1] for p in ls.files if fs.lookup(p).type.value == "file"} >= {
        "libc.so.6", "libselinux.so.1"}


# The real loaders: aarch64 under qemu-user with the tree as its root; i386 natively in the
# engine. Not armhf: qemu-user 7.2 does not apply -L to statx, which 32-bit glibc uses to check
# search directories, so its loader drops them and reports libc.so.6 "not found" (i386 has the
# same problem under qemu, hence the engine).


@pytest.mark.parametrize("tree", ["arm64"], indirect=True)
def test_closure_equals_the_real_loader_under_qemu(tree):
    arch, root, fs = tree
    qemu = need_tool(ARCHES[arch][0], "qemu-user")
    problems = []
    for program in _programs(fs):
        listed = subprocess.run(
            [qemu, "-L", str(root), "-E", "LD_TRACE_LOADED_OBJECTS=1", str(root) + program],
            capture_output=True, text=True, timeout=60,
        )
        assert "libc.so.6 => /" in listed.stdout, (program, listed.stdout, listed.stderr)
        problems += compare(fs, program, listed.stdout + listed.stderr)
    assert problems == []


@pytest.mark.docker
@pytest.mark.parametrize("tree", ["i386"], indirect=True)
def test_closure_equals_the_real_loader_in_the_engine(tree, images):
    arch, root, fs = tree
    ref = images.load(root.parent / "image.tar", f"debs-{arch}")
    programs = _programs(fs)
    script = "for f in " + " ".join(programs) + \
        '; do echo "== $f"; LD_TRACE_LOADED_OBJECTS=1 "$f" 2>&1; done'
    sections = parse_sections(images.run(ref, ["/bin/sh", "-c", script]))
    assert sorted(sections) == sorted(programs)
    problems = []
    for program, listed in sections.items():
        assert "libc.so.6 => /" in listed, (program, listed)
        problems += compare(fs, program, listed)
    assert problems == []
