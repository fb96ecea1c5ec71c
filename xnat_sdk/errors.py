"""The exception hierarchy of xnat-sdk.

Every error the SDK raises derives from :class:`XNATError`. Errors caused by an HTTP response
carry the request method, the URL (credentials redacted), the status code and the message the
server gave (the ``<h3>`` of XNAT's status page, or the first lines of the body).

This module imports nothing heavy, so ``import xnat_sdk.errors`` stays cheap.
"""

from __future__ import annotations

import errno as _errno
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from xnat_sdk._urls import redact_exchange, redact_text

if TYPE_CHECKING:
    import requests

    from xnat_sdk._connection_errors import (
        XNATConnectionError,
        XNATIncompleteDownloadError,
        XNATRedirectError,
        XNATSSLError,
        XNATTimeoutError,
        XNATTransferError,
    )

__all__ = [
    "XNATAuthError",
    "XNATBadRequestError",
    "XNATCaseCollisionError",
    "XNATColumnError",
    "XNATConflictError",
    "XNATConnectionError",
    "XNATDanglingLinkError",
    "XNATError",
    "XNATExpiredCredentialsError",
    "XNATFileExistsError",
    "XNATFileNotFoundError",
    "XNATForbiddenError",
    "XNATIOError",
    "XNATIncompleteDownloadError",
    "XNATIndexError",
    "XNATInsecureWarning",
    "XNATIntegrityError",
    "XNATIsADirectoryError",
    "XNATKeyError",
    "XNATLinkLoopWarning",
    "XNATLinkOutsideError",
    "XNATLocalFileError",
    "XNATLocalPathError",
    "XNATLoginFailedError",
    "XNATMapError",
    "XNATMapTimeoutError",
    "XNATMapTokenError",
    "XNATMappingException",
    "XNATNoModelError",
    "XNATNoPasswordError",
    "XNATNotADirectoryError",
    "XNATNotConnectedError",
    "XNATNotFoundError",
    "XNATNotPicklableError",
    "XNATNotSharedError",
    "XNATObjectAlreadyExistsError",
    "XNATObjectDestroyedError",
    "XNATPlainHTTPWarning",
    "XNATRedirectError",
    "XNATResponseError",
    "XNATSSLError",
    "XNATServerError",
    "XNATSeveralSessionsWarning",
    "XNATSkippedFilesWarning",
    "XNATTimeoutError",
    "XNATTokenWarning",
    "XNATTransferError",
    "XNATTypeMismatchError",
    "XNATUnknownTypeWarning",
    "XNATUnsafeArchiveError",
    "XNATUploadAuthError",
    "XNATUploadBadRequestError",
    "XNATUploadConflictError",
    "XNATUploadError",
    "XNATUploadFileExistsError",
    "XNATUploadForbiddenError",
    "XNATUploadNotFoundError",
    "XNATUploadResponseError",
    "XNATUploadServerError",
    "XNATValidationError",
    "XNATValueError",
    "error_for_response",
    "local_path_error",
    "server_message",
    "upload_error",
]


class XNATError(Exception):
    """Root of every exception raised by xnat-sdk. Every one pickles (a process pool's
    worker hands it back to the caller as it was): its message and attributes travel,
    not a server ``response``."""

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: (None if k == "response" else v) for k, v in vars(self).items()}
        return (_rebuild, (type(self), self.args, state))


def _rebuild(cls: type[XNATError], args: tuple[Any, ...], state: dict[str, Any]) -> XNATError:
    """An unpickled :class:`XNATError` (its ``__init__`` takes other arguments than
    ``args``: not called again)."""
    # the built-in base whose layout the class has: OSError's (errno, filename ...) or not
    base: Any = OSError if issubclass(cls, OSError) else Exception
    error: XNATError = base.__new__(cls, *args)
    error.args = args
    vars(error).update(state)
    return error


class XNATValueError(XNATError, ValueError):
    """A value given to the SDK (or returned by the server) cannot be used."""


class XNATValidationError(XNATValueError):
    """Input rejected before any request was sent; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class XNATNoPasswordError(XNATValueError):
    """A user was named but no password was given, none is in the environment or netrc,
    and there is no terminal to ask on (a pipe, cron, CI): :attr:`user`, :attr:`server`.
    The password is never read from standard input, which holds the program's data."""

    def __init__(self, user: str, server: str) -> None:
        self.user = user
        self.server = server
        super().__init__(
            f"no password for user {user!r} at {server}: none was given, none is in the "
            "environment or netrc, and there is no terminal to ask on"
        )

    def __reduce__(self) -> tuple[type[XNATNoPasswordError], tuple[str, str]]:
        return (type(self), (self.user, self.server))


class XNATKeyError(XNATError, KeyError):
    """A listing or mapping has no entry under the requested key."""

    def __init__(self, key: object, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


KEYS_SHOWN = 10
"""How many keys an :class:`XNATKeyError` message lists before ``... and N more``."""


def listed_keys(keys: Iterable[object], limit: int = KEYS_SHOWN) -> str:
    """The keys of a listing or mapping for an error message: ``S01, S02``, the first
    ``limit`` of more and ``and N more``, or ``none``."""
    names = [str(k) for k in keys]
    shown = ", ".join(names[:limit]) or "none"
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


class XNATIndexError(XNATKeyError, IndexError):
    """A listing has no item at the requested position (``listing[5]`` of five): an
    ``IndexError`` as in xnatpy (and an :class:`XNATKeyError`, as before)."""


class XNATColumnError(XNATError, AttributeError, KeyError):
    """A table row has no column of that name (``row["x"]``, ``row.x``): names the columns it
    has (:attr:`column`, :attr:`columns`); an ``AttributeError`` and a ``KeyError``."""

    def __init__(self, name: object, columns: Sequence[str]) -> None:
        self.column = name
        self.columns = tuple(columns)
        self.message = f"no column {name!r} in this row (columns: {', '.join(columns) or 'none'})"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[XNATColumnError], tuple[object, tuple[str, ...]]]:
        return (type(self), (self.column, self.columns))


class XNATTypeMismatchError(XNATError, TypeError):
    """The server's object is not of the class the code asked for (``experiments["E",
    MrSessionData]`` on a PET session); names the expected and the actual xsi type."""

    def __init__(self, key: str, where: str, expected: str, actual: str) -> None:
        self.key = key
        self.expected = expected
        """The xsi type asked for (``xnat:mrSessionData``)."""
        self.actual = actual
        """The xsi type the server has (``xnat:petSessionData``)."""
        self.message = f"{key!r} in {where} is {actual}, not {expected}"
        super().__init__(self.message)


class XNATNoModelError(XNATError):
    """The typed object model is not available on this session (``no_parse_model=True``)."""


class XNATNotConnectedError(XNATError):
    """The session was disconnected (or never connected)."""


class XNATNotPicklableError(XNATError, TypeError):
    """The object cannot travel to another process (a session holds credentials: send
    archive objects or listings, which carry none)."""


class XNATMapError(XNATError):
    """A call of ``session.map(..., stop_on_error=True)`` failed: :attr:`uri` names the
    object, :attr:`exception_type` and :attr:`message` what the call raised."""

    def __init__(self, uri: str, exception_type: str, message: str, details: str = "") -> None:
        super().__init__(f"{uri}: {exception_type}: {message}")
        self.uri = uri
        self.exception_type = exception_type
        self.message = message
        self.details = details
        """The traceback as text (from the worker that ran the call)."""
        self.results: dict[str, Any] = {}
        """``{uri: result}`` of the run's calls that ended before it stopped (this one's
        :class:`~xnat_sdk.mapping.MappedFunctionFailed` among them), in the objects' order:
        what was done, and what was not (a URI missing), without a ``logfile``."""


class XNATMapTimeoutError(XNATError):
    """A call of ``session.map(..., timeout=...)`` ran longer than ``timeout`` seconds: the
    object's failure (its result is discarded; a thread or a process-pool call cannot be
    stopped and runs on in the background until it ends)."""


class XNATMapTokenError(XNATError):
    """A map call's worker could not log in with the run's alias token (refused each time
    it was sent, with the run's current token): the function did not run."""


class XNATIntegrityError(XNATError):
    """Transferred data does not match the server's size or MD5 digest."""


class XNATFileExistsError(XNATError, FileExistsError):
    """A file exists (locally or on the server) and ``overwrite`` was not requested:
    :attr:`what` says which, and the message ends with the remedy in the SDK's words
    (a command line names its own option with :meth:`with_remedy`)."""

    remedy = "pass overwrite=True to replace it"

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def __str__(self) -> str:
        return self.with_remedy(self.remedy)

    def with_remedy(self, remedy: str) -> str:
        """The message with another remedy (``"give --overwrite to replace it"``)."""
        return f"{self.what} ({remedy})"


class XNATCaseCollisionError(XNATFileExistsError):
    """Two files of one download have local paths that differ only in case (``a.dcm`` and
    ``A.dcm``; resources ``NIFTI`` and ``nifti`` with a file of one name): on a
    case-insensitive file system (macOS's and Windows' defaults) the second would overwrite
    the first, silently. Found before either is written, on every system (a download's
    layout is the same everywhere, and a tree copied to a Mac loses nothing): :attr:`path`
    is the local path refused, :attr:`other` the one kept; :attr:`source` and
    :attr:`other_source` their files on the server, where known."""

    remedy = "download one of them on its own, with download(), into another folder"

    def __init__(self, path: str, other: str, source: str = "", other_source: str = "") -> None:
        self.path = path
        self.other = other
        self.source = source
        self.other_source = other_source
        names = f" (from {other_source} and {source})" if source and other_source else ""
        super().__init__(
            f"the local paths {other} and {path}{names} differ only in case: on a "
            "case-insensitive file system (macOS, Windows) one would overwrite the other; "
            f"{path} is not written"
        )


class XNATLocalFileError(XNATError, OSError):
    """A local file or folder of a transfer could not be made, written or read (a file where
    a folder must go, a full disk, a file that vanished); ``path`` names it, ``errno`` is
    the operating system's (``except OSError`` catches it too)."""

    def __init__(self, path: str, reason: str, errno: int | None = None) -> None:
        super().__init__(errno, reason, path)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def __reduce__(self) -> tuple[type[XNATLocalFileError], tuple[str, str, int | None]]:
        return (type(self), (self.path, self.reason, self.errno))


class XNATLocalPathError(XNATValidationError, XNATLocalFileError):
    """A local file or folder given to an upload or import is missing or of the other kind,
    nothing sent: an :class:`XNATValidationError` (``field``: the argument) and an
    ``OSError`` naming ``path`` (``filename``, ``errno``); its subclasses are the matching
    ``FileNotFoundError``, ``NotADirectoryError`` or ``IsADirectoryError``, as xnatpy
    raises them. Made by :func:`local_path_error`."""

    def __init__(self, field: str, path: str, reason: str, errno: int | None = None) -> None:
        XNATLocalFileError.__init__(self, path, reason, errno)
        # ValueError's __init__ comes before OSError's here: set what OSError's would
        self.errno, self.strerror, self.filename = errno, reason, path
        self.field = field
        self.message = f"{path}: {reason}"

    def __reduce__(self) -> tuple[type[XNATLocalPathError], tuple[str, str, str, int | None]]:  # type: ignore[override]
        return (type(self), (self.field, self.path, self.reason, self.errno))


class XNATLinkOutsideError(XNATLocalPathError):
    """A symbolic link in a folder given to an upload or import leads outside that folder
    (a link to ``~/.ssh/id_rsa`` would send that file): refused before anything is sent.
    ``path`` is the link, ``target`` where it leads; ``follow_symlinks=True`` (``xnat-sdk
    upload|import --follow-symlinks``) sends what links point to wherever it is. Links
    that stay inside the folder are followed either way. ``checked``: the path was found
    leading outside when its file was read, after the walk had checked it (a folder on the
    path replaced by such a link since): that file is not read; files read before it may
    have been sent."""

    def __init__(self, field: str, path: str, target: str, *, checked: bool = False) -> None:
        super().__init__(
            field,
            path,
            f"replaced, after the folder was checked, by a way leading outside the folder, "
            f"to {target}: not read"
            if checked
            else f"a link leading outside the folder, to {target}: not sent (nothing was); "
            "give follow_symlinks=True to send what links point to",
        )
        self.target = target
        self.checked = checked

    def __reduce__(self) -> tuple[Any, ...]:
        return (_link_outside, (type(self), self.field, self.path, self.target, self.checked))


def _link_outside(
    cls: type[XNATLinkOutsideError], field: str, path: str, target: str, checked: bool
) -> XNATLinkOutsideError:
    """An unpickled :class:`XNATLinkOutsideError` (``checked`` is a keyword)."""
    return cls(field, path, target, checked=checked)


class XNATDanglingLinkError(XNATLocalPathError):
    """A symbolic link in a folder given to an upload or import leads to nothing (its
    target was moved or deleted: most likely a mistake, a file meant to go is missing):
    refused before anything is sent, whatever ``follow_symlinks`` says. ``path`` is the
    link, ``target`` where it leads; remove the link or restore its target."""

    def __init__(self, field: str, path: str, target: str) -> None:
        super().__init__(
            field,
            path,
            f"a link to {target}, which does not exist: not sent (nothing was); remove the "
            "link or restore what it points to",
        )
        self.target = target

    def __reduce__(self) -> tuple[type[XNATDanglingLinkError], tuple[str, str, str]]:  # type: ignore[override]
        return (type(self), (self.field, self.path, self.target))


class XNATFileNotFoundError(XNATLocalPathError, FileNotFoundError):
    """The local file or folder to upload or import does not exist."""


class XNATNotADirectoryError(XNATLocalPathError, NotADirectoryError):
    """A folder was expected (``upload_dir``, ``import_dir``), the path is a file."""


class XNATIsADirectoryError(XNATLocalPathError, IsADirectoryError):
    """A file was expected (``upload``), the path is a folder."""


def local_path_error(
    field: str, path: str | os.PathLike[str], wanted: Literal["file", "folder"], hint: str = ""
) -> XNATLocalPathError:
    """The error for ``path`` that is not an existing ``wanted`` (a file or a folder)."""
    where = os.fspath(path)
    more = f"; {hint}" if hint else ""
    if not os.path.exists(where):
        missing = "no such file or folder"
        reason = (
            f"{missing} (not an existing file)" if wanted == "file" else f"not a folder: {missing}"
        )
        return XNATFileNotFoundError(field, where, f"{reason}{more}", _errno.ENOENT)
    if wanted == "folder":
        return XNATNotADirectoryError(field, where, f"not a folder{more}", _errno.ENOTDIR)
    return XNATIsADirectoryError(
        field, where, f"a folder, not an existing file{more}", _errno.EISDIR
    )


class XNATIOError(XNATError, OSError):
    """xnatpy's input/output error (an ``OSError``); the base of :class:`XNATUploadError`."""


class XNATUploadError(XNATIOError):
    """An upload or import failed (xnatpy's name: ``except xnat.exceptions.XNATUploadError``
    keeps catching a failed ``upload``/``upload_dir``/``upload_data``/``services.import_``).
    What is raised is also the precise error: :class:`XNATUploadNotFoundError` is an
    :class:`XNATNotFoundError` too, :class:`XNATUploadFileExistsError` an
    :class:`XNATFileExistsError`."""


class XNATObjectDestroyedError(XNATError):
    """xnatpy's error for using an object after deleting it. The SDK does not raise it (a
    deleted object's next request raises :class:`XNATNotFoundError`); it exists so that
    ``except`` clauses naming it keep working."""


class XNATMappingException(BaseException):
    """xnatpy's ``map`` signal, a ``BaseException`` as there. The SDK does not raise it
    (``map`` returns :class:`~xnat_sdk.mapping.MappedFunctionFailed` or raises
    :class:`XNATMapError`); it exists so that ``except`` clauses naming it keep working."""


class XNATUnsafeArchiveError(XNATValueError):
    """An archive entry would land outside the target folder (absolute, ``..``, link)."""

    def __init__(self, entry: str, message: str) -> None:
        self.entry = entry
        super().__init__(f"unsafe archive entry {entry!r}: {message}")


class XNATResponseError(XNATValueError):
    """The server answered with an unexpected status (or unusable content); an
    :class:`XNATValueError` (so a ``ValueError``) as in xnatpy.

    ``message`` keeps the whole message (the server's, uncut); ``str(exc)`` shows at most
    :data:`MESSAGE_LIMIT` characters of it, then how many were left out, then the
    :attr:`hint` the SDK adds, if any. ``response`` is the response, when there was one,
    its secrets hidden (``_urls.redact_exchange``: the values of the cookies it set and of
    the ``Cookie`` and ``Authorization`` headers sent, ``***``): an error gets printed,
    logged and inspected.
    """

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        message: str,
        response: requests.Response | None = None,
        hint: str = "",
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        if response is not None:
            redact_exchange(response)
        self.response = response
        self.hint = hint
        """What the SDK knows of the failure's likely cause (shown whole after the message)."""
        shown = f"{method} {url} -> {status}: {_shorten(message)}"
        super().__init__(f"{shown} ({hint})" if hint else shown)

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status` (the name requests uses)."""
        return self.status


class XNATBadRequestError(XNATResponseError):
    """400: the server refused the request's input (bad parameter, unusable upload)."""


class XNATAuthError(XNATResponseError):
    """401: missing, wrong or expired credentials."""


XNATLoginFailedError = XNATAuthError
"""xnatpy's name for a failed login."""


class XNATExpiredCredentialsError(XNATAuthError):
    """xnatpy's error for an expired password. The SDK does not tell an expired password
    from a wrong one (both raise :class:`XNATAuthError`); the class exists so that
    ``except`` clauses naming it keep working."""


class XNATForbiddenError(XNATResponseError):
    """403: the user may not do this."""


class XNATNotFoundError(XNATResponseError):
    """404: the object or path does not exist (or is hidden from this user)."""


class XNATNotSharedError(XNATNotFoundError):
    """404 on an object reached from one shared into the project it was read through: the
    object is not shared there with it (a session shared without its subject: its
    ``subject``). The :attr:`hint` names the project and what to do."""


class XNATConflictError(XNATResponseError):
    """409: the request conflicts with the server's state (exists already, label in use)."""


XNATObjectAlreadyExistsError = XNATConflictError
"""xnatpy's name for creating what exists already (``except
xnat.exceptions.XNATObjectAlreadyExistsError`` keeps working after the import change)."""


class XNATServerError(XNATResponseError):
    """5xx: the server failed."""


class XNATUploadResponseError(XNATResponseError, XNATUploadError):
    """An upload or import answered with an error status (other than those below)."""


class XNATUploadBadRequestError(XNATBadRequestError, XNATUploadResponseError):
    """400 on an upload or import."""


class XNATUploadAuthError(XNATAuthError, XNATUploadResponseError):
    """401 on an upload or import."""


class XNATUploadForbiddenError(XNATForbiddenError, XNATUploadResponseError):
    """403 on an upload or import."""


class XNATUploadNotFoundError(XNATNotFoundError, XNATUploadResponseError):
    """404 on an upload or import (no such project, subject or resource)."""


class XNATUploadConflictError(XNATConflictError, XNATUploadResponseError):
    """409 on an upload or import."""


class XNATUploadServerError(XNATServerError, XNATUploadResponseError):
    """5xx on an upload or import."""


class XNATUploadFileExistsError(XNATFileExistsError, XNATUploadError):
    """An upload without ``overwrite`` found the file on the server, which kept it."""


_UPLOAD_VARIANTS: dict[type[XNATResponseError], type[XNATUploadResponseError]] = {
    XNATBadRequestError: XNATUploadBadRequestError,
    XNATAuthError: XNATUploadAuthError,
    XNATForbiddenError: XNATUploadForbiddenError,
    XNATNotFoundError: XNATUploadNotFoundError,
    XNATConflictError: XNATUploadConflictError,
    XNATServerError: XNATUploadServerError,
}


def upload_error(exc: XNATResponseError) -> XNATResponseError:
    """``exc`` as the error of a failed upload: the same status class, also an
    :class:`XNATUploadError` (``exc`` itself when it is one already)."""
    if isinstance(exc, XNATUploadError):
        return exc
    cls = next(
        (up for base, up in _UPLOAD_VARIANTS.items() if isinstance(exc, base)),
        XNATUploadResponseError,
    )
    return cls(exc.method, exc.url, exc.status, exc.message, exc.response, exc.hint)


class XNATUnknownTypeWarning(UserWarning):
    """The server returned an ``xsi:type`` the generated models do not know."""


class XNATInsecureWarning(UserWarning):
    """TLS certificate verification was switched off (``verify=False``)."""


class XNATPlainHTTPWarning(UserWarning):
    """A credential is sent over plain ``http://`` to a host that is not this machine, where
    anyone on the network path can read it: :attr:`sent` says what (the password of a user,
    an alias token's secret, a session id), :attr:`server` where. A loopback server
    (``localhost``, ``127.0.0.0/8``, ``::1``) never warns. Use ``https://``; silence it with
    ``warnings.simplefilter("ignore", xnat_sdk.XNATPlainHTTPWarning)``."""

    def __init__(self, sent: str, server: str) -> None:
        self.sent = sent
        self.server = server
        super().__init__(
            f"{sent} is sent over plain http to {server}, which is not this machine: anyone "
            "on the network path can read it. Use https:// (silence this with "
            "warnings.simplefilter('ignore', xnat_sdk.XNATPlainHTTPWarning))"
        )


class XNATLinkLoopWarning(UserWarning):
    """Symbolic links in a folder given to an upload or import lead back to a folder they
    are in (``data/again -> ..``): each was left out (following it would send the folder
    again, without end). :attr:`links` names them, :attr:`folder` the folder walked."""

    def __init__(self, folder: str, links: list[str]) -> None:
        self.folder = folder
        self.links = links
        super().__init__(
            f"{folder}: {len(links)} symbolic link(s) leading back to a folder they are in "
            f"left out (the files below were sent once): {', '.join(links)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.folder, self.links))


class XNATSkippedFilesWarning(UserWarning):
    """A folder walked for an upload, an import or a zip held entries that were left out:
    :attr:`links`, the symbolic links not followed (a walk that follows none, such as a
    local zip of a downloaded folder's files), and :attr:`special`, the special files
    (FIFOs, sockets, devices: reading one would block or never end) with their kind, each
    by its path relative to :attr:`folder`."""

    def __init__(self, folder: str, links: list[str], special: dict[str, str]) -> None:
        self.folder = folder
        self.links = links
        self.special = special
        parts = []
        if links:
            parts.append(f"{len(links)} symbolic link(s) not followed: {', '.join(links)}")
        if special:
            named = ", ".join(f"{path} ({kind})" for path, kind in special.items())
            parts.append(f"{len(special)} special file(s): {named}")
        super().__init__(f"{folder}: left out {'; '.join(parts)}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.folder, self.links, self.special))


class XNATSeveralSessionsWarning(UserWarning):
    """An import made several sessions (a zip of several studies): the call returns the
    first, as xnatpy's does; :attr:`uris` names them all (read each with
    ``PrearchiveSession.at`` or ``session.create_object``)."""

    def __init__(self, uris: list[str]) -> None:
        self.uris = uris
        super().__init__(
            f"the import made {len(uris)} sessions; returned is the first, {uris[0]}; "
            f"all: {', '.join(uris)}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.uris,))


class XNATTokenWarning(UserWarning):
    """An alias token the SDK issued (for a ``map`` run) could not be invalidated: it logs
    in until it expires, or until a later try (at the session's disconnect) succeeds."""


_H3 = r"<h3>(.*?)</h3>"
"""Tomcat's error page names the cause in its ``h3`` (compiled when first used: re caches
it; not at import, for the cold start)."""
_TAGS = r"<[^>]+>"

MESSAGE_LIMIT = 300
"""Most characters of a message ``str()`` of an :class:`XNATResponseError` shows."""


def _shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def server_message(text: str, limit: int | None = MESSAGE_LIMIT) -> str:
    """The human message of an error body: XNAT's ``<h3>``, else the first lines of text;
    cut at ``limit`` characters (None: whole)."""
    match = re.search(_H3, text, re.IGNORECASE | re.DOTALL)
    if match:
        message = match.group(1).strip()
    else:
        if "<" in text and ">" in text:
            text = re.sub(_TAGS, " ", text)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        message = " ".join(lines[:3])
    if limit is not None:
        message = _shorten(message, limit)
    return message or "(empty body)"


def error_for_response(
    method: str, url: str, status: int, text: str, response: requests.Response | None = None
) -> XNATResponseError:
    """The :class:`XNATResponseError` subclass that matches ``status``."""
    cls: type[XNATResponseError]
    if status == 400:
        cls = XNATBadRequestError
    elif status == 401:
        cls = XNATAuthError
    elif status == 403:
        cls = XNATForbiddenError
    elif status == 404:
        cls = XNATNotFoundError
    elif status == 409:
        cls = XNATConflictError
    elif status >= 500:
        cls = XNATServerError
    else:
        cls = XNATResponseError
    # a server's page may quote the request's path: a token's secret, a ;jsessionid=
    message = redact_text(server_message(text, limit=None))
    hint = _hidden_target(method, url, status, message)
    if hint:
        cls = XNATNotFoundError
    return cls(method, url, status, message, response, hint)


_WRITES = frozenset({"PUT", "POST", "DELETE"})


def _hidden_target(method: str, url: str, status: int, message: str) -> str:
    """The hint for a write XNAT refused because it found no project (or subject or
    experiment named by ID) the user may see, else "". XNAT hides a private project from a
    user who is no member of it, and its write handlers then answer as for a missing one:
    422 "Submitted subject record must include the project attribute." (a subject PUT,
    ``SubjectResource``), a bare 404 (an experiment or assessor PUT: its resource's
    constructor finds no project), 404 "Unable to identify project" / "... experiment"
    (files and resources, ``XNATTemplate``), a bare 400 (a project DELETE,
    ``ProjectResource``)."""
    if method.upper() not in _WRITES or status not in (400, 404, 422):
        return ""
    path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0].rstrip("/")
    found = re.match(r".*?/data/(?:archive/)?projects/([^/]+)(/.*)?$", path)
    bare = message in ("", "Not Found", "Bad Request") or message.startswith(
        ("The server has not found", "The request could not be understood")
    )
    if found is not None:
        rest = found.group(2) or ""
        hidden = (
            (status == 422 and "must include the project attribute" in message)
            or (status == 404 and message == "Unable to identify project")
            or (status == 404 and bare and "/experiments/" in rest)
            or (status == 400 and bare and not rest and method.upper() == "DELETE")
        )
        if hidden:
            return (
                f"project {found.group(1)!r} does not exist, or it is hidden from this user: "
                "XNAT answers a write into a project it hides so"
            )
        return ""
    kind = re.match(r".*?/data/(?:archive/)?(experiments|subjects)/([^/]+)/", path)
    if status == 404 and kind is not None and message.startswith("Unable to identify"):
        return (
            f"{kind.group(1)[:-1]} {kind.group(2)!r} does not exist, or its project is "
            "hidden from this user: XNAT answers a write there so"
        )
    return ""


_CONNECTION_ERRORS = frozenset(
    {
        "XNATConnectionError",
        "XNATIncompleteDownloadError",
        "XNATRedirectError",
        "XNATSSLError",
        "XNATTimeoutError",
        "XNATTransferError",
    }
)
"""Defined in :mod:`xnat_sdk._connection_errors` (requests' exceptions are their bases, so
that module imports requests): loaded with the first of them used, so that catching the
other errors (and ``xnat-sdk --help``) does not import requests."""


def __getattr__(name: str) -> Any:
    if name in _CONNECTION_ERRORS:
        from xnat_sdk import _connection_errors

        found = getattr(_connection_errors, name)
        globals()[name] = found
        return found
    raise AttributeError(f"module 'xnat_sdk.errors' has no attribute {name!r}")
