"""The built sensors: static executables of the right machine, small, and found by assets."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from slimmer.errors import SensorError
from slimmer.sensor import assets
from tests.prereq import unavailable

MACHINES = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}


@pytest.mark.parametrize("arch", sorted(MACHINES))
def test_static_elf_of_the_arch(arch):
    path = assets.sensor_path(arch)
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make sensor`")
    data = assets.sensor_binary(arch)
    assert len(data) < 200 * 1024
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        assert elf["e_machine"] == MACHINES[arch]
        assert elf.elfclass == 64
        assert elf["e_type"] in ("ET_EXEC", "ET_DYN")
        kinds = {segment["p_type"] for segment in elf.iter_segments()}
        assert "PT_INTERP" not in kinds and "PT_DYNAMIC" not in kinds  # static, no loader


def test_aarch64_runs_under_qemu():
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if qemu is None:
        unavailable("qemu-user is not installed (scripts/install-deps.sh --test installs it)")
    done = subprocess.run([qemu, str(assets.sensor_path("aarch64")), "--help"],
                          capture_output=True, check=False)
    assert done.returncode == 0
    assert b"usage: sensor" in done.stdout


def test_unknown_arch_and_missing_binary(monkeypatch, tmp_path):
    with pytest.raises(SensorError):
        assets.sensor_binary("riscv64")
    monkeypatch.setattr(assets, "SENSOR_DIR", tmp_path)
    with pytest.raises(SensorError) as caught:
        assets.sensor_binary("x86_64")
    assert "make sensor" in caught.value.hint
