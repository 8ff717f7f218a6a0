"""The sensor's second seccomp filter (deny.c) against the profile evaluator, on the host.

The C code builds the BPF program the target gets; a small classic-BPF interpreter runs it here
for every syscall the default profiles decide by capability, kernel or argument, on every ABI,
over the argument values that matter, and compares its answer with
``slimmer.profiles.evaluate`` on the same profile (which tests/sensor/test_default_seccomp.py
compares with a real plain ``docker run``). Names no capability-dependent rule has (or that an
unconditional rule allows) the sensor's filter allows: the engine's own filter decides them alike
with and without the sensor.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from slimmer.profiles.docker_default import DOCKER_DEFAULT_CAPS, PROFILES, load_default
from slimmer.profiles.evaluate import ERRNO, NATIVE_ARCH, Filter, argument_space, specialize
from slimmer.sensor.syscalls import ARCH_ABIS, syscall_number

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "sensors" / "src"
SOURCES = ["deny.c", "decode.c", "out.c", "util.c", "agg.c", "path.c"]
AUDIT = {"x86_64": 0xC000003E, "x32": 0xC000003E, "i386": 0x40000003,
         "aarch64": 0xC00000B7, "arm": 0x40000028}
WORD = {"x86_64": 8, "aarch64": 8, "x32": 4, "i386": 4, "arm": 4}
X32_BIT = 0x40000000
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
CAPS = {  # (name, CAP_* number) as in linux/capability.h
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_ADMIN": 21, "CAP_SYS_NICE": 23, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31, "CAP_BPF": 39,
}
CAP_SETS = {
    "docker-default": DOCKER_DEFAULT_CAPS,
    "default+sys_admin": DOCKER_DEFAULT_CAPS | {"CAP_SYS_ADMIN"},
    "default+sys_ptrace": DOCKER_DEFAULT_CAPS | {"CAP_SYS_PTRACE"},
    "none": frozenset(),
    "many": frozenset(CAPS),
}
KERNELS = {"6.1": (6, 1), "4.4": (4, 4)}


@pytest.fixture(scope="module", params=["x86_64", "aarch64"])
def driver(request, tmp_path_factory):
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no C compiler on the host (install gcc)")
    arch = request.param
    out = tmp_path_factory.mktemp("deny") / f"deny-{arch}"
    command = [compiler, "-O1", "-Wall", "-Wextra", "-Werror", "-DSENSOR_ALL_TABLES",
               f"-I{SRC}", "-o", str(out), str(Path(__file__).with_name("deny_driver.c"))]
    if arch == "aarch64":
        command[1:1] = ["-DDRIVER_AARCH64", "-DSENSOR_TABLES_AARCH64"]
    subprocess.run(command + [str(SRC / name) for name in SOURCES], check=True)

    def program(profile: str, caps: frozenset[str], kernel: tuple[int, int]) -> list[tuple]:
        mask = sum(1 << CAPS[c] for c in caps)
        done = subprocess.run(
            [str(out), "program", profile, f"{mask:x}", f"{kernel[0] << 16 | kernel[1]:x}"],
            capture_output=True, text=True, check=True,
        )
        return [tuple(int(v) for v in line.split()) for line in done.stdout.splitlines()]

    program.arch = arch  # type: ignore[attr-defined]
    program.binary = out  # type: ignore[attr-defined]
    return program


def run_bpf(program: list[tuple], nr: int, arch: int, args: tuple[int, ...]) -> int:
    """Classic BPF as seccomp runs it (the instructions deny.c emits)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(a & (2**64 - 1) for a in args))
    pc, acc = 0, 0
    for _ in range(len(program) + 1):
        code, jt, jf, k = program[pc]
        kind, op = code & 0x07, code & 0xF0
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:  # and #k
            acc &= k
        elif code == 0x05:  # ja
            pc += k
        elif kind == 0x05:
            taken = {0x10: acc == k, 0x20: acc > k, 0x30: acc >= k, 0x40: bool(acc & k)}[op]
            pc += jt if taken else jf
        elif code == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
        pc += 1
    raise AssertionError("the program did not return")


def arch_names(profile: dict, arch: str) -> set[str]:
    """The names the sensor decides: those of the profile's rules for ``arch`` that have
    capability conditions (the engine's filter decides the others alike with and without it)."""
    native = NATIVE_ARCH[arch]
    names = set()
    for item in profile["syscalls"]:
        includes, excludes = item.get("includes") or {}, item.get("excludes") or {}
        if native in (excludes.get("arches") or ()):
            continue
        if includes.get("arches") and native not in includes["arches"]:
            continue
        if includes.get("caps") or excludes.get("caps"):
            names.update(item["names"])
    return names


def expected(filt: Filter, mentioned: set[str], name: str, args, word: int) -> int:
    decision = filt.decide(name, args, word)
    if name not in mentioned or decision.allows:
        return RET_ALLOW
    assert decision.action == ERRNO
    return RET_ERRNO | decision.errno


@pytest.mark.parametrize("profile_id", PROFILES)
@pytest.mark.parametrize("caps", list(CAP_SETS))
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_filter_matches_the_evaluator(driver, profile_id: str, caps: str, kernel: str) -> None:
    arch = driver.arch
    profile = load_default(profile_id)
    program = driver(profile_id, CAP_SETS[caps], KERNELS[kernel])
    filt = specialize(profile, arch, CAP_SETS[caps], KERNELS[kernel])
    mentioned = arch_names(profile, arch)
    names = {n for item in profile["syscalls"] for n in item["names"]} | {"read", "fchmodat2"}
    checked = 0
    for abi in ARCH_ABIS[arch]:
        word = WORD[abi]
        for name in sorted(names):
            nr = syscall_number(abi, name)
            if nr is None:
                continue
            number = nr | (X32_BIT if abi == "x32" else 0)
            for args in argument_space([filt], name, word):
                want = expected(filt, mentioned, name, args, word)
                got = run_bpf(program, number, AUDIT[abi], args)
                assert got == want, (abi, name, [hex(a) for a in args], hex(got), hex(want))
                checked += 1
    assert checked > 500


def test_what_it_denies_for_a_default_container(driver) -> None:
    """The findings: with Docker's default capabilities the target gets EPERM for unshare,
    setns, mount, bpf, process_vm_writev, kcmp, pidfd_getfd; ENOSYS for clone3; clone only
    without namespace flags; personality only for the allowed values."""
    arch = driver.arch
    program = driver("docker-20.10.24", DOCKER_DEFAULT_CAPS, (6, 1))
    native = ARCH_ABIS[arch][0]

    def ret(name: str, *args: int) -> int:
        number = syscall_number(native, name)
        assert number is not None
        return run_bpf(program, number, AUDIT[native], args + (0,) * (6 - len(args)))

    eperm = RET_ERRNO | 1
    for name in ("unshare", "setns", "mount", "bpf", "process_vm_writev", "kcmp", "pidfd_getfd",
                 "perf_event_open", "fanotify_init", "name_to_handle_at"):
        assert ret(name) == eperm, name
    assert ret("clone3") == RET_ERRNO | 38
    assert ret("clone", 0x11) == RET_ALLOW  # SIGCHLD
    assert ret("clone", 0x10000000 | 0x11) == eperm  # CLONE_NEWUSER
    assert ret("clone", 0x20000 | 0x11) == eperm  # CLONE_NEWNS
    assert ret("clone", 0x7E020000 | 1 << 32) == eperm  # all 64 bits compared
    # decided alike by the engine with and without SYS_ADMIN: left to the engine's filter
    assert ret("personality", 6) == RET_ALLOW
    assert ret("socket", 40) == RET_ALLOW
    assert ret("read") == RET_ALLOW
    # with SYS_ADMIN in the bounding set (what the engine's filter is built for) all pass
    admin = driver("docker-20.10.24", DOCKER_DEFAULT_CAPS | {"CAP_SYS_ADMIN"}, (6, 1))
    unshare = syscall_number(native, "unshare")
    assert unshare is not None
    assert run_bpf(admin, unshare, AUDIT[native], (0,) * 6) == RET_ALLOW


def test_profiles_and_none_are_selectable(driver) -> None:
    for name in (*PROFILES, "none"):
        assert subprocess.run([str(driver.binary), "select", name], check=False).returncode == 0
    assert subprocess.run([str(driver.binary), "select", "docker-1.0"],
                          check=False).returncode == 1


def test_committed_table_matches_the_generator() -> None:
    """sensors/src/default_seccomp_gen.h is what gen_default_seccomp.py makes of the kept
    profiles (ziglang, which ships the UAPI headers, is a test dependency: no skip)."""
    spec = importlib.util.spec_from_file_location(
        "gen_default_seccomp", ROOT / "sensors" / "gen_default_seccomp.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    caps = generator.capability_numbers(generator.default_include())
    assert {name: caps[name] for name in CAPS} == CAPS
    assert generator.c_header(caps) == (SRC / "default_seccomp_gen.h").read_text()
