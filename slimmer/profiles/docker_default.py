"""Docker's default seccomp profile: the yardstick for generated profiles, and the source of the
sensor's own filter (``sensors/gen_default_seccomp.py``).

The profiles are kept verbatim in ``slimmer/profiles/data/``:

- ``moby-profiles-seccomp-v0.2.3.json``: ``github.com/moby/profiles/seccomp`` v0.2.3
  (``default.json``, as vendored by moby/moby at b985e2313a8676e18072b442911fc8f64f17d440):
  Docker 28.2 and later, and the same capability- and argument-dependent rules as Docker 23.0.7 /
  24.0.3 and later. ``CURRENT``: generated profiles are never weaker than it.
- ``docker-20.10.24.json``: moby v20.10.24 ``profiles/seccomp/default.json``, what Docker 20.10
  (Debian 12's docker.io) applies.

Which one an engine applies is chosen from its version by ``profile_for_engine``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from slimmer.profiles.evaluate import Filter, specialize
from slimmer.sensor.syscalls import ARCH_ABIS, syscall_table

DATA = Path(__file__).resolve().parent / "data"
CURRENT = "moby-profiles-seccomp-v0.2.3"
DOCKER_20_10 = "docker-20.10.24"
PROFILES = (CURRENT, DOCKER_20_10)

# The capabilities Docker gives a container by default (moby oci/caps/defaults.go).
DOCKER_DEFAULT_CAPS = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})


def container_caps(cap_add: Iterable[str] = ()) -> frozenset[str]:
    """A container's capabilities: Docker's default set plus ``cap_add`` (``NET_ADMIN`` or
    ``CAP_NET_ADMIN``)."""
    return DOCKER_DEFAULT_CAPS | {f"CAP_{c.upper().removeprefix('CAP_')}" for c in cap_add}


@cache
def load_default(profile_id: str = CURRENT) -> dict[str, Any]:
    """One of the kept default profiles, as JSON."""
    if profile_id not in PROFILES:
        raise ValueError(f"unknown default profile {profile_id!r} (known: {', '.join(PROFILES)})")
    return json.loads((DATA / f"{profile_id}.json").read_text())


@cache
def default_filter(
    arch: str, caps: frozenset[str] = DOCKER_DEFAULT_CAPS, profile_id: str = CURRENT
) -> Filter:
    """The default profile as it applies to a container of ``arch`` with ``caps`` on a current
    kernel."""
    return specialize(load_default(profile_id), arch, caps)


@cache
def docker_default_names(arch: str) -> frozenset[str]:
    """Every syscall name the current default profile allows (always, or for some arguments)
    to a container of ``arch`` with Docker's default capabilities, on any ABI of ``arch``."""
    return default_filter(arch).allowed_names()


def docker_default_count(arch: str) -> int:
    """How many syscalls of ``arch``'s native ABI the default allows to such a container: the
    figure generated profiles are compared with."""
    return len(docker_default_names(arch) & native_names(arch))


@cache
def native_names(arch: str) -> frozenset[str]:
    """The syscall names of ``arch``'s native ABI (x86_64 for x86_64, aarch64 for aarch64)."""
    return frozenset(syscall_table(ARCH_ABIS[arch][0]).values())


def profile_for_engine(version: dict[str, Any]) -> str:
    """The default profile an engine applies, from its ``/version`` answer.

    Docker 20.10 and 23.0.0-23.0.6 / 24.0.0-24.0.2 get the 20.10 profile (for those 23/24
    releases it is stricter only for process_vm_readv/process_vm_writev); every later Docker,
    and other engines, the current one.
    """
    components = version.get("Components") or []
    if any("podman" in str(c.get("Name", "")).lower() for c in components if isinstance(c, dict)):
        return CURRENT
    found = re.match(r"(\d+)\.(\d+)\.(\d+)", str(version.get("Version", "")))
    if not found:
        return CURRENT
    release = tuple(int(part) for part in found.groups())
    if release < (23, 0, 7) or (24, 0, 0) <= release < (24, 0, 3):
        return DOCKER_20_10
    return CURRENT
