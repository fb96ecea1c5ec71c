"""Safe archive handling for transfers.

* :func:`check_zip` / :func:`extract_zip`: extraction that refuses, before writing anything,
  every entry that would land outside the target folder (absolute paths, drive letters,
  ``..`` segments, symbolic links); each file is written to a temporary name and renamed
  when complete.
* :func:`check_tar`: the same checks for tar archives (links and devices refused too).
* :func:`case_key`: a path as a case-insensitive file system (macOS, Windows) compares it;
  two entries of one key are refused before anything is written.
* :func:`write_tar`: a tar (optionally gzipped) of a folder's regular files, for
  ``resource.upload_dir``.
* :func:`walk_files` / :func:`iter_files`: a folder's regular files (links checked, what is
  left out warned of); :func:`open_walked` reads one only if it still is the file the walk
  saw (:func:`add_to_zip` writes one into a zip that way).
* :func:`temp_name` / :func:`temp_owner` / :func:`temp_beside` / :func:`sweep_leftovers`:
  the temporary names of the SDK's partial files and staging folders (they carry the host
  and process, so the next transfer into a folder removes what a killed process left
  there). They live here, below the transfer engine (:mod:`xnat_sdk.transfers`), because
  extraction writes through them and :func:`iter_files` leaves them out.

The zip reader that unpacks a server's zip while it streams in (``ChunkReader``,
``iter_zip_stream``) is part of the transfer engine, :mod:`xnat_sdk.transfers._zipstream`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import hashlib
import os
import re
import shutil
import socket
import stat
import tarfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from xnat_sdk.errors import (
    XNATCaseCollisionError,
    XNATDanglingLinkError,
    XNATFileExistsError,
    XNATLinkLoopWarning,
    XNATLinkOutsideError,
    XNATLocalFileError,
    XNATSkippedFilesWarning,
    XNATUnsafeArchiveError,
)

__all__ = [
    "SDK_FILES",
    "Links",
    "WalkedFile",
    "add_to_zip",
    "case_key",
    "check_tar",
    "check_zip",
    "extract_zip",
    "iter_files",
    "open_walked",
    "safe_join",
    "safe_member_path",
    "safe_relative",
    "sweep_leftovers",
    "temp_beside",
    "temp_name",
    "temp_owner",
    "temp_stem",
    "walk_files",
    "write_tar",
]

CHUNK = 1 << 20

SDK_FILES = frozenset({".xnat-sdk-verified", ".xnat-sdk-session"})
"""The names of the SDK's own hidden files in a bulk download's folders (the record of the
files verified there, the session a folder holds): never data, never uploaded."""


# -- temporary names (partial files, staging folders) -----------------------------------------


@functools.cache
def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


_TEMP_NAME = re.compile(
    r"\.(?:.+\.xnat-(?P<fhost>[0-9a-f]{8})-(?P<fpid>[1-9][0-9]{0,9})-[0-9a-f]{8}\.part"
    r"|xnat-sdk-(?P<dhost>[0-9a-f]{8})-(?P<dpid>[1-9][0-9]{0,9})-[0-9a-f]{8})",
    re.DOTALL,
)


def temp_name(name: str | None) -> str:
    """A new temporary name of this process: ``.{name}.xnat-{host}-{pid}-{random}.part`` for
    a file being written as ``name``, ``.xnat-sdk-{host}-{pid}-{random}`` (``name`` None)
    for a staging folder; ``host`` is a hash of the host name (see :func:`temp_owner`)."""
    owner = f"{_host_tag()}-{os.getpid()}-{os.urandom(4).hex()}"
    if name is None:
        return f".xnat-sdk-{owner}"
    return f".{temp_stem(name)}.xnat-{owner}.part"


def temp_stem(name: str) -> str:
    """The part of ``name`` that its temporary names start with (after the dot)."""
    stem = name[:60]
    while len(os.fsencode(stem)) > 120:  # file names are limited in bytes (often 255)
        stem = stem[:-1]
    return stem


def temp_owner(name: str) -> tuple[str, int, bool] | None:
    """``(host hash, process id, is a folder)`` of a name made by :func:`temp_name`, None
    for any other name."""
    found = _TEMP_NAME.fullmatch(name)
    if found is None:
        return None
    if found["fhost"] is not None:
        return found["fhost"], int(found["fpid"]), False
    return found["dhost"], int(found["dpid"]), True


def temp_beside(target: Path) -> tuple[int, Path]:
    """A new temporary file (open descriptor, path) in the folder of ``target``."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    while True:
        path = target.parent / temp_name(target.name)
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue


_SWEEP_EVERY = 60.0
"""A folder is searched for leftovers at most this often (seconds) per process."""
_STALE_ELSEWHERE = 24 * 3600.0
"""A temporary file of another host untouched this long (seconds) is a leftover: a live
transfer writes to it at least once per read timeout (300 s by default)."""
_swept: dict[str, float] = {}


def _owner_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False  # alive (another user's) or no valid pid: never ours to remove
    return False


def _untouched(entry: os.DirEntry[str], seconds: float) -> bool:
    """Whether ``entry`` was last modified more than ``seconds`` ago."""
    try:
        return entry.stat(follow_symlinks=False).st_mtime < time.time() - seconds
    except OSError:
        return False


def sweep_leftovers(folder: Path | str) -> None:
    """Remove the temporary files and staging folders in ``folder`` that transfers killed on
    this host left behind (their process is gone), and the temporary files of other hosts
    (shared storage: a cluster's node killed mid-download) untouched for a day; those of
    live processes, other hosts' recent ones and staging folders, and every other name are
    kept."""
    if os.name != "posix":
        return  # elsewhere os.kill(pid, 0) is no liveness test (Windows ends the process)
    key = os.path.abspath(folder)
    now = time.monotonic()
    last = _swept.get(key)
    if last is not None and now - last < _SWEEP_EVERY:
        return
    if len(_swept) > 4096:
        _swept.clear()
    _swept[key] = now
    host = _host_tag()
    try:
        with os.scandir(key) as scan:
            entries = [entry for entry in scan if entry.name[0] == "."]
    except OSError:
        return
    for entry in entries:
        owner = temp_owner(entry.name)
        if owner is None:
            continue
        their_host, pid, is_folder = owner
        if their_host != host:
            if is_folder or not _untouched(entry, _STALE_ELSEWHERE):
                continue
        elif not _owner_gone(pid):
            continue
        with contextlib.suppress(OSError):
            if is_folder and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            elif not is_folder and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


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


def case_key(path: str | os.PathLike[str]) -> str:
    """``path`` as a case-insensitive file system compares names (macOS's APFS and HFS+,
    Windows' NTFS, exFAT): Unicode composed (NFC: APFS ignores the form too) and each
    character folded to lower case where that keeps it one character (the simple folding
    those systems use; ``ß`` stays ``ß``). Two paths of one key are one file there."""
    text = os.fspath(path)
    if text.isascii():
        return text.lower()
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


def _check_case(targets: list[tuple[zipfile.ZipInfo, Path]]) -> None:
    """Raise :class:`XNATCaseCollisionError` when two entries go to paths that differ only
    in case (one file on macOS and Windows: the second would overwrite the first)."""
    seen: dict[str, tuple[Path, str]] = {}
    for info, target in targets:
        other = seen.setdefault(case_key(target), (target, info.filename))
        if other[0] != target:
            raise XNATCaseCollisionError(str(target), str(other[0]), info.filename, other[1])


def extract_zip(
    source: str | os.PathLike[str] | IO[bytes],
    target_dir: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> list[Path]:
    """Extract a zip into ``target_dir`` safely; returns the written files.

    Every entry is checked first (nothing is written if one is unsafe, or two go to paths
    that differ only in case: :class:`XNATCaseCollisionError`); with
    ``overwrite=False`` an existing file raises :class:`XNATFileExistsError` before writing.
    Entry CRCs are verified by :mod:`zipfile` while reading.
    """
    root = Path(target_dir)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(source) as archive:
        entries = check_zip(archive)
        targets = [(info, _inside(root, rel)) for info, rel in entries]
        _check_case(targets)
        if not overwrite:
            for _, target in targets:
                if target.exists():
                    raise XNATFileExistsError(f"{target} exists")
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


Links = Literal["skip", "inside", "all"]
"""What :func:`iter_files` does with symbolic links: leave every one out (``skip``); follow
those resolving inside the folder and refuse the others (``inside``: what an upload sends);
follow every one (``all``: the user's ``follow_symlinks=True``)."""


@dataclasses.dataclass(frozen=True)
class WalkedFile:
    """A regular file a folder's walk (:func:`walk_files`) found: where it is read
    (``path``: for a followed link the file it resolves to), its POSIX path in the folder
    (``rel``), what the walk saw there (``identity``: device and inode; ``size``) and, when
    only links inside the folder are followed, the folder's real path (``inside``); ``real``:
    the file's real path (no link on it) as the walk found it.
    :func:`open_walked` reads it, refusing another file found there by then."""

    path: Path
    rel: str
    identity: tuple[int, int]
    size: int
    inside: str | None = None
    field: str = "directory"
    real: str = ""


def iter_files(
    directory: Path, *, links: Links = "skip", field: str = "directory"
) -> Iterator[tuple[Path, str]]:
    """Regular files below ``directory`` with their POSIX relative paths, sorted: the
    ``(path, rel)`` of each of :func:`walk_files` (see there). Read a file through
    :func:`open_walked` (of :func:`walk_files`'s item) where a swap between the walk and
    the read matters."""
    for found in walk_files(directory, links=links, field=field):
        yield found.path, found.rel


def walk_files(
    directory: Path, *, links: Links = "skip", field: str = "directory"
) -> Iterator[WalkedFile]:
    """Regular files below ``directory`` (:class:`WalkedFile`), sorted by path; the
    temporary files and staging folders of transfers (partial files) and the SDK's own
    files (:data:`SDK_FILES`) are left out. ``links`` (see :data:`Links`): a followed link
    gives the file it resolves to (read there, so a link changed afterwards cannot redirect
    the read) under the link's name. A followed link leading to nothing raises
    :class:`~xnat_sdk.errors.XNATDanglingLinkError`; one leading back to a folder it is in
    is left out, and the walk's end warns :class:`~xnat_sdk.errors.XNATLinkLoopWarning`
    naming every such link. With ``inside``, a link resolving outside ``directory`` raises
    :class:`~xnat_sdk.errors.XNATLinkOutsideError` (``field`` names the argument) when the
    walk meets it: collect the walk before sending anything. Links not followed (``skip``)
    and special files (FIFOs, sockets, devices: their bytes are no file's), are left out
    and the walk's end warns :class:`~xnat_sdk.errors.XNATSkippedFilesWarning` naming
    each."""
    root = os.path.realpath(directory)
    inside = root.rstrip(os.sep) + os.sep
    loops: list[str] = []
    unfollowed: list[str] = []
    special: dict[str, str] = {}
    kept = root if links == "inside" else None

    def found(path: str, rel: str, seen: os.stat_result, real: str) -> WalkedFile:
        if not seen.st_ino:  # a Windows scandir entry's stat has none: the file's own has
            seen = _stat(path, follow_symlinks=False)
        identity = (seen.st_dev, seen.st_ino)
        return WalkedFile(Path(path), rel, identity, seen.st_size, kept, field, real)

    def follow(entry: os.DirEntry[str], prefix: str, chain: frozenset[str]) -> Iterator[WalkedFile]:
        real = os.path.realpath(entry.path)
        if not os.path.exists(real):
            raise XNATDanglingLinkError(field, entry.path, real)
        if links == "inside" and real != root and not real.startswith(inside):
            raise XNATLinkOutsideError(field, entry.path, real)
        seen = _stat(real)
        if stat.S_ISDIR(seen.st_mode):
            if real in chain:
                loops.append(prefix + entry.name)
            else:
                yield from walk(real, f"{prefix}{entry.name}/", chain | {real}, real)
        elif stat.S_ISREG(seen.st_mode):
            yield found(real, prefix + entry.name, seen, real)
        else:
            special[prefix + entry.name] = _special_kind(seen.st_mode)

    def walk(
        folder: str, prefix: str, chain: frozenset[str], real: str
    ) -> Iterator[WalkedFile]:  # ``real``: the folder's real path
        with os.scandir(folder) as entries_found:
            entries = sorted(entries_found, key=lambda e: e.name)
        for entry in entries:
            if entry.name[0] == "." and (
                temp_owner(entry.name) is not None or entry.name in SDK_FILES
            ):
                continue
            if entry.is_symlink():
                if links == "skip":
                    unfollowed.append(prefix + entry.name)
                else:
                    yield from follow(entry, prefix, chain)
            elif entry.is_dir(follow_symlinks=False):
                below = chain if links == "skip" else chain | {os.path.realpath(entry.path)}
                yield from walk(
                    entry.path, f"{prefix}{entry.name}/", below, os.path.join(real, entry.name)
                )
            else:
                try:
                    seen = entry.stat(follow_symlinks=False)
                except OSError as exc:  # gone (or changed) since the folder was listed
                    raise _unreadable(Path(entry.path), exc) from exc
                if stat.S_ISREG(seen.st_mode):
                    yield found(
                        entry.path, prefix + entry.name, seen, os.path.join(real, entry.name)
                    )
                else:
                    special[prefix + entry.name] = _special_kind(seen.st_mode)

    yield from walk(str(directory), "", frozenset({root}), root)
    if loops:
        warnings.warn(XNATLinkLoopWarning(str(directory), loops), stacklevel=2)
    if unfollowed or special:
        warnings.warn(XNATSkippedFilesWarning(str(directory), unfollowed, special), stacklevel=2)


def _stat(path: str, *, follow_symlinks: bool = True) -> os.stat_result:
    """``os.stat`` of a walked path; a path gone (or changed) since its folder was listed
    raises :class:`~xnat_sdk.errors.XNATLocalFileError` naming it, as its read would."""
    try:
        return os.stat(path, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise _unreadable(Path(path), exc) from exc


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)  # the file itself replaced by a link: not followed
    | getattr(os, "O_NONBLOCK", 0)  # ... by a FIFO: not waited on
)


def open_walked(file: WalkedFile) -> IO[bytes]:
    """``file`` open for reading, if it still is the file the walk saw there (same device
    and inode, a regular file, not a link): a folder on its path replaced between the walk
    and the read (by a link to elsewhere) would read another file. Raises
    :class:`~xnat_sdk.errors.XNATLinkOutsideError` when the path now leads outside a folder
    whose links must stay inside it, else :class:`~xnat_sdk.errors.XNATLocalFileError`;
    nothing of the other file is read. A file only numbered anew since the walk (some file
    systems do: :func:`_renumbered`) is read."""
    try:
        fd = os.open(file.path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (BSD: EMLINK)
            raise _replaced(file) from exc
        raise _unreadable(file.path, exc) from exc
    try:
        opened = os.fstat(fd)
        known = file.identity[1] != 0  # a file system without inode numbers: not compared
        same = not known or (opened.st_dev, opened.st_ino) == file.identity
        if not stat.S_ISREG(opened.st_mode) or not (same or _renumbered(file, fd, opened)):
            raise _replaced(file)
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _renumbered(file: WalkedFile, fd: int, opened: os.stat_result) -> bool:
    """Whether the file open as ``fd``, whose inode number is not the walk's, is still the
    walked file, numbered anew: Linux's FAT and exFAT give a file a new number each time
    they load it (``iunique``), as do FUSE file systems without numbers of their own and
    CIFS mounts without server numbers, so a file the walk saw may have another number
    by the time a long transfer reads it. It is when the kernel's own path of the open
    file (``/proc/self/fd``: whatever was swapped on the way, not a path checked before or
    after the open) is the walk's real path of it, on the same device, and the file has no
    other name (a hard link put there names another's file twice). Elsewhere (no
    ``/proc``): not taken as the same."""
    if not file.real or opened.st_dev != file.identity[0] or opened.st_nlink != 1:
        return False
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == file.real
    except OSError:
        return False


def _replaced(file: WalkedFile) -> XNATLocalFileError:
    """The error of a file found replaced at its path after the walk."""
    real = os.path.realpath(file.path)
    root = file.inside
    if root is not None and real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return XNATLinkOutsideError(file.field, str(file.path), real, checked=True)
    return XNATLocalFileError(
        str(file.path),
        "another file is there than when the folder was walked (it, or a folder on its "
        "path, was replaced since): not read",
        errno.ESTALE,
    )


def add_to_zip(archive: zipfile.ZipFile, file: WalkedFile) -> None:
    """Write ``file`` into ``archive`` as ``file.rel`` (read by :func:`open_walked`; its
    time, mode and size from the opened file)."""
    with open_walked(file) as source:
        seen = os.fstat(source.fileno())
        when = time.localtime(max(seen.st_mtime, _ZIP_EPOCH))[:6]
        info = zipfile.ZipInfo(file.rel, date_time=when)
        info.external_attr = (seen.st_mode & 0xFFFF) << 16
        info.compress_type = archive.compression
        info.file_size = seen.st_size
        with archive.open(info, "w") as target:
            shutil.copyfileobj(source, target, CHUNK)


_ZIP_EPOCH = 315532800 + 86400
"""1980-01-02 (UTC): a zip entry's time cannot be earlier than 1980 (a day's margin for
the local time zone)."""


def _special_kind(mode: int) -> str:
    """What a file that is neither a regular file, a folder nor a link is, in words."""
    for test, kind in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return kind
    return "special file"


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


def _looks_compressible(files: list[WalkedFile]) -> bool:
    """Whether a sample of the files (up to 256 KiB from a few spread over the list)
    shrinks by at least 5% with fast deflate; already compressed or random data does not."""
    if not files:
        return True
    step = max(1, len(files) // 8)
    sample = bytearray()
    for file in files[::step][:8]:
        try:
            with open_walked(file) as handle:
                sample += handle.read(_SAMPLE // 8)
        except OSError:
            continue
    if len(sample) < 1024:
        return True
    return len(zlib.compress(bytes(sample), 1)) < 0.95 * len(sample)


def _unreadable(path: Path, exc: OSError) -> XNATLocalFileError:
    return XNATLocalFileError(str(path), f"reading it failed ({exc.strerror or exc})", exc.errno)


def write_tar(
    directory: Path,
    fileobj: IO[bytes],
    *,
    gzip: bool,
    compresslevel: int | None = 1,
    links: Links = "skip",
) -> int:
    """Write a tar (gzip when asked) of the regular files below ``directory`` into
    ``fileobj``; returns the number of files. ``links``: as in :func:`iter_files` (the
    walk is done, and a link leading out refused, before the first byte is written).

    ``compresslevel``: zlib level; ``None`` picks it from a sample of the data (1, or 0 --
    stored deflate blocks, still a valid gzip -- when the data does not compress, e.g.
    compressed images, where deflating only costs time).
    """
    files = list(walk_files(directory, links=links))
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

    for file in files:
        path, rel = file.path, file.rel
        with open_walked(file) as handle:
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
