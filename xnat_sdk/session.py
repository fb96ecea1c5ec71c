"""The connection to one XNAT server: REST verbs, caching, keep-alive and the top listings.

:class:`XNATSession` is what :func:`xnat_sdk.connect` returns. Its verbs take a path relative
to the server (``/data/projects``), check the status and raise a typed
:class:`~xnat_sdk.errors.XNATResponseError` naming the method, URL, status and the server's
message. Listings (``projects``, ``subjects``, ``experiments``) hand out instances of the
generated model classes.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import urljoin

from xnat_sdk._answers import fetch
from xnat_sdk._http import Timeout, Transport, redact_url
from xnat_sdk._objects.navigation import (
    EXPERIMENTS,
    PROJECTS,
    SUBJECTS,
    ImageSessionBase,
    object_at,
)
from xnat_sdk._objects.registry import class_named, use_session
from xnat_sdk._objects.walks import Walks
from xnat_sdk._rest import QueryParams, RestCore
from xnat_sdk._server_info import (
    access_levels,
    build_info,
    scan_types,
    scanners,
    server_version,
    uptime,
    version_numbers,
)
from xnat_sdk._transfer_defaults import CHUNK_SIZE, RESUME_ATTEMPTS
from xnat_sdk._urls import without_session_id
from xnat_sdk.auth import Credentials
from xnat_sdk.errors import (
    XNATNoModelError,
    XNATNotConnectedError,
    XNATNotPicklableError,
    XNATResponseError,
    XNATValidationError,
    local_path_error,
)
from xnat_sdk.listings import Listing, RemoteFile
from xnat_sdk.progress import ProgressCallback, default_update_func

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import requests

    from xnat_sdk._objects.datadir import DataDirType
    from xnat_sdk.bases import XNATObject
    from xnat_sdk.bulk import DownloadReport, Verify
    from xnat_sdk.inspection import Inspect
    from xnat_sdk.mapping import (
        ExperimentLevel,
        MappedFunctionFailed,
        MappingLevel,
        Pattern,
        ProjectLevel,
        ResourceLevel,
        ScanLevel,
        SubjectLevel,
    )
    from xnat_sdk.models import (
        AbstractResource,
        ExperimentData,
        ImageScanData,
        ProjectData,
        SubjectData,
    )
    from xnat_sdk.models._classes import ModelClasses
    from xnat_sdk.plugins import Plugins
    from xnat_sdk.prearchive import Prearchive
    from xnat_sdk.search import Query as SearchQuery
    from xnat_sdk.services import Services, TokenResult
    from xnat_sdk.transfers import UploadSource
    from xnat_sdk.users import Users

__all__ = ["QueryParams", "Timeout", "XNATSession", "default_update_func", "redact_url"]

T = TypeVar("T")
R = TypeVar("R")
_M = TypeVar("_M", bound="XNATObject")

DEFAULT_TIMEOUT = 300.0
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_HTML_START = ("<!DOCTYPE", "<!doctype", "<html", "<HTML")


class XNATSession(Walks):
    """A logged-in connection to an XNAT server (use :func:`xnat_sdk.connect` to make one).

    Usable as a context manager; :meth:`disconnect` logs out, stops the keep-alive thread and
    closes the HTTP connection pool.
    """

    accepted_status_get: tuple[int, ...] = (200,)
    accepted_status_head: tuple[int, ...] = (200,)
    accepted_status_post: tuple[int, ...] = (200, 201)
    accepted_status_put: tuple[int, ...] = (200, 201)
    accepted_status_delete: tuple[int, ...] = (200,)

    def __init__(
        self,
        server: str,
        transport: Transport,
        *,
        logger: logging.Logger,
        credentials: Credentials,
        jsession: str | None = None,
        original_uri: str | None = None,
        debug: bool = False,
        default_timeout: Timeout = DEFAULT_TIMEOUT,
        no_parse_model: bool = False,
        extension_types: bool = True,
        keepalive: bool | float | None = None,
        relogin: Callable[[], str | None] | None = None,
        logout_on_disconnect: bool = True,
    ) -> None:
        self._rest = RestCore(
            server,
            transport,
            logger=logger,
            timeout=default_timeout,
            original_uri=original_uri,
            jsession=jsession,
            relogin=relogin,
            keepalive=keepalive,
            anonymous=credentials.source == "anonymous",
        )
        self._credentials = credentials
        self._debug = debug
        self._no_parse_model = no_parse_model
        self._extension_types = extension_types
        self._logout_on_disconnect = logout_on_disconnect
        self._lock = threading.RLock()
        self._generation = 0
        self._cache: dict[str, Any] = {}
        self._live: weakref.WeakValueDictionary[int, XNATObject] = weakref.WeakValueDictionary()
        """The objects handed out, by identity (equal objects are the same server object)."""
        self._logged_in_user: str | None = None
        self._version: str | None = None
        self.caching: bool = True
        """When False every listing and object read goes to the server again."""
        self._tokens_left: list[TokenResult] = []
        """Alias tokens of map runs the server failed to invalidate (tried at disconnect)."""
        self._mount: Path | None = None
        mount = os.environ.get("XNAT_DATA")
        if mount:
            self.mount_data_dir = mount

    # -- context manager and lifetime ------------------------------------------------------

    def __enter__(self) -> XNATSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def __reduce__(self) -> tuple[Any, ...]:
        raise XNATNotPicklableError(
            f"a session to {self.server} holds credentials and does not travel: send archive "
            "objects or listings (they pickle without credentials and re-attach), or use "
            "session.map(..., executor=...)"
        )

    def unpickle(self, data: bytes) -> Any:
        """Unpickle objects and listings pickled elsewhere (``pickle.dumps(obj)``), bound to
        this session. Unpickle only data you trust (pickle runs code)."""
        import pickle

        from xnat_sdk._objects.travel import attaching

        with attaching(self):
            return pickle.loads(data)

    def _use_credentials(self, credentials: Credentials) -> None:
        """Log in with ``credentials`` from the next re-login on (a map worker's session
        takes each newer alias token of its run; the server session goes on meanwhile)."""
        self._credentials = credentials
        self._rest.anonymous = credentials.source == "anonymous"

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<XNATSession {self.server} ({state})>"

    @property
    def connected(self) -> bool:
        """True until :meth:`disconnect` was called."""
        return self._rest.interface is not None

    def disconnect(self) -> None:
        """Log out (``DELETE /data/JSESSION``), stop the keep-alive thread and close the pool."""
        if self._rest.interface is None:
            self._rest.close(logout=False)
            return
        if self._tokens_left:
            self._invalidate_left()
        try:
            self._rest.close(logout=self._logout_on_disconnect)
        finally:
            self.clearcache()

    def _invalidate_left(self) -> None:
        """Try once more the map runs' tokens the server failed to invalidate (an interrupt
        part way keeps the rest, named in the log and a warning, for another disconnect)."""
        from xnat_sdk._maprun import invalidate_each, warn_tokens_left

        waiting = self._tokens_left

        def dead(token: TokenResult) -> None:
            with contextlib.suppress(ValueError):
                waiting.remove(token)

        tried = list(waiting)
        left = invalidate_each(self, tried, dead, "another disconnect", waits=(0.5,))
        self._tokens_left = []
        if left:
            warn_tokens_left(self, left, "none is tried again")

    # -- keep-alive ---------------------------------------------------------------------------

    @property
    def keepalive(self) -> bool:
        """Whether a heartbeat keeps the server session alive; set a number to change the
        interval (seconds), False or 0 to stop it."""
        return self._rest.keepalive

    @keepalive.setter
    def keepalive(self, value: bool | float) -> None:
        self._rest.set_keepalive(value)

    @property
    def keepalive_interval(self) -> float:
        """Seconds between heartbeats."""
        return self._rest.keepalive_interval

    def heartbeat(self) -> None:
        """Refresh the server session (``GET /data/JSESSION``)."""
        self._rest.heartbeat()

    @property
    def request_timeout(self) -> Timeout:
        """The timeout of every request that names none (seconds, or (connect, read))."""
        return self._rest.timeout

    @request_timeout.setter
    def request_timeout(self, value: Timeout) -> None:
        self._rest.timeout = value

    # -- plain properties ----------------------------------------------------------------------

    @property
    def interface(self) -> requests.Session:
        """The underlying :class:`requests.Session`."""
        if self._rest.interface is None:
            raise XNATNotConnectedError(f"the session to {self.server} was disconnected")
        return self._rest.interface

    @property
    def logger(self) -> logging.Logger:
        """The logger this session writes to."""
        return self._rest.logger

    @property
    def debug(self) -> bool:
        """True when connected with ``debug=True``."""
        return self._debug

    @property
    def server(self) -> str:
        """The base URL in use (after redirect detection), without a trailing slash."""
        return self._rest.server

    @property
    def original_uri(self) -> str:
        """The base URL as given to :func:`~xnat_sdk.connect`."""
        return self._rest.original_uri

    @property
    def uri(self) -> str:
        """The REST root of the archive."""
        return "/data/archive"

    @property
    def fulluri(self) -> str:
        """Same as :attr:`uri`."""
        return self.uri

    @property
    def xnat_session(self) -> XNATSession:
        """The session itself (so objects and the session answer alike)."""
        return self

    @property
    def jsession(self) -> str | None:
        """The JSESSIONID obtained at login (None when the server gave none)."""
        return self._rest.jsession

    @property
    def credentials_source(self) -> str:
        """Where the login came from: argument, environment, netrc, prompt or anonymous."""
        return self._credentials.source

    @property
    def logged_in_user(self) -> str:
        """The user name the server sees (``guest`` when anonymous); cached."""
        if self._logged_in_user is None:
            if self._credentials.source == "anonymous":
                self._logged_in_user = "guest"
            else:
                text = self.get("/data/auth", accepted_status=(200, 401)).text
                match = re.search(r"User '([^']+)' is logged in", text)
                self._logged_in_user = match.group(1) if match else (self._credentials.user or "")
        return self._logged_in_user

    @property
    def session_expiration_time(self) -> tuple[datetime.datetime, float] | None:
        """(last refresh, timeout in seconds) from the ``SESSION_EXPIRATION_TIME`` cookie."""
        return self._rest.session_expiration_time

    @property
    def xnat_version(self) -> str:
        """The server's XNAT version (``/xapi/siteConfig/buildInfo``, else ``/data/version``);
        read once and cached."""
        if self._version is None:
            self._version = server_version(self)
        return self._version

    @property
    def xnat_build_info(self) -> dict[str, Any]:
        """``/xapi/siteConfig/buildInfo`` (version, build number, commit ...); cached."""
        return dict(self._cached("build_info", lambda: build_info(self)))

    @property
    def xnat_uptime(self) -> dict[str, str]:
        """``/xapi/siteConfig/uptime`` (days, hours, minutes, seconds), read each time."""
        return uptime(self)

    def check_version(self, version: str | tuple[int, ...], message: str | None = None) -> bool:
        """True when the server is at least ``version`` (warns with ``message`` if not)."""
        wanted = version_numbers(version) if isinstance(version, str) else tuple(version)
        if self.xnat_version_tuple >= wanted:
            return True
        if message:
            self.logger.warning("%s needs XNAT %s", message, ".".join(map(str, wanted)))
        return False

    @property
    def xnat_version_tuple(self) -> tuple[int, ...]:
        """:attr:`xnat_version` as integers, e.g. ``(1, 8, 10)``."""
        return version_numbers(self.xnat_version)[:4]

    # -- the archive as a local folder (xnat_sdk._objects.datadir) ---------------------------

    @property
    def mount_data_dir(self) -> Path | None:
        """The local folder where the server's archive is mounted (``XNAT_DATA`` when the
        session was made; None: not mounted). Objects' ``data_dir`` point into it."""
        return self._mount

    @mount_data_dir.setter
    def mount_data_dir(self, value: str | os.PathLike[str] | None) -> None:
        if value is None:
            self._mount = None
            return
        path = Path(value)
        if not path.is_dir():
            self.logger.error("data folder %s does not exist; not using it", path)
            self._mount = None
            return
        self._mount = path

    @property
    def mount_xnat_item_id(self) -> str | None:
        """On a JupyterHub next to XNAT: the ID of the item the notebook was opened from
        (``XNAT_ITEM_ID``), else None."""
        return os.environ.get("XNAT_ITEM_ID") or None

    @property
    def mount_xsi_type(self) -> str | None:
        """On a JupyterHub next to XNAT: the xsi type of that item (``XNAT_XSI_TYPE``)."""
        return os.environ.get("XNAT_XSI_TYPE") or None

    @property
    def mount_data_dir_type(self) -> DataDirType:
        """How :attr:`mount_data_dir` is laid out (archive root or JupyterHub mount)."""
        from xnat_sdk._objects.datadir import data_dir_type

        return data_dir_type(self._mount)

    # -- caching --------------------------------------------------------------------------------

    @property
    def extension_types(self) -> bool:
        """Whether registered site models packages supply classes for their xsi types
        (``connect(extension_types=False)``: objects of site types are generic)."""
        return bool(self._extension_types)

    @property
    def cache_generation(self) -> int:
        """Bumped by :meth:`clearcache`; cached listings and documents older than it refetch."""
        return self._generation

    def clearcache(
        self, wipe_general_object_cache: bool = True, wipe_listings: bool = True
    ) -> None:
        """Forget every cached listing and object document of this session: listings and
        objects you already hold read from the server again on their next use.

        xnatpy's flags are taken: listings and documents share one cache here, so either
        flag forgets both (neither: nothing)."""
        if not (wipe_general_object_cache or wipe_listings):
            return
        held = self._new_generation()
        for obj in held:
            obj.clearcache()

    def remove_object(self, obj: XNATObject) -> None:
        """xnatpy's way to make the session forget ``obj`` (so that an object made again
        at its path is read fresh): here the cache is one generation, so this forgets
        every cached listing and document, as :meth:`clearcache`."""
        from xnat_sdk.bases import XNATObject

        if not isinstance(obj, XNATObject):
            raise XNATValidationError("obj", f"expected an archive object, got {obj!r}")
        self.clearcache()

    def _new_generation(self) -> list[XNATObject]:
        """Make every cached listing and document stale (they read again on next use) and
        forget the session's own cache; the objects held, for those that empty them."""
        with self._lock:
            self._generation += 1
            self._cache.clear()
            return list(self._live.values())

    def _written(self, obj: XNATObject, *, listings: bool) -> None:
        """After a write to ``obj``: its document, fields and listing-row answers are read
        again (every handle of it), and the tables asked of the listing it came from; with
        ``listings``, every listing and document too (a field a listing may show changed).
        The other objects keep the fields they hold: a full :meth:`clearcache` empties
        every one, which made a write cost as much as the objects held."""
        uri = obj._xnat_uri or ""
        last = uri.rsplit("/", 1)[-1]
        with self._lock:  # other handles of the same object (another listing, another path)
            near = [o for o in self._live.values() if (o._xnat_uri or "").endswith(last)]
        key = obj._xnat_key()
        same = [o for o in near if o is not obj and key is not None and o._xnat_key() == key]
        for held in (obj, *same):
            held._xnat_forget()
        siblings = (obj._xnat_cache or {}).get("siblings")
        if listings:
            self._new_generation()
        elif siblings is not None:
            siblings._forget_tables()

    def _track(self, obj: XNATObject) -> None:
        """Remember (weakly) an object bound to this session, for :meth:`clearcache`."""
        with self._lock:
            self._live[id(obj)] = obj

    def _forget(self, key: str) -> None:
        """Drop one entry of :meth:`_cached` (read again on next use)."""
        with self._lock:
            self._cache.pop(key, None)

    def _cached(self, key: str, make: Callable[[], T]) -> T:
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                found = make()
                self._cache[key] = found
            value: T = found
            return value

    # -- URLs -----------------------------------------------------------------------------------

    def _strip_uri(self, path: str) -> str:
        return self._rest.strip_uri(path)

    def _format_uri(
        self,
        path: str,
        format: str | None = None,
        query: QueryParams | None = None,
        scheme: str | None = None,
    ) -> str:
        return self._rest.format_uri(path, format, query, scheme)

    def url_for(
        self,
        obj: XNATObject | str,
        query: QueryParams | None = None,
        scheme: str | None = None,
    ) -> str:
        """The full external URL of an object (or a REST path)."""
        path = obj if isinstance(obj, str) else obj.fulluri
        return self._format_uri(path, query=query, scheme=scheme)

    # -- REST verbs -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        format: str | None = None,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json: Any = None,
        files: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        return self._rest.request(
            method,
            path,
            accepted=accepted_status or self._default_status(method),
            format=format,
            query=query,
            timeout=timeout,
            headers=headers,
            data=data,
            json=json,
            files=files,
            stream=stream,
        )

    def _default_status(self, method: str) -> tuple[int, ...]:
        return {
            "GET": self.accepted_status_get,
            "HEAD": self.accepted_status_head,
            "POST": self.accepted_status_post,
            "PUT": self.accepted_status_put,
            "DELETE": self.accepted_status_delete,
        }.get(method, (200,))

    def get(
        self,
        path: str,
        format: str | None = None,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """``GET`` a path relative to the server (``/data/projects``); raises on bad status."""
        return self._request(
            "GET",
            path,
            format=format,
            query=query,
            accepted_status=accepted_status,
            timeout=timeout,
            headers=headers,
            stream=stream,
        )

    def head(
        self,
        path: str,
        accepted_status: Collection[int] | None = None,
        allow_redirects: bool = False,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        *,
        query: QueryParams | None = None,
    ) -> requests.Response:
        """``HEAD`` a path; raises on bad status (xnatpy's parameters, in its order).

        ``allow_redirects=True`` follows redirects within this server (at most 5); one to
        another host raises :class:`XNATResponseError` (nothing is sent there)."""
        if not isinstance(allow_redirects, bool):
            raise XNATValidationError(
                "allow_redirects", f"expected True or False, got {allow_redirects!r}"
            )
        wanted = tuple(accepted_status or self.accepted_status_head)
        if not allow_redirects:
            return self._request(
                "HEAD", path, query=query, accepted_status=wanted, timeout=timeout, headers=headers
            )
        current = path
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._request(
                "HEAD",
                current,
                query=query,
                accepted_status=(*wanted, *_REDIRECTS),
                timeout=timeout,
                headers=headers,
            )
            if response.status_code not in _REDIRECTS or response.status_code in wanted:
                return response
            current = self._redirect_target(path, response)
            query = None
        raise XNATResponseError("HEAD", path, 310, f"more than {_MAX_REDIRECTS} redirects")

    def _redirect_target(self, path: str, response: requests.Response) -> str:
        location = without_session_id(urljoin(response.url, response.headers.get("Location", "")))
        base = self.server.rstrip("/")
        if not location.startswith(base + "/"):
            raise XNATResponseError(
                "HEAD",
                path,
                response.status_code,
                f"redirected to {redact_url(location)}, outside {base}; not followed",
            )
        return location[len(base) :]

    def post(
        self,
        path: str,
        data: Any = None,
        json: Any = None,
        format: str | None = None,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
    ) -> requests.Response:
        """``POST`` to a path (never retried); raises on bad status."""
        return self._request(
            "POST",
            path,
            format=format,
            query=query,
            accepted_status=accepted_status,
            timeout=timeout,
            headers=headers,
            data=data,
            json=json,
            files=files,
        )

    def put(
        self,
        path: str,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        format: str | None = None,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """``PUT`` to a path (retried only when the body can be rewound); raises on bad status."""
        return self._request(
            "PUT",
            path,
            format=format,
            query=query,
            accepted_status=accepted_status,
            timeout=timeout,
            headers=headers,
            data=data,
            json=json,
            files=files,
        )

    def delete(
        self,
        path: str,
        headers: Mapping[str, str] | None = None,
        accepted_status: Collection[int] | None = None,
        query: QueryParams | None = None,
        timeout: Timeout = None,
    ) -> requests.Response:
        """``DELETE`` a path; raises on bad status."""
        return self._request(
            "DELETE",
            path,
            query=query,
            accepted_status=accepted_status,
            timeout=timeout,
            headers=headers,
        )

    @overload
    def get_json(
        self,
        uri: str,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
    ) -> Any: ...

    @overload
    def get_json(
        self,
        *,
        path: str,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
    ) -> Any: ...

    def get_json(
        self,
        uri: str | None = None,
        query: QueryParams | None = None,
        accepted_status: Collection[int] | None = None,
        timeout: Timeout = None,
        *,
        path: str | None = None,
    ) -> Any:
        """``GET uri?format=json`` and decode the body (an answer that is not JSON, or is
        nested absurdly deep, raises :class:`XNATResponseError` naming the URL). ``uri`` is
        xnatpy's name; ``path=`` (this method's earlier name) is taken too."""
        if (uri is None) == (path is None):
            raise XNATValidationError("uri", "give the path to read once (uri, or path=)")
        target = uri if uri is not None else path
        assert target is not None
        return fetch(self, target, query, accepted_status=accepted_status, timeout=timeout).document

    # -- transfers (the engine does the work) ----------------------------------------------

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
        # the engine loads with the first transfer, not with the session (cold start)
        from xnat_sdk.transfers import download_file, quote_uri

        return download_file(
            self,
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
        # the engine loads with the first transfer, not with the session (cold start)
        from xnat_sdk.transfers import download_stream, quote_uri

        return download_stream(
            self,
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
        # the engine loads with the first transfer, not with the session (cold start)
        from xnat_sdk.transfers import quote_uri, upload

        return upload(
            self,
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

    def upload_file(
        self,
        uri: str,
        path: str | os.PathLike[str],
        verbose: bool = True,
        *,
        upload_size: int | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Upload the local file ``path`` to ``uri`` (xnatpy's name; the keywords of
        :meth:`upload`). A missing path raises :class:`XNATFileNotFoundError` (a
        ``FileNotFoundError`` and an :class:`XNATLocalFileError`), nothing sent.
        ``upload_size`` is taken for xnatpy's signature and not used: the size is the file's."""
        local = Path(path)
        if not local.is_file():
            raise local_path_error("path", local, "file", "no such file to upload")
        return self.upload(uri, local, verbose=verbose, **kwargs)

    def upload_string(self, uri: str, data: str | bytes, **kwargs: Any) -> requests.Response:
        """Upload text or bytes as the content of ``uri`` (xnatpy's name; the keywords of
        :meth:`upload`); a ``str`` is never taken for a file name here."""
        if not isinstance(data, (str, bytes)):
            raise XNATValidationError("data", f"expected str or bytes, got {type(data).__name__}")
        return self.upload(uri, data.encode() if isinstance(data, str) else data, **kwargs)

    def upload_stream(
        self, uri: str, stream: IO[bytes], *, upload_size: int | None = None, **kwargs: Any
    ) -> requests.Response:
        """Upload a readable binary file object (streamed) to ``uri`` (xnatpy's name; the
        keywords of :meth:`upload`). ``upload_size`` is taken for xnatpy's signature and not
        used: the stream is sent to its end."""
        if not hasattr(stream, "read"):
            raise XNATValidationError("stream", f"expected a file object, got {stream!r}")
        return self.upload(uri, stream, **kwargs)

    def download_generator(
        self,
        uri: str,
        format: str | None = None,
        verbose: bool = False,
        chunk_size: int = CHUNK_SIZE,
        update_func: ProgressCallback | None = None,
        timeout: Timeout = None,
        expected_md5_digest: str | None = None,
    ) -> Iterator[bytes]:
        """The body of ``uri`` as chunks of bytes, read as they are consumed (xnatpy's name).

        A broken-off transfer goes on from where it stopped (byte ranges); with
        ``expected_md5_digest`` the last chunk is followed by a check that raises
        :class:`~xnat_sdk.errors.XNATIntegrityError` on a mismatch. ``verbose`` is taken for
        xnatpy's signature and shows nothing: ``update_func`` hears the progress."""
        # the engine loads with the first transfer, not with the session (cold start)
        from xnat_sdk.transfers import download_chunks, quote_uri

        return download_chunks(
            self,
            quote_uri(uri),
            format=format,
            chunk_size=chunk_size,
            update_func=update_func,
            timeout=timeout,
            expected_md5=expected_md5_digest,
        )

    # -- object model ---------------------------------------------------------------------------

    def _walk_check(self, what: str) -> None:
        self._require_model(f"session.{what}")

    def _require_model(self, what: str) -> None:
        if self._no_parse_model:
            raise XNATNoModelError(
                f"{what} needs the typed object model, which this session was opened without "
                "(connect(..., no_parse_model=True)); use the raw verbs session.get/put/post/"
                "delete/get_json, or connect again without no_parse_model"
            )

    @property
    def projects(self) -> Listing[ProjectData]:
        """All projects visible to the user, by ID and by name (one request, cached)."""
        self._require_model("session.projects")
        return self._cached("projects", lambda: Listing.rest(self, "/data/projects", PROJECTS))

    @property
    def subjects(self) -> Listing[SubjectData]:
        """All subjects visible to the user, by ID and by label (one request, cached)."""
        self._require_model("session.subjects")
        return self._cached("subjects", lambda: Listing.rest(self, "/data/subjects", SUBJECTS))

    @property
    def experiments(self) -> Listing[ExperimentData]:
        """All experiments visible to the user, by ID and by label (one request, cached)."""
        self._require_model("session.experiments")
        return self._cached(
            "experiments", lambda: Listing.rest(self, "/data/experiments", EXPERIMENTS)
        )

    @property
    def access_levels(self) -> dict[str, str]:
        """The logged-in user's role per project (``{"P1": "Owners"}``, from
        ``/xapi/access/projects``; cached)."""
        return dict(self._cached("access_levels", lambda: access_levels(self)))

    @property
    def scan_types(self) -> list[dict[str, str]]:
        """Rows of ``/data/archive/scan_types`` (cached)."""
        return self._cached("scan_types", lambda: scan_types(self))

    @property
    def scanners(self) -> list[str]:
        """Scanner names known to the archive (cached)."""
        return self._cached("scanners", lambda: scanners(self))

    def create_object(self, uri: str, type_: str | None = None) -> XNATObject:
        """The object at a REST path, e.g. ``/data/experiments/XNAT_E00001``.

        With ``type_`` (an xsi type) no request is sent until a field is read; without it the
        object's document is read once to learn its type.
        """
        self._require_model("session.create_object")
        return object_at(self, self._strip_uri(uri), type_)

    # -- services (prearchive, import, users, inspect, search) ----------------------------------

    def _helper(self, name: str, make: Callable[[], T]) -> T:
        with self._lock:
            found = self.__dict__.get(name)
            if found is None:
                found = make()
                self.__dict__[name] = found
            value: T = found
            return value

    @property
    def plugins(self) -> Plugins:
        """The plugins installed on the server by ID (xnatpy's ``session.plugins``;
        :class:`~xnat_sdk.plugins.Plugins`, one request to ``/xapi/plugins``, cached)."""
        from xnat_sdk.plugins import load_plugins

        return self._cached("plugins", lambda: load_plugins(self))

    @property
    def prearchive(self) -> Prearchive:
        """The prearchive (:class:`~xnat_sdk.prearchive.Prearchive`): sessions not archived yet."""
        from xnat_sdk.prearchive import Prearchive

        return self._helper("_xnat_prearchive", lambda: Prearchive(self))

    @property
    def services(self) -> Services:
        """Import, DICOM dump and alias tokens (:class:`~xnat_sdk.services.Services`)."""
        from xnat_sdk.services import Services

        return self._helper("_xnat_services", lambda: Services(self))

    @property
    def classes(self) -> ModelClasses:
        """Every model class by name (xnatpy's ``session.classes``): ``classes.MrSessionData``
        is :class:`xnat_sdk.models.MrSessionData` itself, and
        ``classes.MrSessionData(parent=subject, label="E1")`` creates a session on the server
        (validated first). Site models registered with :func:`xnat_sdk.register_models` are
        found by name too."""
        from xnat_sdk.models._classes import ModelClasses

        use_session(self)
        return self._helper(
            "_xnat_classes", lambda: ModelClasses(lambda name: class_named(name, self))
        )

    @property
    def users(self) -> Users:
        """The server's users by login (:class:`~xnat_sdk.users.Users`; cached)."""
        from xnat_sdk.users import Users

        return self._helper("_xnat_users", lambda: Users(self))

    @property
    def inspect(self) -> Inspect:
        """Data types and search fields of the server (:class:`~xnat_sdk.inspection.Inspect`)."""
        from xnat_sdk.inspection import Inspect

        return self._helper("_xnat_inspect", lambda: Inspect(self))

    def query(self, cls: type[_M]) -> SearchQuery[_M]:
        """A typed search over ``cls`` (see :mod:`xnat_sdk.search`):
        ``session.query(MrSessionData).where(lambda s: col(s.label) == "E1").all()``."""
        self._require_model("session.query")
        from xnat_sdk.search import Query as SearchQuery

        return SearchQuery(self, cls)

    # -- xnatpy 0.8's tree walks (see xnat_sdk.mapping) -------------------------------------

    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
    ) -> list[ImageScanData]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        *,
        level: ProjectLevel,
    ) -> list[ProjectData]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        *,
        level: SubjectLevel,
    ) -> list[SubjectData]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        *,
        level: ExperimentLevel,
    ) -> list[ExperimentData]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        *,
        level: ScanLevel,
    ) -> list[ImageScanData]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        *,
        level: ResourceLevel,
    ) -> list[AbstractResource]: ...
    @overload
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        level: MappingLevel | str = "scan",
    ) -> list[Any]: ...
    def search(
        self,
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        level: MappingLevel | str = "scan",
    ) -> list[Any]:
        """The objects at ``level`` matching the filters (xnatpy 0.8's ``search``; a shared
        subject or session once, as :meth:`mapping_iter` walks it): a pattern
        (``fnmatch``; a regular expression with ``use_regex``) on the project name (not its
        ID, as in xnatpy: ``project=lambda p: p.id == "P1"`` picks by ID), subject or
        experiment label, scan type or resource label, or a function of the object (see
        :func:`~xnat_sdk.mapping.create_filter_funcs`). (The typed query builder is
        :meth:`query`.)"""
        from xnat_sdk.mapping import create_filter_funcs

        filters = create_filter_funcs(project, subject, experiment, scan, resource, use_regex)
        return list(self.mapping_iter(level, filters))

    @overload
    def map_over(
        self,
        function: Callable[..., R],
        objects: Iterable[XNATObject | RemoteFile],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        logfile: None = None,
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, R | MappedFunctionFailed]: ...
    @overload
    def map_over(
        self,
        function: Callable[..., Any],
        objects: Iterable[XNATObject | RemoteFile],
        args: Sequence[Any] | None,
        kwargs: Mapping[str, Any] | None,
        logfile: str | os.PathLike[str],
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    @overload
    def map_over(
        self,
        function: Callable[..., Any],
        objects: Iterable[XNATObject | RemoteFile],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        logfile: str | os.PathLike[str],
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def map_over(
        self,
        function: Callable[..., Any],
        objects: Iterable[XNATObject | RemoteFile],
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        logfile: str | os.PathLike[str] | None = None,
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """``function(obj, *args, **kwargs)`` for each of ``objects`` you chose (a search
        result, a listing, ``load_tree``'s objects, a filtered list; objects or files of this
        session), run as :meth:`map` runs its calls: on ``max_workers`` (8) threads, any
        ``concurrent.futures.Executor`` or a Dask ``distributed.Client``, the objects
        travelling to other processes without credentials. ``{uri: result}`` in the objects'
        order, each URI once (typed ``dict[str, R | MappedFunctionFailed]`` for a function
        returning ``R``; with ``logfile`` ``dict[str, Any]``); a call that raised gives a
        :class:`~xnat_sdk.mapping.MappedFunctionFailed` (or, with ``stop_on_error``,
        :class:`~xnat_sdk.errors.XNATMapError`); with ``logfile`` a new run skips the objects
        that succeeded before; ``timeout`` (seconds per call) as in :meth:`map`. Nothing is
        sent before every object is checked."""
        from xnat_sdk.mapping import map_over

        return map_over(
            self,
            function,
            objects,
            args,
            kwargs,
            logfile,
            executor=executor,
            max_workers=max_workers,
            stop_on_error=stop_on_error,
            verbose=verbose,
            timeout=timeout,
        )

    def batch_download(
        self,
        target_directory: str | os.PathLike[str],
        project: Pattern = None,
        subject: Pattern = None,
        experiment: Pattern = None,
        scan: Pattern = None,
        resource: Pattern = None,
        use_regex: bool = False,
        level: MappingLevel | str = "scan",
    ) -> None:
        """``download_dir(target_directory)`` for every object :meth:`search` finds. Objects
        of different subjects or sessions of one label (in two projects) would be unpacked
        into one folder, one over the other: that raises
        :class:`~xnat_sdk.errors.XNATFileExistsError` before anything is downloaded."""
        from xnat_sdk.mapping import check_batch_folders

        found = self.search(project, subject, experiment, scan, resource, use_regex, level)
        check_batch_folders(found)
        for item in found:
            item.download_dir(target_directory)

    def download_files(
        self,
        sessions: Iterable[Any],
        target_dir: str | os.PathLike[str],
        *,
        scan_filter: str = "ALL",
        workers: int = 4,
        verbose: bool = True,
        verify: Verify = "quick",
        fsync: bool = False,
        overwrite: bool = True,
    ) -> DownloadReport:
        """Bring the scan files of ``sessions`` (image sessions: a search result, a
        listing...) into ``target_dir/{project}/{session label}/scans/...``, file by file,
        ``workers`` at a time; files already there with the listed size and MD5 are skipped,
        so a rerun fetches only what is missing (see :mod:`xnat_sdk.bulk`). With
        ``verify="quick"`` (the default) a file verified before and unchanged since (its
        size, times and inode as recorded, its MD5 still the server's) is not read again;
        ``verify="full"`` reads and hashes every file there. ``fsync=True`` puts each file's
        data on the disk before its rename (see :func:`~xnat_sdk.transfers.download_file`;
        2,000 files of 4 KiB took 20 to 60% longer on a test machine). ``overwrite=False``
        keeps a local file of another size or MD5 at a file's path (changed there, or on the
        server since) and reports that file failed (``kept``) instead of replacing it."""
        from xnat_sdk.bulk import _check_download_args, download_sessions, target_folder
        from xnat_sdk.transfers import local_folder
        from xnat_sdk.transfers._paths import _safe_name

        _check_download_args(workers, scan_filter, verify)  # before any session's listing is read
        if isinstance(sessions, (str, bytes)) or not isinstance(sessions, Iterable):
            raise XNATValidationError(
                "sessions",
                f"expected image sessions (a list, a listing, a search result), got "
                f"{type(sessions).__name__} (an object's own files: its download_files(folder))",
            )
        root = local_folder(target_dir, "target_dir")
        pairs = []
        seen: set[str] = set()
        for found in sessions:
            if not isinstance(found, ImageSessionBase):  # an assessor's own scans are items
                raise XNATValidationError(
                    "sessions", f"expected image sessions, got {type(found).__name__}"
                )
            if found.uri in seen:  # a session given twice is downloaded once
                continue
            seen.add(found.uri)
            project = str(getattr(found, "project", "") or "")
            pairs.append((found, root / _safe_name(project) / _safe_name(found._folder_name())))
        target_folder(root)  # made once the sessions are checked
        return download_sessions(
            pairs,
            scan_filter=scan_filter,
            workers=workers,
            verbose=verbose,
            label="download",
            root=root,
            verify=verify,
            fsync=fsync,
            overwrite=overwrite,
        )
