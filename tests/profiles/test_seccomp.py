"""seccomp profile generation from crafted observations."""

from __future__ import annotations

import json

import pytest

from slimmer.errors import SlimmerError
from slimmer.observation import Observation
from slimmer.profiles.docker_default import ALLOW, docker_default_names
from slimmer.profiles.libseccomp_names import KNOWN
from slimmer.profiles.runtime_syscalls import RUNTIME_SYSCALLS, runtime_syscalls
from slimmer.profiles.seccomp import allowed_syscalls, seccomp_profile, unknown_syscalls


def _obs(arch: str = "x86_64", **syscalls: dict[str, int]) -> Observation:
    return Observation(arch=arch, syscalls=dict(syscalls))


def test_profile_shape_and_default_deny() -> None:
    obs = _obs(x86_64={"read": 3, "epoll_wait": 1}, i386={"socketcall": 2})
    profile = seccomp_profile(obs)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    [rule] = profile["syscalls"]
    assert rule["action"] == "SCMP_ACT_ALLOW"
    names = rule["names"]
    assert names == sorted(names)
    assert {"read", "epoll_wait", "socketcall"} <= set(names)  # every ABI's names
    assert runtime_syscalls("x86_64") <= set(names)
    assert "personality" not in names and "ptrace" not in names


def test_aarch64_architectures() -> None:
    profile = seccomp_profile(_obs("aarch64", aarch64={"openat": 1}, arm={"open": 1}))
    assert profile["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert {"openat", "open"} <= set(profile["syscalls"][0]["names"])


def test_zero_counts_are_not_allowed() -> None:
    assert "mount" not in allowed_syscalls(_obs(x86_64={"mount": 0, "read": 1}))


def test_log_only_variant_denies_nothing() -> None:
    obs = _obs(x86_64={"read": 1})
    log = seccomp_profile(obs, log_only=True)
    assert log["defaultAction"] == "SCMP_ACT_LOG"
    assert "defaultErrnoRet" not in log
    assert log["syscalls"] == seccomp_profile(obs)["syscalls"]


def test_names_libseccomp_does_not_know_are_left_out_and_reported() -> None:
    obs = _obs(x86_64={"read": 1, "listmount": 2, "BASE": 1})
    assert "listmount" not in allowed_syscalls(obs)
    assert unknown_syscalls(obs) == ["BASE", "listmount"]


def test_deterministic_output() -> None:
    a = _obs(x86_64={"write": 1, "read": 2, "close": 1})
    b = _obs(x86_64={"close": 5, "write": 1, "read": 1})
    assert json.dumps(seccomp_profile(a)) == json.dumps(seccomp_profile(b))


def test_unsupported_arch_is_a_user_error() -> None:
    with pytest.raises(SlimmerError, match="riscv64"):
        seccomp_profile(_obs("riscv64"))


def test_runtime_sets_are_names_libseccomp_knows() -> None:
    for per_arch in RUNTIME_SYSCALLS.values():
        for arch, names in per_arch.items():
            assert names <= KNOWN[arch], sorted(names - KNOWN[arch])
            assert {"execve", "exit_group", "rt_sigreturn"} <= runtime_syscalls(arch)


def test_docker_default_list() -> None:
    assert len(ALLOW) == 349  # the unconditional rule of moby's default.json
    assert {"arch_prctl", "clone", "socket"} <= docker_default_names("x86_64")
    assert "arch_prctl" not in docker_default_names("aarch64")
    assert {"mount", "unshare", "bpf"}.isdisjoint(docker_default_names("x86_64"))


def test_syscalls_the_sensor_let_through_untraced_are_allowed() -> None:
    obs = _obs(x86_64={"openat": 2})
    obs.allowed_untraced = {"read", "futex"}
    assert {"read", "futex", "openat"} <= set(allowed_syscalls(obs))
