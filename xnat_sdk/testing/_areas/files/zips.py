"""Streaming zip and tar(.gz) files with constant memory (zip: STORED entries, data
descriptors, ZIP64 when needed), and reading uploaded zip/tar files for extraction."""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import tarfile
import time
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "EXTRACTABLE_SUFFIXES",
    "ZipEntry",
    "is_extractable",
    "members_of",
    "sanitize",
    "stream_tar",
    "stream_zip",
]

CHUNK = 1 << 20
EXTRACTABLE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def sanitize(text: str) -> str:
    """Replace every non-word character by ``_`` (XNAT's scan folder names)."""
    return re.sub(r"\W", "_", text)


@dataclass(frozen=True)
class ZipEntry:
    """One member of a streamed zip: its name in the archive and the file on disk
    (``size``/``mtime``: what the store knows, saving a ``stat`` per file)."""

    arcname: str
    path: Path | str
    size: int | None = None
    mtime: float | None = None


class _Sink(io.RawIOBase):
    """A write-only, non-seekable buffer that the zip writer fills and we drain."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def stream_zip(entries: Iterable[ZipEntry], *, compress: bool = False) -> Iterator[bytes]:
    """Yield the bytes of a zip holding ``entries`` (files read in 1 MiB chunks).

    STORED (XNAT's default): files up to 1 MiB are read whole, so their local header
    carries CRC and sizes (no data descriptor, like XNAT's Java writer); larger files stream
    with a data descriptor. Output comes in pieces of about 256 KiB, not one per file.
    """
    if not compress:
        yield from _stream_stored(entries)
        return
    sink = _Sink()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(sink, "w", compression=method, allowZip64=True) as zf:
        for entry in entries:
            st = os.stat(entry.path)
            info = zipfile.ZipInfo(entry.arcname, date_time=time.localtime(st.st_mtime)[:6])
            info.compress_type = method
            info.file_size = st.st_size
            with (
                open(entry.path, "rb") as src,
                zf.open(info, "w", force_zip64=st.st_size > (1 << 31)) as dst,
            ):
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    dst.write(chunk)
                    data = sink.drain()
                    if data:
                        yield data
            data = sink.drain()
            if data:
                yield data
    data = sink.drain()
    if data:
        yield data


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_FLUSH = 256 << 10
_FIRST_FLUSH = 32 << 10
_WHOLE = 1 << 20  # files up to this size are read whole (CRC known before the header)
_MAX32 = 0xFFFFFFFF


def _dos_time(mtime: float) -> tuple[int, int]:
    t = time.localtime(mtime)
    if t.tm_year < 1980:
        return 0, (0 << 9) | (1 << 5) | 1
    dostime = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dosdate = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dostime, dosdate


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read_small(path: Path | str, expected: int) -> bytes | None:
    """The whole file when it is at most 1 MiB (else None: it is streamed). ``expected``
    is the size the store knows: asking for one byte more, a read returning exactly that
    size has met the end of the file, so a single read usually suffices."""
    fd = os.open(path, _READ_FLAGS)
    try:
        first = os.read(fd, expected + 1)
        if len(first) == expected:
            return first
        parts = [first]
        got = len(first)
        while got <= _WHOLE:
            piece = os.read(fd, _WHOLE + 1 - got)
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
    finally:
        os.close(fd)
    return None if got > _WHOLE else b"".join(parts)


def _stream_stored(entries: Iterable[ZipEntry]) -> Iterator[bytes]:
    """A STORED zip written by hand (see :func:`stream_zip`)."""
    z = _StoredZip()
    for entry in entries:
        raw = entry.arcname.encode("utf-8")
        flags = 0x800 if not entry.arcname.isascii() else 0
        data, file_size, mtime = _entry_source(entry)
        dostime, dosdate = z.dos_time(mtime)
        start = z.offset
        if file_size <= _WHOLE:
            crc, size = z.add_whole(entry, raw, flags, (dostime, dosdate), data)
            zip64 = False
        else:
            flags |= 0x08
            crc, size, zip64 = yield from z.add_streamed(
                entry, raw, flags, (dostime, dosdate), file_size
            )
        z.central.append(_central_record(raw, flags, (dostime, dosdate), crc, size, start, zip64))
        if z.pending >= z.flush_at:
            yield b"".join(z.out)
            z.out, z.pending, z.flush_at = [], 0, _FLUSH
    yield z.finish()


def _entry_source(entry: ZipEntry) -> tuple[bytes | None, int, float]:
    """``(bytes when read whole already, size, mtime)``: small files the store knows are
    read at once (no ``stat``), others are ``stat``-ed."""
    if entry.size is not None and entry.mtime is not None and entry.size <= _WHOLE:
        data = _read_small(entry.path, entry.size)
        return data, (len(data) if data is not None else _WHOLE + 1), entry.mtime
    st = os.stat(entry.path)
    return None, st.st_size, st.st_mtime


class _StoredZip:
    """A STORED zip being written: pending output, offsets and central directory records."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.pending = 0
        # a small first piece: the client starts while the rest is made
        self.flush_at = _FIRST_FLUSH
        self.offset = 0
        self.central: list[bytes] = []
        self._times: dict[int, tuple[int, int]] = {}

    def dos_time(self, mtime: float) -> tuple[int, int]:
        """``(dostime, dosdate)`` of ``mtime`` (computed once per second of time)."""
        second = int(mtime)
        found = self._times.get(second)
        if found is None:
            found = self._times[second] = _dos_time(second)
        return found

    def add_whole(
        self,
        entry: ZipEntry,
        raw: bytes,
        flags: int,
        when: tuple[int, int],
        data: bytes | None,
    ) -> tuple[int, int]:
        """A small file: header with CRC and sizes, then its bytes. Returns ``(crc, size)``."""
        if data is None:
            with open(entry.path, "rb") as src:
                data = src.read()
        size = len(data)
        crc = zlib.crc32(data)
        header = _LOCAL_HEADER.pack(
            b"PK\x03\x04", 20, flags, 0, when[0], when[1], crc, size, size, len(raw), 0
        )
        self.out += (header, raw, data)
        added = len(header) + len(raw) + size
        self.offset += added
        self.pending += added
        return crc, size

    def add_streamed(
        self,
        entry: ZipEntry,
        raw: bytes,
        flags: int,
        when: tuple[int, int],
        file_size: int,
    ) -> Generator[bytes, None, tuple[int, int, bool]]:
        """A large file: header, the file in chunks, a data descriptor (ZIP64 when big).
        Returns ``(crc, size, zip64)``."""
        zip64 = file_size > (1 << 31)
        extra = struct.pack("<2H2Q", 1, 16, 0, 0) if zip64 else b""
        marker = _MAX32 if zip64 else 0
        header = _LOCAL_HEADER.pack(
            b"PK\x03\x04",
            45 if zip64 else 20,
            flags,
            0,
            when[0],
            when[1],
            0,
            marker,
            marker,
            len(raw),
            len(extra),
        )
        self.out += (header, raw, extra)
        self.offset += len(header) + len(raw) + len(extra)
        if self.out:
            yield b"".join(self.out)
            self.out, self.pending = [], 0
        crc = 0
        size = 0
        with open(entry.path, "rb") as src:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                yield chunk
        self.offset += size
        zip64 = zip64 or size > _MAX32
        if zip64:
            descriptor = struct.pack("<4sL2Q", b"PK\x07\x08", crc, size, size)
        else:
            descriptor = struct.pack("<4s3L", b"PK\x07\x08", crc, size, size)
        self.out.append(descriptor)
        self.offset += len(descriptor)
        self.pending += len(descriptor)
        return crc, size, zip64

    def finish(self) -> bytes:
        """The pending output, the central directory and the end records (ZIP64 when needed)."""
        out = self.out
        cd_start = self.offset
        cd = b"".join(self.central)
        out.append(cd)
        count = len(self.central)
        if count > 0xFFFF or cd_start > _MAX32 or len(cd) > _MAX32:
            z64 = cd_start + len(cd)
            out.append(
                _ZIP64_END.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(cd), cd_start)
            )
            out.append(_ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, z64, 1))
        out.append(
            _END.pack(
                b"PK\x05\x06",
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                min(len(cd), _MAX32),
                min(cd_start, _MAX32),
                0,
            )
        )
        return b"".join(out)


def _central_record(
    raw: bytes,
    flags: int,
    when: tuple[int, int],
    crc: int,
    size: int,
    start: int,
    zip64: bool,
) -> bytes:
    """The central directory record of one entry (ZIP64 extra field when big)."""
    big = size > _MAX32 or start > _MAX32
    extra64 = b""
    if big:
        values = ([size, size] if size > _MAX32 else []) + ([start] if start > _MAX32 else [])
        extra64 = struct.pack(f"<2H{len(values)}Q", 1, 8 * len(values), *values)
    return (
        _CENTRAL_HEADER.pack(
            b"PK\x01\x02",
            (3 << 8) | (45 if big or zip64 else 20),
            45 if big or zip64 else 20,
            flags,
            0,
            when[0],
            when[1],
            crc,
            _MAX32 if size > _MAX32 else size,
            _MAX32 if size > _MAX32 else size,
            len(raw),
            len(extra64),
            0,
            0,
            0,
            (stat.S_IFREG | 0o644) << 16,
            _MAX32 if start > _MAX32 else start,
        )
        + raw
        + extra64
    )


def stream_tar(entries: Iterable[ZipEntry], *, gzip: bool = False) -> Iterator[bytes]:
    """Yield the bytes of a tar (``gzip``: tar.gz) holding ``entries``, in constant memory."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None

    def out(data: bytes) -> bytes:
        return comp.compress(data) if comp is not None else data

    for entry in entries:
        st = os.stat(entry.path)
        info = tarfile.TarInfo(entry.arcname)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        info.mode = 0o644
        yield out(info.tobuf(format=tarfile.PAX_FORMAT))
        with open(entry.path, "rb") as src:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                piece = out(chunk)
                if piece:
                    yield piece
        pad = (-st.st_size) % tarfile.BLOCKSIZE
        if pad:
            yield out(b"\0" * pad)
    tail = out(b"\0" * (tarfile.BLOCKSIZE * 2))
    if comp is not None:
        tail += comp.flush()
    yield tail


def is_extractable(name: str) -> bool:
    """Whether ``name`` ends with a zip/tar/tgz suffix."""
    low = name.lower()
    return any(low.endswith(s) for s in EXTRACTABLE_SUFFIXES)


def members_of(path: Path, name: str) -> Iterator[tuple[str, IO[bytes]]]:
    """``(member path, readable stream)`` for every regular file in the zip/tar at ``path``."""
    low = name.lower()
    if low.endswith(".zip") or zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                with zf.open(info) as member:
                    yield info.filename, member
        return
    with tarfile.open(path, "r:*") as tf:
        for ti in tf:
            if not ti.isfile():
                continue
            f = tf.extractfile(ti)
            if f is None:
                continue
            with f:
                yield ti.name, f
