"""The glibc loader's search order on a crafted image, checked against the real loader."""

from __future__ import annotations

import itertools

import pytest

from slimmer.elf import elf_closure
from tests.elf.lddcheck import compare
from tests.elf.memfs import MemFs
from tests.elf.scenario import CASES, SYS, Case, libc6_tar


def _real_files(fs, closure) -> set[str]:
    return {p for p in closure.files if fs.lookup(p).type.value == "file"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.prog.rsplit("/", 1)[1] + str(len(c.env)))
def test_search_order(scenario, case: Case):
    closure = elf_closure(scenario.fs, [case.prog], list(case.env))
    files = _real_files(scenario.fs, closure)
    foo = {p for p in files if p.endswith("/libfoo.so.1")}
    if case.foo:
        assert foo == {case.foo, *case.other_cpus}
    assert set(case.also) <= files
    assert sorted({name for name, _by in closure.unresolved}) == sorted(case.unresolved)
    if not case.unresolved:
        assert "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" in files
        assert closure.files["/lib64/ld-linux-x86-64.so.2"].startswith("symlink")


@pytest.mark.docker
def test_search_order_matches_the_real_loader(scenario, images):
    """Every case, run with LD_TRACE_LOADED_OBJECTS=1 (what ldd does) in the image itself."""
    ref = images.load(scenario.tar, "glibc-scenario")
    problems = []
    for case in CASES:
        env = ["LD_TRACE_LOADED_OBJECTS=1", *case.env]
        listed = images.run(ref, [case.prog], env)
        assert "libc.so.6" in listed or case.unresolved, listed
        # the CPU picks the loader's `$PLATFORM`: its choice must be kept, the others' too
        allowed = frozenset({case.foo, *case.other_cpus}) if case.other_cpus else frozenset()
        problems += compare(scenario.fs, case.prog, listed, list(case.env), allowed)
    assert problems == []


def test_reasons_and_symlinks(scenario):
    closure = elf_closure(scenario.fs, ["/opt/app/sbin/link_to_origin"], [])
    assert closure.files["/opt/app/bin/origin"] == "target of root /opt/app/sbin/link_to_origin"
    assert closure.files["/opt/app/lib/libfoo.so.1"] == "NEEDED libfoo.so.1 of /opt/app/bin/origin"
    assert closure.files["/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"] == (
        "interpreter of /opt/app/bin/origin")
    assert "/opt/app/sbin/link_to_origin" not in closure.files


def test_many_roots_share_one_closure(scenario):
    roots = [c.prog for c in CASES]
    closure = elf_closure(scenario.fs, roots, [])
    files = _real_files(scenario.fs, closure)
    for case in CASES:
        if not case.env:
            assert set(case.also) <= files
            assert case.foo is None or case.foo in files
    assert ("libmissing.so.1", "/opt/app/bin/missing") in closure.unresolved
    assert len(closure.unresolved) == len(set(closure.unresolved))


def test_non_elf_and_missing_roots_are_skipped(scenario):
    closure = elf_closure(scenario.fs, ["/etc/ld.so.conf", "/nonexistent", "/opt/app"], [])
    assert closure.files == {} and closure.unresolved == []


def test_a_root_of_another_architecture_resolves_for_its_own(scenario):
    """An aarch64 library in an amd64 image: the amd64 libc does not satisfy it."""
    closure = elf_closure(scenario.fs, ["/opt/decoy.so"], [])
    assert closure.files == {}
    assert {name for name, _by in closure.unresolved} == {"libc.so.6", "ld-linux-aarch64.so.1"}


def test_without_ld_so_cache_the_conf_directories_stand_in():
    fs = MemFs.from_tar(libc6_tar())
    fs.copy_host_file("/opt/app/prog", "/usr/bin/true")
    closure = elf_closure(fs, ["/opt/app/prog"], [])
    assert "/lib/x86_64-linux-gnu/libc.so.6" in closure.files
    assert closure.unresolved == []


def test_hwcaps_variants_are_kept(tmp_path, scenario):
    fs = MemFs.from_tar(scenario.tar)
    variant = scenario.root / SYS.lstrip("/") / "libfoo.so.1"
    fs.copy_host_file(f"{SYS}/glibc-hwcaps/x86-64-v3/libfoo.so.1", variant)
    closure = elf_closure(fs, ["/opt/app/bin/plain"], [])
    assert closure.files[f"{SYS}/libfoo.so.1"].startswith("NEEDED libfoo.so.1")
    assert closure.files[f"{SYS}/glibc-hwcaps/x86-64-v3/libfoo.so.1"].startswith(
        f"variant of {SYS}/libfoo.so.1 for other CPUs")


PLATFORMS = ("x86_64", "haswell", "xeon_phi")


@pytest.mark.parametrize("present", [
    present for size in range(len(PLATFORMS) + 1)
    for present in itertools.combinations(PLATFORMS, size)
], ids=lambda present: "+".join(present) or "none")
def test_every_platform_value_is_kept(scenario, present):
    """RUNPATH /opt/${PLATFORM}: the loader searches /opt/x86_64, /opt/haswell or /opt/xeon_phi
    by the CPU it runs on, and falls through to the default directories when that directory
    lacks the library. Whatever the CPU, its choice must be in the closure."""
    fs = MemFs.from_tar(scenario.tar)
    build = scenario.root / "opt/x86_64/libfoo.so.1"
    for platform in PLATFORMS:
        if fs.lookup(f"/opt/{platform}/libfoo.so.1") is not None:
            fs.remove(f"/opt/{platform}/libfoo.so.1")
        if platform in present:
            fs.copy_host_file(f"/opt/{platform}/libfoo.so.1", build)
    closure = elf_closure(fs, ["/opt/app/bin/platform_token"], [])
    expected = {f"/opt/{platform}/libfoo.so.1" for platform in present}
    if len(present) < len(PLATFORMS):
        expected.add(f"{SYS}/libfoo.so.1")
    assert {p for p in _real_files(fs, closure) if p.endswith("/libfoo.so.1")} == expected
    assert closure.unresolved == []


def test_hostile_names_stay_inside_the_image(scenario):
    fs = MemFs.from_tar(scenario.tar)
    fs.symlink(f"{SYS}/libescape.so.1", "../../../../../../../../etc/passwd")
    fs.symlink("/opt/loop/a", "b").symlink("/opt/loop/b", "a")
    fs.symlink(f"{SYS}/libdirloop.so.1", "/opt/loop/a/x")
    for name in ("libescape.so.1", "libdirloop.so.1"):
        closure = elf_closure(fs, ["/opt/app/bin/plain"], ["LD_LIBRARY_PATH=/opt/loop/a"])
        assert name not in " ".join(closure.files)
