"""The connection errors of :mod:`xnat_sdk.errors` (read them there): they are requests'
own exceptions too (``except requests.exceptions.ConnectionError`` and ``Timeout`` keep
working after xnatpy's import line is changed, as xnatpy lets requests' exceptions through),
so this module imports requests. :mod:`xnat_sdk.errors` loads it with the first of these
names used."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from xnat_sdk.errors import XNATValueError

if TYPE_CHECKING:
    from xnat_sdk.bulk import DownloadReport

__all__ = [
    "XNATConnectionError",
    "XNATIncompleteDownloadError",
    "XNATRedirectError",
    "XNATSSLError",
    "XNATTimeoutError",
    "XNATTransferError",
]


class XNATConnectionError(XNATValueError, requests.exceptions.ConnectionError, ConnectionError):
    """The server could not be reached (refused, reset, timed out). An
    :class:`XNATValueError` as in xnatpy, a ``ConnectionError``, and requests' own
    ``ConnectionError``, which xnatpy lets through (``except
    requests.exceptions.ConnectionError`` keeps working after the import change)."""


class XNATRedirectError(XNATConnectionError):
    """The server redirected a request to a place it was not followed to (another host or
    port, ``https`` to ``http``, a scheme that is not http(s)): :attr:`url` is the request
    (redacted), :attr:`target` where the server sent it (redacted). Nothing was sent there:
    credentials and cookies go only to the scheme, host and port the user named (and from
    ``http://host`` to ``https://host`` on the standard ports 80 and 443)."""

    def __init__(self, message: str, url: str, target: str) -> None:
        super().__init__(message)
        self.url = url
        self.target = target


class XNATTimeoutError(XNATConnectionError, requests.exceptions.Timeout, TimeoutError):
    """The server did not answer (or could not be reached) within the timeout; requests'
    ``Timeout`` too (xnatpy lets requests' ``ReadTimeout`` through)."""


class XNATSSLError(XNATConnectionError, requests.exceptions.SSLError):
    """The TLS handshake or certificate verification failed; requests' ``SSLError`` too."""


class XNATTransferError(XNATConnectionError):
    """A transfer broke off part way (connection dropped, body shorter than announced)."""


class XNATIncompleteDownloadError(XNATTransferError):
    """A bulk download (``download_files``, ``sync_session``) left files or sessions out:
    :attr:`report` is its :class:`~xnat_sdk.bulk.DownloadReport` (``failed`` names each,
    with its reason); a rerun fetches only what is missing."""

    def __init__(self, message: str, report: DownloadReport) -> None:
        super().__init__(message)
        self.report = report


for _cls in (
    XNATConnectionError,
    XNATTimeoutError,
    XNATSSLError,
    XNATTransferError,
    XNATIncompleteDownloadError,
    XNATRedirectError,
):
    _cls.__module__ = "xnat_sdk.errors"  # where users, pickle and the docs find them
