"""The syscall tables: committed data equals what the generator makes from the kernel headers."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from slimmer.errors import SensorError
from slimmer.sensor.syscalls import ARCH_ABIS, syscall_name, syscall_number, syscall_table
from tests.prereq import unavailable

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    if importlib.util.find_spec("ziglang") is None:
        unavailable("ziglang is not installed (the generator reads the headers it ships)")
    spec = importlib.util.spec_from_file_location("gen_syscalls", ROOT / "sensors/gen_syscalls.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("abi", [abi for abis in ARCH_ABIS.values() for abi in abis])
def test_committed_tables_match_the_generator(abi):
    gen = _generator()
    audit, headers, symbols = gen.ABIS[abi]
    include = gen.default_include()
    assert gen.parse([include / h for h in headers], symbols) == syscall_table(abi)
    data = json.loads((ROOT / "slimmer/data/syscalls" / f"{abi}.json").read_text())
    assert data["audit_arch"] == audit


def test_c_header_matches_the_generator():
    gen = _generator()
    include = gen.default_include()
    tables = {
        abi: gen.parse([include / h for h in headers], symbols)
        for abi, (_, headers, symbols) in gen.ABIS.items()
    }
    committed = (ROOT / "sensors/src/syscalls_gen.h").read_text()
    assert gen.c_header(tables, "").split("\n", 2)[2] == committed.split("\n", 2)[2]


def test_c_header_matches_the_data():
    """The sensor's tables and the reader's tables are the same data."""
    header = (ROOT / "sensors/src/syscalls_gen.h").read_text()
    for abis in ARCH_ABIS.values():
        for abi in abis:
            body = header.split(f"sc_{abi}[] = {{", 1)[1].split("};", 1)[0]
            entries = {int(nr): name for nr, name in re.findall(r'\{(\d+), "(\w+)"\}', body)}
            assert entries == syscall_table(abi)


def test_known_numbers():
    assert syscall_name("x86_64", 257) == "openat"
    assert syscall_name("x86_64", 59) == "execve"
    assert syscall_name("i386", 11) == "execve"
    assert syscall_name("x32", 520) == "execve"
    assert syscall_name("aarch64", 56) == "openat"
    assert syscall_name("aarch64", 221) == "execve"
    assert syscall_name("arm", 0xF0005) == "set_tls"
    assert syscall_number("aarch64", "open") is None
    assert syscall_number("x86_64", "fchmodat2") == 452
    assert syscall_name("x86_64", 100000) is None


def test_unknown_abi():
    with pytest.raises(SensorError):
        syscall_table("mips")
