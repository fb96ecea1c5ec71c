"""Random-access reads of a remote file: :class:`RemoteStream`, a seekable file object over
streamed GETs (byte ranges for seeks and to go on after a break-off)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from xnat_sdk.errors import XNATIntegrityError, XNATValueError
from xnat_sdk.transfers._wire import (
    _STREAM_ERRORS,
    CHUNK_SIZE,
    RESUME_ATTEMPTS,
    _open_get,
    _piece,
    _plain_length,
    _resume_from,
    _transfer_error,
)

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["RemoteStream", "download_chunks"]


class RemoteStream(io.RawIOBase):
    """A read-only, seekable file object over a remote file, streamed in chunks.

    Reads continue one streamed GET; a seek outside the small window of recent bytes
    re-opens the stream with an HTTP Range request, and so does a broken-off connection
    (from the byte it stopped at, with ``If-Range``; ``RESUME_ATTEMPTS`` times in a row
    without a new byte). Reads ask for whole chunks until a first break-off; from then on
    the body is read as the connection hands it over (urllib3's ``read1``), so a break-off
    keeps every byte received before it. Closing stops the transfer.
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
        self._broke = False  # a connection broke off: read what arrives, not whole chunks
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
        """True: the file can be read."""
        return True

    def seekable(self) -> bool:
        """True: a seek moves the read position (the next read asks for a range there)."""
        return True

    def tell(self) -> int:
        """The read position, in bytes from the start of the file."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the read position (``whence``: ``io.SEEK_SET``, ``SEEK_CUR`` or ``SEEK_END``,
        which asks the file's size with one ``HEAD`` when not known); returns it."""
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
                chunk = self._read(response, max(want_end - buf_end, 65536))
            except _STREAM_ERRORS as exc:
                if not left:
                    raise _transfer_error(f"GET {self._uri}", exc) from exc
                left -= 1
                self._broke = True
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

    def _read(self, response: requests.Response, amount: int) -> bytes:
        """Up to ``amount`` bytes: a whole chunk (urllib3 loses a chunk cut under way), or,
        after a break-off, what the connection hands over (nothing received is lost)."""
        if self._broke:
            return _piece(response, amount)
        return bytes(response.raw.read(amount, decode_content=True))

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
        """Read up to ``len(buffer)`` bytes at the read position into ``buffer`` (a
        broken-off stream resumes where it stopped); returns how many (0 at the end)."""
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
        """The rest of the file from the read position."""
        chunks = []
        while True:
            data = self.read(CHUNK_SIZE)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self) -> None:
        """Close the stream and its connection's response."""
        if self._response is not None:
            self._response.close()
            self._response = None
        super().close()


def download_chunks(
    session: XNATSession,
    uri: str,
    *,
    format: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    update_func: Any = None,
    timeout: Timeout = None,
    expected_md5: str | None = None,
) -> Iterator[bytes]:
    """The body of ``uri`` in chunks as they are consumed (``session.download_generator``).

    A plain file is read through a :class:`RemoteStream` (a break-off goes on from its byte);
    a generated answer (``format=zip`` ...) is one streamed GET. ``update_func(done, total,
    finished)`` follows it; ``expected_md5`` is checked after the last chunk."""
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise XNATValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    digest = hashlib.md5(usedforsecurity=False) if expected_md5 else None
    done = 0
    if format is None:
        source: Iterator[bytes] = _stream_chunks(
            RemoteStream(session, uri, timeout=timeout), chunk_size
        )
        total = None
    else:
        response = _open_get(session, uri, format=format, timeout=timeout)
        total = _plain_length(response)
        source = response.iter_content(chunk_size)
    for chunk in source:
        done += len(chunk)
        if digest is not None:
            digest.update(chunk)
        if update_func is not None:
            update_func(done, total, False)
        yield chunk
    if update_func is not None:
        update_func(done, total, True)
    if digest is not None and expected_md5 and digest.hexdigest() != expected_md5.lower():
        raise XNATIntegrityError(
            f"GET {uri}: MD5 {digest.hexdigest()} of the {done} bytes received does not match "
            f"the expected {expected_md5}"
        )


def _stream_chunks(stream: RemoteStream, chunk_size: int) -> Iterator[bytes]:
    with stream:
        while True:
            chunk = stream.read(chunk_size)
            if not chunk:
                return
            yield bytes(chunk)
