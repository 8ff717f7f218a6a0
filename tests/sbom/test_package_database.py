"""The trimmed package database of a crafted image's subset, read back by the real
dpkg-query; apk's installed cut the same way."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from slimmer.inventory import read_inventory
from slimmer.inventory.trim import plan_database, trimmed_contents
from tests.imagefs.crafted import open_layers
from tests.inventory import images

KEPT = {"/usr/lib/x86_64-linux-gnu/libfoo.so.1", "/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr"}


@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    fs = open_layers(tmp_path_factory.mktemp("db"), images.DEBIAN)
    yield fs, read_inventory(fs)
    fs.close()


def test_plan_keeps_packages_with_a_kept_file(debian) -> None:
    fs, inventory = debian
    plan = plan_database(fs, inventory, KEPT)
    assert [(k.package.name, k.state, k.removed_files) for k in plan.kept] == [
        ("libfoo1", "partial", 1)  # /etc/foo.conf is gone
    ]
    assert sorted(p.name for p in plan.removed) == ["Requests_Toolbelt", "foo-tools", "six"]
    assert plan.paths == [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/info/format",
        "/var/lib/dpkg/info/libfoo1:amd64.list",
        "/var/lib/dpkg/info/libfoo1:amd64.md5sums",
    ]


def test_trimmed_database_read_by_dpkg_query(debian, tmp_path) -> None:
    if shutil.which("dpkg-query") is None:
        pytest.skip("dpkg-query is missing")  # always there on the Debian machines CI uses
    fs, inventory = debian
    plan = plan_database(fs, inventory, KEPT)
    contents = trimmed_contents(fs, inventory, plan, KEPT)
    for path, data in contents.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    admin = tmp_path / "var/lib/dpkg"
    listed = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-W", "-f", "${Package} ${Version}\\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listed == "libfoo1 1.0-1+b1\n"
    files = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-L", "libfoo1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "/etc/foo.conf" not in files and "/lib/x86_64-linux-gnu/libfoo.so.1" in files
    status = contents["/var/lib/dpkg/status"].decode()
    assert "Conffiles" not in status  # its only conffile was not kept
    assert "foo-tools" not in status and "purged" not in status


def test_apk_installed_is_cut_to_kept_files(tmp_path) -> None:
    with open_layers(tmp_path, images.ALPINE) as fs:
        inventory = read_inventory(fs)
        kept = {"/lib", "/lib/ld-musl-x86_64.so.1"}
        plan = plan_database(fs, inventory, kept)
        contents = trimmed_contents(fs, inventory, plan, kept)
    assert [k.package.name for k in plan.kept] == ["musl"]
    assert contents["/lib/apk/db/installed"].decode() == (
        "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\n"
        "R:ld-musl-x86_64.so.1\nZ:Q1xyz=\n"
    )


def test_selection_rule_keeps_identity_and_database_as_rule(debian) -> None:
    from slimmer.selection.keeper import RULE, Keeper, Reason
    from slimmer.selection.rules import keep_package_database

    fs, inventory = debian
    keeper = Keeper(fs)
    keeper.keep("/usr/lib/x86_64-linux-gnu/libfoo.so.1", Reason("trace", "open"))
    plan = keep_package_database(keeper, inventory, carry_database=True)
    assert plan is not None and [k.package.name for k in plan.kept] == ["libfoo1"]
    for path in ("/etc/os-release", "/usr/lib/os-release", "/etc/debian_version", *plan.paths):
        assert keeper.kept[path].kind == RULE, path
    assert "/var/lib/dpkg/info/foo-tools.list" not in keeper.kept

    bare = Keeper(fs)
    assert keep_package_database(bare, inventory, carry_database=False) is None
    assert "/etc/os-release" in bare.kept and "/var/lib/dpkg/status" not in bare.kept
