"""imagefs.read_layer: a layer's own tree read again from its tar equals the one kept while
indexing (open_image(keep_layers=True)): whiteouts, opaque directories, offsets that open the
content of a file a later layer deletes. No engine: a docker-archive written here."""

from __future__ import annotations

from pathlib import Path

from fixtures.layers import docker_archive, file, hardlink, opaque, whiteout
from slimmer.imagefs import open_image, read_layer


def _archive(path: Path) -> Path:
    layers = [
        [file("etc/secret.env", "TOKEN=1\n"), file("opt/d/a", "a"), file("opt/d/b", "b"),
         hardlink("opt/d/c", "opt/d/b")],
        [whiteout("etc/secret.env"), opaque("opt/d"), file("opt/d/new", "new")],
    ]
    with open(path, "wb") as out:
        docker_archive(layers, {"Cmd": ["/x"]}, "layers:latest", out, "amd64")
    return path


def _view(diff) -> tuple:
    entries = {p: None if e is None else (e.type, e.size, e.offset, e.layer, e.mode)
               for p, e in diff.tree.entries.items()}
    return entries, diff.opaque


def test_read_again_equals_kept(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "image.tar")
    with open_image(archive, tmp_path) as plain, \
            open_image(archive, tmp_path, keep_layers=True) as kept:
        assert plain.layer_diffs is None and kept.layer_diffs is not None
        for index in range(2):
            assert _view(read_layer(plain, index)) == _view(read_layer(kept, index))
        second = read_layer(plain, 1)
        assert second.tree.entries["/etc/secret.env"] is None and second.opaque == {"/opt/d"}
        deleted = read_layer(plain, 0).tree.entries["/etc/secret.env"]
        with plain.open(deleted) as stream:
            assert stream.read() == b"TOKEN=1\n"  # still readable from layer 0
        assert plain.lookup("/etc/secret.env") is None
