"""Whole folders: :func:`download_zip_dir` unpacks a server zip while it streams in (one pass,
no zip on disk) and publishes it only when every file matched the file listing;
:func:`_zip_folder` writes a local folder as one zip.

The zip download runs in three steps: **read** (the zip's entries written into a staging
folder inside the target, each where its folder's :class:`_ZipPlace` says, while a helper
thread reads the listing: :class:`_LateListing`, :class:`_Unpacker`), **check** (sizes and
MD5s against the listing: :func:`_check_listing`) and **publish** (new first-level folders
renamed in whole, the rest merged file by file: :func:`_publish_files`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import re
import shutil
import threading
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import whole_number
from xnat_sdk.archives import (
    add_to_zip,
    names_root,
    safe_relative,
    sweep_leftovers,
    temp_beside,
    walk_files,
)
from xnat_sdk.errors import (
    XNATCaseCollisionError,
    XNATError,
    XNATFileExistsError,
    XNATIntegrityError,
    XNATLocalFileError,
    XNATTransferError,
    XNATUnsafeArchiveError,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress
from xnat_sdk.transfers._paths import (
    _local_error,
    _local_files,
    _publish,
    _staging_folder,
    case_key,
    local_folder,
    resolves_inside,
    split_file_uri,
)
from xnat_sdk.transfers._wire import (
    _STREAM_ERRORS,
    CHUNK_SIZE,
    RESUME_ATTEMPTS,
    _gave_up_error,
    _listing_rows,
    _open_get,
)
from xnat_sdk.transfers._zipstream import ChunkReader, iter_zip_stream

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["download_zip_dir"]


def download_zip_dir(
    session: XNATSession,
    zip_uri: str,
    listing_uri: str,
    target_dir: str | os.PathLike[str],
    *,
    verbose: bool = True,
    overwrite: bool = True,
    timeout: Timeout = None,
    bars: TransferProgress | None = None,
    flatten: bool = False,
    label: str | None = None,
    listing_rows: list[dict[str, Any]] | None = None,
    top: str | None = None,
) -> list[str]:
    """Download the server's zip of ``zip_uri`` and unpack it into ``target_dir`` while it
    streams in (one pass, no zip on disk); returns the paths of the files written (``flatten``: each
    at its path inside its resource, without the ``{session}/scans/.../files/`` folders).

    Every entry name is checked (no absolute paths, ``..`` or escapes through symlinked
    folders), every file's CRC and its size and MD5 against the file listing at
    ``listing_uri``. Files land in a staging folder inside ``target_dir`` and are moved
    into place only when the whole zip arrived and matched (``overwrite=False``: an
    existing file of another size or MD5 raises first, one with the same bytes is left as
    it is; a file where a folder must go, or the reverse, raises
    :class:`XNATLocalFileError` first); on any error nothing is left behind.

    ``label`` names the progress bar (default: the zip's owner in ``zip_uri``);
    ``listing_rows``: the listing of ``listing_uri`` when the caller has read it already
    (it is then not asked for again, and the bar knows its total from the start).
    ``top`` (a plain folder name) replaces the first folder of every entry (a session's zip
    names it by the session's label in its primary project: seen through a project it is
    shared into, its folder takes the label it has there).
    """
    local_folder(target_dir, "target_dir")
    root = Path(os.fspath(target_dir))
    with _local_files(root, "creating the folder"):
        root.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(root)
    listing = _LateListing(session, listing_uri, listing_rows)
    unpacker = _Unpacker(root, flatten, listing, top)
    try:
        with contextlib.ExitStack() as own:
            progress = bars if bars is not None else own.enter_context(TransferProgress(verbose))
            if label is None:
                label = zip_uri.rstrip("/").rsplit("/", 2)[-2] if "/" in zip_uri else zip_uri
            update = progress.task(label, listing.total())
            if _read_zip_tries(session, zip_uri, timeout, listing, unpacker, update) is None:
                return []  # an empty resource has no zip
        _check_listing(unpacker.got, listing.expected())
        return _publish_files(unpacker, overwrite)
    finally:
        listing.close()
        unpacker.discard()


# -- read -----------------------------------------------------------------------------------

_Expected = dict[tuple[str, str], list[tuple[str, int, str]]]
_Got = tuple[str, "_ZipPlace", str, int, str]
"""A file written into staging: entry name, place, file name, size, MD5."""


class _LateListing:
    """The file listing of a zip download, read by a helper thread while the zip streams
    in: it is needed only to check the files (before anything is published) and for sizes
    a zip entry does not carry itself. It is asked for once the zip's headers are in
    (:meth:`start`), so the server prepares the zip first."""

    def __init__(
        self, session: XNATSession, uri: str, rows: list[dict[str, Any]] | None = None
    ) -> None:
        self._started = threading.Event()
        self._expected: _Expected | None = None
        if rows is not None:
            self._rows: Future[list[dict[str, Any]]] = Future()
            self._rows.set_result(rows)
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="xnat-sdk-listing")
        self._rows = pool.submit(self._read, session, uri)
        pool.shutdown(wait=False)

    def _read(self, session: XNATSession, uri: str) -> list[dict[str, Any]]:
        self._started.wait()
        return _listing_rows(session, uri)

    def start(self) -> None:
        """Let the helper ask for the listing."""
        self._started.set()

    def rows(self) -> list[dict[str, Any]]:
        """The listing's rows (waits for them; re-raises the helper's failure)."""
        return self._rows.result()

    def expected(self) -> _Expected:
        """The listing by (resource label, path), worked out once."""
        if self._expected is None:
            self._expected = _expected_by_key(self.rows())
        return self._expected

    def total(self) -> int | None:
        """The listing's byte total once it is in (None before, or when it failed)."""
        if not self._rows.done() or self._rows.exception():
            return None
        return sum(max(s, 0) for items in self.expected().values() for _, s, _ in items)

    def close(self) -> None:
        """Let the helper finish and wait for it (its failure is left to :meth:`rows`)."""
        self._started.set()
        if not self._rows.done():
            with contextlib.suppress(Exception):
                self._rows.result()


class _ZipBroke(Exception):
    """The zip's connection broke off (or the zip ended early) after ``done`` bytes."""

    def __init__(self, what: str, done: int, cause: BaseException) -> None:
        super().__init__(what)
        self.what = what
        self.done = done
        self.cause = cause


def _read_zip_tries(
    session: XNATSession,
    zip_uri: str,
    timeout: Timeout,
    listing: _LateListing,
    unpacker: _Unpacker,
    update: ProgressCallback,
) -> int | None:
    """:func:`_read_zip`, started over after a break-off (XNAT builds a zip as it sends
    it: no length, no byte ranges to go on from), ``RESUME_ATTEMPTS`` times in a row
    without a try getting further into the zip than every earlier one."""
    left = RESUME_ATTEMPTS
    furthest = tries = 0
    done: int | None = 0
    try:
        while True:
            try:
                done = _read_zip(session, zip_uri, timeout, listing, unpacker, update)
                return done
            except _ZipBroke as broke:
                tries, done = tries + 1, broke.done
                if done > furthest:
                    left, furthest = RESUME_ATTEMPTS, done  # a try got further: count afresh
                if not left:
                    raise _gave_up_error(broke.what, tries, furthest, broke.cause) from broke.cause
                left -= 1
                session.logger.info(
                    "%s broke off after %d bytes (%s); starting the zip over",
                    broke.what,
                    done,
                    broke.cause,
                )
                unpacker.restart()
    finally:
        update(done or 0, listing.total(), True)


def _read_zip(
    session: XNATSession,
    zip_uri: str,
    timeout: Timeout,
    listing: _LateListing,
    unpacker: _Unpacker,
    update: ProgressCallback,
) -> int | None:
    """Stream the zip of ``zip_uri`` into ``unpacker``'s staging folder; its byte count, or
    None when there is none because the listing is empty. A break-off raises
    :class:`_ZipBroke`."""
    update(0, listing.total(), False)
    try:
        response = _open_get(session, zip_uri, format="zip", timeout=timeout, accepted=(200, 404))
    finally:
        listing.start()
    if response.status_code == 404:
        response.close()
        if not listing.rows():
            return None
        response = _open_get(session, zip_uri, format="zip", timeout=timeout)
    unpacker.stage()
    what = f"GET {response.url}"
    counter = _Counter(response, listing, update)
    try:
        unpacker.unpack(ChunkReader(counter.chunks()))
    except EOFError as exc:
        ended = XNATTransferError(f"{what}: the zip ended early ({exc})")
        raise _ZipBroke(what, counter.done, ended) from exc
    except (XNATLocalFileError, XNATCaseCollisionError):
        raise  # OSErrors, but of the local disk or the zip's names, not of the connection
    except _STREAM_ERRORS as exc:
        raise _ZipBroke(what, counter.done, exc) from exc
    finally:
        response.close()
    return counter.done


class _Counter:
    """The zip's chunks as they arrive, counted for the bar (its total: the listing's, once
    that is in)."""

    def __init__(
        self, response: requests.Response, listing: _LateListing, update: ProgressCallback
    ) -> None:
        self._response = response
        self._listing = listing
        self._update = update
        self.done = 0
        self.total: int | None = None

    def chunks(self) -> Iterator[bytes]:
        update = self._update
        for chunk in self._response.iter_content(CHUNK_SIZE):
            self.done += len(chunk)
            if self.total is None:
                self.total = self._listing.total()
            update(self.done, self.total or None, False)
            yield chunk


class _Unpacker:
    """Writes the entries of a zip into a staging folder inside the target ``root`` (each
    where its folder's :class:`_ZipPlace` says) and keeps what it wrote (``got``)."""

    def __init__(
        self, root: Path, flatten: bool, listing: _LateListing, top: str | None = None
    ) -> None:
        self._root = root
        self._top = None if flatten else top
        self._root_str = str(root)
        self.root_prefix = os.path.join(self._root_str, "")
        self._root_real = os.path.realpath(root)
        self._flatten = flatten
        self._listing = listing
        self._staging: Path | None = None
        self._staging_str = ""
        self.staging_prefix = ""
        self._checked: dict[str, bool] = {}
        self._folders: dict[str, _ZipPlace] = {}  # folder inside the zip -> where its files go
        self._cased: dict[str, tuple[str, str]] = {}  # case key -> (relative path, entry)
        self.got: list[_Got] = []

    def stage(self) -> None:
        """Make the staging folder."""
        self._staging = _staging_folder(self._root)
        self._staging_str = str(self._staging)
        self.staging_prefix = os.path.join(self._staging_str, "")

    def discard(self) -> None:
        """Remove the staging folder and what is left in it."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)

    def restart(self) -> None:
        """Forget what a broken-off try wrote (its staging folder goes)."""
        self.discard()
        self._staging = None
        self._folders = {}
        self._cased = {}
        self.got = []

    def unpack(self, reader: ChunkReader) -> None:
        for name, data in iter_zip_stream(reader, self._size_of):
            if name.endswith("/"):
                if not names_root(name):
                    safe_relative(name)  # writes nothing, but refused all the same
                for _ in data:
                    pass
                continue
            place, base = self._locate(name)
            self._write(name, place, base, data)

    def _locate(self, name: str) -> tuple[_ZipPlace, str]:
        """Where an entry goes: its folder's place (worked out, checked to stay inside the
        target and made in staging once per folder) and its file name."""
        folder_rel, _, base = safe_relative(name).rpartition("/")
        if self._top and folder_rel:
            folder_rel = self._top + folder_rel[len(folder_rel.split("/", 1)[0]) :]
        place = self._folders.get(folder_rel)
        if place is None:
            place = self._folders[folder_rel] = _zip_place(folder_rel, self._flatten)
            _inside_root(
                self._root_real, os.path.join(self._root_str, place.rel, "_"), self._checked
            )
            try:
                os.makedirs(os.path.join(self._staging_str, place.rel), exist_ok=True)
            except OSError as exc:
                where = os.path.join(self._root_str, place.rel)
                raise _local_error(where, "creating the folder", exc) from exc
        return place, base

    def _size_of(self, name: str) -> int | None:
        place, base = self._locate(name)
        sizes = {s for _, s, _ in place.candidates(self._listing.expected(), base)}
        return sizes.pop() if len(sizes) == 1 and -1 not in sizes else None

    def _case_clash(self, name: str, rel: str) -> None:
        """Raise :class:`XNATCaseCollisionError` when the entry ``name`` goes to a path that
        differs only in case from an earlier entry's (``a.dcm``, ``A.dcm``): on a
        case-insensitive file system the second would overwrite the first in staging, and
        both pass the check. Raised on every system, before the target gets anything."""
        other = self._cased.setdefault(case_key(rel), (rel, name))
        if other[0] != rel:
            raise XNATCaseCollisionError(
                self.root_prefix + rel, self.root_prefix + other[0], name, other[1]
            )

    def _write(self, name: str, place: _ZipPlace, base: str, data: Iterable[bytes]) -> None:
        dest = self.root_prefix + place.rel + base
        self._case_clash(name, place.rel + base)
        try:
            fd = os.open(self.staging_prefix + place.rel + base, _WRITE_FLAGS, 0o666)
        except OSError as exc:
            raise _local_error(dest, "writing", exc) from exc
        try:
            size, digest = _write_entry(fd, data, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self.got.append((name, place, base, size, digest))
        try:
            os.close(fd)
        except OSError as exc:
            raise _local_error(dest, "writing", exc) from exc


_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)


def _write_entry(fd: int, data: Iterable[bytes], dest: str) -> tuple[int, str]:
    """Write an entry's data to ``fd``; returns its size and MD5."""
    if isinstance(data, tuple):  # one piece, CRC already checked
        whole: bytes = data[0]
        _write_all(fd, whole, dest)
        return len(whole), hashlib.md5(whole).hexdigest()
    hasher = hashlib.md5()
    size = 0
    for chunk in data:
        _write_all(fd, chunk, dest)
        hasher.update(chunk)
        size += len(chunk)
    return size, hasher.hexdigest()


def _write_all(fd: int, data: bytes, dest: str) -> None:
    """Write ``data`` to ``fd``; a failure raises the local error naming ``dest``."""
    try:
        written = os.write(fd, data)
        if written < len(data):
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _local_error(dest, "writing", exc) from exc


def _inside_root(root_real: str, final: str, checked: dict[str, bool]) -> None:
    parent = os.path.dirname(final)
    ok = checked.get(parent)
    if ok is None:
        ok = checked[parent] = resolves_inside(root_real, parent)
    if not ok:
        raise XNATUnsafeArchiveError(final, "resolves outside the target folder (symlink)")


# -- where the files of a zip folder go --------------------------------------------------------

_FOLDER_KEY = re.compile(r"^(?:(?P<pre>.*?)/)?resources/(?P<label>[^/]+)/files(?:/(?P<sub>.+))?$")


def _native(rel: str) -> str:
    return rel if os.sep == "/" else rel.replace("/", os.sep)


@dataclasses.dataclass(frozen=True, slots=True)
class _ZipPlace:
    """A folder of a server zip: where its files go (``rel``, relative to the target,
    ``""`` or ending with a separator; ``top``, its first folder, ``""`` for the target
    itself) and which listing entries can speak for them
    (resource ``label``, ``path`` inside the resource, ``scan`` folder); ``label`` is None
    for folders outside any resource."""

    rel: str
    top: str
    label: str | None
    path: str
    scan: str

    def candidates(self, expected: _Expected, name: str) -> list[tuple[str, int, str]]:
        """The listing entries the file ``name`` of this folder may stand for (none: the
        listing cannot speak for it); a scan folder ``{ID}-{type}`` narrows them to that
        scan's when there are some."""
        if self.label is None:
            return []
        found = expected.get((self.label, self.path + name), [])
        if self.scan and len(found) > 1:
            scan = self.scan
            narrowed = [c for c in found if c[0] and (scan == c[0] or scan.startswith(c[0] + "-"))]
            return narrowed or found
        return found


def _zip_place(folder: str, flatten: bool) -> _ZipPlace:
    """Where the files of the (normalised) zip folder ``folder`` go: see :class:`_ZipPlace`."""
    match = _FOLDER_KEY.match(folder)
    if match is None:
        return _ZipPlace(
            _native(folder + "/") if folder else "", folder.split("/", 1)[0], None, "", ""
        )
    sub = match.group("sub")
    path = sub + "/" if sub else ""
    parts = (match.group("pre") or "").split("/")
    scan = parts[-1] if len(parts) >= 2 and parts[-2] == "scans" else ""
    rel = path if flatten else folder + "/"
    return _ZipPlace(_native(rel), rel.split("/", 1)[0], match.group("label"), path, scan)


# -- check ----------------------------------------------------------------------------------


def _expected_by_key(rows: list[dict[str, Any]]) -> _Expected:
    """(resource label, path) -> [(scan ID or "", size or -1, md5 or "")] from a listing."""
    expected: _Expected = {}
    for row in rows:
        found = split_file_uri(str(row.get("URI") or ""))
        scan, _, path = found if found is not None else ("", "", str(row.get("Name") or ""))
        size = whole_number(row.get("Size"))
        key = (str(row.get("collection") or ""), path)
        item = (scan, -1 if size is None else size, str(row.get("digest") or "").lower())
        same = expected.get(key)
        if same is None:
            expected[key] = [item]
        else:
            same.append(item)
    return expected


def _check_listing(got: list[_Got], expected: _Expected) -> None:
    """Raise :class:`XNATIntegrityError` for the first file whose size or MD5 no listing
    entry it may stand for has (files the listing cannot speak for pass)."""
    for name, place, base, size, digest in got:
        found = place.candidates(expected, base)
        if not found or any(s in (-1, size) and d in ("", digest) for _, s, d in found):
            continue
        raise XNATIntegrityError(
            f"{name}: {size} bytes with MD5 {digest} do not match the "
            f"server's file listing ({found})"
        )


# -- publish --------------------------------------------------------------------------------


def _publish_files(unpacker: _Unpacker, overwrite: bool) -> list[str]:
    """Move the staged files into the target; returns their final paths. A first-level
    folder (or file) the target does not have yet moves in one rename; the others are
    merged file by file, after checking all of them can be."""
    got, root_prefix, staging_prefix = unpacker.got, unpacker.root_prefix, unpacker.staging_prefix
    finals = [root_prefix + place.rel + base for _, place, base, _, _ in got]
    tops = {place.top or base for _, place, base, _, _ in got}
    fresh = {top for top in tops if not os.path.lexists(root_prefix + top)}
    folder_ok: dict[str, bool] = {}
    for dest, (_, place, base, size, md5) in zip(finals, got, strict=True):
        if (place.top or base) in fresh:
            continue
        _check_merge_path(root_prefix, place.rel, dest, folder_ok)
        if not overwrite and os.path.lexists(dest) and not _same_file(dest, size, md5):
            raise XNATFileExistsError(
                f"{dest} exists and is not the server's file (another size or MD5): kept"
            )
    moved: set[str] = set()
    for top in sorted(fresh):
        try:
            os.rename(staging_prefix + top, root_prefix + top)
        except OSError:
            continue  # it appeared meanwhile: merged file by file below
        moved.add(top)
    if len(moved) < len(tops):
        for dest, (_, place, base, _, _) in zip(finals, got, strict=True):
            if (place.top or base) in moved:
                continue
            with _local_files(dest, "moving the file into place"):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(staging_prefix + place.rel + base, dest)
    return finals


def _same_file(path: str, size: int, md5: str) -> bool:
    """Whether ``path`` is a regular file (not a link) of ``size`` bytes and MD5 ``md5``:
    replacing it loses nothing."""
    with contextlib.suppress(OSError):
        if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) != size:
            return False
        digest = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest() == md5.lower()
    return False


def _check_merge_path(root_prefix: str, rel: str, dest: str, folder_ok: dict[str, bool]) -> None:
    """Raise :class:`XNATLocalFileError` when ``dest`` (a file of the folder ``rel``) cannot
    be merged into the target: a file stands where one of its folders must go, or a folder
    where the file must go."""
    if not folder_ok.get(rel, False):
        end = rel.find(os.sep)
        while end >= 0:
            folder = root_prefix + rel[:end]
            if not folder_ok.get(rel[:end], False):
                if os.path.lexists(folder) and not os.path.isdir(folder):
                    raise XNATLocalFileError(
                        folder, "a file is where a folder must go", errno.ENOTDIR
                    )
                folder_ok[rel[:end]] = True
            end = rel.find(os.sep, end + 1)
        folder_ok[rel] = True
    if os.path.isdir(dest) and not os.path.islink(dest):
        raise XNATLocalFileError(dest, "a folder is where a file must go", errno.EISDIR)


# -- a local folder as one zip ----------------------------------------------------------------


def _zip_folder(folder: Path, target: Path, overwrite: bool) -> Path:
    """Write a (stored) zip of ``folder`` to ``target`` through a temporary name."""
    if not overwrite and target.exists():
        raise XNATFileExistsError(f"{target} exists")
    with _local_files(target.parent, "creating a temporary file"):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(target.parent)
        fd, tmp = temp_beside(target)
    try:
        try:
            with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", allowZip64=True) as zf:
                for file in walk_files(folder):
                    add_to_zip(zf, file)
        except XNATError:
            raise
        except OSError as exc:  # named by the OS when reading a file, else the zip's
            raise _local_error(exc.filename or target, "writing the zip", exc) from exc
        with _local_files(target, "moving the zip into place"):
            _publish(tmp, target, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
