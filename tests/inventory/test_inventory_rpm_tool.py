"""rpm: a real sqlite rpmdb written by rpm itself (rpmbuild + rpm --root), read by the
inventory's own header parser, cross-checked with `rpm -qa`; corrupt header blobs skipped.
Needs Debian's rpm package (scripts/install-deps.sh --test installs it)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from slimmer.inventory import read_inventory
from tests.imagefs.crafted import open_layers

SPEC = """\
Name: slimmer-probe
Version: 1.2
Release: 3
Epoch: 2
Summary: inventory test package
License: MIT AND Apache-2.0
BuildArch: noarch
%description
inventory test package
%install
mkdir -p %{buildroot}/usr/share/slimmer-probe
echo hi > %{buildroot}/usr/share/slimmer-probe/hello
%files
%dir /usr/share/slimmer-probe
/usr/share/slimmer-probe/hello
"""
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"{tool} is missing (scripts/install-deps.sh --test installs rpm)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def rpm_root(tmp_path_factory) -> Path:
    _need("rpmbuild")
    _need("rpm")
    work = tmp_path_factory.mktemp("rpm")
    (work / "probe.spec").write_text(SPEC)
    subprocess.run(
        ["rpmbuild", "--define", f"_topdir {work / 'top'}", "-bb", str(work / "probe.spec")],
        check=True,
        capture_output=True,
    )
    (package,) = (work / "top" / "RPMS" / "noarch").glob("*.rpm")
    root = work / "root"
    subprocess.run(
        ["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--nodeps", "-i", str(package)],
        check=True,
        capture_output=True,
    )
    return root


def _layer(root: Path) -> bytes:
    path = root.parent / "layer.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for child in sorted(root.iterdir()):
            tar.add(child, arcname=child.name)
    return path.read_bytes()


def test_rpm_sqlite_database_matches_rpm_itself(rpm_root: Path, tmp_path) -> None:
    queried = subprocess.run(
        [
            "rpm",
            "--root",
            str(rpm_root),
            "--dbpath",
            "/var/lib/rpm",
            "-qa",
            "--qf",
            "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}\\n",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    with open_layers(tmp_path, _layer(rpm_root)) as fs:
        inventory = read_inventory(fs)
    (package,) = inventory.by_ecosystem("rpm")
    assert [f"{package.name} {package.version} {package.arch} {package.licenses[0]}"] == queried
    assert package.purl == "pkg:rpm/redhat/slimmer-probe@1.2-3?arch=noarch&epoch=2"
    assert package.files == ("/usr/share/slimmer-probe", "/usr/share/slimmer-probe/hello")
    assert inventory.owner("/usr/share/slimmer-probe/hello") is package
    assert inventory.databases == ("/var/lib/rpm/rpmdb.sqlite",)


def test_corrupt_header_blobs_are_skipped(rpm_root: Path, tmp_path) -> None:
    database = rpm_root.parent / "corrupt.sqlite"
    shutil.copyfile(rpm_root / "var/lib/rpm/rpmdb.sqlite", database)
    connection = sqlite3.connect(database)
    with connection:
        (blob,) = connection.execute("SELECT blob FROM Packages").fetchone()
        connection.execute("INSERT INTO Packages VALUES (?, ?)", (7, blob[:40]))
        connection.execute("INSERT INTO Packages VALUES (?, ?)", (8, b"\xff" * 8))
    connection.close()  # checkpoints the write-ahead log into the file
    root = tmp_path / "root"
    (root / "var/lib/rpm").mkdir(parents=True)
    shutil.copyfile(database, root / "var/lib/rpm/rpmdb.sqlite")
    with open_layers(tmp_path, _layer(root)) as fs:
        inventory = read_inventory(fs)
    assert [p.name for p in inventory.packages] == ["slimmer-probe"]
    assert any("package 7" in w for w in inventory.warnings)
    assert any("package 8" in w for w in inventory.warnings)
