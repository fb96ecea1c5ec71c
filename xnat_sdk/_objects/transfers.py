"""The transfer capabilities of the archive objects, mixed into the session, remote files
and the navigation bases: ``session.download/download_stream/download_zip/upload``;
``RemoteFile.download/download_stream/open/verify_digest/delete``; ``resource.upload/
upload_data/upload_dir/download/download_dir`` and ``file_count``/``file_size``; ``download``
and ``download_dir`` of scans, image sessions (one server zip, unpacked while it streams and
checked against the file listing), subjects and projects (walks over their sessions, a few
at a time).

The work itself is the transfer engine's (:mod:`xnat_sdk.transfers`); these classes only
turn an object into the URIs, paths and options the engine takes.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote

from xnat_sdk._answers import whole_number
from xnat_sdk._objects.core import XNATObject, routed_experiment_uri
from xnat_sdk._transfer_defaults import CHUNK_SIZE, RESUME_ATTEMPTS
from xnat_sdk.errors import (
    XNATFileExistsError,
    XNATIntegrityError,
    XNATNotFoundError,
    XNATValueError,
    local_path_error,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress

# The transfer engine (xnat_sdk.transfers, with tarfile, hashlib, threads ...) is imported in
# the methods that transfer, not here: the archive classes inherit these mixins, and importing
# the SDK or a first listing should not pay for an engine it does not use (cold start).

if TYPE_CHECKING:
    from concurrent.futures import Future

    from xnat_sdk.archives import Links
    from xnat_sdk.bulk import DownloadReport, Verify
    from xnat_sdk.listings import Listing, RemoteFile
    from xnat_sdk.session import Timeout, XNATSession
    from xnat_sdk.transfers import RemoteStream, UploadSource

__all__ = [
    "PARALLEL_DOWNLOADS",
    "PARALLEL_UPLOADS",
    "RemoteFileTransfers",
    "ResourceTransfers",
    "ScanTransfers",
    "SessionDownloads",
    "TreeDownloads",
    "Walk",
]

_T = TypeVar("_T")

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


class RemoteFileTransfers:
    """``download``, ``download_stream``, ``open`` and ``delete`` of one remote file."""

    __slots__ = ()

    if TYPE_CHECKING:
        _session: XNATSession
        _row: dict[str, Any]
        uri: str
        path: str
        name: str
        size: int | None
        digest: str | None

    @property
    def file_size(self) -> int | None:
        """Size in bytes from the listing (xnatpy's name; same as ``size``)."""
        return self.size

    @property
    def id(self) -> str:
        """The path inside the resource, which identifies the file there (xnatpy's ``id``;
        same as ``path``)."""
        return self.path

    def _cell(self, column: str) -> str:
        value = self._row.get(column)
        return "" if value is None else str(value)

    @property
    def file_content(self) -> str:
        """The file's content label in its catalog (XNAT's ``file_content`` column; ``""``
        when it has none), as set by ``upload(..., file_content=...)``."""
        return self._cell("file_content")

    @property
    def file_format(self) -> str:
        """The file's format in its catalog (``file_format`` column; ``""`` when none)."""
        return self._cell("file_format")

    @property
    def file_tags(self) -> str:
        """The file's tags in its catalog, comma-joined (``file_tags`` column; ``""`` when
        none)."""
        return self._cell("file_tags")

    @property
    def cat_id(self) -> str:
        """The numeric ID of the resource (catalog) holding the file (``cat_ID`` column)."""
        return self._cell("cat_ID")

    @property
    def collection(self) -> str:
        """The label of the resource holding the file (``collection`` column)."""
        return self._cell("collection")

    @property
    def expected_data_path(self) -> Path | None:
        """Where the file is in the locally mounted archive (``session.mount_data_dir``;
        None when nothing is mounted), whether or not it is there."""
        if self._session.mount_data_dir is None:
            return None
        owner_uri, _, resource_id = self.uri.split("/files/", 1)[0].rpartition("/resources/")
        owner = self._session.create_object(owner_uri)
        resource = owner.resources[resource_id]  # type: ignore[attr-defined]
        folder: Path | None = resource.expected_data_dir
        return None if folder is None else folder / self.path

    @property
    def data_path(self) -> Path | None:
        """:attr:`expected_data_path` when that file exists (read it in place), else None."""
        if self._session.mount_data_dir is None:
            return None
        found = self.expected_data_path
        return found if found is not None and found.is_file() else None

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
        from xnat_sdk.transfers._download import download_file
        from xnat_sdk.transfers._paths import file_request_path, local_path

        target = local_path(path, "target")
        if target.is_dir():
            target = safe_join(target, self.name)  # a name from the server: checked
        return download_file(
            self._session,
            file_request_path(self.uri),
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
        from xnat_sdk.transfers._download import download_stream
        from xnat_sdk.transfers._paths import file_request_path

        return download_stream(
            self._session,
            file_request_path(self.uri),
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
        from xnat_sdk.transfers._paths import file_request_path
        from xnat_sdk.transfers._stream import RemoteStream

        return RemoteStream(self._session, file_request_path(self.uri), self.size)

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
        from xnat_sdk.transfers._paths import quote_path

        self._session.delete(quote_path(self.uri))
        self._session.clearcache()


class _Discard(io.RawIOBase):
    """A writable sink that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


def _session_of(obj: XNATObject) -> XNATSession:
    return obj._xnat_bound_session()


class _ZipDownloads(XNATObject):
    __slots__ = ()

    def _zip_uri(self) -> str:
        return f"{self.uri}/files"

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download all files (of every resource below this object, or of this resource) as
        one zip file at ``path``."""
        from xnat_sdk.transfers._download import download_file

        return download_file(
            _session_of(self),
            self._zip_uri(),
            path,
            format="zip",
            verbose=verbose,
            overwrite=overwrite,
        )


class ResourceTransfers(_ZipDownloads):
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
        from xnat_sdk.transfers._paths import quote_path

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
        path: UploadSource,
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
        """Upload ``path`` (xnatpy's name): a file (a ``Path`` or a ``str`` naming an existing
        file), bytes or a binary file object, as ``remotepath`` (default: the file's name).
        ``extract=True`` unpacks a zip/tar/tgz on the server; ``overwrite=False`` raises
        :class:`XNATFileExistsError` when the file exists."""
        from xnat_sdk.transfers._paths import check_remotepath
        from xnat_sdk.transfers._upload import upload

        if isinstance(path, str):
            # As in xnatpy, a str here is a path (text goes through upload_data or bytes).
            if not os.path.isfile(path):
                hint = "to upload text use upload_data() or pass bytes"
                raise local_path_error("path", path, "file", hint)
            path = Path(path)
        if remotepath is None:
            if isinstance(path, os.PathLike) and os.path.isfile(path):
                remotepath = Path(os.fspath(path)).name
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
                path,
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
        follow_symlinks: bool = False,
    ) -> None:
        """Upload every regular file below ``directory`` keeping relative paths.

        ``method``: ``per_file`` (one request per file), ``tar_memory``/``tgz_memory`` (one
        archive built in memory), ``tar_file``/``tgz_file`` (one archive in a temporary
        file, the default); archives are unpacked by the server.

        Symbolic links resolving inside ``directory`` are followed (the file they point to
        is sent under the link's name); one leading outside it raises
        :class:`~xnat_sdk.errors.XNATLinkOutsideError` before anything is sent (a link to
        ``~/.ssh/id_rsa`` would send that file), unless ``follow_symlinks=True``.
        """
        import tempfile

        from xnat_sdk.archives import write_tar
        from xnat_sdk.transfers._paths import _local_files, local_path
        from xnat_sdk.transfers._upload import UPLOAD_DIR_METHODS, upload

        folder = local_path(directory, "directory")
        if not folder.is_dir():
            raise local_path_error("directory", folder, "folder")
        method = method or "tgz_file"
        if method not in UPLOAD_DIR_METHODS:
            raise XNATValueError(
                f"unknown upload_dir method {method!r}; use one of {', '.join(UPLOAD_DIR_METHODS)}"
            )
        session = _session_of(self)
        try:
            links: Links = "all" if follow_symlinks else "inside"
            if method == "per_file":
                self._upload_per_file(folder, overwrite, verbose, links)
                return
            gzip = method.startswith("tgz")
            name = "upload.tar.gz" if gzip else "upload.tar"
            buffer_: IO[bytes] = (
                io.BytesIO() if method.endswith("memory") else tempfile.SpooledTemporaryFile(_SPOOL)  # noqa: SIM115 (closed below)
            )
            with buffer_:
                # A file that cannot be read raises naming it; writing fails in the spill file.
                with _local_files(tempfile.gettempdir(), "writing the temporary archive"):
                    write_tar(folder, buffer_, gzip=gzip, compresslevel=None, links=links)
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

    def _upload_per_file(self, folder: Path, overwrite: bool, verbose: bool, links: Links) -> None:
        """One request per file, a few at a time (XNAT serves them in parallel; over a
        network with latency this is much faster than one after the other)."""
        import tarfile
        from concurrent.futures import ThreadPoolExecutor

        from xnat_sdk.archives import WalkedFile, open_walked, walk_files
        from xnat_sdk.transfers._paths import check_remotepath
        from xnat_sdk.transfers._upload import upload

        session = _session_of(self)
        files = list(walk_files(folder, links=links))
        for file in files:
            check_remotepath(file.rel)
        total = sum(file.size for file in files)
        label = f"upload {folder.name}"

        def send(file: WalkedFile, bars: TransferProgress) -> None:
            rel = file.rel
            with open_walked(file) as handle:  # the file the walk checked, or an error
                seen = os.fstat(handle.fileno())
                if seen.st_size == 0:
                    # XNAT refuses an empty request body: send the file inside a tar instead.
                    buffer = io.BytesIO()
                    with tarfile.open(fileobj=buffer, mode="w") as tar:
                        info = tarfile.TarInfo(rel.rsplit("/", 1)[-1])
                        info.mtime, info.mode = int(seen.st_mtime), seen.st_mode & 0o7777
                        tar.addfile(info)
                    upload(
                        session,
                        self._files_uri(f"{rel}.empty.tar"),  # unpacked beside it, as ``rel``
                        buffer.getvalue(),
                        query={"extract": "true"},
                        overwrite=overwrite,
                    )
                    return
                update = bars.task(rel, seen.st_size) if bars.enabled else None
                upload(
                    session, self._files_uri(rel), handle, overwrite=overwrite, update_func=update
                )

        with (
            TransferProgress(verbose, overall_label=label, overall_total=total) as bars,
            ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool,
        ):
            _settle([pool.submit(send, file, bars) for file in files])

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
        from xnat_sdk.transfers._folders import download_zip_dir
        from xnat_sdk.transfers._paths import local_folder

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


class ScanTransfers(_ZipDownloads):
    """``download`` (one zip) and ``download_dir`` of a scan.

    XNAT reads the scan in ``{scan}/files`` and ``{scan}/resources...`` as a selector
    (``XNATTemplate``): the scans of that ID *and those of that type*, a comma-separated
    list, ``ALL``. So a scan's files are asked for by its resources' numeric IDs and the
    answers' rows kept by their scan; an ID with a comma, which names no scan there, is
    reached through ``ALL``."""

    __slots__ = ()

    def _scan_id(self) -> str:
        return unquote(self.uri.rstrip("/").rsplit("/", 1)[-1])

    def _files_base(self) -> str:
        """The scan's path for file and resource routes (``scans/ALL`` for an ID with a
        comma; the rows of the answer are then kept by scan)."""
        uri = routed_experiment_uri(self.uri)
        return f"{uri.rsplit('/', 1)[0]}/ALL" if "," in self._scan_id() else uri

    def _owns_file(self, uri: str) -> bool:
        """Whether the file a file listing's ``URI`` names is this scan's (XNAT's answer for
        ``{scan}/files`` also has those of the scans the selector widens to)."""
        from xnat_sdk._urls import scan_of_file_uri

        return scan_of_file_uri(uri) == self._scan_id()

    def _own_file_rows(self) -> tuple[str, list[dict[str, Any]]]:
        """The zip URL of this scan's resources alone (``{scan}/resources/{id,id}/files``)
        and the file listing rows of this scan; ("", []) when it has no file."""
        from xnat_sdk.transfers._paths import split_file_uri
        from xnat_sdk.transfers._wire import _listing_rows

        base = self._files_base()
        rows = _listing_rows(_session_of(self), f"{base}/files")
        rows = [r for r in rows if self._owns_file(str(r.get("URI", "")))]
        ids = dict.fromkeys(
            found[1] for r in rows if (found := split_file_uri(str(r.get("URI", ""))))
        )
        return (f"{base}/resources/{','.join(ids)}/files" if ids else ""), rows

    def _zip_uri(self) -> str:
        uri, _ = self._own_file_rows()
        if not uri:
            raise XNATNotFoundError("GET", f"{self._files_base()}/files", 404, "no files")
        return uri

    def download_dir(
        self, target_dir: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download and unpack the scan's files into ``target_dir`` (server zip layout
        ``{session}/scans/{id}-{type}/resources/...``), verified; returns the scan folder."""
        from xnat_sdk.transfers._folders import download_zip_dir
        from xnat_sdk.transfers._paths import local_folder

        uri, rows = self._own_file_rows()
        if not uri:  # no file: nothing to ask for (as an empty resource's zip)
            root = local_folder(target_dir, "target_dir")
            root.mkdir(parents=True, exist_ok=True)
            return root
        written = download_zip_dir(
            _session_of(self),
            uri,
            uri,
            target_dir,
            verbose=verbose,
            overwrite=overwrite,
            listing_rows=rows,
        )
        common = _common_folder(Path(os.fspath(target_dir)), written)
        parts = common.parts
        if "resources" in parts:
            return Path(*parts[: len(parts) - parts[::-1].index("resources") - 1])
        return common


class SessionDownloads(XNATObject):
    """``download`` and ``download_dir`` of an image session (all scans, one zip)."""

    __slots__ = ()

    def _folder_name(self) -> str:
        """The session's folder in a project's or subject's download: its label, else the
        last part of its URI."""
        return str(getattr(self, "label", "") or self.uri.rsplit("/", 1)[-1])

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
        from xnat_sdk.transfers._download import download_file

        return download_file(
            _session_of(self),
            self._scan_files_uri(scan_filter),
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
    ) -> Path:
        """Download and unpack the session's scan files into ``target_dir``
        (``{label}/scans/{id}-{type}/resources/{label}/files/...``), verified against the
        listing; returns ``target_dir/{label}`` (seen through a project it is shared into,
        the share's label, as a project's ``download_files`` names it; XNAT's zip names it
        by its primary label). The progress bar is named by the label."""
        return self._download_dir(target_dir, scan_filter, verbose, overwrite=overwrite)

    def _download_dir(
        self,
        target_dir: str | os.PathLike[str],
        scan_filter: str = "ALL",
        verbose: bool = True,
        *,
        overwrite: bool = True,
        bars: TransferProgress | None = None,
        listing_rows: list[dict[str, Any]] | None = None,
    ) -> Path:
        """:meth:`download_dir` within a bigger download: its progress ``bars``, and
        ``listing_rows``, the scans' file listing when the caller has read it already."""
        from xnat_sdk.transfers._folders import download_zip_dir
        from xnat_sdk.transfers._paths import _safe_name, local_folder

        uri = self._scan_files_uri(scan_filter)
        root = local_folder(target_dir, "target_dir")
        label = str(getattr(self, "label", "") or "")
        folder = root / _safe_name(label) if label else root
        # the zip names its folder after the session's archive folder, its label in its
        # primary project (XNAT: getArchiveDirectoryName): seen through a project it is
        # shared into, it goes under the share's label, as download_files puts it (that
        # project's own session of its primary label may be downloaded beside it)
        download_zip_dir(
            _session_of(self),
            uri,
            uri,
            root,
            verbose=verbose,
            overwrite=overwrite,
            bars=bars,
            label=label or None,
            listing_rows=listing_rows,
            top=folder.name if label else None,
        )
        return folder

    def _scan_files_uri(self, scan_filter: str = "ALL") -> str:
        from xnat_sdk.transfers._paths import check_scan_filter, quote_path

        check_scan_filter(scan_filter)
        return f"{routed_experiment_uri(self.uri)}/scans/{quote_path(scan_filter)}/files"


_Callback = Callable[[str], None]


class TreeDownloads(XNATObject):
    """``download_dir`` and ``download`` of an object with sessions below it (a project or
    a subject): the navigation base names its folder and walks its children."""

    __slots__ = ()

    def _folder_name(self) -> str:
        raise NotImplementedError

    def _download_tree(self, folder: Path, walk: Walk) -> None:
        raise NotImplementedError

    def download_dir(
        self,
        target_dir: str | os.PathLike[str],
        verbose: bool = True,
        progress_callback: _Callback | None = None,
        *,
        overwrite: bool = True,
        workers: int = PARALLEL_DOWNLOADS,
        scan_filter: str = "ALL",
    ) -> Path:
        """Download every session below this object into ``target_dir/{name}/...`` (one
        verified zip per session, ``workers`` sessions at a time); returns that folder.
        ``progress_callback(message)`` is told which subject/session is next (as in xnatpy).
        On an error no new session starts, those under way finish, and the first error is
        raised; sessions already complete stay (each is verified on its own).
        ``scan_filter`` (``ALL``, scan IDs or types, comma-separated) picks the scans of
        every session, as in :meth:`SessionDownloads.download_dir`."""
        from xnat_sdk.transfers._paths import _local_files, _safe_name, local_folder

        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise XNATValueError(f"workers must be an int >= 1, got {workers!r}")
        folder = local_folder(target_dir, "target_dir") / _safe_name(self._folder_name())
        with _local_files(folder, "creating the folder"):
            folder.mkdir(parents=True, exist_ok=True)
        with TransferProgress(verbose, overall_label=self._folder_name()) as bars:
            walk = Walk(bars, overwrite, progress_callback, workers, scan_filter)
            try:
                self._download_tree(folder, walk)
                walk.run()
            except BaseException:
                walk.finish(cancel=True)
                raise
            walk.finish()
        return folder

    def _bulk_sessions(self, folder: Path) -> list[tuple[Any, Path]]:
        raise NotImplementedError

    def download_files(
        self,
        target_dir: str | os.PathLike[str],
        *,
        scan_filter: str = "ALL",
        workers: int = PARALLEL_DOWNLOADS,
        verbose: bool = True,
        verify: Verify = "quick",
        fsync: bool = False,
        overwrite: bool = True,
    ) -> DownloadReport:
        """Bring the scan files of every session below this object into
        ``target_dir/{name}/...`` (the layout of :meth:`download_dir`) file by file,
        ``workers`` at a time, skipping files already there with the listed size and MD5:
        a rerun fetches only what is missing (see :mod:`xnat_sdk.bulk`). The tree costs a
        few listing requests, then one file listing per session. With ``verify="quick"``
        (the default) a file verified before and unchanged since (its size, times and
        inode as recorded, its MD5 still the server's) is not read again;
        ``verify="full"`` reads and hashes every file there. ``fsync=True`` puts each file's
        data on the disk before its rename (see :func:`~xnat_sdk.transfers.download_file`;
        2,000 files of 4 KiB took 20 to 60% longer on a test machine). ``overwrite=False``
        keeps a local file of another size or MD5 at a file's path (changed there, or on the
        server since) and reports that file failed (``kept``) instead of replacing it."""
        from xnat_sdk.bulk import _check_download_args, download_sessions, target_folder
        from xnat_sdk.transfers._paths import _safe_name

        _check_download_args(workers, scan_filter, verify)  # before the tree is read
        root = target_folder(target_dir)
        folder = root / _safe_name(self._folder_name())
        return download_sessions(
            self._bulk_sessions(folder),
            scan_filter=scan_filter,
            workers=workers,
            verbose=verbose,
            label=self._folder_name(),
            root=root,
            verify=verify,
            fsync=fsync,
            overwrite=overwrite,
        )

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """Download everything below this object into one zip file at ``path`` (built
        locally from the per-session zips, every file verified)."""
        import shutil

        from xnat_sdk.archives import sweep_leftovers
        from xnat_sdk.transfers._folders import _zip_folder
        from xnat_sdk.transfers._paths import _local_files, _staging_folder, local_path

        target = local_path(path, "target")
        if not overwrite and target.exists():
            raise XNATFileExistsError(f"{target} exists")
        with _local_files(target.parent, "creating the folder"):
            target.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(target.parent)
        staging = _staging_folder(target.parent)
        try:
            folder = self.download_dir(staging, verbose=verbose)
            return _zip_folder(folder.parent, target, overwrite)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class Walk:
    """Shared state of a project/subject walk: sessions are downloaded by a pool of
    ``workers`` threads (inline for one)."""

    def __init__(
        self,
        bars: TransferProgress,
        overwrite: bool,
        callback: _Callback | None,
        workers: int,
        scan_filter: str = "ALL",
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.bars = bars
        self.scan_filter = scan_filter
        self.overwrite = overwrite
        self.callback = callback
        self._pool = (
            ThreadPoolExecutor(workers, thread_name_prefix="xnat-sdk-session")
            if workers > 1
            else None
        )
        self._futures: list[Future[Any]] = []
        self._sessions: list[tuple[SessionDownloads, Path]] = []
        self._cased: dict[str, tuple[Path, str]] = {}  # case key -> (session folder, uri)

    def tell(self, message: str) -> None:
        """Pass ``message`` to the caller's progress callback."""
        if self.callback is not None:
            self.callback(message)

    def folder(self, parent: Path, name: str) -> Path:
        """The folder ``name`` (made a plain folder name) below ``parent``, created."""
        from xnat_sdk.transfers._paths import _local_files, _safe_name

        sub = parent / _safe_name(name)
        with _local_files(sub, "creating the folder"):
            sub.mkdir(parents=True, exist_ok=True)
        return sub

    def session(self, experiment: SessionDownloads, folder: Path) -> None:
        """Add ``experiment`` (to be downloaded into ``folder``) to the walk; the downloads
        start in :meth:`run`, once the whole tree is known. With a scan filter, a session
        without a matching scan is left out (XNAT answers its zip and listing with 404)."""
        from xnat_sdk.transfers._paths import scans_matching  # loaded by the download

        scans = getattr(experiment, "scans", None)
        if (
            self.scan_filter not in ("ALL", "*")
            and scans is not None
            and not scans_matching(scans, self.scan_filter)
        ):
            return
        self._check_case(experiment, folder)
        self._sessions.append((experiment, folder))

    def _check_case(self, experiment: SessionDownloads, folder: Path) -> None:
        """Raise :class:`~xnat_sdk.errors.XNATCaseCollisionError` (before any session is
        downloaded) when the session's folder in ``folder`` differs only in case from
        another session's (subjects
        ``S1`` and ``s1`` with a session ``MR1`` each): on a case-insensitive file system the
        two sessions' files would land in one folder, one over the other."""
        from xnat_sdk.errors import XNATCaseCollisionError
        from xnat_sdk.transfers._paths import _safe_name, case_key

        uri = str(getattr(experiment, "uri", ""))
        label = str(getattr(experiment, "label", "") or "")
        folder = folder / _safe_name(label) if label else folder  # the zip's first folder
        other = self._cased.setdefault(case_key(folder), (folder, uri))
        if other[0] != folder:
            raise XNATCaseCollisionError(str(folder), str(other[0]), uri, other[1])
        if other[1] != uri:  # one label twice: a share made without a label of its own
            error = XNATFileExistsError(
                f"the sessions {other[1]} and {uri} would both be unpacked into {folder}, one "
                "over the other (a session or subject shared into this project without a "
                "label shows its own, which this project uses too); nothing was downloaded"
            )
            error.remedy = (
                "label the share (share(project, label=...)), or download one of them on "
                "its own into another folder"
            )
            raise error

    def run(self) -> None:
        """Download the sessions found, ``workers`` at a time. With bars shown, their file
        listings are read first (a few at a time), so that the overall bar knows its total
        and no session asks for its listing again."""
        from xnat_sdk.transfers._wire import _listing_rows

        listings: list[list[dict[str, Any]] | None] = [None] * len(self._sessions)
        if self.bars.enabled and self._sessions:
            session = _session_of(self._sessions[0][0])
            uris = [e._scan_files_uri(self.scan_filter) for e, _ in self._sessions]
            read = self._map(functools.partial(_listing_rows, session), uris)
            sizes = (whole_number(row.get("Size")) for rows in read for row in rows)
            self.bars.set_overall_total(sum(max(size or 0, 0) for size in sizes))
            listings = list(read)
        for (experiment, folder), rows in zip(self._sessions, listings, strict=True):
            job = functools.partial(
                experiment._download_dir,
                folder,
                self.scan_filter,
                verbose=False,
                overwrite=self.overwrite,
                bars=self.bars,
                listing_rows=rows,
            )
            if self._pool is None:
                job()
                continue
            for future in self._futures:
                if future.done():
                    future.result()  # re-raises a failure: no session starts after one
            self._futures.append(self._pool.submit(job))

    def _map(self, func: Callable[[str], _T], items: list[str]) -> list[_T]:
        if self._pool is None:
            return [func(item) for item in items]
        futures = [self._pool.submit(func, item) for item in items]
        _settle(futures)
        return [future.result() for future in futures]

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
