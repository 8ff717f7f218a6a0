"""Architecture names: the kernel's (uname -m), OCI's (GOARCH) and the sensor's."""

from __future__ import annotations

import platform

from slimmer.errors import SlimmerError

# OCI/Docker architecture name -> sensor architecture (kernel name)
SENSOR_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}
_KERNEL_TO_OCI = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_oci_arch() -> str:
    """The host's architecture in OCI terms (amd64, arm64, ...)."""
    machine = platform.machine().lower()
    return _KERNEL_TO_OCI.get(machine, machine)


def sensor_arch(oci_arch: str) -> str:
    """The sensor build for an image architecture, or an error naming what is supported."""
    try:
        return SENSOR_ARCH[oci_arch]
    except KeyError:
        raise SlimmerError(
            f"images for architecture {oci_arch!r} are not supported",
            f"slimmer traces {', '.join(sorted(SENSOR_ARCH))} images",
        ) from None
