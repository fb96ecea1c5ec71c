"""Downloads of one file: :func:`download_stream` into a file object (byte count checked
against Content-Length and the listing, MD5 against its digest, a broken-off body continued
from the byte it stopped at, a silent connection ended by a watchdog) and
:func:`download_file` to a path (through a temporary name, moved into place when complete).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from xnat_sdk.archives import sweep_leftovers, temp_beside
from xnat_sdk.errors import (
    XNATError,
    XNATFileExistsError,
    XNATIntegrityError,
    XNATLocalFileError,
    XNATResponseError,
    XNATTransferError,
    XNATValueError,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress
from xnat_sdk.transfers._paths import _local_error, _local_files, _publish, local_path
from xnat_sdk.transfers._wire import (
    _STREAM_ERRORS,
    CHUNK_SIZE,
    RESUME_ATTEMPTS,
    _gave_up_error,
    _open_get,
    _piece,
    _plain_length,
    _resume_from,
)

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["download_file", "download_stream"]


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
    raises :class:`XNATTransferError`. An answer served without byte ranges (a zip XNAT
    builds as it sends it) is asked for again from the start instead, when
    ``target_stream`` can be rewound (seekable: it is cut back to where this download began),
    up to ``resume`` times in a row without a try getting further than every earlier one.
    """
    if chunk_size <= 0:
        raise XNATValueError(f"chunk_size must be > 0, got {chunk_size}")
    if resume < 0:
        raise XNATValueError(f"resume must be >= 0, got {resume}")
    with TransferProgress(verbose and update_func is None) as bars:
        body = _Body(
            session, uri, format=format, query=query, timeout=timeout, expected_size=expected_size
        )
        total = body.total
        update = update_func or bars.task(uri.rsplit("/", 1)[-1] or uri, total)
        body.hasher = _hasher_for(expected_md5, total)
        try:
            update(0, total, False)
            body.copy(target_stream, chunk_size, update, resume)
            digest = body.hasher.hexdigest() if body.hasher is not None else None
        finally:
            update(body.done, total, True)
            if isinstance(body.hasher, _Hasher):
                body.hasher.close()
            body.response.close()
    _check_received(body, expected_size, expected_md5, digest)
    return body.done


def _hasher_for(expected_md5: str | None, total: int | None) -> _Hasher | hashlib._Hash | None:
    """What hashes the body (None: no digest to check). A large body is hashed by a helper
    thread while the next chunks arrive (MD5 releases the GIL); a small one inline, where
    hand-offs would cost more."""
    if not expected_md5:
        return None
    big = total is not None and total >= _Hasher.MIN_BODY
    return _Hasher() if big else hashlib.md5()


def _check_received(
    body: _Body, expected_size: int | None, expected_md5: str | None, digest: str | None
) -> None:
    """Raise when the body that arrived is not all of it, or not what the listing says."""
    what, done, length = body.what, body.done, body.length
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


class _Body:
    """The body of one download while it arrives: the first response and, after each
    break-off, the one that goes on from the byte it stopped at (``done``), or, when the
    server serves no byte ranges, the one that starts it over."""

    def __init__(
        self,
        session: XNATSession,
        uri: str,
        *,
        format: str | None,
        query: Mapping[str, str] | None,
        timeout: Timeout,
        expected_size: int | None,
    ) -> None:
        self._session = session
        self._uri = uri
        self._format = format
        self._query = query
        self._timeout = timeout
        self.response = _open_get(session, uri, format=format, query=query, timeout=timeout)
        self.what = f"GET {self.response.url}"
        self.length = _plain_length(self.response)
        self.total = int(self.length) if self.length else expected_size
        headers = self.response.headers
        self._resumable = (
            self.length is not None and headers.get("Accept-Ranges", "").strip().lower() == "bytes"
        )
        self._validator = headers.get("ETag") or headers.get("Last-Modified")
        self.done = 0
        self._broke = False
        self.hasher: _Hasher | hashlib._Hash | None = None

    def copy(
        self, target: IO[bytes], chunk_size: int, update: ProgressCallback, resume: int
    ) -> None:
        """Write the whole body to ``target``; after a break-off go on from where it
        stopped, ``resume`` times in a row without a new byte (when the server serves byte
        ranges), or start over (when it does not and ``target`` can be rewound), ``resume``
        times in a row without a try getting further than the earlier ones; else raise
        :class:`XNATTransferError`."""
        start = _rewind_point(target) if not self._resumable else None
        left = resume  # break-offs still allowed before a new byte arrives
        furthest = tries = 0  # (starting over) the most bytes a try got, the tries made
        while True:
            before = self.done
            broke = self._read_on(target, chunk_size, update, resume)
            if broke is None:
                return
            tries += 1
            if self.done > (before if self._resumable else furthest):
                left = resume  # a new byte arrived: the tries count afresh
            furthest = max(furthest, self.done)
            if not left or not (self._resumable or start is not None):
                raise _gave_up_error(self.what, tries, furthest, broke) from broke
            left -= 1
            if start is not None:
                self._start_over(broke, target, start, update)
            else:
                self._go_on(broke)

    def _read_on(
        self, target: IO[bytes], chunk_size: int, update: ProgressCallback, resume: int
    ) -> BaseException | None:
        """Read the current response to its end: None when that completes the body (or it
        cannot go on), else why it broke off."""
        guard = _StallGuard(self.response, self._session, self._timeout, self.total)
        try:
            with guard:
                self._pump(target.write, chunk_size, update, guard)
        except _WriteFailed as exc:
            raise _local_error(_stream_name(target), "writing", exc.original) from exc.original
        except _STREAM_ERRORS as exc:
            guard.raise_if_stalled(self.what, exc)
            return exc
        guard.raise_if_stalled(self.what, None)
        length = self.length
        if not (resume and self._resumable and length and 0 < self.done < int(length)):
            return None
        # the body ended early without an error: go on as after a break-off
        return XNATTransferError(f"{self.what}: got {self.done} of {length} bytes")

    def _pump(
        self,
        write: Callable[[bytes], object],
        chunk_size: int,
        update: ProgressCallback,
        guard: _StallGuard,
    ) -> None:
        response, total, hasher = self.response, self.total, self.hasher
        done = self.done
        # after a break-off, piece by piece: a connection that keeps breaking inside one
        # chunk still makes progress; else whole chunks (faster, measured)
        chunks = _pieces(response, chunk_size) if self._broke else response.iter_content(chunk_size)
        for chunk in chunks:
            if not done:
                _refuse_login_page(response, self._uri, self._format, chunk)
            try:
                write(chunk)
            except OSError as exc:
                raise _WriteFailed(exc) from exc
            if hasher is not None:
                hasher.update(chunk)
            done += len(chunk)
            self.done = guard.received = done
            update(done, total, False)

    def _go_on(self, broke: BaseException) -> None:
        self._broke = True
        self.response.close()
        self._session.logger.info(
            "%s broke off after %d bytes (%s); going on from there", self.what, self.done, broke
        )
        self.response = _resume_from(
            self._session,
            self._uri,
            self.done,
            what=self.what,
            validator=self._validator,
            total=self.total,
            broke=broke,
            format=self._format,
            query=self._query,
            timeout=self._timeout,
        )

    def _start_over(
        self, broke: BaseException, target: IO[bytes], start: int, update: ProgressCallback
    ) -> None:
        """Ask for the whole body again (the server serves no byte ranges), ``target`` cut
        back to ``start`` and the digest begun anew."""
        self.response.close()
        self._session.logger.info(
            "%s broke off after %d bytes (%s); no byte ranges: starting over",
            self.what,
            self.done,
            broke,
        )
        try:
            target.seek(start)
            target.truncate()
        except OSError as exc:
            raise _local_error(_stream_name(target), "rewinding", exc) from exc
        if self.hasher is not None:
            if isinstance(self.hasher, _Hasher):
                self.hasher.close()
            self.hasher = hashlib.md5(usedforsecurity=False)
        self.done = 0
        update(0, self.total, False)
        self.response = _open_get(
            self._session,
            self._uri,
            format=self._format,
            query=self._query,
            timeout=self._timeout,
        )


def _rewind_point(target: IO[bytes]) -> int | None:
    """Where ``target`` can be cut back to for a fresh start (None: it cannot: a pipe,
    a socket, a stream that is not seekable)."""
    try:
        return target.tell() if target.seekable() else None
    except (OSError, ValueError, AttributeError):
        return None


def _pieces(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    """The body as the connection hands it over (urllib3's ``read1``, at most
    ``chunk_size`` bytes each): a break-off loses no byte received before it.
    ``iter_content`` (faster: whole chunks) loses the chunk under way."""
    while chunk := _piece(response, chunk_size):
        yield chunk


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


class _Hasher:
    """MD5 of a stream, computed by a helper thread so hashing overlaps the download.

    Chunks are handed over through a bounded queue (at most ``DEPTH`` chunks wait, so
    memory stays flat when the network outruns MD5); ``hexdigest`` waits for the rest.
    """

    MIN_BODY = 32 << 20
    DEPTH = 8

    def __init__(self) -> None:
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


def _to_disk(fd: int) -> None:
    """Wait until ``fd``'s data is on the disk (macOS: ``F_FULLFSYNC``, else ``fsync``)."""
    if sys.platform == "darwin":
        import fcntl

        with contextlib.suppress(OSError):  # a file system without it: fsync below
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
    os.fsync(fd)


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
    fsync: bool = False,
) -> Path:
    """Download ``uri`` to the file ``target`` through a temporary name in the same folder,
    renamed only when complete and verified; returns the path. ``fsync``: the file's data is
    on the disk before the rename (``os.fsync``; ``F_FULLFSYNC`` on macOS, where fsync
    leaves it in the drive's cache), so that after a power cut its name never shows a file
    cut short; it costs a wait for the disk per file.

    ``overwrite=False`` raises :class:`XNATFileExistsError` if ``target`` exists (checked
    before the request and again, atomically, when publishing).
    """
    path = local_path(target, "target")
    if path.is_dir():
        raise XNATValueError(f"{path} is a folder; give the file name to download to")
    if not overwrite and path.exists():
        raise XNATFileExistsError(f"{path} exists")
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
                if fsync:
                    out.flush()
                    _to_disk(out.fileno())
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
