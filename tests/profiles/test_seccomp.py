"""seccomp profile generation from crafted observations: the intersection of the observation with
Docker's default profile, never weaker than it argument by argument."""

from __future__ import annotations

import hashlib
import json

import pytest

from slimmer.errors import SlimmerError
from slimmer.observation import Observation
from slimmer.profiles.docker_default import (
    CURRENT,
    DATA,
    DOCKER_20_10,
    DOCKER_DEFAULT_CAPS,
    container_caps,
    default_filter,
    docker_default_count,
    docker_default_names,
    profile_for_engine,
)
from slimmer.profiles.evaluate import specialize, weaker_points
from slimmer.profiles.libseccomp_names import KNOWN
from slimmer.profiles.runtime_syscalls import RUNTIME_SYSCALLS, runtime_syscalls
from slimmer.profiles.seccomp import (
    allowed_syscalls,
    denied_by_default,
    profile_counts,
    seccomp_profile,
    unknown_syscalls,
)

# sha256 of the kept default profiles, as fetched from moby (see docker_default.py)
PROFILE_SHA256 = {
    CURRENT: "536529b665dd0972c37bfb569f5d4ac8a53592e7b00752bc39ff063ca9864c74",
    DOCKER_20_10: "ce3585b856aa4a193671fd8280d0d0612a998bd3f10bdb2f8530dfa958c6197f",
}


def _obs(arch: str = "x86_64", **syscalls: dict[str, int]) -> Observation:
    return Observation(arch=arch, syscalls=dict(syscalls))


def _rules(profile: dict, name: str) -> list[dict]:
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def test_profile_shape_and_default_deny() -> None:
    obs = _obs(x86_64={"read": 3, "epoll_wait": 1}, i386={"socketcall": 2})
    profile = seccomp_profile(obs)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    rule = profile["syscalls"][0]
    assert rule["action"] == "SCMP_ACT_ALLOW" and "args" not in rule
    names = rule["names"]
    assert names == sorted(names)
    assert {"read", "epoll_wait", "socketcall"} <= set(names)  # every ABI's names
    assert runtime_syscalls("x86_64") <= set(names)
    assert "personality" not in names and "ptrace" not in names


def test_argument_conditions_and_errnos_of_the_default_are_kept() -> None:
    """clone only without namespace flags, personality only for the default's five values,
    socket without AF_ALG/AF_VSOCK, and clone3 answered with ENOSYS (so that C libraries fall
    back to clone) whether it was seen or not."""
    profile = seccomp_profile(_obs(x86_64={"clone": 4, "personality": 1, "socket": 2}))
    always = set(profile["syscalls"][0]["names"])
    assert not {"clone", "clone3", "personality", "socket"} & always
    [clone] = _rules(profile, "clone")
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0,
                              "op": "SCMP_CMP_MASKED_EQ"}]
    values = sorted(r["args"][0]["value"] for r in _rules(profile, "personality"))
    assert values == [0, 8, 0x20000, 0x20008, 0xFFFFFFFF]
    assert {(r["args"][0]["op"], r["args"][0]["value"]) for r in _rules(profile, "socket")} == {
        ("SCMP_CMP_LT", 38), ("SCMP_CMP_EQ", 39), ("SCMP_CMP_GT", 40)
    }
    [clone3] = _rules(profile, "clone3")
    assert (clone3["action"], clone3["errnoRet"]) == ("SCMP_ACT_ERRNO", 38)
    assert _rules(seccomp_profile(_obs(x86_64={"read": 1})), "clone3") == [clone3]


def test_what_the_default_does_not_allow_is_left_out() -> None:
    obs = _obs(x86_64={"unshare": 1, "mount": 1, "io_uring_setup": 1, "read": 1, "kcmp": 1})
    names = {n for rule in seccomp_profile(obs)["syscalls"] for n in rule["names"]}
    assert not {"unshare", "mount", "io_uring_setup", "kcmp"} & names
    assert denied_by_default(obs) == ["io_uring_setup", "kcmp", "mount", "unshare"]
    assert "read" in allowed_syscalls(obs)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_never_weaker_than_the_default_argument_by_argument(arch: str) -> None:
    """Every name libseccomp knows observed at once: the profile allows nothing, for no argument
    of any ABI, that the default denies, and answers the default's errno where it names one."""
    obs = Observation(arch=arch, syscalls={arch: dict.fromkeys(KNOWN[arch], 1)})
    profile = specialize(seccomp_profile(obs), arch, frozenset())
    default = default_filter(arch)
    assert weaker_points(profile, default, KNOWN[arch] | default.names) == []
    # the check can fail: an unconditional clone is weaker than the default
    loose = json.loads(json.dumps(seccomp_profile(obs)))
    loose["syscalls"][0]["names"].append("clone")
    [found] = {p.name for p in weaker_points(specialize(loose, arch, frozenset()), default,
                                             ["clone"])}
    assert found == "clone"


def test_log_only_variant_denies_nothing() -> None:
    obs = _obs(x86_64={"read": 1})
    log = seccomp_profile(obs, log_only=True)
    assert log["defaultAction"] == "SCMP_ACT_LOG"
    assert "defaultErrnoRet" not in log
    assert log["syscalls"] == seccomp_profile(obs)["syscalls"]


def test_aarch64_architectures() -> None:
    profile = seccomp_profile(_obs("aarch64", aarch64={"openat": 1}, arm={"open": 1}))
    assert profile["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert {"openat", "open"} <= set(profile["syscalls"][0]["names"])


def test_zero_counts_are_not_allowed() -> None:
    assert "umask" not in allowed_syscalls(_obs(x86_64={"umask": 0, "read": 1}))


def test_names_libseccomp_does_not_know_are_left_out_and_reported() -> None:
    obs = _obs(x86_64={"read": 1, "listmount": 2, "BASE": 1})
    assert "listmount" not in allowed_syscalls(obs)
    assert unknown_syscalls(obs) == ["BASE", "listmount"]


def test_deterministic_output() -> None:
    a = _obs(x86_64={"write": 1, "read": 2, "close": 1, "socket": 1})
    b = _obs(x86_64={"socket": 3, "close": 5, "write": 1, "read": 1})
    assert json.dumps(seccomp_profile(a)) == json.dumps(seccomp_profile(b))


def test_unsupported_arch_is_a_user_error() -> None:
    with pytest.raises(SlimmerError, match="riscv64"):
        seccomp_profile(_obs("riscv64"))


def test_runtime_sets_are_names_libseccomp_knows_and_the_default_allows() -> None:
    for per_arch in RUNTIME_SYSCALLS.values():
        for arch, names in per_arch.items():
            assert names <= KNOWN[arch], sorted(names - KNOWN[arch])
            assert names <= docker_default_names(arch), sorted(names - docker_default_names(arch))
            assert {"execve", "exit_group", "rt_sigreturn"} <= runtime_syscalls(arch)


def test_the_kept_default_profiles_are_moby_s() -> None:
    for profile_id, digest in PROFILE_SHA256.items():
        assert hashlib.sha256((DATA / f"{profile_id}.json").read_bytes()).hexdigest() == digest


def test_docker_default_counts() -> None:
    """What the default allows a container of the architecture with Docker's default
    capabilities, on its native ABI: 309 on x86_64 (not the 357 names of every architecture
    and capability), 267 on aarch64."""
    assert docker_default_count("x86_64") == 309
    assert docker_default_count("aarch64") == 267
    names = docker_default_names("x86_64")
    assert {"arch_prctl", "clone", "socket", "personality", "ptrace"} <= names
    assert "arch_prctl" not in docker_default_names("aarch64")
    assert {"mount", "unshare", "bpf", "clone3", "io_uring_setup", "kcmp"}.isdisjoint(names)


@pytest.mark.parametrize(
    ("version", "profile"),
    [
        ({"Version": "20.10.24+dfsg1"}, DOCKER_20_10),
        ({"Version": "20.10.5"}, DOCKER_20_10),
        ({"Version": "23.0.6"}, DOCKER_20_10),
        ({"Version": "23.0.7"}, CURRENT),
        ({"Version": "24.0.2"}, DOCKER_20_10),
        ({"Version": "24.0.3"}, CURRENT),
        ({"Version": "28.5.2"}, CURRENT),
        ({"Version": "5.4.1", "Components": [{"Name": "Podman Engine"}]}, CURRENT),
        ({"Version": "weird"}, CURRENT),
        ({}, CURRENT),
    ],
)
def test_profile_for_engine(version: dict, profile: str) -> None:
    assert profile_for_engine(version) == profile


def test_syscalls_the_sensor_let_through_untraced_are_allowed() -> None:
    obs = _obs(x86_64={"openat": 2})
    obs.allowed_untraced = {"read", "futex"}
    assert {"read", "futex", "openat"} <= set(allowed_syscalls(obs))


def test_counts_are_made_alike() -> None:
    """report.json's seccomp_syscalls: both figures count the native ABI's syscalls allowed to
    a container with Docker's default capabilities; an errno rule (clone3) is no allowance."""
    obs = _obs(x86_64={"read": 1, "clone": 1}, i386={"socketcall": 1})
    counts = profile_counts(seccomp_profile(obs), "x86_64")
    names = set(allowed_syscalls(obs))
    assert "socketcall" in names and "clone3" not in names
    assert counts["allowed"] == len(names - {"socketcall"})
    assert counts["docker_default"] == 309
    assert "x86_64 ABI" in counts["counted"]


def test_the_target_s_capabilities_count() -> None:
    """A target given --cap-add SYS_PTRACE may use kcmp and process_vm_writev under its profile,
    as under Docker's default profile with that capability; without it they are left out."""
    obs = _obs(x86_64={"kcmp": 1, "process_vm_writev": 1, "read": 1})
    caps = container_caps(["SYS_PTRACE"])
    assert caps == DOCKER_DEFAULT_CAPS | {"CAP_SYS_PTRACE"} == container_caps(["CAP_SYS_PTRACE"])
    assert {"kcmp", "process_vm_writev"} <= set(allowed_syscalls(obs, caps))
    assert denied_by_default(obs, caps) == []
    names = {n for rule in seccomp_profile(obs, caps=caps)["syscalls"] for n in rule["names"]}
    assert "kcmp" in names
    assert denied_by_default(obs) == ["kcmp"]  # process_vm_writev: allowed on kernels >= 4.8
