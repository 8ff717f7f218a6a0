"""Syscall number <-> name tables per ABI, generated from the kernel's tables.

The data lives in ``slimmer/data/syscalls/<abi>.json`` (written by ``sensors/gen_syscalls.py``).
ABIs: ``x86_64``, ``i386``, ``x32`` (numbers without the x32 bit), ``aarch64``, ``arm``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from slimmer.errors import SensorError

DATA = Path(__file__).resolve().parent.parent / "data" / "syscalls"
# The ABIs a sensor of each architecture can report.
ARCH_ABIS = {"x86_64": ("x86_64", "i386", "x32"), "aarch64": ("aarch64", "arm")}
ABIS = frozenset(abi for abis in ARCH_ABIS.values() for abi in abis)


@cache
def syscall_table(abi: str) -> dict[int, str]:
    """Number -> name for one ABI (one of ``ABIS``: the name never becomes a path otherwise)."""
    if abi not in ABIS:
        raise SensorError(
            f"no syscall table for ABI {abi!r}", f"known ABIs: {', '.join(sorted(ABIS))}"
        )
    document = json.loads((DATA / f"{abi}.json").read_text())
    return {int(nr): name for nr, name in document["syscalls"].items()}


@cache
def _numbers(abi: str) -> dict[str, int]:
    return {name: nr for nr, name in syscall_table(abi).items()}


def syscall_name(abi: str, nr: int) -> str | None:
    """The name of syscall ``nr`` in ``abi``, None when the table has no such number."""
    return syscall_table(abi).get(nr)


def syscall_number(abi: str, name: str) -> int | None:
    return _numbers(abi).get(name)
