"""Safe archive handling for transfers.

* :func:`check_zip` / :func:`extract_zip`: extraction that refuses, before writing anything,
  every entry that would land outside the target folder (absolute paths, drive letters,
  ``..`` segments, symbolic links); each file is written to a temporary name and renamed
  when complete.
* :func:`check_tar`: the same checks for tar archives (links and devices refused too).
* :func:`write_tar`: a tar (optionally gzipped) of a folder's regular files, for
  ``resource.upload_dir``.
* :class:`ChunkReader` / :func:`iter_zip_stream`: a zip read front to back while it
  streams in (local headers, data descriptors, ZIP64, CRC checks), so a server's zip is
  unpacked in one pass without landing on disk first.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from xnat_sdk.errors import (
    XNATFileExistsError,
    XNATIntegrityError,
    XNATLocalFileError,
    XNATUnsafeArchiveError,
)

__all__ = [
    "ChunkReader",
    "check_tar",
    "check_zip",
    "extract_zip",
    "iter_files",
    "iter_zip_stream",
    "safe_join",
    "safe_member_path",
    "safe_relative",
    "write_tar",
]

CHUNK = 1 << 20


def safe_relative(name: str) -> str:
    """The normalised relative POSIX path of an archive entry; raises
    :class:`XNATUnsafeArchiveError` when it is absolute, has a drive letter or
    backslashes, or climbs with ``..``."""
    # The usual name (no empty, "." or ".." parts inside) needs only these checks.
    usual = "/." not in name and "//" not in name and "\\" not in name and "\x00" not in name
    if usual and name and name[0] not in "/." and name[-1] != "/" and name[1:2] != ":":
        return name
    if not name or "\x00" in name:
        raise XNATUnsafeArchiveError(name, "empty name or NUL character")
    if name[0] in "/\\":
        raise XNATUnsafeArchiveError(name, "absolute path")
    if "\\" in name:
        raise XNATUnsafeArchiveError(name, "backslash in the path")
    if len(name) >= 2 and name[1] == ":":
        raise XNATUnsafeArchiveError(name, "drive letter")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise XNATUnsafeArchiveError(name, "'..' escapes the target folder")
    if not parts:
        raise XNATUnsafeArchiveError(name, "names no file")
    return "/".join(parts)


def safe_member_path(name: str) -> PurePosixPath:
    """:func:`safe_relative` as a :class:`~pathlib.PurePosixPath`."""
    return PurePosixPath(safe_relative(name))


def names_root(name: str) -> bool:
    """Whether an archive folder entry names the archive's root itself (``""``, ``./``):
    such entries are skipped; every other name goes through :func:`safe_relative`."""
    return all(part in ("", ".") for part in name.split("/"))


def safe_join(root: Path, name: str) -> Path:
    """``root`` joined with a server-provided relative path (a file name from a listing),
    checked as an archive entry is: :func:`safe_relative`, and no symlinked folder of
    ``root`` may lead outside it."""
    return _inside(root, safe_member_path(name))


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def check_zip(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry of ``archive`` with its safe relative path (directories skipped);
    raises :class:`XNATUnsafeArchiveError` naming the first bad entry."""
    found: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in archive.infolist():
        if info.is_dir() and names_root(info.filename):
            continue
        rel = safe_member_path(info.filename)
        if _zip_is_link(info):
            raise XNATUnsafeArchiveError(info.filename, "symbolic link")
        if info.is_dir():
            continue
        found.append((info, rel))
    return found


def check_tar(archive: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """Every regular file of a tar archive with its safe relative path; raises
    :class:`XNATUnsafeArchiveError` for escaping names, links and device entries."""
    found: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
    for info in archive.getmembers():
        if info.isdir():
            if not names_root(info.name):
                safe_member_path(info.name)
            continue
        rel = safe_member_path(info.name)
        if info.issym() or info.islnk():
            raise XNATUnsafeArchiveError(info.name, "link entry")
        if not info.isfile():
            raise XNATUnsafeArchiveError(info.name, "not a regular file")
        found.append((info, rel))
    return found


def _inside(root: Path, rel: PurePosixPath) -> Path:
    target = root.joinpath(*rel.parts)
    resolved_root = root.resolve()
    parent = target.parent.resolve()
    if parent != resolved_root and resolved_root not in parent.parents:
        raise XNATUnsafeArchiveError(str(rel), "resolves outside the target folder (symlink)")
    return target


def extract_zip(
    source: str | os.PathLike[str] | IO[bytes],
    target_dir: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> list[Path]:
    """Extract a zip into ``target_dir`` safely; returns the written files.

    Every entry is checked first (nothing is written if one is unsafe); with
    ``overwrite=False`` an existing file raises :class:`XNATFileExistsError` before writing.
    Entry CRCs are verified by :mod:`zipfile` while reading.
    """
    from xnat_sdk.transfers import temp_beside

    root = Path(target_dir)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(source) as archive:
        entries = check_zip(archive)
        targets = [(info, _inside(root, rel)) for info, rel in entries]
        if not overwrite:
            for _, target in targets:
                if target.exists():
                    raise XNATFileExistsError(f"{target} exists (overwrite=False)")
        tmp: Path | None = None
        try:
            for info, target in targets:
                target.parent.mkdir(parents=True, exist_ok=True)
                _inside(root, PurePosixPath(target.relative_to(root).as_posix()))
                fd, tmp = temp_beside(target)
                with archive.open(info) as src, os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                os.replace(tmp, target)
                tmp = None
                written.append(target)
        except BaseException:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise
    return written


def iter_files(directory: Path) -> Iterator[tuple[Path, str]]:
    """Regular files below ``directory`` (symlinks not followed) with their POSIX relative
    paths, sorted; the temporary files and staging folders of transfers (partial files)
    are left out."""
    from xnat_sdk.transfers import temp_owner

    def walk(folder: str, prefix: str) -> Iterator[tuple[Path, str]]:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
        for entry in entries:
            if entry.name[0] == "." and temp_owner(entry.name) is not None:
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path), prefix + entry.name

    yield from walk(str(directory), "")


_BLOCK = 512
_RECORD = 20 * _BLOCK
_SAMPLE = 256 << 10


def _ustar_header(rel: bytes, size: int, mtime: int, mode: int) -> bytes | None:
    """A plain ustar header, or None when the entry needs tarfile's PAX form (long or
    non-ASCII name, huge size or odd time)."""
    if len(rel) > 100 or size >= 8**11 or not 0 <= mtime < 8**11:
        return None
    head = (
        rel.ljust(100, b"\0")
        + b"%07o\0" % mode
        + b"0000000\0" * 2
        + b"%011o\0" % size
        + b"%011o\0" % mtime
        + b" " * 8
        + b"0"
        + b"\0" * 100
        + b"ustar\x0000"
        + b"\0" * 64
        + b"0000000\0" * 2
        + b"\0" * 167
    )
    checksum = sum(head)
    return head[:148] + b"%06o\0 " % checksum + head[156:]


def _looks_compressible(files: list[tuple[Path, str]]) -> bool:
    """Whether a sample of the files (up to 256 KiB from a few spread over the list)
    shrinks by at least 5% with fast deflate; already compressed or random data does not."""
    if not files:
        return True
    step = max(1, len(files) // 8)
    sample = bytearray()
    for path, _ in files[::step][:8]:
        try:
            with open(path, "rb") as handle:
                sample += handle.read(_SAMPLE // 8)
        except OSError:
            continue
    if len(sample) < 1024:
        return True
    return len(zlib.compress(bytes(sample), 1)) < 0.95 * len(sample)


def _unreadable(path: Path, exc: OSError) -> XNATLocalFileError:
    return XNATLocalFileError(
        str(path), f"reading it for the archive failed ({exc.strerror or exc})", exc.errno
    )


def write_tar(
    directory: Path, fileobj: IO[bytes], *, gzip: bool, compresslevel: int | None = 1
) -> int:
    """Write a tar (gzip when asked) of the regular files below ``directory`` into
    ``fileobj``; returns the number of files.

    ``compresslevel``: zlib level; ``None`` picks it from a sample of the data (1, or 0 --
    stored deflate blocks, still a valid gzip -- when the data does not compress, e.g.
    compressed images, where deflating only costs time).
    """
    files = list(iter_files(directory))
    level = compresslevel
    if gzip and level is None:
        level = 1 if _looks_compressible(files) else 0
    packer = zlib.compressobj(level or 0, zlib.DEFLATED, 31) if gzip else None
    written = 0
    pieces: list[bytes] = []
    pending = 0

    def emit(data: bytes) -> None:
        nonlocal written, pending
        written += len(data)
        pieces.append(data)
        pending += len(data)
        if pending >= CHUNK:
            flush()

    def flush() -> None:
        nonlocal pending
        if pieces:
            data = b"".join(pieces)
            pieces.clear()
            pending = 0
            fileobj.write(packer.compress(data) if packer is not None else data)

    for path, rel in files:
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        with handle:
            st = os.fstat(handle.fileno())
            size = st.st_size
            mode = stat.S_IMODE(st.st_mode)
            header = _ustar_header(rel.encode("ascii", "replace"), size, int(st.st_mtime), mode)
            if header is None or not rel.isascii():
                # Built by hand: gettarinfo() looks the owner up in the user database.
                info = tarfile.TarInfo(rel)
                info.size = size
                info.mtime = int(st.st_mtime)
                info.mode = mode
                header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            emit(header)
            left = size
            while left > 0:
                try:
                    data = handle.read(min(left, CHUNK))
                except OSError as exc:
                    raise _unreadable(path, exc) from exc
                if not data:
                    raise XNATLocalFileError(str(path), "it shrank while it was archived")
                left -= len(data)
                emit(data)
            if size % _BLOCK:
                emit(b"\0" * (_BLOCK - size % _BLOCK))
    emit(b"\0" * (2 * _BLOCK))
    if written % _RECORD:
        emit(b"\0" * (_RECORD - written % _RECORD))
    flush()
    if packer is not None:
        fileobj.write(packer.flush())
    return len(files)


# -- zips read while they stream in ----------------------------------------------------------

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
    unpack = _LOCAL.unpack
    head_size = _LOCAL.size
    while True:
        head = reader.read_upto(head_size)
        if head[:4] != _LOCAL_SIG:
            if head[:4] in _END_SIGS:
                reader.drain()
                return
            if len(head) < 4:
                raise EOFError("the zip stream ended before its central directory")
            raise XNATIntegrityError(f"not a zip stream (found {head[:4]!r})")
        if len(head) < head_size:
            raise EOFError("the zip stream ended inside a local header")
        fields = unpack(head)
        flags, method, crc, csize, usize = fields[3], fields[4], fields[7], fields[8], fields[9]
        name_len, extra_len = fields[10], fields[11]
        tail = read(name_len + extra_len)
        raw_name = tail[:name_len] if extra_len else tail
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        if flags & 0x1:
            raise XNATUnsafeArchiveError(name, "encrypted entry")
        descriptor = bool(flags & 0x8)
        if method == zipfile.ZIP_STORED and not descriptor and csize <= CHUNK:
            data = read(csize)
            found = zlib.crc32(data)
            if found != crc or csize != usize:
                raise XNATIntegrityError(
                    f"zip entry {name!r}: {csize} bytes, CRC {found:08x}; "
                    f"the archive says {usize} bytes, CRC {crc:08x}"
                )
            yield name, (data,)
            continue
        zip64 = _zip64_sizes(tail[name_len:]) if extra_len else None
        if zip64 is not None and (csize == 0xFFFFFFFF or usize == 0xFFFFFFFF):
            csize, usize = zip64
        if method == zipfile.ZIP_STORED:
            if descriptor:
                known = size_of(name)
                if known is None:
                    raise XNATIntegrityError(
                        f"zip entry {name!r} has no size in the stream and is not in the "
                        "server's file listing"
                    )
                csize = usize = known
            chunks: Iterator[bytes] = _stored_chunks(reader, name, csize)
        elif method == zipfile.ZIP_DEFLATED:
            chunks = _deflated_chunks(reader, name, None if descriptor else csize)
        else:
            raise XNATUnsafeArchiveError(name, f"unsupported compression method {method}")
        state = {"crc": 0, "size": 0}
        yield name, _checked(chunks, state)
        if descriptor:
            head = read(4)
            if head != _DESCRIPTOR_SIG:
                reader.unread(head)
            crc = struct.unpack("<L", read(4))[0]
            width = 8 if zip64 is not None else 4
            read(width)  # compressed size
            usize = int.from_bytes(read(width), "little")
        if state["crc"] != crc or state["size"] != usize:
            raise XNATIntegrityError(
                f"zip entry {name!r}: {state['size']} bytes, CRC {state['crc']:08x}; "
                f"the archive says {usize} bytes, CRC {crc:08x}"
            )


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
