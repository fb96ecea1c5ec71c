"""Streamed GETs over the session's verbs, shared by every download: opening one, going on
from a byte after a break-off (``Range`` + ``If-Range``), which errors mean a broken
connection, and the rows of a file listing.
"""

from __future__ import annotations

import contextlib
import http.client
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests
import urllib3.exceptions

from xnat_sdk._answers import fetch
from xnat_sdk._transfer_defaults import CHUNK_SIZE as CHUNK_SIZE
from xnat_sdk._transfer_defaults import RESUME_ATTEMPTS as RESUME_ATTEMPTS
from xnat_sdk.errors import XNATError, XNATTransferError

if TYPE_CHECKING:
    from xnat_sdk.session import Timeout, XNATSession

__all__ = ["CHUNK_SIZE", "RESUME_ATTEMPTS"]


_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    OSError,
)
"""What reading a streamed body raises when the connection breaks off."""


def _transfer_error(what: str, exc: BaseException) -> XNATTransferError:
    return XNATTransferError(f"{what}: the connection broke off ({type(exc).__name__}: {exc})")


def _piece(response: requests.Response, amount: int) -> bytes:
    """Up to ``amount`` bytes of the body as the connection hands them over (urllib3's
    ``read1``: a break-off loses no byte received before it); without ``read1``, a whole
    chunk."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        return bytes(response.raw.read(amount, decode_content=True))
    return bytes(read1(amount, decode_content=True))


def _gave_up_error(what: str, tries: int, furthest: int, exc: BaseException) -> XNATTransferError:
    """The error of an answer with no byte ranges (a zip XNAT builds as it sends it) that
    broke off on each of ``tries`` tries from the start."""
    if tries <= 1:
        return _transfer_error(what, exc)
    return XNATTransferError(
        f"{what}: the connection broke off {tries} times; the server builds this answer as it "
        f"sends it (no byte ranges), so each try started over, and the last tries got no "
        f"further than {furthest} bytes: gave up ({type(exc).__name__}: {exc})"
    )


def _plain_length(response: requests.Response) -> str | None:
    """Content-Length when it counts the bytes we will see (no Content-Encoding)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    length = response.headers.get("Content-Length", "").strip()
    return length if encoding in ("", "identity") and length.isdigit() else None


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
    with contextlib.suppress(XNATError, *_STREAM_ERRORS):
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


def _listing_rows(session: XNATSession, uri: str) -> list[dict[str, Any]]:
    """The rows of a file listing (checked: flat rows, whole-number sizes)."""
    return fetch(session, uri).rows(numbers=("Size",))
