"""A zip read front to back while it streams in (local headers, data descriptors, ZIP64,
CRC checks), so a server's zip is unpacked in one pass without landing on disk first.

:class:`ChunkReader` gives exact-size reads over the chunks of a streamed body;
:func:`iter_zip_stream` walks the entries. Entry names come out as the archive spells them:
the caller checks them (:func:`xnat_sdk.archives.safe_relative`).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator

from xnat_sdk.errors import XNATIntegrityError, XNATUnsafeArchiveError

__all__ = ["ChunkReader", "iter_zip_stream"]

CHUNK = 1 << 20
"""Largest piece read or inflated at once."""

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_END_SIGS = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06")


class ChunkReader:
    """Exact-size reads over an iterator of byte chunks (a streamed HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._pos = 0

    def _more(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                rest = self._buf[self._pos :]
                self._buf = rest + chunk if rest else chunk
                self._pos = 0
                return True
        return False

    def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` bytes; raises :class:`EOFError` when the stream ends first."""
        while len(self._buf) - self._pos < n:
            if not self._more():
                raise EOFError(f"the stream ended {n - (len(self._buf) - self._pos)} bytes early")
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def read_upto(self, n: int) -> bytes:
        """``n`` bytes, or fewer only when the stream ends first."""
        while len(self._buf) - self._pos < n and self._more():
            pass
        out = self._buf[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes (at least one unless the stream ended)."""
        if self._pos >= len(self._buf) and not self._more():
            return b""
        out = self._buf[self._pos : self._pos + limit]
        self._pos += len(out)
        return out

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of the stream."""
        if data:
            self._buf = data + self._buf[self._pos :]
            self._pos = 0

    def drain(self) -> None:
        """Consume the rest of the stream."""
        self._buf, self._pos = b"", 0
        for _ in self._chunks:
            pass


def iter_zip_stream(
    reader: ChunkReader, size_of: Callable[[str], int | None]
) -> Iterator[tuple[str, Iterable[bytes]]]:
    """``(entry name, data chunks)`` for each entry of a zip read front to back.

    Consume each entry's chunks before asking for the next. A STORED entry of at most 1 MiB
    whose local header carries its sizes (the usual case) comes as a one-item tuple, its
    CRC-32 already checked. STORED entries written with a data descriptor (sizes unknown in
    the local header) need ``size_of(name)``; CRC-32 and the sizes in the descriptor are
    checked. Raises :class:`XNATIntegrityError` (bad data), :class:`XNATUnsafeArchiveError`
    (encrypted or unsupported entries) or :class:`EOFError` (the stream ended early).
    """
    read = reader.read_exact
    while True:
        header = _local_header(reader)
        if header is None:
            return
        name, flags, method, crc, csize, usize, extra = header
        descriptor = bool(flags & 0x8)
        if method == zipfile.ZIP_STORED and not descriptor and csize <= CHUNK:
            data = read(csize)
            found = zlib.crc32(data)
            if found != crc or csize != usize:
                raise _mismatch(name, csize, found, usize, crc)
            yield name, (data,)
            continue
        zip64 = _zip64_sizes(extra) if extra else None
        if zip64 is not None and (csize == 0xFFFFFFFF or usize == 0xFFFFFFFF):
            csize, usize = zip64
        chunks = _entry_chunks(reader, name, method, csize if not descriptor else None, size_of)
        state = {"crc": 0, "size": 0}
        yield name, _checked(chunks, state)
        if descriptor:
            crc, usize = _descriptor(reader, zip64 is not None)
        if state["crc"] != crc or state["size"] != usize:
            raise _mismatch(name, state["size"], state["crc"], usize, crc)


def _local_header(reader: ChunkReader) -> tuple[str, int, int, int, int, int, bytes] | None:
    """``(name, flags, method, CRC, compressed size, size, extra field)`` of the next local
    header; None at the central directory (the rest of the stream is consumed)."""
    head = reader.read_upto(_LOCAL.size)
    if head[:4] != _LOCAL_SIG:
        if head[:4] in _END_SIGS:
            reader.drain()
            return None
        if len(head) < 4:
            raise EOFError("the zip stream ended before its central directory")
        raise XNATIntegrityError(f"not a zip stream (found {head[:4]!r})")
    if len(head) < _LOCAL.size:
        raise EOFError("the zip stream ended inside a local header")
    fields = _LOCAL.unpack(head)
    flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
    name_len, extra_len = fields[10], fields[11]
    tail = reader.read_exact(name_len + extra_len)
    raw_name = tail[:name_len] if extra_len else tail
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
    if flags & 0x1:
        raise XNATUnsafeArchiveError(name, "encrypted entry")
    return name, flags, method, crc, csize, usize, tail[name_len:]


def _mismatch(name: str, size: int, crc: int, want_size: int, want_crc: int) -> XNATIntegrityError:
    return XNATIntegrityError(
        f"zip entry {name!r}: {size} bytes, CRC {crc:08x}; "
        f"the archive says {want_size} bytes, CRC {want_crc:08x}"
    )


def _zip64_sizes(extra: bytes) -> tuple[int, int] | None:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001 and size >= 16:
            usize, csize = struct.unpack_from("<QQ", extra, pos + 4)
            return csize, usize
        if tag == 0x0001:
            return None
        pos += 4 + size
    return None


def _entry_chunks(
    reader: ChunkReader,
    name: str,
    method: int,
    csize: int | None,
    size_of: Callable[[str], int | None],
) -> Iterator[bytes]:
    """The data of an entry (``csize`` None: the local header has no sizes, a data
    descriptor follows)."""
    if method == zipfile.ZIP_STORED:
        if csize is None:
            csize = size_of(name)
            if csize is None:
                raise XNATIntegrityError(
                    f"zip entry {name!r} has no size in the stream and is not in the "
                    "server's file listing"
                )
        return _stored_chunks(reader, name, csize)
    if method == zipfile.ZIP_DEFLATED:
        return _deflated_chunks(reader, name, csize)
    raise XNATUnsafeArchiveError(name, f"unsupported compression method {method}")


def _descriptor(reader: ChunkReader, zip64: bool) -> tuple[int, int]:
    """``(CRC, size)`` from the data descriptor after an entry (its signature optional)."""
    read = reader.read_exact
    head = read(4)
    if head != _DESCRIPTOR_SIG:
        reader.unread(head)
    crc: int = struct.unpack("<L", read(4))[0]
    width = 8 if zip64 else 4
    read(width)  # compressed size
    return crc, int.from_bytes(read(width), "little")


def _checked(chunks: Iterator[bytes], state: dict[str, int]) -> Iterator[bytes]:
    crc = 0
    size = 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        yield chunk
    state["crc"] = crc
    state["size"] = size


def _stored_chunks(reader: ChunkReader, name: str, size: int) -> Iterator[bytes]:
    left = size
    while left:
        data = reader.read_some(min(left, CHUNK))
        if not data:
            raise EOFError(f"zip entry {name!r}: the stream ended inside the entry")
        left -= len(data)
        yield data


def _deflated_chunks(reader: ChunkReader, name: str, csize: int | None) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15)
    left = csize
    while not inflater.eof:
        want = CHUNK if left is None else min(left, CHUNK)
        data = reader.read_some(want) if want else b""
        if not data:
            raise EOFError(f"zip entry {name!r}: the stream ended inside the entry")
        if left is not None:
            left -= len(data)
        # Bounded output per call: a highly compressed entry never balloons in memory.
        out = inflater.decompress(data, CHUNK)
        while True:
            if out:
                yield out
            if not inflater.unconsumed_tail or inflater.eof:
                break
            out = inflater.decompress(inflater.unconsumed_tail, CHUNK)
    reader.unread(inflater.unused_data)
