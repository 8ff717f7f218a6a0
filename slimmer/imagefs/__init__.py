"""Image sources, the merged-tree index and the in-image path resolver.

``open_image(spec, workdir, engine=None, platform=None) -> ImageFs`` (an engine reference, an
archive file, an OCI layout), ``open_stream(chunks, workdir, platform=None)`` (an archive read
once); see ``ImageFs`` for lookup, resolve, listdir, walk, open and iteration;
``read_layer(fs, index)`` gives one layer's own tree (whiteouts and opaque directories kept).
"""

from slimmer.imagefs.index import ImageFs
from slimmer.imagefs.layers import read_layer
from slimmer.imagefs.model import Entry, EntryType, Platform, Resolution
from slimmer.imagefs.opener import open_image, open_stream

__all__ = [
    "Entry",
    "EntryType",
    "ImageFs",
    "Platform",
    "Resolution",
    "open_image",
    "open_stream",
    "read_layer",
]
