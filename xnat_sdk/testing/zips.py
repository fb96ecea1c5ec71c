"""Streaming ZIP and tar(.gz) archives with constant memory (zip: STORED entries, data
descriptors, ZIP64 when needed), and reading uploaded zip/tar archives for extraction."""

from __future__ import annotations

import io
import re
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "ARCHIVE_SUFFIXES",
    "ZipEntry",
    "archive_members",
    "is_archive_name",
    "sanitize",
    "stream_zip",
]

CHUNK = 1 << 20
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def sanitize(text: str) -> str:
    """Replace every non-word character by ``_`` (XNAT's scan folder names)."""
    return re.sub(r"\W", "_", text)


@dataclass(frozen=True)
class ZipEntry:
    """One member of a streamed zip: its name in the archive and the file on disk."""

    arcname: str
    path: Path


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
    """Yield the bytes of a zip holding ``entries`` (files read in 1 MiB chunks)."""
    sink = _Sink()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(sink, "w", compression=method, allowZip64=True) as zf:
        for entry in entries:
            st = entry.path.stat()
            info = zipfile.ZipInfo(entry.arcname, date_time=time.localtime(st.st_mtime)[:6])
            info.compress_type = method
            info.file_size = st.st_size
            with (
                entry.path.open("rb") as src,
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


def stream_tar(entries: Iterable[ZipEntry], *, gzip: bool = False) -> Iterator[bytes]:
    """Yield the bytes of a tar (``gzip``: tar.gz) holding ``entries``, in constant memory."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None

    def out(data: bytes) -> bytes:
        return comp.compress(data) if comp is not None else data

    for entry in entries:
        st = entry.path.stat()
        info = tarfile.TarInfo(entry.arcname)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        info.mode = 0o644
        yield out(info.tobuf(format=tarfile.PAX_FORMAT))
        with entry.path.open("rb") as src:
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


def is_archive_name(name: str) -> bool:
    """Whether ``name`` ends with a zip/tar/tgz suffix."""
    low = name.lower()
    return any(low.endswith(s) for s in ARCHIVE_SUFFIXES)


def archive_members(path: Path, name: str) -> Iterator[tuple[str, IO[bytes]]]:
    """``(member path, readable stream)`` for every regular file in the archive at ``path``."""
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
