"""Layer-level access for tools that look at each layer on its own (xray, diff): a layer's own
tree read again from its tar (headers only, data skipped by seeking)."""

from __future__ import annotations

from slimmer.errors import ImageFormatError
from slimmer.imagefs.index import ImageFs
from slimmer.imagefs.layer import LayerDiff, layer_error, read_diff
from slimmer.imagefs.streams import Region
from slimmer.imagefs.tarstream import TarError, TarReader


def read_layer(fs: ImageFs, index: int) -> LayerDiff:
    """Layer ``index`` of ``fs`` as its own tree: whiteouts are entries of None, opaque
    directories listed, every entry's ``layer`` set to ``index`` (so ``fs.open`` reads the
    content of a file of this layer, also one that later layers replace or delete). Kept
    from indexing when the image was opened with ``keep_layers=True``, else read again."""
    if not 0 <= index < len(fs.layers):
        raise IndexError(f"the image has {len(fs.layers)} layers, not {index + 1}")
    if fs.layer_diffs is not None:
        return fs.layer_diffs[index]
    size = fs.layer_sizes[index]
    with Region(fs.layers[index], fs.layer_offsets[index], size) as region:
        try:
            diff = read_diff(TarReader(region, size=size))
        except TarError as exc:
            raise layer_error(f"{index} ({fs.diff_ids[index]})", exc) from None
        except OSError as exc:
            raise ImageFormatError(f"cannot read layer {index}: {exc}", "") from None
    for entry in diff.tree.entries.values():
        if entry is not None:
            entry.layer = index
    return diff
