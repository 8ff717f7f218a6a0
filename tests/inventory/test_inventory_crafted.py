"""The inventory of crafted images: every database and manifest kind, merged-/usr paths,
malformed records skipped with warnings, bounded reads."""

from __future__ import annotations

import json

import pytest

from slimmer.inventory import Inventory, read_inventory
from slimmer.inventory import files as inventory_files
from tests.imagefs.crafted import file, layer, open_layers, symlink
from tests.inventory import images


@pytest.fixture(scope="module")
def debian(tmp_path_factory) -> Inventory:
    fs = open_layers(tmp_path_factory.mktemp("debian"), images.DEBIAN, images.APPS)
    with fs:
        yield read_inventory(fs)


def named(inventory: Inventory, ecosystem: str, name: str):
    found = [p for p in inventory.packages if p.ecosystem == ecosystem and p.name == name]
    assert len(found) == 1, f"{ecosystem} {name}: {found}"
    return found[0]


def test_os_identity_follows_the_os_release_link(debian: Inventory) -> None:
    assert debian.os is not None
    assert (debian.os.id, debian.os.version_id) == ("debian", "12")
    assert debian.os.pretty_name == "Debian GNU/Linux 12 (bookworm)"
    assert debian.os.version_codename == "bookworm"
    assert debian.os.files == ("/etc/os-release", "/usr/lib/os-release", "/etc/debian_version")


def test_dpkg_packages_installed_only_with_multiarch_lists(debian: Inventory) -> None:
    debs = [(p.name, p.version, p.arch) for p in debian.by_ecosystem("deb")]
    assert debs == [("libfoo1", "1.0-1+b1", "amd64"), ("foo-tools", "2:3.4-5", "all")]
    assert any("without Package or Version" in w for w in debian.warnings)
    libfoo = named(debian, "deb", "libfoo1")
    assert libfoo.purl == (
        "pkg:deb/debian/libfoo1@1.0-1%2Bb1?arch=amd64&distro=debian-12&upstream=foo"
    )
    assert libfoo.source == "/var/lib/dpkg/status"
    assert libfoo.source_package == "foo"
    assert libfoo.records == (
        "/var/lib/dpkg/info/libfoo1:amd64.list",
        "/var/lib/dpkg/info/libfoo1:amd64.md5sums",
        "/var/lib/dpkg/info/libfoo1:amd64.postinst",
    )
    # the list says /lib/...; the image holds it under /usr/lib (merged /usr)
    assert "/usr/lib/x86_64-linux-gnu/libfoo.so.1" in libfoo.files
    assert "/lib" in libfoo.files and "/" not in libfoo.files


def test_owner_maps_image_paths_to_packages(debian: Inventory) -> None:
    assert debian.owner("/usr/lib/x86_64-linux-gnu/libfoo.so.1").name == "libfoo1"
    assert debian.owner("/usr/bin/foo").name == "foo-tools"
    assert debian.owner("/usr/local/bin/toolbelt").name == "Requests_Toolbelt"
    assert debian.owner("/nowhere") is None


def test_dep5_licenses_in_order_each_once(debian: Inventory) -> None:
    assert named(debian, "deb", "foo-tools").licenses == ("GPL-2+", "MIT")
    assert named(debian, "deb", "libfoo1").licenses == ()  # no copyright file


def test_python_dist_info_and_egg_info(debian: Inventory) -> None:
    toolbelt = named(debian, "pypi", "Requests_Toolbelt")
    assert toolbelt.purl == "pkg:pypi/requests-toolbelt@1.0.0"
    assert toolbelt.licenses == ("Apache 2.0",)
    assert "/usr/local/lib/python3.11/site-packages/requests_toolbelt/__init__.py" in toolbelt.files
    six = named(debian, "pypi", "six")
    assert six.licenses == ("MIT License",)
    assert six.files == ("/usr/lib/python3/dist-packages/six-1.16.0.egg-info",)
    assert not [p for p in debian.packages if p.name == "broken"]  # no Version: skipped


def test_node_packages_scoped_and_nested(debian: Inventory) -> None:
    left = named(debian, "npm", "left-pad")
    assert left.licenses == ("WTFPL",)
    assert left.files == (
        "/app/node_modules/left-pad/index.js",
        "/app/node_modules/left-pad/package.json",
    )  # not the nested package's files
    assert named(debian, "npm", "inner").licenses == ("MIT",)
    babel = named(debian, "npm", "@babel/core")
    assert babel.purl == "pkg:npm/%40babel/core@7.24.0"
    assert babel.licenses == ("MIT",)
    assert any("/app/node_modules/bad/package.json" in w for w in debian.warnings)


def test_gems_and_jars(debian: Inventory) -> None:
    rake = named(debian, "gem", "rake")
    assert (rake.version, rake.licenses, rake.purl) == ("13.0.6", ("MIT",), "pkg:gem/rake@13.0.6")
    assert "/usr/lib/ruby/gems/3.1.0/gems/rake-13.0.6/lib/rake.rb" in rake.files
    lang = named(debian, "maven", "org.apache.commons:commons-lang3")
    assert lang.purl == "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
    assert lang.files == ("/opt/app/lib/commons-lang3-3.12.0.jar",)
    assert lang.licenses == ("https://www.apache.org/licenses/LICENSE-2.0.txt",)
    tool = named(debian, "maven", "com.example:tool")
    assert tool.version == "0.9"  # from the manifest's main section only
    assert any("/opt/app/lib/broken.jar" in w for w in debian.warnings)


def test_apk_database(tmp_path) -> None:
    with open_layers(tmp_path, images.ALPINE) as fs:
        inventory = read_inventory(fs)
    assert inventory.os is not None and inventory.os.id == "alpine"
    assert inventory.os.version_id == "3.19.1"
    musl, busybox = inventory.packages
    assert (musl.name, musl.version, musl.arch, musl.licenses) == (
        "musl",
        "1.2.4-r2",
        "x86_64",
        ("MIT",),
    )
    assert musl.purl == "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"
    assert musl.files == ("/lib", "/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1")
    assert busybox.files == ("/bin", "/bin/busybox", "/etc", "/etc/securetty")
    assert inventory.owner("/bin/busybox") is busybox
    assert any("without P: or V:" in w for w in inventory.warnings)
    assert inventory.databases == ("/lib/apk/db/installed",)


def test_distroless_status_d(tmp_path) -> None:
    with open_layers(tmp_path, images.DISTROLESS) as fs:
        inventory = read_inventory(fs)
    (base,) = inventory.packages
    assert (base.name, base.version, base.source) == (
        "base-files",
        "12.4+deb12u5",
        "/var/lib/dpkg/status.d/base-files",
    )
    assert base.files == ("/etc/issue",)
    assert base.records == (
        "/var/lib/dpkg/status.d/base-files",
        "/var/lib/dpkg/status.d/base-files.md5sums",
    )


def test_an_empty_image_has_no_os_and_no_packages(tmp_path) -> None:
    with open_layers(tmp_path, layer([file("hello", b"hi")])) as fs:
        inventory = read_inventory(fs)
    assert (inventory.os, inventory.packages, inventory.warnings) == (None, [], [])
    assert json.loads(json.dumps(inventory.to_dict()))["packages"] == []


def test_oversized_database_is_skipped_with_a_warning(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("slimmer.inventory.dpkg.DATABASE_LIMIT", 64)
    with open_layers(tmp_path, images.DEBIAN) as fs:
        inventory = read_inventory(fs)
    assert inventory.by_ecosystem("deb") == []
    assert any("/var/lib/dpkg/status" in w and "over the 64" in w for w in inventory.warnings)


def test_database_links_resolve_inside_the_image_only(tmp_path) -> None:
    """A status that is a symlink out of the image (absolute or with ..) resolves against the
    image root: the host's /etc/passwd or /var/lib/dpkg/status is never read."""
    hostile = layer(
        [
            symlink("var/lib/dpkg/status", "../../../../../../etc/hostname"),
            file("etc/hostname", b"Package: inside\nVersion: 1\nStatus: install ok installed\n"),
            symlink("lib/apk/db/installed", "/proc/self/environ"),
        ]
    )
    with open_layers(tmp_path, hostile) as fs:
        inventory = read_inventory(fs)
    assert [p.name for p in inventory.packages] == ["inside"]


def test_binary_garbage_databases_do_not_crash(tmp_path) -> None:
    garbage = bytes(range(256)) * 64
    hostile = layer(
        [
            file("var/lib/dpkg/status", garbage),
            file("lib/apk/db/installed", garbage),
            file("var/lib/rpm/rpmdb.sqlite", garbage),
            file("etc/os-release", garbage),
            file("x/node_modules/y/package.json", garbage),
            file("x/y.dist-info/METADATA", garbage),
            file("x/specifications/z-1.gemspec", garbage),
            file("x/z.jar", garbage),
        ]
    )
    with open_layers(tmp_path, hostile) as fs:
        inventory = read_inventory(fs)
    assert any("rpmdb.sqlite" in w for w in inventory.warnings)
    assert all(p.ecosystem != "rpm" for p in inventory.packages)


def test_reads_are_bounded(tmp_path) -> None:
    big = layer([file("etc/os-release", b"ID=debian\n" + b"#" * 100)])
    with open_layers(tmp_path, big) as fs:
        reader = inventory_files.Reader(fs)
        assert reader.read("/etc/os-release", 16) is None
    assert any("over the 16 read" in w for w in reader.warnings)
