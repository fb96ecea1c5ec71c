"""Listing columns: the ones past one request line, and the names XNAT answers them by.

A listing's ``columns=`` names each column by shortcut or XPath; a custom variable's XPath
(``xnat:subjectData/fields/field[name=weight]/field``) is about 50 characters, so some 150 of
them pass Tomcat's 8 KB for the request line and headers (``maxHttpHeaderSize``), and XNAT
answers 400 "Request header is too large". A GET has no body XNAT reads, so the columns are
split: each request carries the key columns and as many others as fit in
:data:`~xnat_sdk._values.MAX_TARGET` characters of request target, and the rows of the later
answers are joined to the first answer's rows on the key.

The rows are those of the first answer, in its order; a row that a later answer lacks (an
object deleted between the requests) keeps the columns it has, and a row only a later answer
has (an object created between them) is left out. Rows with the same key (a listing that
repeats one) are joined in the order they come.

XNAT names a column asked by a shortcut's XML path by the shortcut, and any other XML path in
lower case (:func:`as_asked` finds each under the name asked); a shortcut of a part's field
(``gender``: a subject's demographics) fills that part of the listed object
(:func:`part_columns`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import Answer, fetch
from xnat_sdk._sharedrows import with_share_values
from xnat_sdk._values import MAX_TARGET, target_length
from xnat_sdk.errors import (
    XNATResponseError,
    XNATServerError,
    XNATValidationError,
    XNATValueError,
)

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = [
    "as_asked",
    "cell",
    "check_answered",
    "check_names",
    "fetch_columns",
    "part_columns",
    "root_of",
    "shortcuts",
]


def check_names(field: str, given: object) -> None:
    """Refuse column or field names ``given`` as anything but a list (or tuple) of str: a
    str would be read as its characters, None or a number would fail deep inside."""
    if (
        isinstance(given, (str, bytes))
        or not isinstance(given, Sequence)
        or not all(isinstance(name, str) for name in given)
    ):
        raise XNATValidationError(field, f"expects a list of names, got {given!r}")


def cell(row: Mapping[str, Any], column: str) -> Any:
    """A column's value in a row: XNAT names an XPath column in the case its query organizer
    keeps (lower case for a joined element), a shortcut as asked."""
    if column in row:
        return row[column]
    return row.get(column.lower(), "")


def _shortcuts(root: str, names: str, **renamed: str) -> dict[str, str]:
    """``{XML path: shortcut}``: each of ``names`` is its own path under ``root``;
    ``renamed`` maps a shortcut to its path."""
    table = {f"{root}/{name}": name for name in names.split()}
    table.update({f"{root}/{path}": name for name, path in renamed.items()})
    return table


_DEMOGRAPHICS = (
    "dob yob age gender handedness ses education educationDesc race ethnicity weight height "
    "gestational_age post_menstrual_age birth_weight"
)
_META = {
    "insert_date": "meta/insert_date",
    "insert_user": "meta/insert_user/login",
    "last_modified": "meta/last_modified",
}
_VALIDATION = {f"validation_{x}": f"validation/{x}" for x in ("method", "status", "date", "notes")}
_PET_SESSION = {
    "scan_start_time": "start_time_scan",
    "injection_start_time": "start_time_injection",
    "tracer_name": "tracer/name",
    "tracer_startTime": "tracer/startTime",
    "tracer_dose": "tracer/dose",
    "tracer_sa": "tracer/specificActivity",
    "tracer_totalmass": "tracer/totalMass",
    "tracer_intermediate": "tracer/intermediate",
    # registered for tracer/isotope, then again for its half-life: the later one stands
    "tracer_isotope": "tracer/isotope/half-life",
    "tracer_transmissions": "tracer/transmissions",
    "tracer_transmissions_start": "tracer/transmissions_starttime",
}
_PET_SCAN = (
    "orientation originalFileName systemType fileType transaxialFOV acqType facility numPlanes "
    "numGates planeSeparation binSize dataType"
)


@functools.cache
def _paths() -> dict[str, dict[str, str]]:
    """``{XML path: shortcut}`` by listing: the paths a listing answers under a shortcut's name
    (xnat-web ``XMLPathShortcuts``; a ``columns=`` entry equal to a shortcut's path, case
    aside, is named by the shortcut). A column asked by another path comes back under that
    path in lower case."""
    return {
        "projects": _shortcuts(
            "xnat:projectData",
            "ID secondary_ID name description keywords",
            alias="aliases/alias/alias",
            pi_firstname="PI/firstname",
            pi_lastname="PI/lastname",
            note="fields/field[name=note]/field",
        ),
        "subjects": {
            **_shortcuts(
                "xnat:subjectData",
                "ID project label group src",
                pi_firstname="investigator/firstname",
                pi_lastname="investigator/lastname",
                **_META,
            ),
            **_shortcuts(
                "xnat:subjectData/demographics[@xsi:type=xnat:demographicData]", _DEMOGRAPHICS
            ),
        },
        "experiments": {
            **_shortcuts(
                "xnat:experimentData",
                "ID visit_id visit protocol date time note project label",
                pi_firstname="investigator/firstname",
                pi_lastname="investigator/lastname",
                xsiType="extension_item/element_name",
                **_VALIDATION,
                **_META,
            ),
            **_shortcuts(
                "xnat:imageSessionData",
                "scanner operator dcmAccessionNumber dcmPatientId dcmPatientName session_type "
                "modality UID",
            ),
            # registered for MR sessions, then again for PET ones: the later one stands
            **_shortcuts("xnat:mrSessionData", "coil fieldStrength marker"),
            **_shortcuts("xnat:petSessionData", "studyType patientID patientName stabilization"),
            **_shortcuts("xnat:petSessionData", "", **_PET_SESSION),
            **_shortcuts("xnat:subjectAssessorData", "subject_ID"),
            # read-only: a column asked by one of these paths is named by the shortcut too
            **_shortcuts(
                "xnat:imageSessionData",
                "",
                session_ID="ID",
                session_label="label",
                session_project="project",
            ),
        },
        "scans": {
            **_shortcuts(
                "xnat:imageScanData",
                "ID type UID note quality condition series_description documentation scanner "
                "modality frames",
                scanTime="startTime",
                xsiType="extension_item/element_name",
                **_VALIDATION,
                **_META,
            ),
            **_shortcuts("xnat:mrScanData", "coil fieldStrength marker stabilization"),
            **_shortcuts("xnat:petScanData/parameters", _PET_SCAN, numFrames="frames/numFrames"),
            **_shortcuts("xnat:imageScanData", "xnat_imagescandata_id"),
        },
    }


@functools.cache
def _lower_paths(listing: str) -> dict[str, str]:
    """``{lower-case XML path: shortcut}`` of ``listing`` (see :func:`_paths`)."""
    return {path.lower(): name for path, name in _paths().get(listing, {}).items()}


@functools.cache
def _part_paths(listing: str) -> dict[str, str]:
    """``{shortcut: XML path}`` of ``listing`` for the shortcuts that name a field of a part
    (an investigator's, a subject's demographics): what a listing row's column fills
    (:func:`part_columns`)."""
    table = _paths().get(listing, {})
    return {name: p for p, name in table.items() if p.count("/") > 1 and "/meta/" not in p}


#: Shortcuts for another element's fields (an experiment's subject)
_JOINED = {
    "experiments": {
        "xnat:subjectdata/label": "subject_label",
        "xnat:subjectdata/project": "subject_project",
    },
}


#: read-only shortcuts and the type their path starts at (``XMLPathShortcuts``; a
#: subject's ``subject_label`` is in :data:`_JOINED`, and narrows nothing)
_READ_ONLY_TYPES = {
    "experiments": dict.fromkeys(
        ("session_ID", "session_label", "session_project"), "xnat:imageSessionData"
    ),
}


def shortcuts(listing: str) -> set[str]:
    """The shortcut names of ``listing`` (``gender`` on subjects): columns and filters XNAT
    knows by name, whether or not its default columns show them."""
    return {
        *_paths().get(listing, {}).values(),
        *_JOINED.get(listing, {}).values(),
        *_READ_ONLY_TYPES.get(listing, {}),
    }


def path_of(column: str, listing: str) -> str | None:
    """The XML path a filter or column names: an XML path itself, a shortcut's path (None
    for another name)."""
    if "/" in column:
        return column
    for path, name in _paths().get(listing, {}).items():
        if name == column:
            return path
    return None


def _type_of(column: str, listing: str) -> str | None:
    """The data type a column's path starts at: an XML path's first step, a shortcut's
    path's (None for another name)."""
    if "/" in column:
        return column.split("/", 1)[0].split("[", 1)[0]
    found = _READ_ONLY_TYPES.get(listing, {}).get(column)
    if found is not None:
        return found
    for path, name in _paths().get(listing, {}).items():
        if name == column:
            return path.split("/", 1)[0]
    return None


_ROOTS = {
    "projects": "xnat:projectData",
    "subjects": "xnat:subjectData",
    "scans": "xnat:imageScanData",
    "assessors": "xnat:imageAssessorData",
    "reconstructions": "xnat:reconstructedImageData",
}


def root_of(listing: str, uri: str) -> str | None:
    """The root element of a listing's query (its resource's default): a project's or a
    subject's experiments are subject assessors, ``/data/experiments`` any experiment."""
    if listing == "experiments":
        scoped = "/projects/" in uri or "/subjects/" in uri
        return "xnat:subjectAssessorData" if scoped else "xnat:experimentData"
    return _ROOTS.get(listing)


def _narrowing(session: XNATSession, column: str, listing: str, root: str) -> str | None:
    """The type ``column`` narrows a listing rooted at ``root`` to, if any: a type that
    extends ``root`` (by the models this session knows; a type none knows narrows nothing
    here)."""
    from xnat_sdk._objects.core import canonical_xsi
    from xnat_sdk._objects.registry import model_class

    kind = _type_of(column, listing)
    if kind is None or kind.lower() == root.lower():
        return None
    canonical = canonical_xsi(kind) or kind
    found, base = model_class(canonical, session), model_class(root, session)
    if found is None or base is None or found is base or not issubclass(found, base):
        return None
    return found.__xsi_type__ or canonical


def part_columns(row: Mapping[str, Any], listing: str) -> dict[str, Any]:
    """``row``'s shortcut columns that name a field of a part (``gender``: a subject's
    demographics), under their XML paths (what :meth:`XNATObject._xnat_prefill` reads)."""
    paths = _part_paths(listing)
    if not paths:
        return {}
    return {paths[key]: value for key, value in row.items() if key in paths}


def as_asked(
    rows: list[dict[str, Any]], columns: Sequence[str], listing: str = ""
) -> list[dict[str, Any]]:
    """``rows`` with each column also under the name it was asked by, where XNAT answered it
    under another: an XML path in lower case (``xnat:subjectData/fields/field[name=weight]/field``
    comes back as ``xnat:subjectdata/fields/field[name=weight]/field``), or a shortcut's path
    under the shortcut (``xnat:subjectData/label`` as ``label``; :func:`_paths` of
    ``listing``). XNAT compares the path as text, case aside (``formatHeaders``): the same
    field through a derived type (``xnat:mrSessionData/date``) keeps its own name."""
    renamed = [(column, names) for column in columns if (names := _other_names(column, listing))]
    for row in rows:
        for column, names in renamed:
            if column in row:
                continue
            for name in names:
                if name in row:
                    row[column] = row[name]
                    break
    return rows


def _other_names(column: str, listing: str) -> list[str]:
    """The names other than ``column`` that XNAT may answer it under (see :func:`as_asked`)."""
    lower = column.lower()
    names = [lower] if lower != column else []
    shortcut = {**_lower_paths(listing), **_JOINED.get(listing, {})}.get(lower)
    if shortcut is not None:
        names.append(shortcut)
    return names


def check_answered(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], listing: str, uri: str
) -> None:
    """Raise :class:`~xnat_sdk.errors.XNATValueError` naming the ``columns`` the answer left
    out (told only when there are rows). XNAT drops, logging an error, a ``columns=`` name
    that is not one of the listing's shortcuts (a case-sensitive map: ``Gender`` is not
    ``gender``) and an XML path whose data type it does not know
    (``QueryOrganizerResource.populateQuery``); a column would otherwise read None."""
    if not rows:
        return
    first = rows[0]
    missing = [
        column
        for column in columns
        if column not in first and not any(n in first for n in _other_names(column, listing))
    ]
    if not missing:
        return
    known = sorted(shortcuts(listing))
    hints = []
    for column in missing:
        same = [k for k in known if k.lower() == column.lower()]
        if same == [column]:  # a shortcut the listing has, yet the answer lacks it
            hints.append(f"{column!r} is one of the listing's: the answer was incomplete")
        elif same:
            hints.append(f"{column!r} is {same[0]!r} (shortcuts are case-sensitive)")
        elif "/" in column:
            hints.append(f"XNAT does not know the data type of {column!r}")
    raise XNATValueError(
        f"XNAT left out the column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(map(repr, missing))} of {uri}: it drops a name that is not one of the "
        "listing's shortcuts (case-sensitive) and an XML path of a data type it does not know"
        + (f"; {'; '.join(hints)}" if hints else "")
    )


def _rows_of(session: XNATSession, uri: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rows of a ``columns=`` listing request, with what XNAT's failures there mean: a 500
    (the subject listings, ``/data/experiments``) or, from a project's experiments listing, a
    200 with an empty body, when a column's XML path names a field its data type does not
    have or an element XNAT cannot join (the query fails to build; xnat-web
    ``QueryOrganizer.buildJoin``). A 500 is asked once more first: a server's bad moment
    passes, a bad column fails again."""
    columns = query.get("columns", "")
    paths = [c for c in columns.split(",") if "/" in c]
    hint = (
        "XNAT answers so when a columns= XML path names a field its data type does not have, "
        f"or an element it cannot join to the listing; the XML paths asked: {', '.join(paths)}"
    )
    try:
        answer: Answer = _fetch_twice_on_500(session, uri, query, bool(paths))
    except XNATServerError as exc:
        if exc.status != 500 or not paths:
            raise
        raise XNATServerError(
            exc.method, exc.url, exc.status, exc.message, exc.response, f"twice; {hint}"
        ) from exc
    except XNATResponseError as exc:
        body = exc.response.content if exc.response is not None else None
        if exc.status != 200 or body is None or body.strip() or not paths:
            raise
        raise XNATResponseError(
            exc.method, exc.url, exc.status, "the body is empty", exc.response, hint
        ) from exc
    return answer.rows()


def _fetch_twice_on_500(
    session: XNATSession, uri: str, query: Mapping[str, str], again: bool
) -> Answer:
    try:
        return fetch(session, uri, query=query)
    except XNATServerError as exc:
        if exc.status != 500 or not again:
            raise
        session.logger.debug("%s: %s; asking once more", uri, exc)
        time.sleep(_AGAIN_AFTER)
    return fetch(session, uri, query=query)


_AGAIN_AFTER = 0.5
"""Seconds before a listing with XML-path columns that answered 500 is asked again."""


def _target(uri: str, query: Mapping[str, str], columns: Sequence[str]) -> int:
    """The request target's length, as the transport encodes it (``format=json`` included)."""
    return target_length(uri, {**query, "columns": ",".join(columns), "format": "json"})


def _chunks(
    uri: str, query: Mapping[str, str], columns: Sequence[str], keys: Sequence[str]
) -> list[list[str]]:
    """``columns`` (the keys left out) in groups that each fit in one request with the keys."""
    groups: list[list[str]] = []
    group: list[str] = []
    for column in columns:
        if column in keys:
            continue
        if _target(uri, query, [*keys, column]) > MAX_TARGET:
            raise XNATValidationError(
                "columns",
                f"{column[:60]!r}... ({len(column)} characters) does not fit in one request "
                f"line (XNAT's Tomcat refuses past 8 KB)",
            )
        if group and _target(uri, query, [*keys, *group, column]) > MAX_TARGET:
            groups.append(group)
            group = []
        group.append(column)
    if group:
        groups.append(group)
    return groups


def _key(row: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(cell(row, key)) for key in keys)


def fetch_columns(
    session: XNATSession,
    uri: str,
    query: Mapping[str, str],
    columns: Sequence[str],
    keys: Sequence[str],
    *,
    root: str | None = None,
    listing: str = "",
) -> list[dict[str, Any]]:
    """The rows of ``GET uri?columns=...``: one request while the request target fits in
    :data:`~xnat_sdk._values.MAX_TARGET` characters, else one per group of columns (each with
    the ``keys`` columns, which identify a row), joined on the keys (see the module).

    ``root``: the listing's root element when its columns can narrow it (``listing`` names
    the listing's shortcuts). Unless ``xsiType=`` names one type, XNAT moves the root down to
    the type of a column that extends it, and answers that type's rows only
    (``getRootElementName``: ``xnat:mrSessionData/fieldStrength`` on a project's
    experiments lists its MR sessions). Such columns are asked with ``xsiType=`` that type,
    one request per type, and joined: every row stays, empty where not of that type."""
    narrowed: dict[str, list[str]] = {}
    xsi = query.get("xsiType", "")
    if root is not None and (not xsi or "," in xsi):
        for column in columns:
            kind = _narrowing(session, column, listing, root)
            if kind is not None:
                narrowed.setdefault(kind, []).append(column)
    if not narrowed:
        rows = _joined(session, uri, query, columns, keys)
        return list(with_share_values(session, uri, rows, columns))
    typed = {c for group in narrowed.values() for c in group}
    base = list(dict.fromkeys([*keys, *(c for c in columns if c not in typed)]))
    rows = _joined(session, uri, query, base, keys)
    by_key = _by_key(rows, keys)
    for kind, group in narrowed.items():
        answered = _joined(session, uri, {**query, "xsiType": kind}, [*keys, *group], keys)
        # rows not of this type: the same columns, empty (names as the answer gave them)
        blank = dict.fromkeys(answered[0] if answered else group, "")
        for name in keys:
            blank.pop(name, None)
        # the columns of the base rows stay: another root's answer may show a shared
        # session's own label and project (see :mod:`xnat_sdk._sharedrows`)
        matched = _join(by_key, answered, keys, overwrite=False)
        for row in rows:
            if id(row) not in matched:
                for name, value in blank.items():
                    row.setdefault(name, value)
    return list(with_share_values(session, uri, rows, columns))


def _by_key(
    rows: list[dict[str, Any]], keys: Sequence[str]
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    found: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(_key(row, keys), []).append(row)
    return found


def _join(
    by_key: Mapping[tuple[str, ...], list[dict[str, Any]]],
    answered: list[dict[str, Any]],
    keys: Sequence[str],
    *,
    overwrite: bool = True,
) -> set[int]:
    """Update the rows of ``by_key`` with those of a later answer of the same keys (the n-th
    row of a key with the n-th; without ``overwrite`` only the columns a row lacks); the
    ``id`` of each row updated."""
    updated: set[int] = set()
    seen: dict[tuple[str, ...], int] = {}
    for row in answered:
        key = _key(row, keys)
        number = seen.get(key, 0)
        seen[key] = number + 1
        same = by_key.get(key, ())
        if number < len(same):
            target = same[number]
            target.update(
                {k: v for k, v in row.items() if k not in keys and (overwrite or k not in target)}
            )
            updated.add(id(same[number]))
    return updated


def _joined(
    session: XNATSession,
    uri: str,
    query: Mapping[str, str],
    columns: Sequence[str],
    keys: Sequence[str],
) -> list[dict[str, Any]]:
    """The rows of ``columns`` of one root, in as many requests as they need (see
    :func:`fetch_columns`)."""
    if _target(uri, query, columns) <= MAX_TARGET:
        return _rows_of(session, uri, {**query, "columns": ",".join(columns)})
    first, *rest = _chunks(uri, query, columns, keys) or [[]]
    rows = _rows_of(session, uri, {**query, "columns": ",".join([*keys, *first])})
    by_key = _by_key(rows, keys)
    for group in rest:
        _join(by_key, _rows_of(session, uri, {**query, "columns": ",".join([*keys, *group])}), keys)
    return rows
