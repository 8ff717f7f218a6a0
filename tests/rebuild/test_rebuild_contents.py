"""Content overrides of the slim layer: replaced files keep their metadata with the new size,
new files get fixed metadata and parents, hardlink groups stay right, output is reproducible."""

from __future__ import annotations

import io
import tarfile

import pytest

from slimmer.imagefs import ImageFs
from slimmer.rebuild import write_layer
from tests.imagefs.crafted import directory, file, hardlink, layer, open_layers, symlink

IMAGE = layer(
    [
        directory("var/lib/dpkg/", 0o755, mtime=300),
        file("var/lib/dpkg/status", b"Package: a\n\nPackage: b\n", 0o640, uid=7, mtime=400),
        file("usr/bin/a", b"shared", 0o755),
        hardlink("usr/bin/b", "usr/bin/a", mode=0o755),
        symlink("usr/bin/sh", "dash"),
    ]
)


@pytest.fixture(scope="module")
def fs(tmp_path_factory) -> ImageFs:
    made = open_layers(tmp_path_factory.mktemp("image"), IMAGE)
    yield made
    made.close()


def members(fs: ImageFs, kept, contents) -> tuple[bytes, dict[str, tarfile.TarInfo], dict]:
    out = io.BytesIO()
    write_layer(fs, kept, out, contents)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        infos = {m.name: m for m in tar.getmembers()}
        data = {n: tar.extractfile(m).read() for n, m in infos.items() if m.isreg()}
    return out.getvalue(), infos, data


def test_replaced_content_keeps_metadata(fs: ImageFs) -> None:
    _, infos, data = members(fs, ["/var/lib/dpkg/status"], {"/var/lib/dpkg/status": b"P: a\n"})
    status = infos["var/lib/dpkg/status"]
    assert (status.mode, status.uid, status.mtime, status.size) == (0o640, 7, 400, 5)
    assert data["var/lib/dpkg/status"] == b"P: a\n"


def test_new_files_get_parents_and_fixed_metadata(fs: ImageFs) -> None:
    _, infos, data = members(fs, ["/usr/bin/a"], {"/usr/share/slimmer/sbom.json": b"{}"})
    added = infos["usr/share/slimmer/sbom.json"]
    assert (added.mode, added.uid, added.gid, added.mtime) == (0o644, 0, 0, 0)
    assert infos["usr/share/slimmer"].isdir() and infos["usr/share/slimmer"].mode == 0o755
    assert infos["usr/share"].isdir()
    assert data["usr/share/slimmer/sbom.json"] == b"{}"


def test_replacing_one_name_of_a_hardlink_group(fs: ImageFs) -> None:
    _, infos, data = members(fs, ["/usr/bin/a", "/usr/bin/b"], {"/usr/bin/a": b"new"})
    assert data["usr/bin/a"] == b"new"
    assert infos["usr/bin/b"].isreg() and data["usr/bin/b"] == b"shared"


def test_same_inputs_same_bytes(fs: ImageFs) -> None:
    kept = ["/var/lib/dpkg/status", "/usr/bin/a"]
    contents = {"/var/lib/dpkg/status": b"x", "/opt/new/file": b"y"}
    assert members(fs, kept, contents)[0] == members(fs, list(reversed(kept)), contents)[0]


@pytest.mark.parametrize("path", ["/usr/bin/sh", "/usr/bin/sh/below", "/var/lib/dpkg"])
def test_content_for_a_non_file_is_refused(fs: ImageFs, path: str) -> None:
    with pytest.raises(ValueError):
        write_layer(fs, ["/usr/bin/a"], io.BytesIO(), {path: b"x"})
