"""Streamed downloads and uploads with progress, integrity checks and safe file handling.

Downloads are streamed in chunks (constant memory) to a temporary name in the target
folder and renamed only when complete; the byte count is checked against Content-Length
and, when the server's file listing gives one, the MD5 ``digest``. A mismatch raises
:class:`~xnat_sdk.errors.XNATIntegrityError`, a dropped connection
:class:`~xnat_sdk.errors.XNATTransferError`, a local file-system failure (full disk, a file
where a folder must go) :class:`~xnat_sdk.errors.XNATLocalFileError` naming the path; either
way nothing is left behind. Temporary names carry the host and process (:func:`temp_name`),
so the next transfer into a folder removes what a killed process left there. Names from the
server (listings, zip entries, labels) never lead outside the target folder.

Uploads stream files and file objects; bodies that can be rewound (files, bytes) are
retried, a generator body never is. ``overwrite=False`` never replaces a remote file: the
server's ``{"duplicates": [...]}`` answer raises :class:`~xnat_sdk.errors.XNATFileExistsError`.

Remote paths are URL-encoded per segment (:func:`quote_path`).

The mixins at the end give the archive objects their transfer methods (bases.py and
session.py inherit them): ``session.download/download_stream/download_zip/upload``;
``RemoteFile.download/download_stream/open/delete``; ``resource.upload/upload_data/
upload_dir/download/download_dir`` and ``file_count``/``file_size``; ``download`` and
``download_dir`` of scans, image sessions (one server zip, unpacked while it streams and
checked against the file listing), subjects and projects (walks over their sessions).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.client
import io
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import quote, unquote

from xnat_sdk._answers import answer_of, fetch, whole_number
from xnat_sdk._http import was_resent
from xnat_sdk.errors import (
    XNATConnectionError,
    XNATError,
    XNATFileExistsError,
    XNATIntegrityError,
    XNATLocalFileError,
    XNATResponseError,
    XNATServerError,
    XNATTransferError,
    XNATValueError,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress, wants_bars

if TYPE_CHECKING:
    from concurrent.futures import Future

    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = [
    "CHUNK_SIZE",
    "UPLOAD_DIR_METHODS",
    "ProjectDownloads",
    "RemoteFileTransfers",
    "RemoteStream",
    "ResourceTransfers",
    "ScanTransfers",
    "SessionDownloads",
    "SessionTransfers",
    "SubjectDownloads",
    "download_file",
    "download_stream",
    "download_zip_dir",
    "quote_path",
    "quote_uri",
    "upload",
]

CHUNK_SIZE = 524288
"""Default bytes per read and write (512 KiB, as xnatpy)."""
RESUME_ATTEMPTS = 3
"""How often a broken-off download goes on from where it stopped (when the server serves
byte ranges)."""

UploadSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | IO[str]


def quote_path(path: str) -> str:
    """``path`` with every segment percent-encoded (spaces, ``#``, ``?``, ``%``, unicode);
    the ``/`` separators are kept."""
    return "/".join(quote(segment, safe="!$&'()*+,;=:@~-._") for segment in path.split("/"))


def local_path(value: object, what: str) -> Path:
    """``value`` as a local :class:`Path`, or :class:`XNATValueError` naming ``what``."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise XNATValueError(f"{what} must be a path (str or os.PathLike), got {value!r}")
    return Path(os.fspath(value))


def local_folder(value: object, what: str) -> Path:
    """``value`` as a local folder path that is not an existing file."""
    path = local_path(value, what)
    if path.exists() and not path.is_dir():
        raise XNATValueError(f"{what} {path} exists and is not a folder")
    return path


def check_remotepath(remotepath: str) -> str:
    """A remote file path inside a resource, checked: no ``.``/``..`` segments, no empty
    segments, backslashes or NUL; returns it without leading ``/`` (remote paths are
    relative to the resource, so ``"/a/b.dcm"`` means ``"a/b.dcm"``, as in xnatpy)."""
    if not isinstance(remotepath, str):
        raise XNATValueError(f"remotepath must be a str, got {type(remotepath).__name__}")
    relative = remotepath.lstrip("/")
    if "\0" in remotepath:
        raise XNATValueError(f"remotepath {remotepath!r} contains a NUL character")
    if "\\" in remotepath:
        raise XNATValueError(
            f"remotepath {remotepath!r} contains a backslash (folders are separated by '/'; "
            "a backslash is read as one on Windows)"
        )
    if any(seg in ("", ".", "..") for seg in relative.split("/")):
        raise XNATValueError(
            f"remotepath {remotepath!r} must name a file inside the resource "
            "(no empty, '.' or '..' segments)"
        )
    return relative


def quote_uri(uri: str) -> str:
    """A REST URI made safe to send: characters that are not allowed in a URL path (spaces,
    ``#``, unicode ...) are percent-encoded, existing ``%XX`` escapes and a ``?query`` part
    are kept (for raw names use :func:`quote_path`)."""
    path, sep, query = uri.partition("?")
    return quote(path, safe="/%!$&'()*+,;=:@~-._") + sep + query


def _transfer_error(what: str, exc: BaseException) -> XNATTransferError:
    return XNATTransferError(f"{what}: the connection broke off ({type(exc).__name__}: {exc})")


def _stream_errors() -> tuple[type[BaseException], ...]:
    import requests
    import urllib3.exceptions

    return (
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        ConnectionError,
        OSError,
    )


def _plain_length(response: requests.Response) -> str | None:
    """Content-Length when it counts the bytes we will see (no Content-Encoding)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    length = response.headers.get("Content-Length", "").strip()
    return length if encoding in ("", "identity") and length.isdigit() else None


_HTML_STARTS = (b"<!DOCTYPE html", b"<!doctype html", b"<html", b"<HTML")


def _refuse_login_page(
    response: requests.Response, uri: str, format: str | None, first: bytes
) -> None:
    """Raise when a download answers with an HTML page (a login or error page served
    with status 200) although no HTML was asked for."""
    path, _, query = uri.partition("?")
    if format == "html" or "format=html" in query or path.lower().endswith((".html", ".htm")):
        return
    kind = response.headers.get("Content-Type", "").lower()
    if kind.startswith("text/html") and first.lstrip()[:20].startswith(_HTML_STARTS):
        raise XNATResponseError(
            "GET",
            response.url,
            response.status_code,
            "expected file data but the server sent an HTML page (expired session or login "
            "redirect?)",
            response,
        )


def _open_get(
    session: XNATSession,
    uri: str,
    *,
    format: str | None = None,
    query: Mapping[str, str] | None = None,
    timeout: Timeout = None,
    headers: Mapping[str, str] | None = None,
    accepted: tuple[int, ...] = (200,),
) -> requests.Response:
    return session.get(
        uri,
        format=format,
        query=query,
        timeout=timeout,
        headers=headers,
        stream=True,
        accepted_status=accepted,
    )


def download_stream(
    session: XNATSession,
    uri: str,
    target_stream: IO[bytes],
    format: str | None = None,
    verbose: bool = False,
    chunk_size: int = CHUNK_SIZE,
    update_func: ProgressCallback | None = None,
    timeout: Timeout = None,
    *,
    query: Mapping[str, str] | None = None,
    expected_md5: str | None = None,
    expected_size: int | None = None,
    resume: int = RESUME_ATTEMPTS,
) -> int:
    """Stream ``uri`` into ``target_stream``; returns the byte count.

    ``update_func(bytes_so_far, total_or_None, finished)`` is called per chunk (else a bar
    is shown when ``verbose`` and on a terminal). The count is checked against
    Content-Length and ``expected_size``, the MD5 against ``expected_md5``.

    When the connection breaks off and the server said it serves byte ranges
    (``Accept-Ranges: bytes``, a known length), the download goes on from where it stopped
    (``Range`` + ``If-Range``), up to ``resume`` times in a row without a new byte arriving
    (0: never); a file that changed on the server meanwhile is not stitched together: that
    raises :class:`XNATTransferError`.
    """
    if chunk_size <= 0:
        raise XNATValueError(f"chunk_size must be > 0, got {chunk_size}")
    if resume < 0:
        raise XNATValueError(f"resume must be >= 0, got {resume}")
    with TransferProgress(verbose and update_func is None) as bars:
        response = _open_get(session, uri, format=format, query=query, timeout=timeout)
        what = f"GET {response.url}"
        length = _plain_length(response)
        total = int(length) if length else expected_size
        update = update_func or bars.task(uri.rsplit("/", 1)[-1] or uri, total)
        # requests' chunk iterator beats readinto() on http.client's file (measured).
        # A large body is hashed by a helper thread while the next chunks arrive (MD5
        # releases the GIL); a small one inline, where hand-offs would cost more.
        hasher: _Hasher | hashlib._Hash | None = None
        if expected_md5:
            big = total is not None and total >= _Hasher.MIN_BODY
            hasher = _Hasher() if big else hashlib.md5()
        resumable = (
            length is not None
            and response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        )
        validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        write = target_stream.write
        done = 0
        left = resume  # break-offs still allowed before a new byte arrives
        try:
            update(0, total, False)
            while True:
                before = done
                guard = _StallGuard(response, session, timeout, total)
                broke: BaseException
                try:
                    with guard:
                        for chunk in response.iter_content(chunk_size):
                            if not done:
                                _refuse_login_page(response, uri, format, chunk)
                            try:
                                write(chunk)
                            except OSError as exc:
                                raise _WriteFailed(exc) from exc
                            if hasher is not None:
                                hasher.update(chunk)
                            done += len(chunk)
                            guard.received = done
                            update(done, total, False)
                except _WriteFailed as exc:
                    raise _local_error(
                        _stream_name(target_stream), "writing", exc.original
                    ) from exc.original
                except _stream_errors() as exc:
                    guard.raise_if_stalled(what, exc)
                    broke = exc
                else:
                    guard.raise_if_stalled(what, None)
                    if not (resume and resumable and length and 0 < done < int(length)):
                        break
                    # the body ended early without an error: go on as after a break-off
                    broke = XNATTransferError(f"{what}: got {done} of {length} bytes")
                if done > before:
                    left = resume  # a new byte arrived: the tries count afresh
                if not (left and resumable):
                    raise _transfer_error(what, broke) from broke
                left -= 1
                response.close()
                session.logger.info(
                    "%s broke off after %d bytes (%s); going on from there", what, done, broke
                )
                response = _resume_from(
                    session,
                    uri,
                    done,
                    what=what,
                    validator=validator,
                    total=total,
                    broke=broke,
                    format=format,
                    query=query,
                    timeout=timeout,
                )
            digest = hasher.hexdigest() if hasher is not None else None
        finally:
            update(done, total, True)
            if isinstance(hasher, _Hasher):
                hasher.close()
            response.close()
    if length and length.isdigit() and done != int(length):
        raise XNATTransferError(f"{what}: got {done} of {length} bytes (connection broke off)")
    if expected_size is not None and done != expected_size:
        raise XNATIntegrityError(
            f"{what}: got {done} bytes but the server's listing says {expected_size}"
        )
    if (
        expected_md5 is not None
        and digest is not None
        and digest.lower() != expected_md5.strip().lower()
    ):
        raise XNATIntegrityError(
            f"{what}: MD5 {digest} does not match the server's digest {expected_md5}"
        )
    return done


def _resume_from(
    session: XNATSession,
    uri: str,
    offset: int,
    *,
    what: str,
    validator: str | None,
    total: int | None,
    broke: BaseException | None,
    format: str | None = None,
    query: Mapping[str, str] | None = None,
    timeout: Timeout = None,
) -> requests.Response:
    """The rest of ``uri`` from byte ``offset``: a 206 that continues exactly there (and, when
    known, of the same ``total``). Raises :class:`XNATTransferError` (caused by ``broke``)
    when the server cannot give it: any other answer, a refused connection, or a file that
    changed meanwhile (``If-Range``)."""
    headers = {"Range": f"bytes={offset}-"}
    if validator:
        headers["If-Range"] = validator
    response: requests.Response | None = None
    with contextlib.suppress(XNATError, *_stream_errors()):
        response = _open_get(
            session,
            uri,
            format=format,
            query=query,
            timeout=timeout,
            headers=headers,
            accepted=(200, 206),
        )
    if response is None or response.status_code != 206:
        if response is not None:
            response.close()
        first = f"; first: {type(broke).__name__}: {broke}" if broke is not None else ""
        raise XNATTransferError(
            f"{what}: the connection broke off after {offset} bytes and the rest could not be "
            f"fetched (the file changed on the server, or it serves no byte ranges){first}"
        ) from broke
    found = re.fullmatch(
        r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", response.headers.get("Content-Range", "")
    )
    ok = found is not None and int(found.group(1)) == offset
    if ok and found is not None and total is not None and found.group(3) != "*":
        ok = int(found.group(3)) == total
    if not ok:
        response.close()
        raise XNATTransferError(
            f"{what}: asked to go on from byte {offset}, the server sent "
            f"{response.headers.get('Content-Range')!r}"
        )
    return response


class _Hasher:
    """MD5 of a stream, computed by a helper thread so hashing overlaps the download.

    Chunks are handed over through a bounded queue (at most ``DEPTH`` chunks wait, so
    memory stays flat when the network outruns MD5); ``hexdigest`` waits for the rest.
    """

    MIN_BODY = 32 << 20
    DEPTH = 8

    def __init__(self) -> None:
        import queue

        self._md5 = hashlib.md5()
        self._queue: queue.Queue[bytes | None] = queue.Queue(self.DEPTH)
        self._thread = threading.Thread(target=self._run, name="xnat-sdk-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        get, update = self._queue.get, self._md5.update
        while (chunk := get()) is not None:
            update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._md5.hexdigest()


class _WriteFailed(Exception):
    """Writing the target failed (carries the original error, which is not a transfer
    error even though it is an OSError)."""

    def __init__(self, original: OSError) -> None:
        super().__init__(str(original))
        self.original = original


def _stream_name(stream: object) -> str:
    name = getattr(stream, "name", None)
    return os.fsdecode(name) if isinstance(name, (str, bytes)) else "the target stream"


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket a streamed response reads from: its connection's, or (when the server
    answered ``Connection: close`` and http.client let go of the connection) the one
    under the response's own file object."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class _StallGuard:
    """For a large body: blocking socket reads, with a watchdog instead of a socket timeout.

    With a timeout, Python polls the socket before every ``recv`` (measured ~12% of a
    loopback download); here the socket blocks and a helper thread shuts it down when no
    byte arrived for the read timeout, which the reader sees as a broken transfer.
    """

    MIN_BODY = 8 << 20

    def __init__(
        self, response: requests.Response, session: XNATSession, timeout: Timeout, total: int | None
    ) -> None:
        self.received = 0
        self.stalled = False
        chosen = timeout if timeout is not None else session.request_timeout
        limit = chosen[1] if isinstance(chosen, tuple) else chosen
        self.limit = float(limit) if limit is not None else 0.0
        sock = _socket_of(response)
        usable = isinstance(sock, socket.socket) and total is not None
        self._sock = sock if usable and total and total >= self.MIN_BODY else None
        self._old: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _StallGuard:
        sock = self._sock
        if sock is None:
            return self
        self._old = sock.gettimeout()
        sock.settimeout(None)
        if self.limit > 0:
            self._thread = threading.Thread(target=self._watch, name="xnat-sdk-stall", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        seen, since = -1, time.monotonic()
        step = min(max(self.limit / 4, 0.05), 5.0)
        while not self._stop.wait(step):
            if self.received != seen:
                seen, since = self.received, time.monotonic()
            elif time.monotonic() - since >= self.limit:
                self.stalled = True
                with contextlib.suppress(OSError):
                    assert self._sock is not None
                    self._sock.shutdown(socket.SHUT_RDWR)
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.settimeout(self._old)

    def raise_if_stalled(self, what: str, cause: BaseException | None) -> None:
        """Raise the read-timeout error when the watchdog ended the transfer."""
        if self.stalled:
            raise XNATTransferError(
                f"{what}: no data for {self.limit:g} s (read timeout)"
            ) from cause


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
    stem = name[:60]
    while len(os.fsencode(stem)) > 120:  # file names are limited in bytes (often 255)
        stem = stem[:-1]
    return f".{stem}.xnat-{owner}.part"


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


def _staging_folder(parent: Path) -> Path:
    """A new, empty staging folder in ``parent`` (a local error names ``parent``)."""
    while True:
        path = parent / temp_name(None)
        try:
            path.mkdir(0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _local_error(parent, "creating a staging folder", exc) from exc
        return path


_SWEEP_EVERY = 60.0
"""A folder is searched for leftovers at most this often (seconds) per process."""
_swept: dict[str, float] = {}


def _owner_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False  # alive (another user's) or no valid pid: never ours to remove
    return False


def sweep_leftovers(folder: Path | str) -> None:
    """Remove the temporary files and staging folders in ``folder`` that transfers killed on
    this host left behind (their process is gone); those of live processes, of other hosts
    and every other name are kept."""
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
        if their_host != host or not _owner_gone(pid):
            continue
        with contextlib.suppress(OSError):
            if is_folder and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            elif not is_folder and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _local_error(path: str | os.PathLike[str], doing: str, exc: OSError) -> XNATLocalFileError:
    """A failed local file operation as the error naming ``path`` (kept when it is one)."""
    if isinstance(exc, XNATLocalFileError):
        return exc
    return XNATLocalFileError(
        os.fspath(path), f"{doing} failed ({exc.strerror or exc}; local file system)", exc.errno
    )


@contextlib.contextmanager
def _local_files(path: str | os.PathLike[str], doing: str) -> Iterator[None]:
    """Raise the local :class:`OSError` of the block as :class:`XNATLocalFileError` naming
    ``path`` (the SDK's own errors, some of them OSErrors too, pass unchanged)."""
    try:
        yield
    except XNATError:
        raise
    except OSError as exc:
        raise _local_error(path, doing, exc) from exc


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move a complete temporary file to ``target`` (atomically refusing an existing one
    when ``overwrite`` is False)."""
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise XNATFileExistsError(f"{target} exists (overwrite=False)") from None
    except OSError:
        if target.exists():
            raise XNATFileExistsError(f"{target} exists (overwrite=False)") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def download_file(
    session: XNATSession,
    uri: str,
    target: str | os.PathLike[str],
    format: str | None = None,
    verbose: bool = True,
    timeout: Timeout = None,
    *,
    overwrite: bool = True,
    query: Mapping[str, str] | None = None,
    expected_md5: str | None = None,
    expected_size: int | None = None,
    update_func: ProgressCallback | None = None,
    resume: int = RESUME_ATTEMPTS,
) -> Path:
    """Download ``uri`` to the file ``target`` through a temporary name in the same folder,
    renamed only when complete and verified; returns the path.

    ``overwrite=False`` raises :class:`XNATFileExistsError` if ``target`` exists (checked
    before the request and again, atomically, when publishing).
    """
    path = local_path(target, "target")
    if path.is_dir():
        raise XNATValueError(f"{path} is a folder; give the file name to download to")
    if not overwrite and path.exists():
        raise XNATFileExistsError(f"{path} exists (overwrite=False)")
    with _local_files(path.parent, "creating a temporary file"):
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(path.parent)
        fd, tmp = temp_beside(path)
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                download_stream(
                    session,
                    uri,
                    out,
                    format=format,
                    verbose=verbose,
                    timeout=timeout,
                    query=query,
                    update_func=update_func,
                    expected_md5=expected_md5,
                    expected_size=expected_size,
                    resume=resume,
                )
        except XNATLocalFileError as exc:
            # named after the descriptor by download_stream: name the file instead
            raise XNATLocalFileError(str(path), exc.reason, exc.errno) from exc
        except XNATError:
            raise
        except OSError as exc:  # flushing when closing
            raise _local_error(path, "writing", exc) from exc
        with _local_files(path, "moving the complete download into place"):
            _publish(tmp, path, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- uploads ---------------------------------------------------------------------------------


def _no_progress(done: int, total: int | None, finished: bool) -> None:
    """Progress callback that does nothing."""


class _ProgressReader(io.RawIOBase):
    """A readable, seekable view of a binary file that reports progress while read."""

    def __init__(self, inner: IO[bytes], update: ProgressCallback, total: int | None) -> None:
        self._inner = inner
        self._update = update
        self._total = total
        self._start = inner.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._update(self._inner.tell() - self._start, self._total, False)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


def _body_of(file_: Any) -> tuple[Any, Callable[[], None], bool, int | None]:
    """(request body, closer, rewindable, size) for an upload source."""
    if isinstance(file_, (bytes, bytearray, memoryview)):
        data = bytes(file_)
        return io.BytesIO(data), lambda: None, True, len(data)
    if isinstance(file_, os.PathLike) or (
        isinstance(file_, str) and "\x00" not in file_ and os.path.isfile(file_)
    ):
        path = Path(os.fspath(file_))
        if not path.is_file():
            raise XNATValueError(f"cannot upload {path}: not an existing file")
        handle = open(path, "rb")  # noqa: SIM115 (closed by the caller through the closer)
        return handle, handle.close, True, path.stat().st_size
    if isinstance(file_, str):
        data = file_.encode("utf-8")
        return io.BytesIO(data), lambda: None, True, len(data)
    if isinstance(file_, io.TextIOBase):
        data = file_.read().encode("utf-8")
        return io.BytesIO(data), lambda: None, True, len(data)
    if hasattr(file_, "read"):
        seekable = False
        size: int | None = None
        try:
            seekable = bool(file_.seekable())
            if seekable:
                here = file_.tell()
                size = file_.seek(0, io.SEEK_END) - here
                file_.seek(here)
        except (AttributeError, OSError, ValueError):
            seekable = False
        return file_, lambda: None, seekable, size
    if isinstance(file_, Iterable):
        return iter(file_), lambda: None, False, None
    raise XNATValueError(
        f"cannot upload a {type(file_).__name__}: give a path, bytes, str, a binary file "
        "object or an iterable of bytes"
    )


def _duplicates(response: requests.Response) -> list[str]:
    if not response.text.lstrip().startswith("{"):
        return []
    try:
        answer = answer_of(response).document
    except XNATResponseError:
        return []
    found = answer.get("duplicates") if isinstance(answer, dict) else None
    return [str(x) for x in found] if isinstance(found, list) else []


def upload(
    session: XNATSession,
    uri: str,
    file_: Any,
    retries: int = 1,
    query: Mapping[str, str] | None = None,
    content_type: str | None = None,
    method: str = "put",
    overwrite: bool = False,
    timeout: Timeout = None,
    *,
    verbose: bool = False,
    update_func: ProgressCallback | None = None,
) -> requests.Response:
    """Upload ``file_`` (a path, bytes, text, a file object or an iterable of bytes) to
    ``uri`` with PUT (or POST); see :meth:`XNATSession.upload`."""
    verb = method.upper()
    if verb not in ("PUT", "POST"):
        raise XNATValueError(f"method must be 'put' or 'post', got {method!r}")
    if retries < 1:
        raise XNATValueError(f"retries must be >= 1, got {retries}")
    params = dict(query or {})
    if overwrite:
        params["overwrite"] = "true"
    body, close, rewindable, size = _body_of(file_)
    headers = {"Content-Type": content_type or "application/octet-stream"}
    attempts = retries if rewindable else 1
    start = body.tell() if rewindable else 0
    try:
        with TransferProgress(verbose and update_func is None) as bars:
            update = update_func or (
                bars.task(uri.rsplit("/", 1)[-1] or uri, size)
                if wants_bars(verbose) or update_func
                else None
            )
            sent = body
            if rewindable:
                # Also hides fileno(), so a spooled temporary file is not forced to disk.
                sent = _ProgressReader(body, update or _no_progress, size)
            for attempt in range(1, attempts + 1):
                if rewindable:
                    body.seek(start)
                try:
                    if verb == "PUT":
                        response = session.put(
                            uri, data=sent, query=params, timeout=timeout, headers=headers
                        )
                    else:
                        response = session.post(
                            uri, data=sent, query=params, timeout=timeout, headers=headers
                        )
                    break
                except (XNATConnectionError, XNATServerError):
                    if attempt >= attempts:
                        raise
            if update is not None:
                update(size or 0, size, True)
            duplicates = [] if overwrite else _duplicates(response)
            if duplicates and (attempt > 1 or was_resent(response)):
                # The first try may have stored the file before its answer was lost: the
                # "duplicate" is then our own upload, which equal size and MD5 prove.
                body.seek(start)
                if _stored_as_sent(session, uri, body, size):
                    duplicates = []
    finally:
        close()
    if duplicates:
        raise XNATFileExistsError(
            f"{verb} {uri}: the server already has {', '.join(duplicates)} and kept it "
            "(pass overwrite=True to replace)"
        )
    return response


def _stored_as_sent(session: XNATSession, uri: str, body: IO[bytes], size: int | None) -> bool:
    """True when the file at ``uri`` (``.../files/{path}``) has the size and MD5 of what is
    left to read of ``body``."""
    folder, found, path = uri.partition("/files/")
    if not found:
        return False
    digest, sent = hashlib.md5(), 0
    while chunk := body.read(CHUNK_SIZE):
        digest.update(chunk)
        sent += len(chunk)
    if size is not None and sent != size:
        return False
    for row in _listing_rows(session, folder + "/files"):
        row_uri = str(row.get("URI") or "")
        if row_uri.endswith("/files/" + path) or unquote(row_uri).endswith(
            "/files/" + unquote(path)
        ):
            remote_size = str(row.get("Size") or "")
            remote_md5 = str(row.get("digest") or "").lower()
            return remote_size == str(sent) and remote_md5 == digest.hexdigest()
    return False


# -- random-access reads ---------------------------------------------------------------------


class RemoteStream(io.RawIOBase):
    """A read-only, seekable file object over a remote file, streamed in chunks.

    Reads continue one streamed GET; a seek outside the small window of recent bytes
    re-opens the stream with an HTTP Range request, and so does a broken-off connection
    (from the byte it stopped at, with ``If-Range``; ``RESUME_ATTEMPTS`` times in a row
    without a new byte). Closing stops the transfer.
    """

    _WINDOW = 1 << 16

    def __init__(
        self, session: XNATSession, uri: str, size: int | None = None, timeout: Timeout = None
    ) -> None:
        super().__init__()
        self._session = session
        self._uri = uri
        self._size = size
        self._timeout = timeout
        self._response: requests.Response | None = None
        self._buf = bytearray()
        self._buf_start = 0
        self._pos = 0
        self._validator: str | None = None
        self.bytes_received = 0
        """Body bytes read from the server so far (all requests of this object)."""
        self._open_at(0)

    @property
    def name(self) -> str:
        """The remote path."""
        return self._uri

    def _open_at(self, offset: int) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        headers = {"Range": f"bytes={offset}-"} if offset else None
        accepted = (206,) if offset else (200,)
        if self._size is not None and offset >= self._size:
            self._buf = bytearray()
            self._buf_start = offset
            return
        response = _open_get(
            self._session, self._uri, timeout=self._timeout, headers=headers, accepted=accepted
        )
        if self._size is None:
            length = _plain_length(response)
            if length:
                self._size = int(length) + offset
        if self._validator is None:
            self._validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        self._response = response
        self._buf = bytearray()
        self._buf_start = offset

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            if self._size is None:
                head = self._session.head(self._uri)
                self._size = int(head.headers.get("Content-Length", "0"))
            target = self._size + offset
        else:
            raise XNATValueError(f"invalid whence {whence}")
        if target < 0:
            raise XNATValueError(f"cannot seek to {target}")
        self._pos = target
        return target

    def _fill(self, want_end: int) -> None:
        """Read from the stream until the buffer reaches ``want_end`` (or EOF)."""
        response = self._response
        if response is None:
            return
        buf_end = self._buf_start + len(self._buf)
        left = RESUME_ATTEMPTS
        while buf_end < want_end:
            try:
                chunk = response.raw.read(max(want_end - buf_end, 65536), decode_content=True)
            except _stream_errors() as exc:
                if not left:
                    raise _transfer_error(f"GET {self._uri}", exc) from exc
                left -= 1
                response = self._go_on_from(buf_end, exc)
                continue
            if not chunk:
                if self._size is None or buf_end >= self._size or not left:
                    break
                left -= 1  # ended early without an error
                response = self._go_on_from(buf_end, None)
                continue
            left = RESUME_ATTEMPTS
            self._buf += chunk
            self.bytes_received += len(chunk)
            buf_end += len(chunk)

    def _go_on_from(self, offset: int, broke: BaseException | None) -> requests.Response:
        """A new response for the rest from ``offset`` (the buffer is kept)."""
        what = f"GET {self._uri}"
        if self._response is not None:
            self._response.close()
            self._response = None
        resumed = _resume_from(
            self._session,
            self._uri,
            offset,
            what=what,
            validator=self._validator,
            total=self._size,
            broke=broke,
            timeout=self._timeout,
        )
        self._response = resumed
        return resumed

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = len(view)
        if want == 0:
            return 0
        if self._size is not None and self._pos >= self._size:
            return 0
        buf_end = self._buf_start + len(self._buf)
        if self._pos < self._buf_start or self._pos > buf_end:
            self._open_at(self._pos)
        self._fill(self._pos + want)
        offset = self._pos - self._buf_start
        data = self._buf[offset : offset + want]
        view[: len(data)] = data
        self._pos += len(data)
        if len(self._buf) > self._WINDOW * 2:
            drop = len(self._buf) - self._WINDOW
            del self._buf[:drop]
            self._buf_start += drop
        return len(data)

    def readall(self) -> bytes:
        chunks = []
        while True:
            data = self.read(CHUNK_SIZE)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        super().close()


# -- whole folders ---------------------------------------------------------------------------


_Expected = dict[tuple[str, str], list[tuple[str, int, str]]]


def _listing_rows(session: XNATSession, uri: str) -> list[dict[str, Any]]:
    """The rows of a file listing (checked: flat rows, whole-number sizes)."""
    return fetch(session, uri).rows(numbers=("Size",))


def _split_file_uri(uri: str) -> tuple[str, str] | None:
    """``(scan ID or "", path inside the resource)`` of a listing's file URI
    (``.../scans/{scan}/resources/{resource}/files/{path}``), None for another shape."""
    at = uri.find("/resources/")
    while at >= 0:
        end = uri.find("/", at + 11)
        if end > at + 11 and uri.startswith("/files/", end) and len(uri) > end + 7:
            cut = uri.rfind("/", 0, at)
            scan = uri[cut + 1 : at] if cut >= 0 and uri.endswith("/scans", 0, cut) else ""
            return scan, uri[end + 7 :]
        at = uri.find("/resources/", at + 1)
    return None


def _expected_by_key(rows: list[dict[str, Any]]) -> _Expected:
    """(resource label, path) -> [(scan ID or "", size or -1, md5 or "")] from a listing."""
    expected: _Expected = {}
    for row in rows:
        found = _split_file_uri(str(row.get("URI") or ""))
        scan, path = found if found is not None else ("", str(row.get("Name") or ""))
        size = whole_number(row.get("Size"))
        key = (str(row.get("collection") or ""), path)
        item = (scan, -1 if size is None else size, str(row.get("digest") or "").lower())
        same = expected.get(key)
        if same is None:
            expected[key] = [item]
        else:
            same.append(item)
    return expected


_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)


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


def _inside_root(root_real: str, final: str, checked: dict[str, bool]) -> None:
    parent = os.path.dirname(final)
    ok = checked.get(parent)
    if ok is None:
        real = os.path.realpath(parent)
        ok = real == root_real or real.startswith(root_real + os.sep)
        checked[parent] = ok
    if not ok:
        from xnat_sdk.errors import XNATUnsafeArchiveError

        raise XNATUnsafeArchiveError(final, "resolves outside the target folder (symlink)")


def _check_merge_path(root_prefix: str, rel: str, dest: str, folder_ok: dict[str, bool]) -> None:
    """Raise :class:`XNATLocalFileError` when ``dest`` (a file of the folder ``rel``) cannot
    be merged into the target: a file stands where one of its folders must go, or a folder
    where the file must go."""
    import errno

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
) -> list[str]:
    """Download the server's zip of ``zip_uri`` and unpack it into ``target_dir`` while it
    streams in (one pass, no zip on disk); returns the paths of the files written (``flatten``: each
    at its path inside its resource, without the ``{session}/scans/.../files/`` folders).

    Every entry name is checked (no absolute paths, ``..`` or escapes through symlinked
    folders), every file's CRC and its size and MD5 against the file listing at
    ``listing_uri``. Files land in a staging folder inside ``target_dir`` and are moved
    into place only when the whole zip arrived and matched (``overwrite=False``: an
    existing file raises first; a file where a folder must go, or the reverse, raises
    :class:`XNATLocalFileError` first); on any error nothing is left behind.
    """
    from concurrent.futures import ThreadPoolExecutor

    from xnat_sdk.archives import ChunkReader, iter_zip_stream, names_root, safe_relative

    local_folder(target_dir, "target_dir")

    root = Path(os.fspath(target_dir))
    with _local_files(root, "creating the folder"):
        root.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(root)
    # The listing is read while the zip streams in: it is needed only to check the files
    # (before anything is published) and for sizes a zip entry does not carry itself.
    # It is asked for once the zip's headers are in, so the server prepares the zip first.
    zip_started = threading.Event()

    def read_listing() -> list[dict[str, Any]]:
        zip_started.wait()
        return _listing_rows(session, listing_uri)

    pool = ThreadPoolExecutor(1, thread_name_prefix="xnat-sdk-listing")
    listing = pool.submit(read_listing)
    pool.shutdown(wait=False)
    expected_cache: list[_Expected] = []

    def expected() -> _Expected:
        if not expected_cache:
            expected_cache.append(_expected_by_key(listing.result()))
        return expected_cache[0]

    root_real = os.path.realpath(root)
    staging: Path | None = None
    root_str = str(root)
    root_prefix = os.path.join(root_str, "")
    checked: dict[str, bool] = {}
    folders: dict[str, _ZipPlace] = {}  # folder inside the zip -> where its files go
    got: list[tuple[str, _ZipPlace, str, int, str]] = []  # name, place, file name, size, md5

    try:
        own = bars is None
        progress = bars or TransferProgress(verbose)
        if own:
            progress.__enter__()
        try:
            label = zip_uri.rstrip("/").rsplit("/", 2)[-2] if "/" in zip_uri else zip_uri
            total: int | None = None
            update = progress.task(label, None)
            try:
                response = _open_get(
                    session, zip_uri, format="zip", timeout=timeout, accepted=(200, 404)
                )
            finally:
                zip_started.set()
            if response.status_code == 404:
                response.close()
                if not listing.result():
                    return []  # an empty resource has no zip
                response = _open_get(session, zip_uri, format="zip", timeout=timeout)
            staging = _staging_folder(root)
            staging_str = str(staging)
            staging_prefix = os.path.join(staging_str, "")
            what = f"GET {response.url}"
            done = 0

            def locate(name: str) -> tuple[_ZipPlace, str]:
                """Where an entry goes: its folder's place (worked out, checked to stay
                inside the target and made in staging once per folder) and its file name."""
                folder_rel, _, base = safe_relative(name).rpartition("/")
                place = folders.get(folder_rel)
                if place is None:
                    place = folders[folder_rel] = _zip_place(folder_rel, flatten)
                    _inside_root(root_real, os.path.join(root_str, place.rel, "_"), checked)
                    try:
                        os.makedirs(os.path.join(staging_str, place.rel), exist_ok=True)
                    except OSError as exc:
                        where = os.path.join(root_str, place.rel)
                        raise _local_error(where, "creating the folder", exc) from exc
                return place, base

            def size_of(name: str) -> int | None:
                place, base = locate(name)
                sizes = {s for _, s, _ in place.candidates(expected(), base)}
                return sizes.pop() if len(sizes) == 1 and -1 not in sizes else None

            def counted() -> Iterator[bytes]:
                nonlocal done, total
                for chunk in response.iter_content(CHUNK_SIZE):
                    done += len(chunk)
                    if total is None and listing.done() and not listing.exception():
                        found = expected()
                        total = sum(max(s, 0) for items in found.values() for _, s, _ in items)
                    update(done, total or None, False)
                    yield chunk

            try:
                reader = ChunkReader(counted())
                md5 = hashlib.md5
                for name, data in iter_zip_stream(reader, size_of):
                    if name.endswith("/"):
                        if not names_root(name):
                            safe_relative(name)  # writes nothing, but refused all the same
                        for _ in data:
                            pass
                        continue
                    place, base = locate(name)
                    dest = root_prefix + place.rel + base
                    try:
                        fd = os.open(staging_prefix + place.rel + base, _WRITE_FLAGS, 0o666)
                    except OSError as exc:
                        raise _local_error(dest, "writing", exc) from exc
                    try:
                        if isinstance(data, tuple):  # one piece, CRC already checked
                            whole = data[0]
                            _write_all(fd, whole, dest)
                            got.append((name, place, base, len(whole), md5(whole).hexdigest()))
                        else:
                            hasher = md5()
                            size = 0
                            for chunk in data:
                                _write_all(fd, chunk, dest)
                                hasher.update(chunk)
                                size += len(chunk)
                            got.append((name, place, base, size, hasher.hexdigest()))
                    except BaseException:
                        with contextlib.suppress(OSError):
                            os.close(fd)
                        raise
                    try:
                        os.close(fd)
                    except OSError as exc:
                        raise _local_error(dest, "writing", exc) from exc
            except EOFError as exc:
                raise XNATTransferError(f"{what}: the zip ended early ({exc})") from exc
            except XNATLocalFileError:
                raise  # an OSError, but of the local disk, not of the connection
            except _stream_errors() as exc:
                raise _transfer_error(what, exc) from exc
            finally:
                update(done, total or None, True)
                response.close()
        finally:
            if own:
                progress.__exit__(None, None, None)
        found_by_key = expected()
        for name, place, base, size, digest in got:
            found = place.candidates(found_by_key, base)
            if not found or any(s in (-1, size) and d in ("", digest) for _, s, d in found):
                continue
            raise XNATIntegrityError(
                f"{name}: {size} bytes with MD5 {digest} do not match the "
                f"server's file listing ({found})"
            )
        finals = [root_prefix + place.rel + base for _, place, base, _, _ in got]
        # A first-level folder (or file) the target does not have yet moves in one rename;
        # the others are merged file by file.
        tops = {place.top or base for _, place, base, _, _ in got}
        fresh = {top for top in tops if not os.path.lexists(root_prefix + top)}
        folder_ok: dict[str, bool] = {}
        for dest, (_, place, base, _, _) in zip(finals, got, strict=True):
            if (place.top or base) in fresh:
                continue
            _check_merge_path(root_prefix, place.rel, dest, folder_ok)
            if not overwrite and os.path.lexists(dest):
                raise XNATFileExistsError(f"{dest} exists (overwrite=False)")
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
    finally:
        zip_started.set()
        if not listing.done():
            with contextlib.suppress(Exception):
                listing.result()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _zip_folder(folder: Path, target: Path, overwrite: bool) -> Path:
    """Write a (stored) zip of ``folder`` to ``target`` through a temporary name."""
    import zipfile

    from xnat_sdk.archives import iter_files

    if not overwrite and target.exists():
        raise XNATFileExistsError(f"{target} exists (overwrite=False)")
    with _local_files(target.parent, "creating a temporary file"):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(target.parent)
        fd, tmp = temp_beside(target)
    try:
        try:
            with os.fdopen(fd, "wb") as out, zipfile.ZipFile(out, "w", allowZip64=True) as zf:
                for path, rel in iter_files(folder):
                    zf.write(path, rel)
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


def _safe_name(text: str) -> str:
    """A server-given label or name as one local folder name: separators and NUL become
    ``_`` (and, on Windows, a drive letter's colon), an empty or dot name ``_``."""
    cleaned = text.replace("/", "_").replace("\\", "_").replace("\x00", "_").strip()
    if os.name == "nt" and cleaned[1:2] == ":":
        cleaned = cleaned[:1] + "_" + cleaned[2:]
    return "_" if cleaned in ("", ".", "..") else cleaned


# -- behaviour mixed into the session, files and archive objects ------------------------------

if TYPE_CHECKING:
    from xnat_sdk.bases import XNATObject as _ObjectBase
    from xnat_sdk.listings import Listing, RemoteFile
else:
    _ObjectBase = object


_SPOOL = 32 << 20
"""Archives for ``tar_file``/``tgz_file`` stay in memory up to this size, then spill."""

PARALLEL_UPLOADS = 4
"""Concurrent requests of ``upload_dir(method="per_file")``."""
PARALLEL_DOWNLOADS = 4
"""Sessions a project or subject ``download_dir`` fetches at a time."""


def _settle(futures: list[Future[Any]]) -> None:
    """Wait until every future is done or one failed; cancel those not started yet and
    re-raise the first failure (in submission order)."""
    from concurrent.futures import FIRST_EXCEPTION, wait

    wait(futures, return_when=FIRST_EXCEPTION)
    for future in futures:
        future.cancel()
    for future in futures:
        if future.done() and not future.cancelled():
            future.result()


UPLOAD_DIR_METHODS = ("per_file", "tar_memory", "tgz_memory", "tar_file", "tgz_file")


class SessionTransfers:
    """``download``, ``download_stream``, ``download_zip`` and ``upload`` of a session."""

    __slots__ = ()

    def _as_session(self) -> XNATSession:
        return self  # type: ignore[return-value]

    def download(
        self,
        uri: str,
        target: str | os.PathLike[str],
        format: str | None = None,
        verbose: bool = True,
        timeout: Timeout = None,
        *,
        overwrite: bool = True,
        expected_md5_digest: str | None = None,
        resume: int = RESUME_ATTEMPTS,
    ) -> Path:
        """Download ``uri`` to the file ``target`` (temporary name, renamed when complete;
        ``overwrite=False`` refuses an existing file); a bar shows on a terminal. A broken-off
        transfer goes on from where it stopped (``resume`` times in a row; see
        :func:`download_stream`)."""
        return download_file(
            self._as_session(),
            quote_uri(uri),
            target,
            format=format,
            verbose=verbose,
            timeout=timeout,
            overwrite=overwrite,
            expected_md5=expected_md5_digest,
            resume=resume,
        )

    def download_stream(
        self,
        uri: str,
        target_stream: IO[bytes],
        format: str | None = None,
        verbose: bool = False,
        chunk_size: int = CHUNK_SIZE,
        update_func: ProgressCallback | None = None,
        timeout: Timeout = None,
        *,
        expected_md5_digest: str | None = None,
        resume: int = RESUME_ATTEMPTS,
    ) -> int:
        """Stream ``uri`` into a writable binary file object; returns the byte count.
        ``update_func(bytes_so_far, total_or_None, finished)`` follows the transfer; a
        broken-off transfer goes on from where it stopped (``resume``)."""
        return download_stream(
            self._as_session(),
            quote_uri(uri),
            target_stream,
            format=format,
            verbose=verbose,
            chunk_size=chunk_size,
            update_func=update_func,
            timeout=timeout,
            expected_md5=expected_md5_digest,
            resume=resume,
        )

    def download_zip(
        self,
        uri: str,
        target: str | os.PathLike[str],
        verbose: bool = True,
        timeout: Timeout = None,
        *,
        overwrite: bool = True,
    ) -> Path:
        """Download ``uri?format=zip`` to the file ``target``."""
        return self.download(
            uri, target, format="zip", verbose=verbose, timeout=timeout, overwrite=overwrite
        )

    def upload(
        self,
        uri: str,
        file_: UploadSource | Iterable[bytes],
        retries: int = 1,
        query: Mapping[str, str] | None = None,
        content_type: str | None = None,
        method: str = "put",
        overwrite: bool = False,
        timeout: Timeout = None,
        *,
        verbose: bool = False,
        update_func: ProgressCallback | None = None,
    ) -> requests.Response:
        """Upload ``file_`` to ``uri`` (PUT, or POST with ``method='post'``).

        ``file_``: a path (``Path``, or a ``str`` naming an existing file), bytes, text, a
        binary file object (streamed) or an iterable of bytes (streamed, never retried).
        Rewindable bodies are tried up to ``retries`` times on connection or 5xx failures.
        ``overwrite=False``: if the server reports the file exists, raises
        :class:`XNATFileExistsError` (the remote file is left untouched).
        """
        return upload(
            self._as_session(),
            quote_uri(uri),
            file_,
            retries=retries,
            query=query,
            content_type=content_type,
            method=method,
            overwrite=overwrite,
            timeout=timeout,
            verbose=verbose,
            update_func=update_func,
        )


class RemoteFileTransfers:
    """``download``, ``download_stream``, ``open`` and ``delete`` of one remote file."""

    __slots__ = ()

    if TYPE_CHECKING:
        _session: XNATSession
        uri: str
        path: str
        name: str
        size: int | None
        digest: str | None

    @property
    def file_size(self) -> int | None:
        """Size in bytes from the listing (xnatpy's name; same as ``size``)."""
        return self.size

    def download(
        self,
        path: str | os.PathLike[str],
        verbose: bool = True,
        timeout: Timeout = None,
        *,
        overwrite: bool = True,
        verify: bool = True,
        resume: int = RESUME_ATTEMPTS,
    ) -> Path:
        """Download this file to ``path`` (a file name, or an existing folder to put it in);
        size and MD5 are checked against the listing unless ``verify=False``; a broken-off
        transfer goes on from where it stopped (``resume`` times in a row)."""
        from xnat_sdk.archives import safe_join

        target = local_path(path, "target")
        if target.is_dir():
            target = safe_join(target, self.name)  # a name from the server: checked
        return download_file(
            self._session,
            quote_path(self.uri),
            target,
            verbose=verbose,
            timeout=timeout,
            overwrite=overwrite,
            expected_md5=self.digest if verify else None,
            expected_size=self.size if verify else None,
            resume=resume,
        )

    def download_stream(
        self,
        target_stream: IO[bytes],
        verbose: bool = False,
        chunk_size: int = CHUNK_SIZE,
        update_func: ProgressCallback | None = None,
        timeout: Timeout = None,
        *,
        resume: int = RESUME_ATTEMPTS,
    ) -> int:
        """Stream this file into a writable binary file object (MD5 checked; a broken-off
        transfer goes on from where it stopped, ``resume`` times in a row)."""
        return download_stream(
            self._session,
            quote_path(self.uri),
            target_stream,
            verbose=verbose,
            chunk_size=chunk_size,
            update_func=update_func,
            timeout=timeout,
            expected_md5=self.digest,
            expected_size=self.size,
            resume=resume,
        )

    def open(self, mode: str = "rb") -> RemoteStream:
        """A streaming, seekable binary file object (only ``"rb"``); close it when done."""
        if mode != "rb":
            raise XNATValueError(f"remote files open in 'rb' mode only, not {mode!r}")
        return RemoteStream(self._session, quote_path(self.uri), self.size)

    def verify_digest(self) -> bool:
        """Stream the file (nothing stored) and check it against the listing's size and
        MD5; False on a mismatch (xnatpy's name)."""
        if not self.digest:
            raise XNATValueError(f"the server keeps no digest for {self.path}")
        try:
            self.download_stream(cast("IO[bytes]", _Discard()))
        except XNATIntegrityError:
            return False
        return True

    def delete(self) -> None:
        """Delete this file on the server."""
        self._session.delete(quote_path(self.uri))
        self._session.clearcache()


class _Discard(io.RawIOBase):
    """A writable sink that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _session_of(obj: _ObjectBase) -> XNATSession:
    return obj._xnat_bound_session()


class ResourceTransfers(_ObjectBase):
    """Uploads, downloads and file statistics of a resource folder."""

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def files(self) -> Listing[RemoteFile]: ...

    def _row_number(self, key: str) -> int | None:
        cache = self._xnat_cache or {}
        if not cache.get("row") and self._xnat_session is not None and self._xnat_uri:
            self._xnat_document()  # the parent's resources listing row (one request)
            cache = self._xnat_cache or {}
        row = cache.get("row") or {}
        value = str(row.get(key, "")).strip()
        return int(value) if value.isdigit() else None

    @property
    def file_count(self) -> int:
        """Number of files (from the resource listing, else counted from the files)."""
        found = self._row_number("file_count")
        return found if found is not None else len(self.files)

    @property
    def file_size(self) -> int:
        """Total bytes (from the resource listing, else summed from the files)."""
        found = self._row_number("file_size")
        if found is not None:
            return found
        return sum(f.size or 0 for f in self.files)

    def _files_uri(self, remotepath: str = "") -> str:
        base = f"{self.uri}/files"
        rel = remotepath.strip("/")
        return f"{base}/{quote_path(rel)}" if rel else base

    def _after_write(self) -> None:
        cache = self._xnat_cache
        if cache is not None:
            cache.pop("files", None)
            cache.pop("row", None)
        _session_of(self).clearcache()

    def upload(
        self,
        data: UploadSource,
        remotepath: str | None = None,
        overwrite: bool = False,
        extract: bool = False,
        file_content: str | None = None,
        file_format: str | None = None,
        file_tags: str | None = None,
        *,
        verbose: bool = False,
        timeout: Timeout = None,
        retries: int = 1,
    ) -> None:
        """Upload a file (a ``Path`` or a ``str`` naming an existing file), bytes or a binary
        file object as ``remotepath`` (default: the file's name). ``extract=True`` unpacks
        a zip/tar/tgz on the server; ``overwrite=False`` raises
        :class:`XNATFileExistsError` when the file exists."""
        if isinstance(data, str):
            # As in xnatpy, a str here is a path (text goes through upload_data or bytes).
            if not os.path.isfile(data):
                raise XNATValueError(
                    f"{data!r} is not an existing file; to upload text use upload_data() "
                    "or pass bytes"
                )
            data = Path(data)
        if remotepath is None:
            if isinstance(data, os.PathLike) and os.path.isfile(data):
                remotepath = Path(os.fspath(data)).name
            else:
                raise XNATValueError("remotepath is needed when uploading data, not a file")
        remotepath = check_remotepath(remotepath)
        query: dict[str, str] = {}
        if extract:
            query["extract"] = "true"
        for key, value in (("content", file_content), ("format", file_format)):
            if value is not None:
                query[key] = value
        if file_tags is not None:
            query["tags"] = file_tags
        try:
            upload(
                _session_of(self),
                self._files_uri(remotepath),
                data,
                retries=retries,
                query=query,
                overwrite=overwrite,
                timeout=timeout,
                verbose=verbose,
            )
        finally:
            self._after_write()

    def upload_data(
        self,
        data: UploadSource,
        remotepath: str,
        overwrite: bool = False,
        extract: bool = False,
        file_content: str | None = None,
        file_format: str | None = None,
        file_tags: str | None = None,
    ) -> None:
        """Upload bytes, text or a file object as ``remotepath`` (xnatpy's name)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.upload(data, remotepath, overwrite, extract, file_content, file_format, file_tags)

    def upload_dir(
        self,
        directory: str | os.PathLike[str],
        overwrite: bool = False,
        method: str = "tgz_file",
        *,
        verbose: bool = False,
    ) -> None:
        """Upload every regular file below ``directory`` keeping relative paths.

        ``method``: ``per_file`` (one request per file), ``tar_memory``/``tgz_memory`` (one
        archive built in memory), ``tar_file``/``tgz_file`` (one archive in a temporary
        file, the default); archives are unpacked by the server.
        """
        from xnat_sdk.archives import write_tar

        folder = local_path(directory, "directory")
        if not folder.is_dir():
            raise XNATValueError(f"{folder} is not a folder")
        method = method or "tgz_file"
        if method not in UPLOAD_DIR_METHODS:
            raise XNATValueError(
                f"unknown upload_dir method {method!r}; use one of {', '.join(UPLOAD_DIR_METHODS)}"
            )
        session = _session_of(self)
        try:
            if method == "per_file":
                self._upload_per_file(folder, overwrite, verbose)
                return
            gzip = method.startswith("tgz")
            name = "upload.tar.gz" if gzip else "upload.tar"
            buffer_: IO[bytes] = (
                io.BytesIO() if method.endswith("memory") else tempfile.SpooledTemporaryFile(_SPOOL)  # noqa: SIM115 (closed below)
            )
            with buffer_:
                # A file that cannot be read raises naming it; writing fails in the spill file.
                with _local_files(tempfile.gettempdir(), "writing the temporary archive"):
                    write_tar(folder, buffer_, gzip=gzip, compresslevel=None)
                    buffer_.seek(0)
                upload(
                    session,
                    self._files_uri(name),
                    buffer_,
                    query={"extract": "true"},
                    overwrite=overwrite,
                    verbose=verbose,
                )
        finally:
            self._after_write()

    def _upload_per_file(self, folder: Path, overwrite: bool, verbose: bool) -> None:
        """One request per file, a few at a time (XNAT serves them in parallel; over a
        network with latency this is much faster than one after the other)."""
        from concurrent.futures import ThreadPoolExecutor

        from xnat_sdk.archives import iter_files

        session = _session_of(self)
        files = []
        for path, rel in iter_files(folder):
            check_remotepath(rel)
            with _local_files(path, "reading the file's size"):
                files.append((path, rel, path.stat().st_size))
        total = sum(size for _, _, size in files)
        label = f"upload {folder.name}"

        def send(path: Path, rel: str, size: int, bars: TransferProgress) -> None:
            if size == 0:
                # XNAT refuses an empty request body: send the file inside a tar instead.
                import tarfile

                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w") as tar:
                    tar.add(str(path), arcname=rel.rsplit("/", 1)[-1])
                upload(
                    session,
                    self._files_uri(f"{rel}.empty.tar"),  # unpacked beside it, as ``rel``
                    buffer.getvalue(),
                    query={"extract": "true"},
                    overwrite=overwrite,
                )
                return
            update = bars.task(rel, size) if bars.enabled else None
            upload(session, self._files_uri(rel), path, overwrite=overwrite, update_func=update)

        with (
            TransferProgress(verbose, overall_label=label, overall_total=total) as bars,
            ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool,
        ):
            _settle([pool.submit(send, path, rel, size, bars) for path, rel, size in files])

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download the resource's files as one zip file at ``path``."""
        return download_file(
            _session_of(self),
            self._files_uri(),
            path,
            format="zip",
            verbose=verbose,
            overwrite=overwrite,
        )

    def download_dir(
        self,
        target_dir: str | os.PathLike[str],
        verbose: bool = True,
        flatten_dirs: bool = False,
        *,
        overwrite: bool = True,
    ) -> Path:
        """Download and unpack the resource into ``target_dir`` (the server's zip layout,
        ``{session}/scans/{scan}/resources/{label}/files/...``; with ``flatten_dirs`` the
        files go straight into ``target_dir``, keeping their folders inside the resource),
        every file verified against the listing; returns the folder holding the files."""
        uri = self._files_uri()
        root = local_folder(target_dir, "target_dir")
        written = download_zip_dir(
            _session_of(self),
            uri,
            uri,
            root,
            verbose=verbose,
            overwrite=overwrite,
            flatten=flatten_dirs,
        )
        return root if flatten_dirs else _common_folder(root, written)


def _common_folder(root: Path, written: list[str]) -> Path:
    if not written:
        return root
    # The paths are built by download_zip_dir, so their last separator ends the folder.
    return Path(os.path.commonpath({p[: p.rfind(os.sep)] for p in written}))


class _ZipDownloads(_ObjectBase):
    __slots__ = ()

    def _zip_uri(self) -> str:
        return f"{self.uri}/files"

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download all files (of every resource) as one zip file at ``path``."""
        return download_file(
            _session_of(self),
            self._zip_uri(),
            path,
            format="zip",
            verbose=verbose,
            overwrite=overwrite,
        )


class ScanTransfers(_ZipDownloads):
    """``download`` (one zip) and ``download_dir`` of a scan."""

    __slots__ = ()

    def download_dir(
        self, target_dir: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download and unpack the scan's files into ``target_dir`` (server zip layout
        ``{session}/scans/{id}-{type}/resources/...``), verified; returns the scan folder."""
        uri = self._zip_uri()
        written = download_zip_dir(
            _session_of(self), uri, uri, target_dir, verbose=verbose, overwrite=overwrite
        )
        common = _common_folder(Path(os.fspath(target_dir)), written)
        parts = common.parts
        if "resources" in parts:
            return Path(*parts[: len(parts) - parts[::-1].index("resources") - 1])
        return common


class SessionDownloads(_ObjectBase):
    """``download`` and ``download_dir`` of an image session (all scans, one zip)."""

    __slots__ = ()

    def download(
        self,
        path: str | os.PathLike[str],
        scan_filter: str = "ALL",
        verbose: bool = True,
        *,
        overwrite: bool = True,
    ) -> Path:
        """Download the files of the scans matching ``scan_filter`` (``ALL``, IDs or types,
        comma-separated) as one zip at ``path``."""
        return download_file(
            _session_of(self),
            f"{self.uri}/scans/{quote_path(scan_filter)}/files",
            path,
            format="zip",
            verbose=verbose,
            overwrite=overwrite,
        )

    def download_dir(
        self,
        target_dir: str | os.PathLike[str],
        scan_filter: str = "ALL",
        verbose: bool = True,
        *,
        overwrite: bool = True,
        bars: TransferProgress | None = None,
    ) -> Path:
        """Download and unpack the session's scan files into ``target_dir``
        (``{label}/scans/{id}-{type}/resources/{label}/files/...``), verified against the
        listing; returns ``target_dir/{label}``."""
        uri = f"{self.uri}/scans/{quote_path(scan_filter)}/files"
        root = local_folder(target_dir, "target_dir")
        label = str(getattr(self, "label", "") or "")
        folder = root / _safe_name(label) if label else root
        download_zip_dir(
            _session_of(self), uri, uri, root, verbose=verbose, overwrite=overwrite, bars=bars
        )
        return folder


_Callback = Callable[[str], None]


class _TreeDownloads(_ObjectBase):
    __slots__ = ()

    def _folder_name(self) -> str:
        raise NotImplementedError

    def _download_tree(self, folder: Path, walk: _Walk) -> None:
        raise NotImplementedError

    def download_dir(
        self,
        target_dir: str | os.PathLike[str],
        verbose: bool = True,
        progress_callback: _Callback | None = None,
        *,
        overwrite: bool = True,
        workers: int = PARALLEL_DOWNLOADS,
    ) -> Path:
        """Download every session below this object into ``target_dir/{name}/...`` (one
        verified zip per session, ``workers`` sessions at a time); returns that folder.
        ``progress_callback(message)`` is told which subject/session is next (as in xnatpy).
        On an error no new session starts, those under way finish, and the first error is
        raised; sessions already complete stay (each is verified on its own)."""
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise XNATValueError(f"workers must be an int >= 1, got {workers!r}")
        folder = local_folder(target_dir, "target_dir") / _safe_name(self._folder_name())
        with _local_files(folder, "creating the folder"):
            folder.mkdir(parents=True, exist_ok=True)
        with TransferProgress(verbose, overall_label=self._folder_name()) as bars:
            walk = _Walk(bars, overwrite, progress_callback, workers)
            try:
                self._download_tree(folder, walk)
            except BaseException:
                walk.finish(cancel=True)
                raise
            walk.finish()
        return folder

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download everything below this object into one zip file at ``path`` (built
        locally from the per-session zips, every file verified)."""
        target = local_path(path, "target")
        if not overwrite and target.exists():
            raise XNATFileExistsError(f"{target} exists (overwrite=False)")
        with _local_files(target.parent, "creating the folder"):
            target.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(target.parent)
        staging = _staging_folder(target.parent)
        try:
            folder = self.download_dir(staging, verbose=verbose)
            return _zip_folder(folder.parent, target, overwrite)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class _Walk:
    """Shared state of a project/subject walk: sessions are downloaded by a pool of
    ``workers`` threads (inline for one)."""

    def __init__(
        self, bars: TransferProgress, overwrite: bool, callback: _Callback | None, workers: int
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.bars = bars
        self.overwrite = overwrite
        self.callback = callback
        self._pool = (
            ThreadPoolExecutor(workers, thread_name_prefix="xnat-sdk-session")
            if workers > 1
            else None
        )
        self._futures: list[Future[Any]] = []

    def tell(self, message: str) -> None:
        if self.callback is not None:
            self.callback(message)

    def session(self, experiment: SessionDownloads, folder: Path) -> None:
        """Download ``experiment`` into ``folder`` now, or hand it to the pool."""
        job = functools.partial(
            experiment.download_dir, folder, verbose=False, overwrite=self.overwrite, bars=self.bars
        )
        if self._pool is None:
            job()
            return
        for future in self._futures:
            if future.done():
                future.result()  # re-raises a failure: no session starts after one
        self._futures.append(self._pool.submit(job))

    def finish(self, *, cancel: bool = False) -> None:
        """Wait for the sessions under way and raise the first error; pending ones are
        cancelled after a failure, or at once with ``cancel`` (the walk itself failed:
        its error is the one that counts)."""
        if self._pool is None:
            return
        try:
            if not cancel:
                _settle(self._futures)
        finally:
            for future in self._futures:
                future.cancel()
            self._pool.shutdown(wait=True)


class SubjectDownloads(_TreeDownloads):
    """``download_dir`` (``{label}/{session}/...``) and ``download`` of a subject."""

    __slots__ = ()

    def _folder_name(self) -> str:
        return str(getattr(self, "label", "") or self.uri.rsplit("/", 1)[-1])

    def _download_tree(self, folder: Path, walk: _Walk) -> None:
        sessions = [e for e in getattr(self, "experiments", ()) if isinstance(e, SessionDownloads)]
        for number, experiment in enumerate(sessions, start=1):
            walk.tell(f"Downloading experiment {number} of {len(sessions)}")
            walk.session(experiment, folder)


class ProjectDownloads(_TreeDownloads):
    """``download_dir`` (``{name}/{subject}/{session}/...``) and ``download`` of a project."""

    __slots__ = ()

    def _folder_name(self) -> str:
        return str(getattr(self, "name", "") or self.uri.rsplit("/", 1)[-1])

    def _download_tree(self, folder: Path, walk: _Walk) -> None:
        subjects = [s for s in getattr(self, "subjects", ()) if isinstance(s, SubjectDownloads)]
        for number, subject in enumerate(subjects, start=1):
            walk.tell(f"Downloading subject {number} of {len(subjects)}")
            sub = folder / _safe_name(subject._folder_name())
            with _local_files(sub, "creating the folder"):
                sub.mkdir(parents=True, exist_ok=True)
            subject._download_tree(sub, walk)
