"""The prearchive: sessions received by XNAT that are not archived yet.

``session.prearchive.sessions(project=None)`` lists them (one request, never cached, because
the prearchive changes under you as data arrives) as :class:`PrearchiveSession` objects.
A session can be inspected (``scans``, each scan's ``files``, ``dicom_dump``), downloaded as a
zip, moved to another project, rebuilt, deleted, or archived into a project/subject/label;
archiving returns the typed archive experiment (an ``MrSessionData`` for an MR session).

Dates and times of the listing are parsed: ``uploaded``/``lastmod`` are
:class:`datetime.datetime`, ``scan_date`` a :class:`datetime.date`, ``scan_time`` a
:class:`datetime.time`, ``timestamp`` the folder's :class:`datetime.datetime`.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from xnat_sdk._answers import fetch, whole_number
from xnat_sdk._objects.navigation import GenericExperiment, object_at
from xnat_sdk.dicom import DicomDumpRow, dicom_dump, read_dicom_file
from xnat_sdk.errors import XNATError, XNATTypeMismatchError, XNATValidationError
from xnat_sdk.fields import validate_label
from xnat_sdk.listings import KeyedList, RemoteFile
from xnat_sdk.transfers import download_file

if TYPE_CHECKING:
    import requests
    from pydicom.dataset import FileDataset

    from xnat_sdk.models import ImageSessionData
    from xnat_sdk.session import XNATSession
    from xnat_sdk.transfers import RemoteStream

__all__ = [
    "OVERWRITE_MODES",
    "STATUSES",
    "Prearchive",
    "PrearchiveFile",
    "PrearchiveScan",
    "PrearchiveSession",
]

#: Values ``archive(overwrite=...)`` and ``import_(overwrite=...)`` accept.
OVERWRITE_MODES = ("none", "append", "delete")

#: The statuses of prearchive sessions (XNAT's ``PrearcUtils.PrearcStatus``; the ``QUEUED_``
#: and ``_`` ones are operations waiting or under way).
STATUSES = (
    "READY",
    "RECEIVING",
    "RECEIVING_INTERRUPT",
    "BUILDING",
    "CONFLICT",
    "ERROR",
    "ARCHIVING",
    "DELETING",
    "MOVING",
    "SEPARATING",
    "QUEUED_ARCHIVING",
    "QUEUED_BUILDING",
    "QUEUED_DELETING",
    "QUEUED_MOVING",
    "QUEUED_SEPARATING",
    "_ARCHIVING",
    "_BUILDING",
    "_CONFLICT",
    "_DELETING",
    "_MOVING",
    "_RECEIVING",
    "_RECEIVING_INTERRUPT",
    "_SEPARATING",
)


def check_status(status: object) -> str:
    """A prearchive status XNAT has (``READY`` ...): another (``ready``) matches no session."""
    if not isinstance(status, str) or status not in STATUSES:
        upper = str(status).upper()
        close = f" (did you mean {upper}?)" if upper in STATUSES else ""
        raise XNATValidationError(
            "status", f"{status!r} is no prearchive status{close}; they are {', '.join(STATUSES)}"
        )
    return status


def _parse_datetime(text: str, formats: tuple[str, ...]) -> datetime.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


_STAMP_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


def _flag(value: object) -> bool:
    return str(value).strip().lower() == "true"


def check_overwrite(overwrite: str | None) -> str | None:
    """Validate an ``overwrite`` mode (None, ``none``, ``append`` or ``delete``)."""
    if overwrite is None:
        return None
    if overwrite not in OVERWRITE_MODES:
        raise XNATValidationError(
            "overwrite", f"must be one of {', '.join(OVERWRITE_MODES)}, got {overwrite!r}"
        )
    return overwrite


def bool_param(value: bool | None, what: str) -> str | None:
    """``'true'``/``'false'`` for a query parameter (None stays unset); rejects non-bools."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise XNATValidationError(what, f"must be True, False or None, got {value!r}")
    return "true" if value else "false"


def download_to(
    session: XNATSession,
    uri: str,
    path: str | os.PathLike[str],
    query: Mapping[str, str] | None = None,
    expected_size: int | None = None,
    verbose: bool = False,
    name: str | None = None,
) -> Path:
    """Stream ``uri`` into ``path`` (a temporary name in the same folder, renamed when complete
    and its size checked); a progress bar when ``verbose`` and on a terminal. ``path`` may be
    a folder when ``name`` (a file's name from the server, checked) says what to call it."""
    target = Path(path)
    if target.is_dir():
        if not name:
            raise XNATValidationError("path", f"{target} is a folder; give a file name")
        from xnat_sdk.archives import safe_join

        target = safe_join(target, name)
    return download_file(
        session, uri, target, verbose=verbose, query=query, expected_size=expected_size
    )


class PrearchiveFile:
    """One file of a prearchive scan (``name``, ``size`` in bytes, ``uri``)."""

    def __init__(self, session: XNATSession, row: Mapping[str, Any], scan: PrearchiveScan):
        self._session = session
        self._row = dict(row)
        self.scan = scan
        """The scan this file belongs to."""

    @property
    def name(self) -> str:
        """The file name."""
        return str(self._row.get("Name", ""))

    @property
    def size(self) -> int:
        """The size in bytes."""
        return whole_number(self._row.get("Size")) or 0

    @property
    def uri(self) -> str:
        """The file's REST path."""
        return str(self._row.get("URI", ""))

    @property
    def data(self) -> dict[str, Any]:
        """The listing row, with the scan's ``URI`` (as xnatpy's)."""
        return {**self._row, "URI": self._row.get("URI") or self.uri}

    def download(self, path: str | os.PathLike[str], verbose: bool = False) -> Path:
        """Download the file to ``path`` (a file name, or an existing folder to put it in, as
        an archive file's ``download``; size checked); returns the path."""
        return download_to(
            self._session, self.uri, path, expected_size=self.size, verbose=verbose, name=self.name
        )

    def _remote(self) -> RemoteFile:
        return RemoteFile(self._session, self._row)

    def open(self) -> RemoteStream:
        """A streaming, seekable binary file object of this file (close it when done)."""
        return self._remote().open()

    def __repr__(self) -> str:
        return f"<PrearchiveFile {self.name} ({self.size} bytes)>"


class PrearchiveScan:
    """One scan of a prearchive session (``id``, ``series_description``, ``files``)."""

    def __init__(
        self, session: XNATSession, row: Mapping[str, Any], parent: PrearchiveSession
    ) -> None:
        self._session = session
        self._row = dict(row)
        self.parent = parent
        """The prearchive session of this scan."""

    @property
    def id(self) -> str:
        """The scan ID (the series number)."""
        return str(self._row.get("ID", ""))

    @property
    def series_description(self) -> str:
        """The series description."""
        return str(self._row.get("series_description", ""))

    @property
    def xsi_type(self) -> str:
        """The scan's xsi type (``xnat:mrScanData``)."""
        return str(self._row.get("xsiType", ""))

    @property
    def uri(self) -> str:
        """The scan's REST path."""
        return f"{self.parent.uri}/scans/{self.id}"

    @property
    def data(self) -> dict[str, Any]:
        """The listing row, with the scan's ``URI`` (as xnatpy's)."""
        return {**self._row, "URI": self._row.get("URI") or self.uri}

    @property
    def fulldata(self) -> dict[str, Any]:
        """The same row (a prearchive scan is only known through its session's listing)."""
        return dict(self._row)

    @property
    def xpath(self) -> str:
        """xnatpy's pseudo type of prearchive scans (``xnatpy:prearchiveScan``)."""
        return "xnatpy:prearchiveScan"

    @property
    def resources(self) -> list[str]:
        """Labels of the scan's resource folders (``DICOM`` ...); one request."""
        rows = fetch(self._session, f"{self.uri}/resources").rows()
        return [str(row.get("label", "")) for row in rows]

    @property
    def files(self) -> list[PrearchiveFile]:
        """The files of every resource of this scan (one request per resource)."""
        found: list[PrearchiveFile] = []
        for label in self.resources:
            rows = fetch(self._session, f"{self.uri}/resources/{label}/files").rows(
                numbers=("Size",)
            )
            found.extend(PrearchiveFile(self._session, row, self) for row in rows)
        return found

    def download(self, path: str | os.PathLike[str], verbose: bool = False) -> Path:
        """Download the scan as a zip to ``path``; returns the path."""
        return download_to(self._session, self.uri, path, query={"format": "zip"}, verbose=verbose)

    def read_dicom(
        self,
        file: PrearchiveFile | str | None = None,
        read_pixel_data: bool = False,
        force: bool = False,
    ) -> FileDataset:
        """The DICOM header (a pydicom Dataset) of one file of this scan (default: the first
        by name); only that file is streamed, up to the pixel data unless
        ``read_pixel_data``."""
        files = sorted(self.files, key=lambda f: f.name)
        if isinstance(file, PrearchiveFile):
            chosen = file
        elif file is None:
            if not files:
                raise XNATValidationError("file", f"scan {self.uri} has no files")
            chosen = files[0]
        else:
            found = [f for f in files if f.name == file]
            if not found:
                known = ", ".join(f.name for f in files) or "none"
                raise XNATValidationError("file", f"no file {file!r} in {self.uri} ({known})")
            chosen = found[0]
        return read_dicom_file(chosen._remote(), read_pixel_data=read_pixel_data, force=force)

    def dicom_dump(self, fields: list[str] | None = None) -> list[DicomDumpRow]:
        """The DICOM header of the scan's first file (``fields`` restricts the tags)."""
        return dicom_dump(self._session, self.uri, fields)

    def __repr__(self) -> str:
        return f"<PrearchiveScan {self.id} {self.series_description!r}>"


def _scan_row(scan: PrearchiveScan) -> dict[str, Any]:
    return scan.data


def _scan_id(scan: PrearchiveScan) -> str:
    return scan.id


def _series_description(scan: PrearchiveScan) -> str:
    return scan.series_description


class PrearchiveSession:
    """A session in the prearchive, as listed (refresh with :meth:`refresh`)."""

    def __init__(self, session: XNATSession, row: Mapping[str, Any]) -> None:
        self._session = session
        self._row = dict(row)

    @classmethod
    def at(cls, session: XNATSession, uri: str) -> PrearchiveSession:
        """The prearchive session at a REST path (``/data/prearchive/projects/P/TS/F``)."""
        path = session._strip_uri(uri.strip())
        if not path.startswith("/data/"):
            path = "/data" + path
        answer = fetch(session, path)
        rows = answer.rows()
        if not rows:
            raise answer.error("the server returned no prearchive row")
        return cls(session, rows[0])

    # -- listing fields ------------------------------------------------------------------------

    def _text(self, key: str) -> str:
        value = self._row.get(key)
        return "" if value is None else str(value)

    @property
    def data(self) -> dict[str, Any]:
        """The listing row, with the scan's ``URI`` (as xnatpy's)."""
        return {**self._row, "URI": self._row.get("URI") or self.uri}

    @property
    def fulldata(self) -> dict[str, Any]:
        """The session's row read anew from the server (xnatpy's name; ``data`` is the row
        this object was made from)."""
        return self.refresh().data

    @property
    def fulluri(self) -> str:
        """The same as :attr:`uri` (xnatpy's name)."""
        return self.uri

    def clearcache(self) -> None:
        """Nothing is cached here (``refresh()`` reads the row again); kept for xnatpy."""

    @property
    def xpath(self) -> str:
        """xnatpy's pseudo type of prearchive sessions (``xnatpy:prearchiveSession``)."""
        return "xnatpy:prearchiveSession"

    @property
    def xnat_session(self) -> XNATSession:
        """The session this object came from."""
        return self._session

    @property
    def uri(self) -> str:
        """The REST path (``/data/prearchive/projects/P/TS/FOLDER``)."""
        url = self._text("url")
        if not url:
            url = (
                f"/prearchive/projects/{self.project}/{self._text('timestamp')}/{self.folder_name}"
            )
        return url if url.startswith("/data/") else "/data" + url

    @property
    def id(self) -> str:
        """``project/timestamp/folder`` (unique within the server)."""
        return f"{self.project}/{self._text('timestamp')}/{self.folder_name}"

    @property
    def label(self) -> str:
        """The session label (same as :attr:`name`)."""
        return self.name

    @property
    def name(self) -> str:
        """The session label XNAT will archive it under."""
        return self._text("name")

    @property
    def project(self) -> str:
        """The project ID (``Unassigned`` when none)."""
        return self._text("project")

    @property
    def subject(self) -> str:
        """The subject label."""
        return self._text("subject")

    @property
    def status(self) -> str:
        """``READY``, ``RECEIVING``, ``CONFLICT``, ``ERROR``, ``QUEUED_MOVING`` ..."""
        return self._text("status")

    @property
    def tag(self) -> str:
        """The StudyInstanceUID."""
        return self._text("tag")

    @property
    def folder_name(self) -> str:
        """The folder of the session inside its timestamp folder."""
        return self._text("folderName")

    @property
    def timestamp(self) -> datetime.datetime | None:
        """When the session's folder was made (from the ``yyyyMMdd_HHmmssSSS`` folder name)."""
        return _parse_datetime(self._text("timestamp"), ("%Y%m%d_%H%M%S%f", "%Y%m%d_%H%M%S"))

    @property
    def timestamp_folder(self) -> str:
        """The raw timestamp folder name (``20240101_101010123``)."""
        return self._text("timestamp")

    @property
    def uploaded(self) -> datetime.datetime | None:
        """When the upload finished (None when unknown)."""
        return _parse_datetime(self._text("uploaded"), _STAMP_FORMATS)

    @property
    def lastmod(self) -> datetime.datetime | None:
        """When the session last changed."""
        return _parse_datetime(self._text("lastmod"), _STAMP_FORMATS)

    @property
    def scan_date(self) -> datetime.date | None:
        """The study date (None when absent)."""
        found = _parse_datetime(self._text("scan_date"), ("%Y-%m-%d",))
        return found.date() if found is not None else None

    @property
    def scan_time(self) -> datetime.time | None:
        """The study time (None when absent)."""
        found = _parse_datetime(self._text("scan_time"), ("%H:%M:%S.%f", "%H:%M:%S"))
        return found.time() if found is not None else None

    @property
    def autoarchive(self) -> str:
        """``Manual``, ``AutoArchive``, ``AutoArchiveOverwrite`` or ``""``."""
        return self._text("autoarchive")

    @property
    def prevent_anon(self) -> bool:
        """Whether anonymisation is switched off for this session."""
        return _flag(self._row.get("prevent_anon"))

    @property
    def prevent_auto_commit(self) -> bool:
        """Whether auto-archiving is switched off for this session."""
        return _flag(self._row.get("prevent_auto_commit"))

    # -- contents ------------------------------------------------------------------------------

    @property
    def scans(self) -> KeyedList[PrearchiveScan]:
        """The scans of the session (one request), a listing as xnatpy's: ``scans["1"]`` by
        ID (or by a series description one scan has), ``scans[0]``, iteration over the
        scans, ``keys()`` (the IDs), ``values()``, ``items()``, ``get()``, ``filter()``,
        ``tabulate()``/``tabulate_csv()``/``tabulate_pandas()``."""
        rows = fetch(self._session, f"{self.uri}/scans").rows()
        scans = [PrearchiveScan(self._session, row, self) for row in rows]
        return KeyedList(
            scans,
            _scan_id,
            _series_description,
            f"the scans of prearchive session {self.uri}",
            _scan_row,
        )

    def refresh(self) -> PrearchiveSession:
        """Read the session's row again (status, lastmod ...) and return ``self``."""
        fresh = PrearchiveSession.at(self._session, self.uri)
        self._row = fresh._row
        return self

    def download(self, path: str | os.PathLike[str], verbose: bool = False) -> Path:
        """Download the whole session as a zip to ``path``; returns the path."""
        return download_to(self._session, self.uri, path, query={"format": "zip"}, verbose=verbose)

    def dicom_dump(self, fields: list[str] | None = None) -> list[DicomDumpRow]:
        """The DICOM header of the session's first file (``fields`` restricts the tags)."""
        return dicom_dump(self._session, self.uri, fields)

    # -- actions -------------------------------------------------------------------------------

    def archive(
        self,
        overwrite: str | None = None,
        quarantine: bool | None = None,
        trigger_pipelines: bool | None = None,
        project: str | None = None,
        subject: str | None = None,
        experiment: str | None = None,
    ) -> ImageSessionData | GenericExperiment:
        """Archive the session (``POST /data/services/archive``); returns the typed experiment:
        an image session (``MrSessionData`` for an MR session; a ``GenericExperiment`` for a
        type no model knows), which type checkers know as such (``.label``, ``.scans``).

        ``overwrite``: None/``none`` (refuse an existing label), ``append`` or ``delete``.
        ``project``/``subject``/``experiment`` override the destination labels.
        """
        query: dict[str, str] = {"src": self.uri}
        mode = check_overwrite(overwrite)
        if mode is not None:
            query["overwrite"] = mode
        for key, value in (
            ("quarantine", bool_param(quarantine, "quarantine")),
            ("triggerPipelines", bool_param(trigger_pipelines, "trigger_pipelines")),
        ):
            if value is not None:
                query[key] = value
        for key, label in (("project", project), ("subject", subject), ("session", experiment)):
            if label is not None:
                query[key] = validate_label(label, "experiment" if key == "session" else key)
        response = self._session.post("/data/services/archive", query=query)
        uri = result_uri(response)
        if not uri:
            raise XNATError(f"POST /data/services/archive: no archive URI returned for {self.id}")
        self._session.clearcache()
        return archived_experiment(self._session, uri)

    def delete(self, asynchronous: bool | None = None) -> None:
        """Delete the session from the prearchive."""
        self._batch("delete", asynchronous)

    def rebuild(self, asynchronous: bool | None = None) -> PrearchiveSession:
        """Rebuild the session document from its files; returns ``self`` refreshed."""
        self._batch("rebuild", asynchronous)
        return self.refresh()

    def move(self, new_project: str, asynchronous: bool | None = None) -> PrearchiveSession:
        """Move the session to another project; returns the session at its new place."""
        validate_label(new_project, "new_project")
        self._batch("move", asynchronous, newProject=new_project)
        new_uri = (
            f"/data/prearchive/projects/{new_project}/{self.timestamp_folder}/{self.folder_name}"
        )
        if asynchronous:
            row = dict(self._row, project=new_project, url=new_uri[len("/data") :])
            return PrearchiveSession(self._session, row)
        return PrearchiveSession.at(self._session, new_uri)

    def _batch(self, action: str, asynchronous: bool | None, **extra: str) -> None:
        query: dict[str, str] = {"src": self.uri, "format": "json", **extra}
        flag = bool_param(asynchronous, "asynchronous")
        if flag is not None:
            query["async"] = flag
        self._session.post(f"/data/services/prearchive/{action}", query=query)

    def __repr__(self) -> str:
        return f"<PrearchiveSession {self.id} {self.status}>"


def result_uri(response: requests.Response) -> str:
    """The object URI a service answered: the first line of a ``text/uri-list`` body, or the
    target of a followed redirect (``redirect=true`` and auto-archiving projects: 303)."""
    found = result_uris(response)
    return found[0] if found else ""


def result_uris(response: requests.Response) -> list[str]:
    """Every object URI a service answered (an import of several studies makes one session
    each): the lines of a ``text/uri-list`` body, or the target of a followed redirect."""
    if response.history:
        return [urlsplit(response.url).path]
    return [line.strip() for line in response.text.splitlines() if line.strip()]


def archived_experiment(session: XNATSession, uri: str) -> ImageSessionData | GenericExperiment:
    """The typed archive session at ``uri`` (one request reads its document and type): what
    XNAT archives from DICOM is an image session, of a type a model knows or not."""
    from xnat_sdk.models import ImageSessionData

    path = session._strip_uri(uri)
    if path.startswith("/data/archive/"):
        path = "/data/" + path[len("/data/archive/") :]
    found = object_at(session, path)
    if not isinstance(found, ImageSessionData | GenericExperiment):
        raise XNATTypeMismatchError(
            path, "the archive", "xnat:imageSessionData", found.xsi_type or "?"
        )
    return found


class Prearchive:
    """``session.prearchive``: list and find prearchive sessions."""

    def __init__(self, session: XNATSession) -> None:
        self._session = session

    @property
    def xnat_session(self) -> XNATSession:
        """The session this prearchive belongs to."""
        return self._session

    @property
    def caching(self) -> bool:
        """Always False: the prearchive is read fresh on every call."""
        return False

    def clearcache(self) -> None:
        """Nothing to forget (kept for xnatpy compatibility)."""

    def sessions(
        self, project: str | None = None, allow_receiving: bool = False
    ) -> list[PrearchiveSession]:
        """The prearchive sessions (of ``project``, else of every project you may edit);
        sessions still ``RECEIVING`` data are left out unless ``allow_receiving`` (as in
        xnatpy: XNAT cannot act on them yet).

        Always one request (never cached). A project that does not exist or that you may
        not see raises :class:`~xnat_sdk.errors.XNATForbiddenError` (XNAT answers 403 to
        both).
        """
        if project is None:
            path = "/data/prearchive/projects"
        else:
            validate_label(project, "project")
            path = f"/data/prearchive/projects/{project}"
        rows = fetch(self._session, path).rows()
        found = [PrearchiveSession(self._session, row) for row in rows]
        return found if allow_receiving else [s for s in found if s.status != "RECEIVING"]

    def find(
        self,
        project: str | None = None,
        subject: str | None = None,
        session: str | None = None,
        status: str | None = None,
        allow_receiving: bool = False,
        *,
        label: str | None = None,
    ) -> list[PrearchiveSession]:
        """The sessions matching every given criterion (one request): xnatpy's parameters,
        ``session`` being the session's label (``label=`` is the same); ``status`` is one
        of :data:`STATUSES` (another, ``ready``, would match nothing: it raises
        :class:`~xnat_sdk.errors.XNATValidationError` before anything is sent)."""
        if session is not None and label is not None and session != label:
            raise XNATValidationError("session", "give the label once (session= or label=)")
        label = session if session is not None else label
        if status is not None:
            check_status(status)
        found = []
        for item in self.sessions(project, allow_receiving=allow_receiving or status is not None):
            if subject is not None and item.subject != subject:
                continue
            if label is not None and item.label != label:
                continue
            if status is not None and item.status != status:
                continue
            found.append(item)
        return found

    def get(self, project: str, timestamp: str, folder: str) -> PrearchiveSession:
        """One session by project, timestamp folder and folder name (404 when absent)."""
        for value, what in ((project, "project"), (folder, "folder")):
            validate_label(value, what)
        return PrearchiveSession.at(
            self._session, f"/data/prearchive/projects/{project}/{timestamp}/{folder}"
        )

    def __repr__(self) -> str:
        return f"<Prearchive of {self._session.server}>"
