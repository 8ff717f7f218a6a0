"""SBOM documents of crafted images: both formats validate against their schemas, say each
package's name, version, purl, licenses and files, and are the same bytes for the same input."""

from __future__ import annotations

import hashlib

import pytest

from slimmer.inventory import read_inventory
from slimmer.sbom import make_subject, render
from tests.imagefs.crafted import open_layers
from tests.inventory import images
from tests.sbom.validate import assert_valid_cyclonedx, assert_valid_spdx

REF = "registry.local:5000/team/app:1.0"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    fs = open_layers(tmp_path_factory.mktemp("sbom"), images.DEBIAN, images.APPS)
    yield fs, read_inventory(fs)
    fs.close()


def test_cyclonedx_validates_and_describes_packages(image) -> None:
    fs, inventory = image
    document = assert_valid_cyclonedx(
        render(make_subject(fs, inventory, REF, "sha256:ab"), ["cyclonedx"])["cyclonedx"]
    )
    root = document["metadata"]["component"]
    assert (root["type"], root["name"], root["version"]) == (
        "container",
        "registry.local:5000/team/app",
        "1.0",
    )
    assert document["metadata"]["timestamp"].startswith("2024-01-02T03:04:05")
    by_name = {c["name"]: c for c in document["components"]}
    assert by_name["debian"]["type"] == "operating-system"
    libfoo = by_name["libfoo1"]
    assert (
        libfoo["purl"]
        == "pkg:deb/debian/libfoo1@1.0-1%2Bb1?arch=amd64&distro=debian-12&upstream=foo"
    )
    assert [o["location"] for o in libfoo["evidence"]["occurrences"]] == [
        "/etc/foo.conf",
        "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
    ]
    tools = by_name["foo-tools"]
    names = {lic["license"].get("name") or lic["license"].get("id") for lic in tools["licenses"]}
    assert names == {"GPL-2+", "MIT"}
    assert by_name["@babel/core"]["licenses"] == [{"license": {"id": "MIT"}}]
    lang = by_name["org.apache.commons:commons-lang3"]
    assert lang["purl"] == "pkg:maven/org.apache.commons/commons-lang3@3.12.0"


def test_spdx_validates_with_files_checksums_and_license_refs(image) -> None:
    fs, inventory = image
    document = assert_valid_spdx(
        render(make_subject(fs, inventory, REF, "sha256:ab"), ["spdx"])["spdx"]
    )
    packages = {p["name"]: p for p in document["packages"]}
    tools = packages["foo-tools"]
    assert tools["licenseDeclared"] == "LicenseRef-GPL-2 AND MIT"
    refs = {r["licenseId"]: r["name"] for r in document["hasExtractedLicensingInfos"]}
    assert refs["LicenseRef-GPL-2"] == "GPL-2+"
    assert packages["left-pad"]["licenseDeclared"] == "WTFPL"  # an SPDX id as it is
    assert tools["externalRefs"][0]["referenceLocator"].startswith("pkg:deb/debian/foo-tools@")
    files = {f["SPDXID"]: f for f in document["files"]}
    contained = [
        files[r["relatedSpdxElement"]]["fileName"]
        for r in document["relationships"]
        if r["spdxElementId"] == tools["SPDXID"] and r["relationshipType"] == "CONTAINS"
    ]
    assert contained == ["./usr/bin/foo", "./usr/share/doc/foo-tools/copyright"]
    foo = next(f for f in document["files"] if f["fileName"] == "./usr/bin/foo")
    assert {c["algorithm"]: c["checksumValue"] for c in foo["checksums"]} == {
        "SHA1": hashlib.sha1(b"\x7fELF").hexdigest(),
        "SHA256": hashlib.sha256(b"\x7fELF").hexdigest(),
    }


def test_a_subset_lists_only_kept_files_and_packages(image) -> None:
    fs, inventory = image
    kept = {"/usr/bin/foo", "/usr/bin", "/usr"}
    document = assert_valid_spdx(
        render(make_subject(fs, inventory, REF, "sha256:ab", kept), ["spdx"])["spdx"]
    )
    assert [p["name"] for p in document["packages"]] == [
        "registry.local:5000/team/app",
        "foo-tools",
    ]
    assert [f["fileName"] for f in document["files"]] == ["./usr/bin/foo"]


def test_same_input_same_documents(image) -> None:
    fs, inventory = image
    first = render(make_subject(fs, inventory, REF, "sha256:ab"), ["cyclonedx", "spdx"])
    again = render(make_subject(fs, read_inventory(fs), REF, "sha256:ab"), ["cyclonedx", "spdx"])
    assert first == again
    other = render(make_subject(fs, inventory, REF, "sha256:cd"), ["cyclonedx", "spdx"])
    assert other["cyclonedx"] != first["cyclonedx"]
