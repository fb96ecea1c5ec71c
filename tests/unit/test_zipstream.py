"""The streaming zip reader: zips written by :mod:`zipfile` (stored and deflated, sizes in
the local header or in data descriptors, ZIP64 extras), fed in chunks cut at random
boundaries, come out entry by entry; truncated or damaged input raises."""

from __future__ import annotations

import io
import itertools
import random
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xnat_sdk.errors import XNATIntegrityError, XNATUnsafeArchiveError
from xnat_sdk.transfers._zipstream import CHUNK, ChunkReader, iter_zip_stream

Entry = tuple[str, bytes, int]


class _Unseekable(io.RawIOBase):
    """A write-only sink: zipfile then writes data descriptors after each entry."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b)  # type: ignore[arg-type]
        self.data += view
        return view.nbytes


def _make_zip(entries: Iterable[Entry], *, descriptors: bool, zip64: bool = False) -> bytes:
    sink: io.BytesIO | _Unseekable = _Unseekable() if descriptors else io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            info.compress_type = method
            if name.endswith("/"):
                archive.writestr(info, b"")
                continue
            with archive.open(info, "w", force_zip64=zip64) as out:
                out.write(data)
    return bytes(sink.data) if isinstance(sink, _Unseekable) else sink.getvalue()


def _central_directory_offset(blob: bytes) -> int:
    signature, *_, offset, comment = struct.unpack("<4s4H2LH", blob[-22:])
    assert signature == b"PK\x05\x06" and comment == 0
    return int(offset)


def _cut(blob: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``blob`` in pieces cut at ``cuts`` (empty pieces kept: the reader skips them)."""
    bounds = [0, *sorted(cuts), len(blob)]
    return [blob[a:b] for a, b in itertools.pairwise(bounds)]


def _read_all(
    chunks: Iterable[bytes], size_of: Callable[[str], int | None] = lambda name: None
) -> list[tuple[str, bytes]]:
    source = iter(chunks)
    found = [(name, b"".join(data)) for name, data in iter_zip_stream(ChunkReader(source), size_of)]
    assert next(source, None) is None, "the rest of the stream (central directory) was read"
    return found


_names = st.lists(
    st.from_regex(r"[a-z0-9\u00e9]{1,8}(/[a-z0-9]{1,6}){0,2}", fullmatch=True),
    min_size=1,
    max_size=6,
    unique=True,
)
_methods = st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])


@st.composite
def _entries(draw: st.DrawFn) -> list[Entry]:
    """Files with small data (some compressible), now and then one over ``CHUNK`` bytes
    (read in pieces rather than whole), and a folder entry."""
    entries: list[Entry] = []
    for name in draw(_names):
        data = draw(st.binary(max_size=300) | st.builds(lambda n: b"xy" * n, st.integers(0, 3000)))
        entries.append((name, data, draw(_methods)))
    if draw(st.booleans()):
        big = random.Random(draw(st.integers(0, 99))).randbytes(CHUNK + draw(st.integers(1, 999)))
        entries.append(("big/blob.bin", big, draw(_methods)))
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), ("folder/", b"", zipfile.ZIP_STORED))
    return entries


@settings(max_examples=60, deadline=None)
@given(entries=_entries(), descriptors=st.booleans(), zip64=st.booleans(), data=st.data())
def test_entries_come_out_whole_whatever_the_chunking(
    entries: list[Entry], descriptors: bool, zip64: bool, data: st.DataObject
) -> None:
    blob = _make_zip(entries, descriptors=descriptors, zip64=zip64)
    cuts = data.draw(st.lists(st.integers(0, len(blob)), max_size=40), label="cuts")
    sizes = {name: len(content) for name, content, _ in entries}
    found = _read_all(_cut(blob, cuts), sizes.get)
    assert found == [(name, content) for name, content, _ in entries]


@settings(max_examples=60, deadline=None)
@given(entries=_entries(), descriptors=st.booleans(), data=st.data())
def test_a_zip_cut_before_its_central_directory_ends_early(
    entries: list[Entry], descriptors: bool, data: st.DataObject
) -> None:
    blob = _make_zip(entries, descriptors=descriptors)
    end = data.draw(st.integers(0, _central_directory_offset(blob) - 1), label="end")
    cuts = data.draw(st.lists(st.integers(0, end), max_size=10), label="cuts")
    sizes = {name: len(content) for name, content, _ in entries}
    with pytest.raises(EOFError):
        _read_all(_cut(blob[:end], cuts), sizes.get)


def test_small_stored_entries_come_as_one_piece_checked() -> None:
    blob = _make_zip([("a.txt", b"hello", zipfile.ZIP_STORED)], descriptors=False)
    reader = ChunkReader(iter([blob]))
    ((name, data),) = list(iter_zip_stream(reader, lambda name: None))
    assert name == "a.txt"
    assert data == (b"hello",)


def test_a_stored_entry_with_a_descriptor_needs_its_size_from_the_listing() -> None:
    blob = _make_zip([("a.bin", b"12345", zipfile.ZIP_STORED)], descriptors=True)
    with pytest.raises(XNATIntegrityError, match="no size in the stream"):
        _read_all([blob])
    assert _read_all([blob], {"a.bin": 5}.get) == [("a.bin", b"12345")]


def test_a_wrong_size_from_the_listing_fails_the_check() -> None:
    blob = _make_zip(
        [("a.bin", b"12345", zipfile.ZIP_STORED), ("b", b"", zipfile.ZIP_STORED)],
        descriptors=True,
    )
    with pytest.raises(XNATIntegrityError, match=r"zip entry 'a\.bin': 4 bytes"):
        _read_all([blob], {"a.bin": 4, "b": 0}.get)


@pytest.mark.parametrize("descriptors", [False, True])
def test_damaged_stored_data_fails_the_crc(descriptors: bool) -> None:
    data = b"the quick brown fox"
    blob = bytearray(_make_zip([("f", data, zipfile.ZIP_STORED)], descriptors=descriptors))
    at = blob.index(data)
    blob[at] ^= 0xFF
    with pytest.raises(XNATIntegrityError, match="CRC"):
        _read_all([bytes(blob)], {"f": len(data)}.get)


def test_not_a_zip() -> None:
    with pytest.raises(XNATIntegrityError, match="not a zip stream"):
        _read_all([b"<html>login</html>" * 3])


def test_an_empty_stream_ends_early() -> None:
    with pytest.raises(EOFError):
        _read_all([])


def test_an_encrypted_entry_is_refused() -> None:
    blob = bytearray(_make_zip([("secret", b"x", zipfile.ZIP_STORED)], descriptors=False))
    blob[6] |= 0x1  # general purpose flags of the first local header: encrypted
    with pytest.raises(XNATUnsafeArchiveError, match="encrypted"):
        _read_all([bytes(blob)])


def test_an_unsupported_method_is_refused() -> None:
    blob = _make_zip([("b.bz2", b"data" * 10, zipfile.ZIP_BZIP2)], descriptors=False)
    with pytest.raises(XNATUnsafeArchiveError, match="unsupported compression method 12"):
        _read_all([blob])


# -- ChunkReader against a plain model ------------------------------------------------------

_ops = st.lists(
    st.tuples(st.sampled_from(["exact", "upto", "some", "unread"]), st.integers(0, 40)),
    max_size=30,
)


@given(blob=st.binary(max_size=200), ops=_ops, data=st.data())
def test_chunk_reader_reads_like_a_flat_buffer(
    blob: bytes, ops: list[tuple[str, int]], data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(blob)), max_size=20), label="cuts")
    reader = ChunkReader(iter(_cut(blob, cuts)))
    pos = 0
    last = b""
    for kind, n in ops:
        left = blob[pos:]
        if kind == "exact":
            if n > len(left):
                with pytest.raises(EOFError):
                    reader.read_exact(n)
                return  # the reader's buffer after a short read is not specified
            last = reader.read_exact(n)
            assert last == left[:n]
        elif kind == "upto":
            last = reader.read_upto(n)
            assert last == left[:n]
        elif kind == "some":
            limit = max(n, 1)
            last = reader.read_some(limit)
            assert left[: len(last)] == last
            assert bool(last) == bool(left)
            assert len(last) <= limit
        else:
            reader.unread(last)
            pos -= len(last)
            last = b""
            continue
        pos += len(last)
    assert reader.read_upto(len(blob) + 1) == blob[pos:]


def _pieces(blob: bytes) -> Iterator[bytes]:
    yield from (blob[i : i + 3] for i in range(0, len(blob), 3))


def test_drain_consumes_the_rest() -> None:
    source = _pieces(b"0123456789")
    reader = ChunkReader(source)
    assert reader.read_exact(4) == b"0123"
    reader.drain()
    assert next(source, None) is None
    assert reader.read_some(5) == b""
