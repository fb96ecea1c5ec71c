"""``session.services``: import, DICOM header dumps and alias tokens.

* :meth:`Services.import_` sends a DICOM zip / tar(.gz) / folder / bytes / file object to
  ``POST /data/services/import`` and returns what XNAT made of it: a
  :class:`~xnat_sdk.prearchive.PrearchiveSession` (prearchive destination, the default) or
  the typed archive experiment (``destination='/archive'``, an auto-archiving project, or
  ``destination='/archive/projects/P'``).
* :meth:`Services.dicom_dump` returns :class:`DicomDumpRow` rows for an archive or
  prearchive session, scan or file (or a URI).
* :meth:`Services.issue_token` returns a :class:`TokenResult`; ``connect(url,
  user=token.alias, password=token.secret)`` logs in with it.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from xnat_sdk._answers import fetch, whole_number
from xnat_sdk._objects.core import XNATObject
from xnat_sdk.dicom import DicomDumpRow, dicom_dump
from xnat_sdk.errors import (
    XNATConflictError,
    XNATError,
    XNATResponseError,
    XNATSeveralSessionsWarning,
    XNATValidationError,
    local_path_error,
    upload_error,
)
from xnat_sdk.fields import validate_label
from xnat_sdk.prearchive import (
    PrearchiveFile,
    PrearchiveScan,
    PrearchiveSession,
    archived_experiment,
    bool_param,
    check_overwrite,
    result_uris,
)

if TYPE_CHECKING:
    import requests

    from xnat_sdk._http import Timeout
    from xnat_sdk.generic import GenericExperiment
    from xnat_sdk.models import ImageSessionData
    from xnat_sdk.session import XNATSession

__all__ = ["DicomDumpRow", "ImportSource", "Services", "TokenResult", "guess_content_type"]

ImportSource = str | os.PathLike[str] | bytes | bytearray | IO[bytes]
"""What :meth:`Services.import_` accepts: a path (file or folder), bytes or a binary file."""

_CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    (".tar.gz", "application/x-gzip"),
    (".tgz", "application/x-gzip"),
    (".gz", "application/x-gzip"),
    (".tar", "application/x-tar"),
    (".zip", "application/zip"),
    (".dcm", "application/dicom"),
)
_ARCHIVE_PATH = re.compile(
    r"^/(?:data/)?(?:archive/)?projects/(?P<project>[^/]+)"
    r"(?:/subjects/(?P<subject>[^/]+))?/experiments/(?P<rest>.+)$"
)
_TOP_EXPERIMENT = re.compile(r"^/(?:data/)?(?:archive/)?experiments/(?P<rest>.+)$")


def check_destination(destination: object) -> str:
    """``destination`` checked: ``/prearchive[/projects/P]`` or ``/archive[/projects/P...]``
    with plain IDs and labels (nothing the server would clean up or misread)."""
    if not isinstance(destination, str) or not re.fullmatch(
        r"/(prearchive|archive)(/projects/[A-Za-z0-9_-]+(/.*)?)?", destination
    ):
        raise XNATValidationError(
            "destination",
            "must look like /prearchive[/projects/P] or /archive[/projects/P[...]], "
            f"got {destination!r}",
        )
    for segment in destination.rstrip("/").split("/")[2:]:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", segment):
            raise XNATValidationError(
                "destination",
                f"{segment!r} in {destination!r} is not a valid ID or label "
                "(letters, digits, '_' and '-')",
            )
    return destination


def check_content_type(content_type: object) -> None:
    """A MIME type (``application/zip``), or None."""
    if content_type is not None and (
        not isinstance(content_type, str)
        or not re.fullmatch(r"[\w.+-]+/[\w.+-]+(\s*;[^\r\n]*)?", content_type)
    ):
        raise XNATValidationError(
            "content_type", f"must be a MIME type such as application/zip, got {content_type!r}"
        )


def guess_content_type(path: str | os.PathLike[str]) -> str:
    """The upload Content-Type XNAT expects for a file name (zip unless known otherwise)."""
    name = os.fspath(path).lower()
    for suffix, kind in _CONTENT_TYPES:
        if name.endswith(suffix):
            return kind
    return "application/zip"


class TokenResult(NamedTuple):
    """An alias token, a named tuple as in xnatpy (``alias, secret = token``): log in with
    ``user=alias, password=secret``. Its ``repr`` hides the secret."""

    alias: str
    secret: str

    def __repr__(self) -> str:
        return f"TokenResult(alias={self.alias!r}, secret=<redacted>)"


def _zip_folder(folder: Path, follow_symlinks: bool) -> bytes:
    """A zip of the files below ``folder``: links inside it followed, one leading outside
    it refused (:class:`~xnat_sdk.errors.XNATLinkOutsideError`, before anything is read)
    unless ``follow_symlinks``."""
    from xnat_sdk.archives import add_to_zip, walk_files

    files = list(walk_files(folder, links="all" if follow_symlinks else "inside", field="path"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            add_to_zip(archive, file)
    return buffer.getvalue()


class Services:
    """XNAT's service endpoints (``session.services``)."""

    def __init__(self, session: XNATSession) -> None:
        self._session = session

    @property
    def xnat_session(self) -> XNATSession:
        """The session the services go through."""
        return self._session

    # -- import -------------------------------------------------------------------------------

    def import_(
        self,
        path: ImportSource | None = None,
        data: str | bytes | bytearray | IO[bytes] | None = None,
        overwrite: str | None = None,
        quarantine: bool = False,
        destination: str | None = None,
        trigger_pipelines: bool | None = None,
        project: str | None = None,
        subject: str | None = None,
        experiment: str | None = None,
        content_type: str | None = None,
        import_handler: str | None = None,
        timeout: Timeout = None,
        ignore_unparsable: bool = False,
        direct_archive: bool = False,
        *,
        follow_symlinks: bool = False,
    ) -> PrearchiveSession | ImageSessionData | GenericExperiment:
        """Import DICOM data (``POST /data/services/import``); returns what was created.

        xnatpy's parameters, in its order. ``path``: a zip/tar/tar.gz file or a folder (zipped
        on the fly; bytes and binary file objects are taken here too); or ``data``: the
        upload itself (bytes, or a binary file object; a ``str`` is text to send, never a file
        name). ``destination``: ``/prearchive`` (default routing), ``/prearchive/projects/P``
        or ``/archive[/projects/P[/subjects/S[/experiments/E]]]``. ``project``, ``subject``
        and ``experiment`` set the labels; ``overwrite`` is ``none``/``append``/``delete``;
        ``ignore_unparsable`` skips files that are not DICOM, ``direct_archive`` archives
        without the prearchive step (XNAT 1.8.3+). Everything is checked before the upload is
        sent; ``timeout`` bounds the request. A folder's links are followed when they stay
        inside it; one leading outside raises :class:`~xnat_sdk.errors.XNATLinkOutsideError`
        before anything is sent, unless ``follow_symlinks=True``.
        """
        query = self._import_query(
            overwrite, quarantine, destination, trigger_pipelines, import_handler
        )
        for key, label in (("project", project), ("subject", subject), ("session", experiment)):
            if label is not None:
                label = getattr(label, "label" if key != "project" else "id", label)
                query[key] = validate_label(label, "experiment" if key == "session" else key)
        _check_destination_labels(query)
        for name, flag, param in (
            ("ignore_unparsable", ignore_unparsable, "Ignore-Unparsable"),
            ("direct_archive", direct_archive, "Direct-Archive"),
        ):
            if not isinstance(flag, bool):
                raise XNATValidationError(name, f"must be True or False, got {flag!r}")
            if flag:
                query[param] = "true"
        check_content_type(content_type)
        body, kind = self._source(path, data, follow_symlinks)
        try:
            response = self._session.post(
                "/data/services/import",
                data=body,
                query=query,
                headers={"Content-Type": content_type or kind},
                accepted_status=(200,),
                timeout=timeout,
            )
        except XNATResponseError as exc:
            raise _import_error(exc, query.get("project")) from exc
        finally:
            if isinstance(path, (str, os.PathLike)) and hasattr(body, "close"):
                body.close()
        return self._imported(response)

    def _imported(
        self, response: requests.Response
    ) -> PrearchiveSession | ImageSessionData | GenericExperiment:
        uris = result_uris(response)
        if not uris:
            raise XNATError("POST /data/services/import: the server returned no URI")
        if len(uris) > 1:  # a zip of several studies: the first returned, all named
            warnings.warn(XNATSeveralSessionsWarning(uris), stacklevel=3)
        uri = uris[0]
        self._session.clearcache()
        if "/prearchive/" in uri:
            return PrearchiveSession.at(self._session, uri)
        return archived_experiment(self._session, uri)

    @staticmethod
    def _import_query(
        overwrite: str | None,
        quarantine: bool,
        destination: str | None,
        trigger_pipelines: bool | None,
        import_handler: str | None,
    ) -> dict[str, str]:
        query: dict[str, str] = {}
        mode = check_overwrite(overwrite)
        if mode is not None:
            query["overwrite"] = mode
        if not isinstance(quarantine, bool):
            raise XNATValidationError("quarantine", f"must be True or False, got {quarantine!r}")
        if quarantine:
            query["quarantine"] = "true"
        pipelines = bool_param(trigger_pipelines, "trigger_pipelines")
        if pipelines is not None:
            query["triggerPipelines"] = pipelines
        if destination is not None:
            query["dest"] = check_destination(destination)
        if import_handler is not None:
            query["import-handler"] = validate_label(import_handler, "import_handler")
        return query

    def _source(
        self,
        path: ImportSource | None,
        data: str | bytes | bytearray | IO[bytes] | None,
        follow_symlinks: bool = False,
    ) -> tuple[Any, str]:
        if (path is None) == (data is None):
            raise XNATValidationError("path", "give either path or data (exactly one of them)")
        if path is not None:
            return self._body(path, follow_symlinks)
        if isinstance(data, str):
            data = data.encode()
        if isinstance(data, (bytes, bytearray)) or hasattr(data, "read"):
            return self._body(data)  # type: ignore[arg-type]
        raise XNATValidationError(
            "data", f"expected bytes, str or a binary file object, got {type(data).__name__}"
        )

    def guess_content_type(self, path: str | os.PathLike[str]) -> str:
        """The Content-Type an upload of ``path`` is sent with (xnatpy's method): zip unless
        the name says tar, tar.gz or DICOM."""
        return guess_content_type(path)

    def import_dicom_inbox(
        self,
        path: str | os.PathLike[str],
        cleanup: bool = False,
        project: str | None = None,
        subject: str | None = None,
        experiment: str | None = None,
    ) -> str:
        """Import DICOM files already on the server's disk (XNAT's ``inbox`` import handler:
        ``path`` is a folder the server can read). Returns the URI the server answers with
        (the import's status; a prearchive session when it went there)."""
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).startswith("/"):
            raise XNATValidationError("path", f"an absolute path on the server, got {path!r}")
        if not isinstance(cleanup, bool):
            raise XNATValidationError("cleanup", f"must be True or False, got {cleanup!r}")
        query = {
            "import-handler": "inbox",
            "path": os.fspath(path),
            "cleanupAfterImport": "true" if cleanup else "false",
        }
        for key, label in (
            ("PROJECT_ID", project),
            ("SUBJECT_ID", subject),
            ("EXPT_LABEL", experiment),
        ):
            if label is not None:
                query[key] = validate_label(label, key.lower())
        response = self._session.post("/data/services/import", query=query)
        self._session.clearcache()
        return response.text.strip()

    def refresh_catalog(
        self,
        resource: str | XNATObject,
        checksum: bool = False,
        delete: bool = False,
        append: bool = False,
        populate_stats: bool = False,
    ) -> None:
        """Make XNAT re-read the files of a resource from disk (``POST
        /data/services/refresh/catalog``; for an archive object that is no resource, each
        of its own resources in turn): ``checksum`` computes missing digests, ``delete``
        drops entries whose file is gone, ``append`` adds files found on disk,
        ``populate_stats`` recounts sizes."""
        from xnat_sdk._objects.navigation import ResourceBase

        if isinstance(resource, XNATObject) and not isinstance(resource, ResourceBase):
            for owned in getattr(resource, "resources", {}).values():
                self.refresh_catalog(owned, checksum, delete, append, populate_stats)
            return
        uri = resource if isinstance(resource, str) else resource.uri
        if not isinstance(uri, str) or not uri.startswith("/"):
            raise XNATValidationError("resource", f"expected an object or a REST path: {uri!r}")
        options = [
            name
            for name, flag in (
                ("checksum", checksum),
                ("delete", delete),
                ("append", append),
                ("populateStats", populate_stats),
            )
            if flag
        ]
        query = {"resource": uri.removeprefix("/data")}
        if options:
            query["options"] = ",".join(options)
        self._session.post("/data/services/refresh/catalog", query=query)
        self._session.clearcache()

    def import_dir(
        self,
        directory: str | os.PathLike[str],
        overwrite: str | None = None,
        quarantine: bool = False,
        destination: str | None = None,
        trigger_pipelines: bool | None = None,
        project: str | None = None,
        subject: str | None = None,
        experiment: str | None = None,
        import_handler: str | None = None,
        timeout: Timeout = None,
        ignore_unparsable: bool = False,
        direct_archive: bool = False,
        *,
        follow_symlinks: bool = False,
    ) -> PrearchiveSession | ImageSessionData | GenericExperiment:
        """Zip a folder of DICOM files and import it (see :meth:`import_`; xnatpy's
        parameters, in its order; ``follow_symlinks`` as there)."""
        if not Path(directory).is_dir():
            raise local_path_error("directory", directory, "folder")
        return self.import_(
            directory,
            overwrite=overwrite,
            quarantine=quarantine,
            destination=destination,
            trigger_pipelines=trigger_pipelines,
            project=project,
            subject=subject,
            experiment=experiment,
            import_handler=import_handler,
            timeout=timeout,
            ignore_unparsable=ignore_unparsable,
            direct_archive=direct_archive,
            follow_symlinks=follow_symlinks,
        )

    @staticmethod
    def _body(path: ImportSource, follow_symlinks: bool = False) -> tuple[Any, str]:
        if isinstance(path, (bytes, bytearray)):
            if not path:
                raise XNATValidationError("path", "the data to import is empty")
            return bytes(path), "application/zip"
        if isinstance(path, (str, os.PathLike)):
            source = Path(path)
            if source.is_dir():
                return _zip_folder(source, follow_symlinks), "application/zip"
            if not source.is_file():
                raise local_path_error("path", source, "file")
            if source.stat().st_size == 0:
                raise XNATValidationError("path", f"{source} is empty")
            return source.open("rb"), guess_content_type(source)
        if hasattr(path, "read"):
            return path, "application/zip"
        raise XNATValidationError(
            "path", f"expected a path, bytes or a binary file, got {type(path).__name__}"
        )

    # -- dicom dump ---------------------------------------------------------------------------

    def dicom_dump(
        self,
        src: str | XNATObject | PrearchiveSession | PrearchiveScan | PrearchiveFile,
        fields: list[str] | None = None,
    ) -> list[DicomDumpRow]:
        """The DICOM header of the first file of ``src`` (``GET /data/services/dicomdump``).

        ``src``: an archive session, scan or file object, a prearchive session, scan or file,
        or a URI. ``fields`` (tag numbers ``00080060`` or keywords) restricts the rows.
        """
        return dicom_dump(self._session, self._dump_src(src), fields)

    def _dump_src(self, src: object) -> str:
        if isinstance(src, (PrearchiveSession, PrearchiveScan, PrearchiveFile)):
            uri = src.uri
        elif isinstance(src, XNATObject):
            uri = self._archive_uri(src)
        elif isinstance(src, str) and src.strip():
            uri = self._session._strip_uri(src.strip())
        else:
            raise XNATValidationError("src", f"expected an object or a URI, got {src!r}")
        return uri

    @staticmethod
    def _archive_uri(obj: XNATObject) -> str:
        uri = obj.uri
        match = _ARCHIVE_PATH.match(uri)
        if match is not None:
            return f"/archive/projects/{match['project']}/experiments/{match['rest']}"
        match = _TOP_EXPERIMENT.match(uri)
        if match is not None:
            project = _project_of(obj)
            if project:
                return f"/archive/projects/{project}/experiments/{match['rest']}"
            return f"/archive/experiments/{match['rest']}"
        raise XNATValidationError(
            "src", f"{type(obj).__name__} at {uri} is not an experiment, scan or file"
        )

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, user: str | None = None) -> TokenResult:
        """Issue an alias token (for yourself, or for ``user`` when you are an admin)."""
        return self._issue(user)[0]

    def _issue(self, user: str | None = None) -> tuple[TokenResult, float | None]:
        """An alias token and how long the server expects it to live, in seconds: its
        ``estimatedExpirationTime`` less its ``created``, both on the server's clock, so a
        client clock set differently does not matter (XNAT's ``aliasTokenTimeout``, 2 days
        by default); ``None`` when the answer does not say, or says nothing positive."""
        path = "/data/services/tokens/issue"
        if user is not None:
            path += f"/user/{validate_label(user, 'user')}"
        data = fetch(self._session, path).json_object(strings=("alias", "secret"))
        token = TokenResult(alias=data["alias"], secret=data["secret"])
        expires = whole_number(data.get("estimatedExpirationTime"))
        created = whole_number(data.get("created"))
        if expires is None or created is None or expires <= created:
            return token, None
        return token, (expires - created) / 1000

    def invalidate_token(self, token: TokenResult) -> None:
        """Invalidate an alias token (``GET /data/services/tokens/invalidate/{alias}``): it no
        longer logs anyone in.

        XNAT's ``AliasTokenRestlet`` invalidates by the alias alone (its routes take
        ``invalidate/{TOKEN}`` with or without ``/{SECRET}``) and answers
        ``{"result": "OK"}`` whatever the alias names; the secret is not sent, so that no
        access log or proxy on the way keeps it in a URL (a token whose invalidation failed
        would log in with it). The local server answers an unknown alias (or another
        user's, for a non-admin) with 404, raised as
        :class:`~xnat_sdk.errors.XNATNotFoundError`."""
        alias = validate_label(token.alias, "alias")
        self._session.get(f"/data/services/tokens/invalidate/{alias}", format=None)

    def __repr__(self) -> str:
        return f"<Services of {self._session.server}>"


def _check_destination_labels(query: dict[str, str]) -> None:
    """A ``destination`` naming a project, subject or experiment and the parameter of the
    same name naming another is refused before anything is sent: which one the server goes
    by is not the caller's to guess (the local server took the parameter, silently)."""
    steps = query.get("dest", "").strip("/").split("/")[1:]
    named = dict(zip(steps[::2], steps[1::2], strict=False))
    for segment, key, what in (
        ("projects", "project", "project"),
        ("subjects", "subject", "subject"),
        ("experiments", "session", "experiment"),
    ):
        if segment in named and key in query and named[segment] != query[key]:
            raise XNATValidationError(
                what,
                f"{query[key]!r} where destination {query['dest']!r} names "
                f"{named[segment]!r}: give one of them, or the same in both",
            )


def _import_error(exc: XNATResponseError, project: str | None) -> XNATResponseError:
    """The error of a refused import, an upload error; a 409 (the session exists in the
    archive) says where XNAT keeps the upload: in the prearchive, with status CONFLICT,
    where importing again would leave it."""
    error = upload_error(exc)
    if not isinstance(error, XNATConflictError) or error.hint:
        return error
    where = f"project {project}'s prearchive" if project else "the prearchive"
    hint = (
        f"XNAT keeps the upload in {where} with status CONFLICT: archive it from there "
        "with overwrite='append' or 'delete' (session.prearchive.find(status='CONFLICT')) "
        "or delete it; importing again leaves that copy there"
    )
    return type(error)(error.method, error.url, error.status, error.message, error.response, hint)


def _project_of(obj: XNATObject) -> str | None:
    """The project of an archive object or of the nearest parent that knows one."""
    current: XNATObject | None = obj
    while current is not None:
        try:
            value = getattr(current, "project", None)
        except XNATError:
            value = None
        if isinstance(value, str) and value:
            return value
        current = current.parent
    return None
