"""``project.load_tree(...)``: a project's subjects, experiments and scans in three requests.

XNAT's listings can carry more than one object per row: the project's experiments listing
with ``xsiType=xnat:imageSessionData`` and scan XPaths in ``columns=`` (as pyxnat's array
API asks) answers one row per scan, the session's columns repeated on each (xnat-web
``ProjSubExptList``: ``SecureResource.populateQuery`` hands every ``/`` column to
``QueryOrganizer.addField``, which LEFT JOINs down to the scan table; a session without
scans keeps one row of empty scan columns). ``xnat:imageScanData/extension_item/element_name``
is each scan's xsi type (the scans listing's ``xsiType`` shortcut).

The requests: the subjects listing, the experiments listing (every experiment, one row
each) and the image-session listing joined with the scans. The objects are the usual bound,
typed objects, filled from those rows and put into the listings a walk reads
(``project.subjects``, ``subject.experiments``, ``session.scans``), so the walk sends no
more requests; a field that was not asked for is read from the object's own document on
first use, as for any listing row.

The image sessions' assessors come from one request more when asked for (the experiments
listing with ``xsiType=xnat:imageAssessorData``, which XNAT answers with the project's
assessors, ``session_ID`` telling each one's session), and a plain walk batches them as it
batches scans (:func:`batched_assessor_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import fetch
from xnat_sdk._columns import cell, check_answered, check_names, fetch_columns, root_of
from xnat_sdk._objects.core import XNATObject
from xnat_sdk._objects.registry import model_class
from xnat_sdk.errors import XNATValidationError, XNATValueError
from xnat_sdk.fields import FieldSpec, class_fields
from xnat_sdk.listings import Listing, ListingSpec

if TYPE_CHECKING:
    from xnat_sdk._objects.navigation import ProjectBase
    from xnat_sdk.session import XNATSession

__all__ = [
    "batched_assessor_rows",
    "batched_scan_rows",
    "load_project_tree",
    "mark_loaded",
    "unfiled_experiments",
]

SCAN_ROOT = "xnat:imageScanData"
SCAN_XSI = f"{SCAN_ROOT}/extension_item/element_name"
_LISTED = ("ID", "label", "xsiType", "project", "date", "insert_date")
_EXPERIMENT_COLUMNS = (*_LISTED, "subject_ID")
#: the columns of a session's assessors listing (``ProjSubExptAsstList``)
_ASSESSOR_COLUMNS = (*_LISTED, "session_ID", "session_label")


def _scan_specs(session: XNATSession, fields: Sequence[str]) -> list[FieldSpec]:
    scan_class = model_class(SCAN_ROOT, session)
    table = class_fields(scan_class) if scan_class is not None else None
    specs: list[FieldSpec] = []
    for name in fields:
        spec = table.by_name.get(name) or table.by_path.get(name) if table else None
        if spec is None or not spec.is_data or spec.is_list:
            if spec is not None:  # a field, but a list or a part: a hint would name it again
                hint = f" (it is {'a list' if spec.is_list else 'a part'})"
            else:
                hint = table.suggest(name) if table else ""
            raise XNATValidationError(
                "scan_fields", f"{name!r} is not a single-valued field of every scan{hint}"
            )
        specs.append(spec)
    return specs


def _seed(
    owner: XNATObject,
    name: str,
    spec: ListingSpec,
    uri: str,
    rows: list[dict[str, Any]],
) -> Listing[Any]:
    """The listing ``owner.<name>`` filled from ``rows`` (no request)."""
    listing: Listing[Any] = Listing(owner._xnat_bound_session(), spec, uri, parent=owner)
    listing._from_doc = False
    listing._index(listing._objects_from_rows(rows))
    owner._xnat_cache[name] = listing
    return listing


def _scan_rows(
    session: XNATSession, project_uri: str, specs: list[FieldSpec]
) -> dict[str, list[dict[str, Any]]]:
    """Scan rows by session ID, from ONE joined listing request."""
    paths = ["ID", "type", *[s.path for s in specs]]
    xpaths = {path: f"{SCAN_ROOT}/{path}" for path in dict.fromkeys(paths)}
    columns = ["ID", *xpaths.values(), SCAN_XSI]
    rows = fetch_columns(
        session,
        f"{project_uri}/experiments",
        {"xsiType": "xnat:imageSessionData"},
        columns,
        keys=("ID", xpaths["ID"]),
    )
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found = by_session.setdefault(str(row.get("ID", "")), [])
        scan_id = str(cell(row, xpaths["ID"]) or "")
        if not scan_id:
            continue  # a session without scans (the join's row of empty values)
        scan = {  # only the columns the server answered (it drops XPaths it does not know)
            path: cell(row, xpath)
            for path, xpath in xpaths.items()
            if xpath in row or xpath.lower() in row
        }
        scan["xsiType"] = cell(row, SCAN_XSI) or SCAN_ROOT
        found.append(scan)
    return by_session


def mark_loaded(pairs: Sequence[tuple[dict[str, Any], Any]], specs: list[FieldSpec]) -> None:
    """Scans filled from a joined listing: fields asked for but empty there are known to be
    empty (no read on access; a column the server left out, for an XPath it does not know,
    stays unknown), and a field not asked for is read from the session's document, one
    request for all its scans (:meth:`ScanBase._xnat_fetch`)."""
    for row, obj in pairs:
        obj._xnat_cache["batched"] = True
        for spec in specs:
            if spec.path not in row:
                continue
            try:
                object.__getattribute__(obj, spec.name)
            except AttributeError:
                object.__setattr__(obj, spec.name, spec.missing)


def _all_scan_specs(session: XNATSession) -> list[FieldSpec]:
    """The single-valued data fields every scan has (``xnat:imageScanData``'s own)."""
    scan_class = model_class(SCAN_ROOT, session)
    if scan_class is None:
        return []
    return [
        spec
        for spec in class_fields(scan_class).by_name.values()
        if spec.is_data and not spec.is_list and spec.path not in ("ID", "type")
    ]


def _walk_of(
    experiment: XNATObject,
) -> tuple[Listing[Any], XNATObject, XNATSession] | None:
    """(the project's subjects listing, the project, the session) when ``experiment`` came
    from a walk project -> subjects -> experiments whose experiments were batched (their
    batches are shared there); None otherwise, or without the session's cache."""
    listing = (experiment._xnat_cache or {}).get("siblings")
    subject = listing._parent if isinstance(listing, Listing) else None
    subjects = (subject._xnat_cache or {}).get("siblings") if subject is not None else None
    if not isinstance(subjects, Listing) or subjects._batch("experiments").value is None:
        return None  # not a walk whose experiments were batched
    project = subjects._parent
    session = experiment._xnat_session
    if project is None or session is None or not session.caching:
        return None
    return subjects, project, session


def batched_scan_rows(
    experiment: XNATObject,
) -> tuple[list[dict[str, Any]], list[FieldSpec]] | None:
    """The scan rows of ``experiment`` from ONE project-wide joined listing, once a walk
    (project -> subjects -> experiments, the experiments from the walk's batched listing)
    asks a second session for its scans; None: read the session's own document.

    Every field of ``xnat:imageScanData`` comes with the rows; a scan's other fields (an MR
    scan's parameters ...) come from its session's document, one request for all its scans.
    """
    walk = _walk_of(experiment)
    if walk is None:
        return None
    subjects, project, session = walk

    def load() -> tuple[dict[str, list[dict[str, Any]]], list[FieldSpec]]:
        specs = _all_scan_specs(session)
        return _scan_rows(session, project.uri, specs), specs

    found = subjects._batch("scans").get(session.cache_generation, load)
    if found is None:
        return None
    rows, specs = found
    ident = (experiment._xnat_uri or "").rstrip("/").rsplit("/", 1)[-1]
    return [dict(row) for row in rows.get(ident, [])], specs


def _assessor_rows(
    session: XNATSession, project_uri: str, columns: Sequence[str]
) -> dict[str, list[dict[str, Any]]] | None:
    """The project's image assessors by session ID, from ONE listing request: the experiments
    listing with an image assessor type in ``xsiType=`` answers assessors (xnat-web
    ``ProjSubExptList``: that type is the query's root; ``session_ID`` is a read-only
    shortcut for the assessor's session). None: the server answered rows without a session
    (it did not take the assessor type as the root)."""
    rows = fetch_columns(
        session,
        f"{project_uri}/experiments",
        {"xsiType": "xnat:imageAssessorData"},
        list(dict.fromkeys([*_ASSESSOR_COLUMNS, *columns])),
        keys=("ID",),
    )
    check_answered(rows, columns, "experiments", f"{project_uri}/experiments")
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_session.setdefault(str(row.get("session_ID", "")), []).append(row)
    if "" in by_session:
        return None  # rows without their session: not an assessor listing, no batching
    return by_session


def batched_assessor_rows(experiment: XNATObject) -> list[dict[str, Any]] | None:
    """The assessor rows of ``experiment`` from ONE project-wide listing, once a walk (as
    for :func:`batched_scan_rows`) asks a second session for its assessors; None: read the
    session's own listing."""
    walk = _walk_of(experiment)
    if walk is None:
        return None
    subjects, project, session = walk
    found = subjects._batch("assessors").get(
        session.cache_generation, lambda: _assessor_rows(session, project.uri, ())
    )
    if found is None:
        return None
    ident = (experiment._xnat_uri or "").rstrip("/").rsplit("/", 1)[-1]
    return [dict(row) for row in found.get(ident, [])]


def load_project_tree(
    project: XNATObject,
    scan_fields: Sequence[str],
    experiment_columns: Sequence[str],
    subject_columns: Sequence[str],
    assessor_columns: Sequence[str] | None = None,
) -> Listing[Any]:
    """See :meth:`xnat_sdk._objects.navigation.ProjectBase.load_tree`."""
    from xnat_sdk._objects.navigation import EXPERIMENTS, SUBJECTS

    session = _tree_session(
        project, scan_fields, experiment_columns, subject_columns, assessor_columns
    )
    specs = _scan_specs(session, scan_fields)
    uri = project.uri
    subject_rows = _subject_rows(session, uri, subject_columns)
    subjects = _seed(project, "subjects", SUBJECTS, f"{uri}/subjects", subject_rows)
    columns = list(dict.fromkeys([*_EXPERIMENT_COLUMNS, *experiment_columns]))
    rows = fetch_columns(
        session,
        f"{uri}/experiments",
        {},
        columns,
        keys=("ID",),
        root=root_of("experiments", f"{uri}/experiments"),
        listing="experiments",
    )
    check_answered(rows, experiment_columns, "experiments", f"{uri}/experiments")
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_subject.setdefault(str(row.get("subject_ID", "")), []).append(row)
    parts = _SessionParts(
        specs,
        _scan_rows(session, uri, specs),
        _assessor_rows(session, uri, assessor_columns) if assessor_columns is not None else None,
    )
    for subject in subjects._entries:
        ident = subject.uri.rstrip("/").rsplit("/", 1)[-1]
        mine = by_subject.pop(ident, [])
        parts.fill(_seed(subject, "experiments", EXPERIMENTS, f"{subject.uri}/experiments", mine))
    # experiments shared into the project without their subject: XNAT lists them among the
    # project's experiments, but under none of its subjects
    unfiled = [row for found in by_subject.values() for row in found]
    parts.fill(_seed(project, "unfiled", EXPERIMENTS, f"{uri}/experiments", unfiled))
    subjects._tree = True
    return subjects


def _tree_session(
    project: XNATObject,
    scan_fields: Sequence[str],
    experiment_columns: Sequence[str],
    subject_columns: Sequence[str],
    assessor_columns: Sequence[str] | None,
) -> XNATSession:
    """The session of ``project``, once :func:`load_project_tree`'s arguments are checked."""
    for name, given in (
        ("scan_fields", scan_fields),
        ("experiment_columns", experiment_columns),
        ("subject_columns", subject_columns),
        ("assessor_columns", assessor_columns or ()),
    ):
        check_names(name, given)
    session = project._xnat_bound_session()
    if not session.caching:  # the tree would be read, then forgotten: every walk reads again
        raise XNATValueError(
            "load_tree keeps the tree in the session's cache, which is off "
            "(session.caching = False): turn it on, or walk with "
            "mapping_iter(level, max_workers=8), which lists side by side without it"
        )
    return session


def _subject_rows(
    session: XNATSession, uri: str, subject_columns: Sequence[str]
) -> list[dict[str, Any]]:
    """A project's subjects listing, with ``subject_columns`` when there are any."""
    if not subject_columns:
        return fetch(session, f"{uri}/subjects").rows()
    rows = fetch_columns(
        session,
        f"{uri}/subjects",
        {},
        list(dict.fromkeys(["ID", "label", "project", *subject_columns])),
        keys=("ID",),
        root=root_of("subjects", f"{uri}/subjects"),
        listing="subjects",
    )
    check_answered(rows, subject_columns, "subjects", f"{uri}/subjects")
    return rows


class _SessionParts:
    """The scans (and assessors) rows of a tree, by session ID, to seed each image session
    of an experiments listing with."""

    def __init__(
        self,
        specs: list[FieldSpec],
        scans: dict[str, list[dict[str, Any]]],
        assessors: dict[str, list[dict[str, Any]]] | None,
    ) -> None:
        self.specs = specs
        self.scans = scans
        self.assessors = assessors  # None: the server cannot list them so

    def fill(self, listing: Listing[Any]) -> None:
        from xnat_sdk._objects.core import routed_experiment_uri
        from xnat_sdk._objects.navigation import ASSESSORS, SCANS, ImageSessionBase

        for experiment in listing._entries:
            if not isinstance(experiment, ImageSessionBase):
                continue
            eid = experiment.uri.rstrip("/").rsplit("/", 1)[-1]
            base = routed_experiment_uri(experiment.uri)
            found = _seed(experiment, "scans", SCANS, f"{base}/scans", self.scans.get(eid, []))
            mark_loaded(list(zip(found._rows, found._entries, strict=True)), self.specs)
            if self.assessors is not None:
                rows = self.assessors.get(eid, [])
                _seed(experiment, "assessors", ASSESSORS, f"{base}/assessors", rows)


def unfiled_experiments(project: ProjectBase) -> list[Any]:
    """The experiments of ``project`` that none of its subjects holds: those shared into it
    without their subject (``PUT .../experiments/{E}/projects/{P}``; XNAT does not share
    the subject with them), which the project's experiments listing shows. From the
    loaded tree (:func:`load_project_tree`) when there is one, else one listing request
    (besides the project's subjects listing)."""
    from xnat_sdk._objects.navigation import EXPERIMENTS

    if loaded_tree(project) is not None:
        found: Listing[Any] | None = (project._xnat_cache or {}).get("unfiled")
        return list(found._entries) if found is not None else []
    session = project._xnat_bound_session()
    uri = project.uri
    subjects = {s.uri.rstrip("/").rsplit("/", 1)[-1] for s in project.subjects.values()}
    rows = fetch_columns(
        session,
        f"{uri}/experiments",
        {},
        list(_EXPERIMENT_COLUMNS),
        keys=("ID",),
        root=root_of("experiments", f"{uri}/experiments"),
        listing="experiments",
    )
    unfiled = [row for row in rows if str(row.get("subject_ID", "")) not in subjects]
    listing: Listing[Any] = Listing(session, EXPERIMENTS, f"{uri}/experiments", parent=project)
    listing._from_doc = False
    return [found for _, found in listing._objects_from_rows(unfiled)]


def loaded_tree(project: XNATObject) -> Listing[Any] | None:
    """The subjects listing of ``project``'s :func:`load_project_tree`, while the session's
    cache still holds it (None otherwise)."""
    subjects = (project._xnat_cache or {}).get("subjects")
    if isinstance(subjects, Listing) and subjects._tree and not subjects._stale():
        return subjects
    return None
