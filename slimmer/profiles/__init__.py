"""Security profiles from an observation: seccomp (Docker/OCI JSON and Kubernetes SPO resource)
and AppArmor; plus the search for the syscall a failing profile lacked."""

from __future__ import annotations

from slimmer.profiles.apparmor import apparmor_profile, profile_name
from slimmer.profiles.docker_default import (
    container_caps,
    docker_default_names,
    profile_for_engine,
)
from slimmer.profiles.kubernetes import seccomp_profile_resource
from slimmer.profiles.missing import find_missing_syscalls
from slimmer.profiles.seccomp import (
    allowed_syscalls,
    denied_by_default,
    profile_counts,
    seccomp_profile,
    unknown_syscalls,
)
from slimmer.profiles.writer import write_profiles

__all__ = [
    "allowed_syscalls",
    "apparmor_profile",
    "container_caps",
    "denied_by_default",
    "docker_default_names",
    "find_missing_syscalls",
    "profile_counts",
    "profile_for_engine",
    "profile_name",
    "seccomp_profile",
    "seccomp_profile_resource",
    "unknown_syscalls",
    "write_profiles",
]
