"""Fuzzing the tar reader and the layer indexer: any bytes give members or a TarError; any layer
gives an index or an ImageFormatError, within bounded memory; and whatever is indexed can be
read, resolved and written back by the rebuild, and reads back the same."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from slimmer.imagefs import EntryType, ImageFs
from slimmer.imagefs.layer import LayerBlob, ingest
from slimmer.imagefs.merge import merge
from slimmer.imagefs.tarstream import TarError, TarReader
from slimmer.rebuild import write_layer
from tests.fuzz.budget import own_error_or_result
from tests.imagefs.crafted import compress, pax_record

MAX_LAYER = 1 << 20

NAMES = st.one_of(
    st.sampled_from(
        [
            b"a",
            b"a/b",
            b"./d/",
            b"/abs/f",
            b"../up",
            b"a/../../x",
            b"d/.wh.a",
            b".wh.a",
            b"d/.wh..wh..opq",
            b".wh..wh.plnk/1",
            b"",
            b".",
            b"./",
            b"caf\xe9",
            b"d/" * 40 + b"f",
            b"l",
            b"d/f",
            b"d/e/",
            b"usr/bin/x",
        ]
    ),
    st.text("abd/.", max_size=12).map(str.encode),
    st.binary(max_size=110),
)
# mostly well-formed values, so that most layers get indexed; sometimes anything
RARE = st.sampled_from([False] * 9 + [True])  # about one draw in ten
SOMETIMES = st.sampled_from([False, False, True])
TYPEFLAGS = st.sampled_from(list(b"0000055522211346\x007xgLKVSZ")).map(lambda c: bytes([c]))


def number_field(draw: st.DrawFn, width: int) -> bytes:
    """A numeric header field: mostly octal, sometimes base-256 (any 64-bit value), rarely
    junk."""
    roll = draw(st.sampled_from(["octal"] * 8 + ["base-256", "junk"]))
    if roll == "octal":
        return b"%0*o\0" % (width - 1, draw(st.integers(0, 8 ** (width - 1) - 1)))
    if roll == "base-256":
        value = draw(st.integers(-(1 << 63), (1 << 63) - 1)) % (1 << (8 * width - 1))
        return (value | 1 << (8 * width - 1)).to_bytes(width, "big")
    return draw(st.binary(min_size=width, max_size=width))


PAX_KEYS = st.one_of(
    st.sampled_from(
        [
            b"path",
            b"linkpath",
            b"uid",
            b"gid",
            b"mtime",
            b"size",
            b"uname",
            b"gname",
            b"SCHILY.xattr.user.a",
            b"SCHILY.xattr.security.capability",
            b"SCHILY.xattr.",
            b"SCHILY.xattr.a\0b",
            b"LIBARCHIVE.xattr.user.a%3Db",
            b"GNU.sparse.major",
            b"comment",
        ]
    ),
    st.binary(min_size=1, max_size=20).filter(lambda k: b"=" not in k),
)
PAX_VALUES = st.one_of(
    st.integers(-(1 << 70), 1 << 70).map(lambda n: str(n).encode()),
    st.sampled_from([b"", b"1.5", b"-1.25", b"9" * 400, b"1e9", b"nan", b"inf", b"a\0b"]),
    st.binary(max_size=40),
    NAMES,
)


def header(
    name: bytes,
    typeflag: bytes,
    size: int,
    mode: bytes,
    uid: bytes,
    mtime: bytes,
    linkname: bytes,
    device: bytes,
    checksum_ok: bool,
) -> bytes:
    block = bytearray(512)
    block[0:100] = name[:100].ljust(100, b"\0")
    block[100:108] = mode.ljust(8, b"\0")[:8]
    block[108:116] = uid.ljust(8, b"\0")[:8]
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = mtime.ljust(12, b"\0")[:12]
    block[156:157] = typeflag
    block[157:257] = linkname[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[329:337] = device.ljust(8, b"\0")[:8]
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % (sum(block) + (0 if checksum_ok else 1))
    return bytes(block)


@st.composite
def members(draw: st.DrawFn) -> bytes:
    """One member: maybe an extended header before it, a header with odd fields, its data."""
    out = b""
    if draw(SOMETIMES):
        records = b"".join(
            pax_record(k, v) for k, v in draw(st.lists(st.tuples(PAX_KEYS, PAX_VALUES), max_size=4))
        )
        kind = draw(st.sampled_from([b"x", b"g"]))
        out += header(
            b"PaxHeader", kind, len(records), b"0000644\0", b"0\0", b"0\0", b"", b"", True
        )
        out += records + bytes(-len(records) % 512)
    data = draw(st.binary(max_size=600))
    size = draw(st.integers(0, 2000)) if draw(RARE) else len(data)
    typeflag = draw(TYPEFLAGS)
    out += header(
        draw(NAMES),
        typeflag,
        size,
        number_field(draw, 8),
        number_field(draw, 8),
        number_field(draw, 12),
        draw(NAMES),
        number_field(draw, 8),
        not draw(RARE),  # mostly a valid checksum
    )
    return out + data + bytes(-len(data) % 512)


@st.composite
def tars(draw: st.DrawFn) -> bytes:
    """A tar of crafted members, maybe ended, maybe followed by junk, maybe cut short or
    damaged at one byte."""
    body = b"".join(draw(st.lists(members(), max_size=8)))
    if not draw(RARE):
        body += bytes(1024)
    if draw(RARE):
        body += draw(st.sampled_from([b"junk", bytes(5000), b"\x01" * 700]))
    if body and draw(RARE):
        cut = draw(st.integers(0, len(body)))
        body = body[:cut]
    if body and draw(RARE):
        spot = draw(st.integers(0, len(body) - 1))
        body = body[:spot] + bytes([body[spot] ^ draw(st.integers(1, 255))]) + body[spot + 1 :]
    return body


@given(st.binary(max_size=3000))
def test_any_bytes_give_members_or_a_tar_error(data: bytes) -> None:
    def read() -> list:
        try:
            return list(TarReader(io.BytesIO(data)))
        except TarError as exc:
            assert exc.message and exc.where()
            return []

    own_error_or_result(read)


def _index_layer(data: bytes, work: Path) -> tuple[ImageFs, LayerBlob]:
    source = work / "layer.blob"
    source.write_bytes(data)
    with open(source, "rb") as handle:
        blob = ingest(handle, "fuzz", work / "spool", (source, 0), max_bytes=MAX_LAYER)
    fs = ImageFs(
        config={"architecture": "amd64", "os": "linux"},
        digest="",
        layers=[blob.path],
        layer_offsets=[blob.start],
        layer_sizes=[blob.size],
        diff_ids=[blob.diff_id],
        tree=merge([blob.diff]),
    )
    return fs, blob


def _use(fs: ImageFs) -> list[str]:
    """Everything a caller may do with an index; the paths, in order."""
    paths = []
    for entry in fs:
        paths.append(entry.path)
        assert fs.lookup(entry.path) is entry
        fs.resolve(entry.path)
        fs.resolve(entry.path + "/../x/..", follow_last=False)
        fs.listdir(entry.path)
        if entry.type in (EntryType.FILE, EntryType.HARDLINK):
            with fs.open(entry) as handle:
                assert len(handle.read()) == entry.size
    assert [e.path for e in fs.walk("/")] == paths
    return paths


def _shape(fs: ImageFs) -> list[tuple]:
    return [
        (e.path, e.type, e.mode, e.uid, e.gid, e.size, e.linkname, e.xattrs, round(e.mtime, 3))
        for e in fs
    ]


@given(tars(), st.sampled_from(["tar", "gzip", "zstd"]))
def test_any_layer_indexes_or_is_refused_and_writes_back_as_read(data: bytes, kind: str) -> None:
    with tempfile.TemporaryDirectory(prefix="slimmer-fuzz-") as temporary:
        work = Path(temporary)

        def index_and_rewrite() -> None:
            fs, _ = _index_layer(compress(data, kind), work)
            paths = _use(fs)
            rewritten = io.BytesIO()
            write_layer(fs, paths, rewritten)  # the writer takes whatever the reader kept
            again_dir = work / "again"
            again_dir.mkdir()
            again, _ = _index_layer(rewritten.getvalue(), again_dir)
            assert _shape(again) == _shape(fs)

        outcome = own_error_or_result(index_and_rewrite)
        reason = ascii(outcome.message.rpartition(": ")[2][:24]) if outcome is not None else ""
        event(f"refused: {reason}" if outcome is not None else "indexed and written back")
