"""seccomp profiles in Docker/OCI JSON: observed syscalls plus what the runtime itself needs."""

from __future__ import annotations

from slimmer.errors import SlimmerError
from slimmer.observation import Observation
from slimmer.profiles.libseccomp_names import KNOWN
from slimmer.profiles.runtime_syscalls import runtime_syscalls

# The main architecture first, then the sub-architectures whose calls the kernel also accepts.
ARCHITECTURES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}
DENY_ERRNO = 1  # EPERM


def observed_syscalls(obs: Observation) -> set[str]:
    """Every syscall name the target made, over all ABIs."""
    return {name for calls in obs.syscalls.values() for name, count in calls.items() if count}


def allowed_syscalls(obs: Observation) -> list[str]:
    """The allow list: observed syscalls, those the sensor let through untraced, and the runtime
    set, limited to names libseccomp knows.

    Names libseccomp does not know cannot be filtered by it (runc ignores them, so they are
    denied anyway; other runtimes refuse the whole profile): see ``unknown_syscalls``.
    """
    arch = _checked_arch(obs)
    wanted = observed_syscalls(obs) | obs.allowed_untraced | runtime_syscalls(arch)
    return sorted(wanted & KNOWN[arch])


def unknown_syscalls(obs: Observation) -> list[str]:
    """Observed names left out of the profile because libseccomp does not know them."""
    return sorted(observed_syscalls(obs) - KNOWN[_checked_arch(obs)])


def seccomp_profile(obs: Observation, log_only: bool = False) -> dict:
    """The Docker/OCI seccomp profile for what ``obs`` saw.

    Everything not allowed fails with EPERM; ``log_only`` makes the default action SCMP_ACT_LOG
    instead (nothing is denied, the kernel logs what would have been), for staged roll-outs.
    """
    arch = _checked_arch(obs)
    profile: dict = {"defaultAction": "SCMP_ACT_LOG" if log_only else "SCMP_ACT_ERRNO"}
    if not log_only:
        profile["defaultErrnoRet"] = DENY_ERRNO
    profile["architectures"] = list(ARCHITECTURES[arch])
    profile["syscalls"] = [{"names": allowed_syscalls(obs), "action": "SCMP_ACT_ALLOW"}]
    return profile


def _checked_arch(obs: Observation) -> str:
    if obs.arch not in ARCHITECTURES:
        raise SlimmerError(
            f"no seccomp profile for architecture {obs.arch!r}",
            f"profiles are made for {', '.join(sorted(ARCHITECTURES))} images",
        )
    return obs.arch
