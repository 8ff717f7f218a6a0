"""seccomp profiles in Docker/OCI JSON: the observed syscalls plus what the runtime itself needs,
each under the conditions Docker's default profile puts on it.

The profile is the intersection of the observation with Docker's current default profile for a
container with Docker's default capabilities (``docker_default.py``): a name the default allows
always is allowed always; a name it allows only for some arguments (``clone`` without namespace
flags, ``personality`` with five values, ``socket`` without some families) keeps those argument
comparisons; the default's explicit errno rules (``clone3`` answers ENOSYS, so that C libraries
fall back to ``clone``) are kept whether the name was seen or not; a name the default does not
allow is left out even when it was seen (``denied_by_default`` lists them).
"""

from __future__ import annotations

from slimmer.errors import SlimmerError
from slimmer.observation import Observation
from slimmer.profiles.docker_default import (
    CURRENT,
    DOCKER_DEFAULT_CAPS,
    default_filter,
    docker_default_count,
    native_names,
)
from slimmer.profiles.evaluate import ALLOW, ALLOWING, ERRNO, Filter, Rule
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


def wanted_syscalls(obs: Observation) -> set[str]:
    """Observed syscalls, those the sensor let through untraced, and the runtime set, limited to
    names libseccomp knows (runc ignores other names, so they are denied anyway; other runtimes
    refuse the whole profile): see ``unknown_syscalls``."""
    arch = _checked_arch(obs)
    wanted = observed_syscalls(obs) | obs.allowed_untraced | runtime_syscalls(arch)
    return wanted & KNOWN[arch]


def allowed_syscalls(obs: Observation, caps: frozenset[str] = DOCKER_DEFAULT_CAPS) -> list[str]:
    """The names the profile allows (always, or for some arguments) to a container with
    ``caps``."""
    default = default_filter(_checked_arch(obs), caps)
    return sorted(name for name in wanted_syscalls(obs) if name in default.allowed_names())


def denied_by_default(obs: Observation, caps: frozenset[str] = DOCKER_DEFAULT_CAPS) -> list[str]:
    """Names that were seen but Docker's default profile does not allow to a container with
    ``caps``: left out."""
    default = default_filter(_checked_arch(obs), caps)
    return sorted(wanted_syscalls(obs) - default.allowed_names())


def unknown_syscalls(obs: Observation) -> list[str]:
    """Observed names left out of the profile because libseccomp does not know them."""
    return sorted(observed_syscalls(obs) - KNOWN[_checked_arch(obs)])


def seccomp_profile(
    obs: Observation, log_only: bool = False, caps: frozenset[str] = DOCKER_DEFAULT_CAPS
) -> dict:
    """The Docker/OCI seccomp profile for what ``obs`` saw, for a container whose capabilities
    are ``caps`` (``CAP_*`` names: Docker's default set, plus what the target was given).

    Everything not allowed fails with EPERM; ``log_only`` makes the default action SCMP_ACT_LOG
    instead (nothing is denied, the kernel logs what would have been), for staged roll-outs.
    """
    arch = _checked_arch(obs)
    profile: dict = {"defaultAction": "SCMP_ACT_LOG" if log_only else "SCMP_ACT_ERRNO"}
    if not log_only:
        profile["defaultErrnoRet"] = DENY_ERRNO
    profile["architectures"] = list(ARCHITECTURES[arch])
    profile["syscalls"] = syscall_rules(default_filter(arch, caps), wanted_syscalls(obs), arch)
    return profile


def syscall_rules(default: Filter, wanted: set[str], arch: str) -> list[dict]:
    """The rules: one unconditional allow rule, then the default's conditional allow rules
    limited to wanted names, then the default's errno rules (in the default's order)."""
    always = sorted(name for name in wanted if default.allows_always(name))
    rules: list[dict] = [{"names": always, "action": ALLOW}]
    for rule in default.rules:
        if rule.action in ALLOWING and rule.checks:
            names = sorted((rule.names & wanted) - set(always))
        elif rule.action == ERRNO:
            names = sorted((rule.names & KNOWN[arch]) - set(always))
        else:
            continue
        if names:
            rules.append(_rule_json(rule, names))
    return rules


def profile_counts(profile: dict, arch: str) -> dict:
    """The allow-list size of a profile next to Docker's default, both counted alike: syscalls
    of the architecture's native ABI allowed (always or for some arguments) to a container with
    Docker's default capabilities. (Counting every name of the default profile, for every
    architecture and capability, gives 357: not what a container gets.)"""
    allowed = {n for rule in profile.get("syscalls", []) if rule.get("action") in ALLOWING
               for n in rule.get("names", [])}
    return {
        "allowed": len(allowed & native_names(arch)),
        "docker_default": docker_default_count(arch),
        "counted": f"{arch} ABI, Docker's default capabilities, default profile {CURRENT}",
    }


def _rule_json(rule: Rule, names: list[str]) -> dict:
    item: dict = {"names": names, "action": rule.action}
    if rule.action == ERRNO:
        item["errnoRet"] = DENY_ERRNO if rule.errno is None else rule.errno
    if rule.checks:
        item["args"] = [check.as_json() for check in rule.checks]
    return item


def _checked_arch(obs: Observation) -> str:
    if obs.arch not in ARCHITECTURES:
        raise SlimmerError(
            f"no seccomp profile for architecture {obs.arch!r}",
            f"profiles are made for {', '.join(sorted(ARCHITECTURES))} images",
        )
    return obs.arch
