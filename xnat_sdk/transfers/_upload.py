"""Uploads: a path, bytes, text, a file object or an iterable of bytes streamed to the
server with PUT or POST. Bodies that can be rewound (files, bytes) are retried, a generator
body never is. ``overwrite=False`` never replaces a remote file: the server's
``{"duplicates": [...]}`` answer raises :class:`~xnat_sdk.errors.XNATUploadFileExistsError`
(an ``XNATFileExistsError``) unless a retried upload finds the "duplicate" is its own first
try (:func:`_stored_as_sent`). An error status raises the ``XNATUpload...Error`` of its class.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote

from xnat_sdk._answers import answer_of
from xnat_sdk._http import was_resent
from xnat_sdk.errors import (
    XNATConnectionError,
    XNATResponseError,
    XNATServerError,
    XNATUploadFileExistsError,
    XNATValueError,
    local_path_error,
    upload_error,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress, wants_bars
from xnat_sdk.transfers._wire import CHUNK_SIZE, _listing_rows

if TYPE_CHECKING:
    import requests

    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["UPLOAD_DIR_METHODS", "UploadSource", "upload"]

UPLOAD_DIR_METHODS = ("per_file", "tar_memory", "tgz_memory", "tar_file", "tgz_file")
"""The ways ``upload_dir`` can send a folder (one request per file, or one archive)."""

UploadSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | IO[str]


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
            raise local_path_error("file_", path, "file")
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
                    response = _send(session, verb, uri, sent, params, timeout, headers)
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
        raise XNATUploadFileExistsError(
            f"{verb} {uri}: the server already has {', '.join(duplicates)} and kept "
            + ("them" if len(duplicates) > 1 else "it")
        )
    return response


def _send(
    session: XNATSession,
    verb: str,
    uri: str,
    body: Any,
    params: Mapping[str, str],
    timeout: Timeout,
    headers: Mapping[str, str],
) -> requests.Response:
    """One PUT or POST of an upload; an error status raises as an upload error too
    (:func:`~xnat_sdk.errors.upload_error`, xnatpy's ``XNATUploadError``)."""
    send = session.put if verb == "PUT" else session.post
    try:
        return send(uri, data=body, query=params, timeout=timeout, headers=headers)
    except XNATResponseError as exc:
        raise upload_error(exc) from exc


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
