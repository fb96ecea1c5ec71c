"""The navigation bases the generated archive classes inherit (one per XNAT base type), the
generic classes for types no model knows, and the one REST table: which listing lives at
which URL segment, keyed how, filled with which classes.

The generator's binding table (``codegen/xnat_sdk_codegen/binding.py``) names these bases;
their behaviour: ``project.subjects``, ``subject.experiments``, ``session.scans``,
``resources``, ``fields``, ``share``, ``create_resource``, the transfers (from
:mod:`xnat_sdk._objects.transfers`) and ``read_dicom`` (from :mod:`xnat_sdk.dicom`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload
from urllib.parse import unquote

from xnat_sdk._answers import fetch
from xnat_sdk._objects.core import (
    Creatable,
    GenericObject,
    XNATObject,
    _GenericMixin,
    _share_seen,
    child_items,
    routed_experiment_uri,
)
from xnat_sdk._objects.registry import class_for, model_class
from xnat_sdk._objects.transfers import (
    ResourceTransfers,
    ScanTransfers,
    SessionDownloads,
    TreeDownloads,
)
from xnat_sdk._objects.walks import Walks
from xnat_sdk.errors import (
    XNATConflictError,
    XNATError,
    XNATKeyError,
    XNATNoModelError,
    XNATNotFoundError,
    XNATNotSharedError,
    XNATServerError,
    XNATTypeMismatchError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.fields import class_fields, validate_label
from xnat_sdk.listings import Listing, ListingSpec

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset

    from xnat_sdk._objects.custom import CustomVariables
    from xnat_sdk._objects.transfers import Walk
    from xnat_sdk.listings import RemoteFile
    from xnat_sdk.models import (
        AbstractResource,
        ImageAssessorData,
        ImageScanData,
        ReconstructedImageData,
        ResourceCatalog,
        SubjectAssessorData,
        SubjectData,
    )
    from xnat_sdk.search import CustomColumn
    from xnat_sdk.services import DicomDumpRow
    from xnat_sdk.session import XNATSession
    from xnat_sdk.users import User, Users

__all__ = [
    "ASSESSORS",
    "EXPERIMENTS",
    "FILES",
    "LISTINGS",
    "OWNED_FILES",
    "PROJECTS",
    "RECONSTRUCTIONS",
    "RESOURCES",
    "SCANS",
    "SUBJECTS",
    "AssessorBase",
    "DerivedDataBase",
    "ExperimentBase",
    "GenericAssessor",
    "GenericExperiment",
    "GenericObject",
    "GenericProject",
    "GenericReconstruction",
    "GenericResource",
    "GenericScan",
    "GenericSubject",
    "ImageSessionBase",
    "ProjectBase",
    "ReconstructionBase",
    "ResourceBase",
    "ScanBase",
    "SubjectAssessorBase",
    "SubjectBase",
    "object_at",
]

_P = TypeVar("_P", bound="ProjectBase")
_A = TypeVar("_A", bound=XNATObject)


def _listing_cache(obj: XNATObject, name: str, make: Any) -> Any:
    cache: dict[str, Any] | None = obj._xnat_cache
    if cache is None:
        obj._xnat_bound_session()
        raise XNATError("object has no cache")
    found = cache.get(name)
    if found is None:
        found = make()
        cache[name] = found
    return found


def _require_model(obj: XNATObject, what: str) -> XNATSession:
    session = obj._xnat_bound_session()
    if session._no_parse_model:
        raise XNATNoModelError(f"{what} needs the typed object model (no_parse_model=True)")
    return session


_ACCESS_LEVELS = ("owner", "member", "collaborator")


def _login(user: Any) -> str:
    login = getattr(user, "login", user)
    if not isinstance(login, str) or not re.fullmatch(r"[A-Za-z0-9_.@-]+", login):
        raise XNATValidationError("user", f"expected a login or a User, got {user!r}")
    return login


def _known_login(session: XNATSession, login: str) -> tuple[str, bool]:
    """``login`` checked against the site's users before a membership is sent (XNAT reads
    a number as a user's numeric ID, an email as its users', and anything else it does not
    know as an address to email an invitation to, answering 200): the login of the user
    named by login or email, and whether the user list allowed the check (a site that lets
    only admins list users refuses it to others)."""
    if login.isdigit():
        raise XNATValidationError(
            "user", f"{login!r}: XNAT reads a number as a user's numeric ID; give a login"
        )
    users = session.users
    users.clearcache()  # a user made since the list was read is one
    if users.refused:
        return login, False
    if login in users:
        return login, True
    owners = [u.login for u in users.values() if u.email.lower() == login.lower()]
    if len(owners) == 1:
        return owners[0], True
    if owners:
        raise XNATValidationError(
            "user", f"{login!r} is the email of {', '.join(owners)}: give one login"
        )
    raise XNATKeyError(
        login, f"no user with login or email {login!r} (XNAT would email it an invitation)"
    )


class _HasResources(Creatable):
    """Mixin: ``resources`` (from the document when loaded, else one listing request)."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "resources/resource"

    @property
    def resources(self) -> Listing[AbstractResource]:
        """The resource folders of this object, by ID and by label."""
        _require_model(self, "resources")
        field = type(self)._resources_field
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "resources",
            lambda: Listing.children(self, "resources", RESOURCES, field, prefer_doc=False),
        )

    @property
    def files(self) -> Listing[RemoteFile]:
        """Every file of this object's resources (``GET {object}/files``, one request,
        cached; xnatpy's ``files``), keyed by ``{resource label}/{path}`` and by name; each
        file's ``resource`` names its resource folder."""
        _require_model(self, "files")
        # XNAT routes no /files under /data/projects/{P}/experiments/{E}: that part of the
        # tree is reached through /data/experiments/{E}
        uri = routed_experiment_uri(self.uri)
        return _listing_cache(  # type: ignore[no-any-return]
            self, "files", lambda: Listing.rest(self, f"{uri}/files", OWNED_FILES)
        )

    def create_resource(
        self,
        label: str,
        format: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        method: str | None = None,
        *,
        content: str | None = None,
    ) -> ResourceCatalog:
        """Create a resource folder on this object (xnatpy's name); with ``data_dir`` its
        files are uploaded (``upload_dir`` with ``method``, default ``tgz_file``). XNAT makes
        every resource created this way an ``xnat:resourceCatalog`` (a catalog of files)."""
        from xnat_sdk.models import ResourceCatalog

        fields = {k: v for k, v in (("format", format), ("content", content)) if v is not None}
        created = self.resources.create(label, **fields)
        if not isinstance(created, ResourceCatalog):
            where = f"{self.uri}/resources"
            raise XNATTypeMismatchError(
                label, where, "xnat:resourceCatalog", type(created).__xsi_type__
            )
        if data_dir is not None:
            created.upload_dir(data_dir, method=method or "tgz_file")
        return created


class _CustomSearchFields:
    """``MrSessionData.custom_variables["weight"]``: the search field of a custom variable."""

    def __init__(self, owner: type) -> None:
        self._owner = owner

    def __getitem__(self, name: str) -> CustomColumn:
        from xnat_sdk.search import CustomColumn

        if not isinstance(name, str) or not name.strip():
            raise XNATValidationError("custom_variables", f"a name is a str, got {name!r}")
        return CustomColumn(self._owner, name)


class _CustomVariablesAttr:
    """xnatpy's ``custom_variables``: at class level the custom variables' search fields, on
    an object its custom variables (``fields``; not grouped by their definitions)."""

    @overload
    def __get__(self, obj: None, owner: type) -> _CustomSearchFields: ...

    @overload
    def __get__(self, obj: _HasFields, owner: type | None = None) -> CustomVariables: ...

    def __get__(
        self, obj: _HasFields | None, owner: type | None = None
    ) -> _CustomSearchFields | CustomVariables:
        if obj is None:
            return _CustomSearchFields(owner or object)
        return obj.fields


class _HasFields(Creatable):
    """Mixin: custom variables as a mutable mapping."""

    __slots__ = ()
    custom_variables: ClassVar[_CustomVariablesAttr] = _CustomVariablesAttr()

    @property
    def fields(self) -> CustomVariables:
        """Custom variables (``name -> value``); assigning or deleting one writes it."""
        from xnat_sdk._objects.custom import CustomVariables

        return CustomVariables(self)


class _HasDataDir(Creatable):
    """Mixin: the object's folder in a locally mounted archive (``session.mount_data_dir``)."""

    __slots__ = ()

    @property
    def expected_data_dir(self) -> Path | None:
        """Where this object's files are in the mounted archive (None: nothing mounted)."""
        from xnat_sdk._objects.datadir import expected_data_dir

        return expected_data_dir(self)

    @property
    def data_dir(self) -> Path | None:
        """:attr:`expected_data_dir` when that folder exists (read files in place), else None."""
        from xnat_sdk._objects.datadir import data_dir

        return data_dir(self)


class _Mappable(Walks, Creatable):
    """Mixin: xnatpy's ``map`` and ``mapping_iter`` from this object down."""

    __slots__ = ()


class ProjectBase(TreeDownloads, _Mappable, _HasDataDir, _HasResources, _HasFields):
    """Behaviour of ``xnat:projectData``."""

    __slots__ = ()

    @classmethod
    def create(cls: type[_P], session: XNATSession, id: str, **fields: Any) -> _P:
        """Create a project (``PUT /data/projects/{id}``) after validating every field."""
        from xnat_sdk._objects.creation import create_project

        return create_project(cls, session, id, fields)

    # -- access (who may see and change the project) ------------------------------------

    @property
    def users(self) -> Users:
        """The project's members by login (``GET {project}/users``); each
        :class:`~xnat_sdk.users.User` tells its ``access_level`` (``Owners``, ``Members`` ...)."""
        from xnat_sdk.users import Users

        session = self._xnat_bound_session()
        return _listing_cache(  # type: ignore[no-any-return]
            self, "users", lambda: Users(session, path=f"{self.uri}/users")
        )

    @property
    def access_level(self) -> str:
        """The logged-in user's role here (``session.access_levels``; ``No access`` if none)."""
        ident = self.uri.rstrip("/").rsplit("/", 1)[-1]
        return self._xnat_bound_session().access_levels.get(ident, "No access")

    def set_access(self, user: str | User, level: str) -> None:
        """Give ``user`` (a login or a :class:`~xnat_sdk.users.User`) the role ``level``
        (``owner``, ``member`` or ``collaborator``; ``PUT {project}/users/{level}/{login}``)."""
        login = _login(user)
        if not isinstance(level, str) or level.lower().rstrip("s") not in _ACCESS_LEVELS:
            raise XNATValidationError(
                "level", f"expected one of owner, member, collaborator; got {level!r}"
            )
        session = self._xnat_bound_session()
        login, checked = _known_login(session, login)
        session.put(f"{self.uri}/users/{level.lower().rstrip('s')}/{login}")
        session.clearcache()
        if not checked and login not in self.users:
            raise XNATValueError(
                f"XNAT made no user {login!r} a member of {self.uri}: it knows no such login "
                "or email, and sends an invitation to it instead"
            )

    def remove_access(self, user: str | User) -> None:
        """Take ``user`` (a login, an email or a :class:`~xnat_sdk.users.User`) out of the
        project (``DELETE {project}/users/{group}/{login}``); a user who is no member raises
        :class:`~xnat_sdk.errors.XNATValueError` and nothing is sent."""
        wanted = _login(user) if not isinstance(user, str) else user
        found = next(
            (u for u in self.users.values() if wanted in (u.login, u.email)),
            None,
        )
        if found is None or not found.group:
            raise XNATValueError(f"{wanted!r} is no member of project {self.uri}")
        session = self._xnat_bound_session()
        level = found.group.rpartition("_")[2] or "member"
        session.delete(f"{self.uri}/users/{level}/{found.login}")
        session.clearcache()

    @property
    def subjects(self) -> Listing[SubjectData]:
        """The subjects of this project, by ID and by label (one request, cached)."""
        _require_model(self, "subjects")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "subjects", lambda: Listing.rest(self, "subjects", SUBJECTS)
        )

    @property
    def experiments(self) -> Listing[SubjectAssessorData]:
        """The experiments of this project, by ID and by label (one request, cached)."""
        _require_model(self, "experiments")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "experiments", lambda: Listing.rest(self, "experiments", EXPERIMENTS)
        )

    def load_tree(
        self,
        scan_fields: Sequence[str] = ("type", "series_description"),
        *,
        experiment_columns: Sequence[str] = (),
        subject_columns: Sequence[str] = (),
        assessors: bool = False,
        assessor_columns: Sequence[str] = (),
    ) -> Listing[SubjectData]:
        """Load the project's subjects, their experiments and the sessions' scans in three
        listing requests, whatever the project's size, and return ``self.subjects``.

        A walk over ``subjects`` -> ``experiments`` -> ``scans`` afterwards sends no
        request: the objects are the usual typed ones, with the listing columns filled in
        (every scan's ``ID``, ``type``, xsi type and the ``scan_fields`` named, by field
        name: ``"series_description"``, ``"quality"``, ``"frames"`` ...; extra listing
        columns of experiments and subjects by column name or XPath; a custom variable's
        column, ``xnat:subjectData/fields/field[name=age]/field``, answers
        ``subject.fields["age"]``). Reading a field that was not loaded reads that object's
        document (one request), as for any listing.
        With ``assessors=True`` (or ``assessor_columns``: listing columns of the assessors,
        ``"xnat:qcManualAssessorData/pass"``) one request more brings every image session's
        assessors (``session.assessors``) too.
        Needs the session's cache (``caching=True``, the default: with it off this raises
        :class:`~xnat_sdk.errors.XNATValueError`); ``clearcache`` drops the tree.
        """
        _require_model(self, "load_tree")
        from xnat_sdk._objects.tree import load_project_tree

        wanted = assessor_columns if assessors or assessor_columns else None
        return load_project_tree(self, scan_fields, experiment_columns, subject_columns, wanted)

    # -- download_dir / download (of TreeDownloads): ``{name}/{subject}/{session}/...`` ---------

    def _folder_name(self) -> str:
        return str(getattr(self, "name", "") or self.uri.rsplit("/", 1)[-1])

    def _bulk_sessions(self, folder: Path) -> list[tuple[Any, Path]]:
        from xnat_sdk._objects.tree import loaded_tree
        from xnat_sdk.transfers._paths import _safe_name  # the engine loads on first use

        subjects = loaded_tree(self)  # a tree the user loaded, with the columns they chose
        if subjects is None and self._xnat_bound_session().caching:
            subjects = self.load_tree(["type"])
        pairs: list[tuple[Any, Path]] = []
        for subject in subjects if subjects is not None else self.subjects:
            if isinstance(subject, SubjectBase):
                pairs += subject._bulk_sessions(folder / _safe_name(subject._folder_name()))
        # sessions shared into the project without their subject: under the subject's
        # accession ID (the subject has no label in this project)
        for holder, experiment in self._unfiled_sessions():
            pairs.append(
                (experiment, folder / _safe_name(holder) / _safe_name(experiment._folder_name()))
            )
        return pairs

    def _unfiled_sessions(self) -> list[tuple[str, Any]]:
        """The image sessions shared into the project without their subject, each with the
        folder that stands for its subject (which has no label in this project): the
        subject's accession ID."""
        from xnat_sdk._objects.tree import unfiled_experiments

        return [
            (str(getattr(e, "subject_id", "") or "unknown"), e)
            for e in unfiled_experiments(self)
            if isinstance(e, ImageSessionBase)
        ]

    def _download_tree(self, folder: Path, walk: Walk) -> None:
        subjects = [s for s in self.subjects if isinstance(s, SubjectBase)]
        for number, subject in enumerate(subjects, start=1):
            walk.tell(f"Downloading subject {number} of {len(subjects)}")
            subject._download_tree(walk.folder(folder, subject._folder_name()), walk)
        # sessions shared into the project without their subject (as in _bulk_sessions)
        for holder, experiment in self._unfiled_sessions():
            walk.session(experiment, walk.folder(folder, holder))


def _share_target(project: object) -> str:
    if isinstance(project, ProjectBase):
        value = project._xnat_uri or ""
        return value.rstrip("/").rsplit("/", 1)[-1]
    return validate_label(project, "project")


class _Shareable(Creatable):
    """Mixin: ``share(project, label=None)``."""

    __slots__ = ()

    def share(self, project: str | ProjectBase, label: str | None = None) -> None:
        """Share this object into another project, under ``label`` there, or without a
        label of its own (XNAT then stores none: the project lists it under its own label
        and finds it by its accession ID alone); on an object shared there already,
        ``label`` gives its share that label.

        Sharing it there again without a new label raises
        :class:`~xnat_sdk.errors.XNATConflictError` ("Already assigned"). XNAT saves an
        experiment's new share label and answers that conflict all the same
        (``SubjAssessmentResource.handlePut``): the share's label is then read back (one
        request) and, when it is ``label``, the call succeeds. XNAT cannot label an
        experiment's share made without a label (it fails, 500): the
        :class:`~xnat_sdk.errors.XNATServerError` then says so."""
        session = self._xnat_bound_session()
        target = _share_target(project)
        query = {"label": validate_label(label, "label")} if label is not None else None
        try:
            session.put(f"{self.uri}/projects/{target}", query=query, format="json")
        except XNATConflictError as exc:
            if label is None or not exc.message.startswith("Already assigned"):
                raise
            if not any(r.get("label") == label for r in self._shares_in(target)):
                raise
        except XNATServerError as exc:
            hinted = self._unlabelled_share_failure(exc, target, label)
            if hinted is exc:
                raise
            raise hinted from exc
        session.clearcache()

    def _shares_in(self, target: str) -> list[dict[str, Any]]:
        """The rows of ``{uri}/projects`` naming project ``target`` (its share there)."""
        rows = fetch(self._xnat_bound_session(), f"{self.uri}/projects").rows()
        return [r for r in rows if target in (r.get("ID"), r.get("Secondary_ID"))]

    def _unlabelled_share_failure(
        self, exc: XNATServerError, target: str, label: str | None
    ) -> XNATServerError:
        """``exc`` with a hint when it is XNAT failing to label an experiment's share made
        without a label (``pp.getLabel().equals(newLabel)`` on a null label; the share's
        row in ``{uri}/projects`` shows the accession ID then: ``getProjectDatas``)."""
        if label is None:
            return exc
        ident = self.uri.rstrip("/").rsplit("/", 1)[-1]
        try:
            ids = {ident, str(getattr(self, "id", None) or ident)}
            unlabelled = any(r.get("label") in ids for r in self._shares_in(target))
        except XNATError:
            unlabelled = False
        if not unlabelled:
            return exc
        accession = str(getattr(self, "id", None) or ident)
        hint = (
            f"XNAT cannot give a label to an experiment's share made without one; its share "
            f"in {target} keeps no label of its own (found there by its accession ID): "
            f"remove the share (session.delete('/data/experiments/{accession}/projects/{target}')) "
            f"and share it again with the label"
        )
        return XNATServerError(exc.method, exc.url, exc.status, exc.message, exc.response, hint)


class SubjectBase(TreeDownloads, _Mappable, _HasResources, _HasFields, _Shareable):
    """Behaviour of ``xnat:subjectData``."""

    __slots__ = ()

    @property
    def experiments(self) -> Listing[SubjectAssessorData]:
        """The experiments of this subject, by ID and by label (one request, cached)."""
        _require_model(self, "experiments")

        def make() -> Listing[Any]:
            uri = self.uri
            if "/projects/" not in uri:
                # /data/subjects/{ID} has no experiments route: go through the project.
                project = getattr(self, "project", None)
                ident = uri.rstrip("/").rsplit("/", 1)[-1]
                if project:
                    uri = f"/data/projects/{project}/subjects/{ident}"
            # Always the REST listing (or a walk's batched project listing), never the
            # experiments nested in the subject's document: those may come without their
            # own children (scans), which would cost one more request per experiment.
            return Listing.rest(self, f"{uri}/experiments", EXPERIMENTS)

        return _listing_cache(self, "experiments", make)  # type: ignore[no-any-return]

    # -- download_dir / download (of TreeDownloads): ``{label}/{session}/...`` --------------

    def _folder_name(self) -> str:
        return str(getattr(self, "label", "") or self.uri.rsplit("/", 1)[-1])

    def _bulk_sessions(self, folder: Path) -> list[tuple[Any, Path]]:
        from xnat_sdk.transfers._paths import _safe_name  # the engine loads on first use

        return [
            (e, folder / _safe_name(e._folder_name()))
            for e in self.experiments
            if isinstance(e, ImageSessionBase)
        ]

    def _download_tree(self, folder: Path, walk: Walk) -> None:
        sessions = [e for e in self.experiments if isinstance(e, ImageSessionBase)]
        for number, experiment in enumerate(sessions, start=1):
            walk.tell(f"Downloading experiment {number} of {len(sessions)}")
            walk.session(experiment, folder)


_STATUS_FLAGS = {"active": "activate", "quarantine": "quarantine", "quarantined": "quarantine"}


class _HasStatus(Creatable):
    """Mixin: the activation status of subject assessors and derived data (not of
    ``xnat:pVisitData``, whose schema has a ``status`` field of its own)."""

    __slots__ = ()

    @property
    def status(self) -> str:
        """``"active"`` or ``"quarantine"`` (``GET {experiment}/status``, one request, cached;
        XNAT keeps it in the item's meta data, not in the document). Assign ``"active"`` or
        ``"quarantine"`` to change it (``PUT ?activate=true`` / ``?quarantine=true``)."""
        session = _require_model(self, "status")

        def read() -> str:
            return session.get(f"{self.uri}/status", format=None).text.strip()

        found = _listing_cache(self, "status", read)
        return str(found)

    @status.setter
    def status(self, value: str) -> None:
        flag = _STATUS_FLAGS.get(value) if isinstance(value, str) else None
        if flag is None:
            raise XNATValidationError(
                "status", f"an experiment is 'active' or 'quarantine', got {value!r}"
            )
        session = _require_model(self, "status")
        session.put(self.uri, query={flag: "true"})
        session.clearcache()

    def activate(self) -> None:
        """Set the status to ``"active"`` (xnatpy's name)."""
        self.status = "active"

    def quarantine(self) -> None:
        """Set the status to ``"quarantine"`` (xnatpy's name)."""
        self.status = "quarantine"


class ExperimentBase(_Mappable, _HasResources, _HasFields, _Shareable):
    """Behaviour of ``xnat:experimentData`` and everything derived from it."""

    __slots__ = ()


class SubjectAssessorBase(_HasStatus, ExperimentBase):
    """Behaviour of ``xnat:subjectAssessorData`` (experiments that belong to a subject)."""

    __slots__ = ()

    @property
    def subject(self) -> SubjectData:
        """The subject this experiment belongs to (the object it was reached from, else one
        bound lazily to ``/data/projects/{project}/subjects/{subject_id}``)."""
        from xnat_sdk.models import SubjectData

        parent = self._xnat_parent
        if isinstance(parent, SubjectData):
            return parent
        session = _require_model(self, "subject")
        project = getattr(self, "project", None)
        ident = getattr(self, "subject_id", None)
        if not ident:
            raise XNATError(f"{self.uri} names no subject (its subject_ID is empty)")
        uri = f"/data/projects/{project}/subjects/{ident}" if project else f"/data/subjects/{ident}"

        def bind() -> SubjectData:
            made = SubjectData._xnat_bind(session, uri, xsi="xnat:subjectData")
            _check_shared_subject(self, made)
            return made

        found = _listing_cache(self, "subject", bind)
        assert isinstance(found, SubjectData)
        return found


def _check_shared_subject(experiment: XNATObject, subject: XNATObject) -> None:
    """Read ``subject`` now when ``experiment`` is seen through a project it is shared
    into: XNAT shares a session without its subject (``PUT .../experiments/E/projects/P2``
    alone), and then finds no such subject in P2 (404, "The project P2 does not contain a
    subject ..."); :class:`XNATNotSharedError` says so here, not at a later field read."""
    item = experiment._xnat_document()
    seen = _share_seen(experiment._xnat_uri, item)
    if seen is None:
        return
    try:
        subject._xnat_document()
    except XNATNotFoundError as error:
        data = item.get("data_fields") or {}
        primary, ident, there = data.get("project"), data.get("subject_ID"), seen[0]
        what = f"{getattr(experiment, 'label', None)} ({data.get('ID')})"
        raise XNATNotSharedError(
            error.method,
            error.url,
            error.status,
            error.message,
            error.response,
            f"{what} is shared into project {there} without its subject {ident}: XNAT finds "
            f"a subject in {there} only when it is shared there too. An owner of project "
            f"{primary} can share it: session.projects[{primary!r}].subjects[{ident!r}]"
            f".share({there!r}) (PUT /data/projects/{primary}/subjects/{ident}/projects/"
            f"{there}); or read the session through project {primary}, if you may",
        ) from None


class ImageSessionBase(SessionDownloads, _HasDataDir, SubjectAssessorBase):
    """Behaviour of ``xnat:imageSessionData`` (sessions with scans)."""

    __slots__ = ()

    @property
    def scans(self) -> Listing[ImageScanData]:
        """The scans, by ID and by type; read from the session's own document (one request
        for the session and all its scans)."""
        _require_model(self, "scans")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "scans",
            lambda: Listing.children(
                self,
                "scans",
                SCANS,
                "scans/scan",
                prefer_doc=True,
                uri=f"{routed_experiment_uri(self.uri)}/scans",
            ),
        )

    @property
    def assessors(self) -> Listing[ImageAssessorData]:
        """The assessors of this session, by ID and by label."""
        _require_model(self, "assessors")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "assessors",
            lambda: Listing.children(
                self,
                "assessors",
                ASSESSORS,
                "assessors/assessor",
                prefer_doc=False,
                uri=f"{routed_experiment_uri(self.uri)}/assessors",
            ),
        )

    @overload
    def create_assessor(self, label: str, type_: type[_A], **fields: Any) -> _A: ...

    @overload
    def create_assessor(self, label: str, type_: str, **fields: Any) -> ImageAssessorData: ...

    def create_assessor(self, label: str, type_: type[_A] | str, **fields: Any) -> Any:
        """Create an assessor of this session (xnatpy's name for ``assessors.create``):
        ``type_`` is a model class or an xsi type (``"xnat:qcManualAssessorData"``);
        ``fields`` are validated before anything is sent."""
        if isinstance(type_, str):
            found = model_class(type_, self._xnat_bound_session())
            if found is None:
                raise XNATValidationError("type_", f"no model class for xsi type {type_!r}")
            return self.assessors.create(label, found, **fields)
        return self.assessors.create(label, type_, **fields)

    @property
    def reconstructions(self) -> Listing[ReconstructedImageData]:
        """The reconstructions of this session, by ID."""
        _require_model(self, "reconstructions")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "reconstructions",
            lambda: Listing.children(
                self,
                "reconstructions",
                RECONSTRUCTIONS,
                "reconstructions/reconstructedImage",
                prefer_doc=False,
                uri=f"{routed_experiment_uri(self.uri)}/reconstructions",
            ),
        )


class DerivedDataBase(_HasDataDir, _HasStatus, ExperimentBase):
    """Behaviour of ``xnat:derivedData``."""

    __slots__ = ()

    def download(
        self, path: str | os.PathLike[str], verbose: bool = True, *, overwrite: bool = True
    ) -> Path:
        """All files of this assessor as one zip (``{uri}/files?format=zip``) at ``path``."""
        session = self._xnat_bound_session()
        return session.download_zip(f"{self.uri}/files", path, verbose=verbose, overwrite=overwrite)


class AssessorBase(DerivedDataBase):
    """Behaviour of ``xnat:imageAssessorData`` (assessors of an image session)."""

    __slots__ = ()


class ScanBase(ScanTransfers, _Mappable, _HasDataDir, _HasResources):
    """Behaviour of ``xnat:imageScanData``."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "file"

    def _xnat_fetch(self, session: XNATSession, uri: str) -> dict[str, Any]:
        """A scan filled from a joined listing (a walk, ``load_tree``) reads the rest of its
        fields from its session's document: one request for all the session's scans."""
        parent = self._xnat_parent
        if (self._xnat_cache or {}).get("batched") and isinstance(parent, ImageSessionBase):
            ident = unquote(uri.rstrip("/").rsplit("/", 1)[-1])
            for child in child_items(parent._xnat_document(), "scans/scan") or ():
                if str((child.get("data_fields") or {}).get("ID", "")) == ident:
                    return child
        return super()._xnat_fetch(session, uri)

    @property
    def resources(self) -> Listing[AbstractResource]:
        """The scan's resource folders, by ID and by label (this scan's only: XNAT's
        ``{scan}/resources`` also lists those of the scans whose type is this scan's ID)."""
        _require_model(self, "resources")
        scan = self._scan_id()
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "resources",
            lambda: Listing.children(
                self,
                "resources",
                RESOURCES,
                type(self)._resources_field,
                prefer_doc=False,
                uri=f"{self._files_base()}/resources",
                keep=lambda row: str(row.get("cat_id", "")) == scan,
            ),
        )

    @property
    def files(self) -> Listing[RemoteFile]:
        """Every file of the scan's resources (one request, cached), keyed by ``{resource
        label}/{path}`` and by name: this scan's only (XNAT's ``{scan}/files`` also lists
        the files of the scans whose type is this scan's ID, and of both scans ``a`` and
        ``b`` for ``a,b``)."""
        _require_model(self, "files")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "files",
            lambda: Listing(
                self._xnat_bound_session(),
                OWNED_FILES,
                f"{self._files_base()}/files",
                parent=self,
                keep=lambda row: self._owns_file(str(row.get("URI", ""))),
            ),
        )

    @property
    def fields(self) -> CustomVariables:
        """The scan's custom parameters (``parameters/addParam``: name -> text), as xnatpy's
        ``scan.fields``; assigning or deleting one writes it."""
        if not _takes_add_param(type(self)) and not isinstance(self, _GenericMixin):
            raise XNATValidationError(
                "fields",
                f"{type(self).__name__} ({self.xsi_type}) has no parameters/addParam in the "
                "schema: its scans take no custom parameters",
            )
        from xnat_sdk._objects.custom import CustomVariables

        return CustomVariables(self, "parameters/addParam", "addField")

    def read_dicom(
        self,
        file: RemoteFile | str | None = None,
        read_pixel_data: bool = False,
        force: bool = False,
    ) -> FileDataset:
        """The DICOM header (a pydicom Dataset) of one file of this scan's DICOM resource.

        ``file``: a file of that resource (object, path or name); default the first by
        path. Only that file is streamed, and only up to the pixel data unless
        ``read_pixel_data``.
        """
        from xnat_sdk.dicom import pick_dicom_file, read_dicom_file  # on first use (cold start)

        chosen = pick_dicom_file(self.uri, self.resources, file)
        return read_dicom_file(chosen, read_pixel_data=read_pixel_data, force=force)

    def dicom_dump(self, fields: list[str] | None = None) -> list[DicomDumpRow]:
        """The DICOM header of this scan's first file (``fields`` restricts the tags)."""
        return self.xnat_session.services.dicom_dump(self, fields=fields)


def _takes_add_param(cls: type) -> bool:
    """True when the class (or a nested part of it) has the ``parameters/addParam`` list."""
    table = class_fields(cls)
    if any(spec.path == "parameters/addParam" for spec in table.children.values()):
        return True
    return any(
        isinstance(spec.target, type) and _takes_add_param(spec.target) for spec in table.nested
    )


class ReconstructionBase(_HasResources):
    """Behaviour of ``xnat:reconstructedImageData``."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "out/file"


class ResourceBase(ResourceTransfers, _HasDataDir):
    """Behaviour of ``xnat:abstractResource`` (resource folders and catalogs).

    Transfers (download, upload, upload_dir ...) come from :mod:`xnat_sdk.transfers`;
    ``files`` lists the entries.
    """

    __slots__ = ()

    @property
    def id(self) -> str:
        """The resource's numeric ID on the server (``xnat_abstractresource_id``), as text."""
        value = self.data.get("xnat_abstractresource_id")
        return "" if value is None else str(value)

    def refresh_catalog(
        self,
        checksum: bool = False,
        delete: bool = False,
        append: bool = False,
        populate_stats: bool = False,
    ) -> None:
        """Make XNAT re-read this resource's files from disk (see
        :meth:`xnat_sdk.services.Services.refresh_catalog`); the file listing reads again."""
        session = self._xnat_bound_session()
        session.services.refresh_catalog(self, checksum, delete, append, populate_stats)
        self.clearcache()

    def _xnat_fetch(self, session: XNATSession, uri: str) -> dict[str, Any]:
        """A resource's fields come from its parent's ``resources`` listing (one request).

        XNAT answers ``GET .../resources/{R}`` with the catalog XML whatever ``format`` asks
        for, so, as xnatpy does, the row of the parent's listing is the resource's document.
        """
        if "/resources/" not in uri:
            return super()._xnat_fetch(session, uri)
        parent_uri, _, key = uri.rpartition("/resources/")
        key = unquote(key)
        head, _, scan = parent_uri.rpartition("/scans/")
        if head and "," in unquote(scan):  # XNAT reads scans/a,b as scans a and b
            parent_uri = f"{head}/scans/ALL"
        rows = fetch(session, f"{parent_uri}/resources").rows()
        row = next(
            (r for r in rows if str(r.get("xnat_abstractresource_id")) == key),
            None,
        ) or next((r for r in rows if r.get("label") == key), None)
        if row is None:
            raise XNATNotFoundError(
                "GET", f"{parent_uri}/resources", 404, f"no resource {key!r} is listed there"
            )
        cache: dict[str, Any] | None = self._xnat_cache
        if cache is not None:
            cache["row"] = row
        data = dict(row)
        if data.get("cat_desc") and "description" not in data:
            data["description"] = data["cat_desc"]
        return {
            "data_fields": data,
            "meta": {"xsi:type": row.get("element_name") or "xnat:resourceCatalog"},
            "children": [],
        }

    @property
    def files(self) -> Listing[RemoteFile]:
        """The files of this resource, by path and by name (one request, cached)."""
        _require_model(self, "files")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "files", lambda: Listing.rest(self, "files", FILES)
        )


class GenericProject(_GenericMixin, ProjectBase):
    """A project-like object of an unknown type."""

    __slots__ = ()


class GenericSubject(_GenericMixin, SubjectBase):
    """A subject-like object of an unknown type."""

    __slots__ = ()


class GenericExperiment(_GenericMixin, ImageSessionBase):
    """An experiment of an unknown type (session navigation included)."""

    __slots__ = ()


class GenericAssessor(_GenericMixin, AssessorBase):
    """An assessor of an unknown type."""

    __slots__ = ()


class GenericScan(_GenericMixin, ScanBase):
    """A scan of an unknown type."""

    __slots__ = ()


class GenericReconstruction(_GenericMixin, ReconstructionBase):
    """A reconstruction of an unknown type."""

    __slots__ = ()


class GenericResource(_GenericMixin, ResourceBase):
    """A resource of an unknown type."""

    __slots__ = ()


# -- the REST table ---------------------------------------------------------------------

PROJECTS = ListingSpec(
    "projects", "project", "ID", "name", None, "xnat:projectData", GenericProject,
    ProjectBase, "id", needs_type=False,
)  # fmt: skip
SUBJECTS = ListingSpec(
    "subjects", "subject", "ID", "label", None, "xnat:subjectData", GenericSubject,
    SubjectBase, "label", needs_type=False,
)  # fmt: skip
EXPERIMENTS = ListingSpec(
    "experiments", "experiment", "ID", "label", "xsiType", "xnat:subjectAssessorData",
    GenericExperiment, ExperimentBase, "label",
)  # fmt: skip
SCANS = ListingSpec(
    "scans", "scan", "ID", "type", "xsiType", "xnat:imageScanData", GenericScan,
    ScanBase, "id",
)  # fmt: skip
ASSESSORS = ListingSpec(
    "assessors", "assessor", "ID", "label", "xsiType", "xnat:imageAssessorData",
    GenericAssessor, ExperimentBase, "label",
)  # fmt: skip
RECONSTRUCTIONS = ListingSpec(
    "reconstructions", "reconstruction", "ID", "type", "xsiType",
    "xnat:reconstructedImageData", GenericReconstruction, ReconstructionBase, "id",
    needs_type=False,
)  # fmt: skip
RESOURCES = ListingSpec(
    "resources", "resource", "xnat_abstractresource_id", "label", "element_name",
    "xnat:resourceCatalog", GenericResource, ResourceBase, "label", needs_type=False,
)  # fmt: skip
FILES = ListingSpec(
    "files", "file", "path", "Name", None, "", None, None, None, needs_type=False,
)  # fmt: skip
OWNED_FILES = ListingSpec(
    "files", "file", "key", "Name", None, "", None, None, None, needs_type=False,
)  # fmt: skip
"""The files of every resource of an object: keyed ``{resource label}/{path}``."""

LISTINGS: dict[str, ListingSpec] = {
    spec.name: spec
    for spec in (
        PROJECTS,
        SUBJECTS,
        EXPERIMENTS,
        SCANS,
        ASSESSORS,
        RECONSTRUCTIONS,
        RESOURCES,
        FILES,
    )
}
"""The REST table: URL segment -> how that collection is read, keyed and filled."""


def object_at(session: XNATSession, uri: str, xsi: str | None = None) -> XNATObject:
    """A bound object for a REST path; reads its document once when ``xsi`` is not given."""
    segments = [s for s in uri.split("?")[0].split("/") if s]
    generic: type[XNATObject] = GenericObject
    spec = LISTINGS.get(segments[-2]) if len(segments) >= 2 else None
    if spec is not None and spec.generic is not None:
        generic = spec.generic
    path = "/" + "/".join(segments)
    if xsi is not None:
        return class_for(xsi, generic, session)._xnat_bind(session, path, xsi=xsi)
    item = fetch(session, path).current_item()
    found = str((item.get("meta") or {}).get("xsi:type") or "")
    cls = class_for(found, generic, session) if found else generic
    return cls._xnat_bind(session, path, xsi=found or None, item=item)
