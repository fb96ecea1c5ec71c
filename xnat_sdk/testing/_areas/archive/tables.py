"""Archive listings: shortcut tables, ``columns=``, filters, paging (spec §4.1, §4.8).

Each listing builds full rows (dicts keyed by shortcut name) plus the object's ``data``;
:func:`answer` then filters, picks columns (defaults, ``columns=`` with shortcut names or
XML paths, the root type's PK column, then ``URI``) and renders the table.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.documents import java_double
from xnat_sdk.testing._areas.archive.filters import QueryFailed, matches_typed
from xnat_sdk.testing._areas.archive.shortcut_paths import (
    DEMOGRAPHICS,
    shortcut_types,
    xnat_paths,
)
from xnat_sdk.testing._areas.archive.xsd import (
    NUMERIC_FLOAT,
    NUMERIC_INT,
    FieldDef,
    SchemaInfo,
    schema_of,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["SHORTCUTS", "answer"]

_PRED = re.compile(r"\[[^\]]*\]")
#: a custom variable addressed by XPath: ``xnat:subjectData/fields/field[name=X]/field``
_CUSTOM = re.compile(r"(?:^|/)fields/field\[name=([^\]]+)\]/field$", re.IGNORECASE)
_CUSTOM_KINDS = {"project", "subject", "experiment"}


#: shortcut -> data path, per object kind; ``None`` path = read-only / computed column
SHORTCUTS: dict[str, dict[str, str | None]] = {
    "project": {
        "ID": None,
        "secondary_ID": None,
        "name": None,
        "description": None,
        "keywords": "keywords",
        "alias": "aliases/alias/alias",
        "pi_firstname": "PI/firstname",
        "pi_lastname": "PI/lastname",
        "note": None,
        "insert_date": None,
        "insert_user": None,
        "accessibility": None,
    },
    "subject": {
        "ID": None,
        "project": None,
        "label": None,
        "group": "group",
        "src": "src",
        "initials": "initials",
        "pi_firstname": "investigator/firstname",
        "pi_lastname": "investigator/lastname",
        **{d: f"demographics/{d}" for d in DEMOGRAPHICS},
        "insert_date": None,
        "insert_user": None,
        "last_modified": None,
    },
    "experiment": {
        "ID": None,
        "project": None,
        "label": None,
        "date": "date",
        "time": "time",
        "visit_id": "visit_id",
        "visit": "visit",
        "protocol": "protocol",
        "note": "note",
        "pi_firstname": "investigator/firstname",
        "pi_lastname": "investigator/lastname",
        "validation_method": "validation/method",
        "validation_status": "validation/status",
        "validation_date": "validation/date",
        "validation_notes": "validation/notes",
        "scanner": "scanner",
        "operator": "operator",
        "dcmAccessionNumber": "dcmAccessionNumber",
        "dcmPatientId": "dcmPatientId",
        "dcmPatientName": "dcmPatientName",
        "session_type": "session_type",
        "modality": "modality",
        "UID": "UID",
        "studyInstanceUID": "UID",
        "coil": "coil",
        "fieldStrength": "fieldStrength",
        "marker": "marker",
        "stabilization": "stabilization",
        "age": "age",
        "acquisition_site": "acquisition_site",
        "subject_ID": None,
        "subject_label": None,
        "subject_project": None,
        "session_ID": None,
        "session_label": None,
        "session_project": None,
        "insert_date": None,
        "insert_user": None,
        "last_modified": None,
        "xsiType": None,
    },
    "scan": {
        "ID": None,
        "type": None,
        "UID": "UID",
        "note": "note",
        "quality": "quality",
        "condition": "condition",
        "series_description": "series_description",
        "documentation": "documentation",
        "scanner": "scanner",
        "modality": "modality",
        "frames": "frames",
        "scanTime": "startTime",
        "coil": "coil",
        "fieldStrength": "fieldStrength",
        "marker": "marker",
        "stabilization": "stabilization",
        "validation_method": "validation/method",
        "validation_status": "validation/status",
        "xnat_imagescandata_id": None,
        "insert_date": None,
        "insert_user": None,
        "last_modified": None,
        "xsiType": None,
    },
    "recon": {
        "ID": None,
        "type": None,
        "baseScanType": None,
        "xnat_reconstructedimagedata_id": None,
        "xsiType": None,
    },
}

NOT_FILTERS = {
    "format",
    "columns",
    "xsiType",
    "sortBy",
    "sortOrder",
    "limit",
    "offset",
    "fields",
    "req_format",
    "XNAT_CSRF",
    "URI",
}


def _lower_map(kind: str) -> dict[str, str]:
    out = {k.lower(): k for k in SHORTCUTS[kind]}
    for k, p in SHORTCUTS[kind].items():
        if p is not None:
            out.setdefault(p.lower(), k)
    return out


def _data_value(data: Mapping[str, str], path: str) -> str:
    low = path.lower()
    for k, v in data.items():
        if k.lower() == low:
            return v
    return ""


#: ``<type>/meta/...`` XPaths: the meta fields the listings carry as shortcut columns
#: (``ScanList`` maps ``last_modified`` to ``xnat:imageScanData/meta/last_modified``)
_META_COLUMNS = {
    "meta/last_modified": "last_modified",
    "meta/insert_date": "insert_date",
    "meta/insert_user": "insert_user",
}


#: shortcuts of the experiments listing that name another element's field: XNAT names a
#: ``columns=`` entry by one when it is that path (``XMLPathShortcuts``: ``subject_label`` is
#: ``xnat:subjectData/label``), where the path under the root alone would say ``label``
_JOINED_SHORTCUTS = {
    "experiment": {
        "xnat:subjectdata/label": "subject_label",
        "xnat:subjectdata/project": "subject_project",
    },
}


@functools.cache
def _shortcut_xpaths(kind: str) -> dict[str, str]:
    """``{lower-case full XML path: shortcut}`` of ``kind``: the ``columns=`` entries XNAT
    names by a shortcut (``formatHeaders``: ``getLabelForFieldMapping`` compares the path as
    text, case aside; a path through a derived type, ``xnat:mrSessionData/date``, is not the
    shortcut's ``xnat:experimentData/date`` and keeps its own name)."""
    xnat = xnat_paths(kind)
    if xnat is not None:  # the paths XNAT registers (those of shortcuts served here)
        return {path: key for path, key in xnat.items() if key in SHORTCUTS[kind]}
    root = _ROOTS[kind]
    out: dict[str, str] = {}
    for key, path in SHORTCUTS[kind].items():  # (projects, reconstructions: no parts)
        out.setdefault(f"{root}/{path if path is not None else key}".lower(), key)
    for step, key in _META_COLUMNS.items():
        if key in SHORTCUTS[kind]:
            out[f"{root}/{step}".lower()] = key
    out.update(_JOINED_SHORTCUTS.get(kind, {}))
    return out


def _column_name(kind: str, raw: str) -> str:
    """The name XNAT answers a ``columns=`` entry under: a shortcut by its key, the XML path
    of a shortcut by that shortcut, any other XML path in lower case ("" for an unknown
    shortcut name, which is left out)."""
    if "/" not in raw:
        return _resolve_column(kind, raw)[0]
    return _shortcut_xpaths(kind).get(raw.lower(), raw.lower())


def _resolve_column(kind: str, name: str) -> tuple[str, str | None]:
    """(column name in the answer, shortcut key or None meaning an XML path)."""
    joined = _JOINED_SHORTCUTS.get(kind, {}).get(name.lower())
    if joined is not None:
        return joined, joined
    sc = SHORTCUTS[kind]
    if "/" not in name:
        if name in sc:
            return name, name
        low = {k.lower(): k for k in sc}
        if name.lower() in low:
            return low[name.lower()], low[name.lower()]
        return "", None
    path = name.split("/", 1)[1] if ":" in name.split("/", 1)[0] else name
    path = _PRED.sub("", path)
    lm = _lower_map(kind)
    meta = _META_COLUMNS.get(path.lower())
    if meta is not None and meta in sc:
        return meta, meta
    if path.lower() in lm:
        return lm[path.lower()], lm[path.lower()]
    if path.lower() == "id":
        return name.lower(), "ID"
    return name.lower(), None


#: the XSD types of this schema whose Java type (xdat ``JavaMapping``) is none of the
#: String, Double, Integer, Date, Boolean ``processQueryCriteria`` switches on: ``xs:long``
#: is a ``java.lang.Long``, ``xs:anyURI`` and ``xs:duration`` have no mapping; a filter on
#: one adds an empty criteria collection
_NO_JAVA_CASE = frozenset({"xs:long", "xs:anyURI", "xs:duration"})


def _field_through_refs(schema: SchemaInfo, owner: str, path: str) -> FieldDef | None:
    """The field at ``path`` of ``owner``, read through elements of a named complex type
    (``resources/resource/file_size``: ``file_size`` of ``xnat:abstractResource``), as
    ``GenericWrapperElement.GetFieldForXMLPath`` finds it."""
    found = schema.field(owner, path)
    if found is not None:
        return found
    steps = path.split("/")
    for cut in range(len(steps) - 1, 0, -1):
        ref = schema.ref(owner, "/".join(steps[:cut]))
        if ref is not None:
            return _field_through_refs(schema, ref[0], "/".join(steps[cut:]))
    return None


def _filter_kind(schema: SchemaInfo, kind: str, key: str) -> str:
    """``"date"``, ``"boolean"`` or ``"number"`` for a filter on a date (``xs:date``,
    ``xs:dateTime``), boolean or number field, which XNAT compares as such (:mod:`.filters`);
    ``"ignored"`` for a field whose Java type ``processQueryCriteria``'s switch has no case
    for (:data:`_NO_JAVA_CASE`); ``""`` for the others (text)."""
    if "/" in key:
        head, _, path = key.partition("/")
        if ":" not in head:
            head, path = _ROOTS[kind], key
        owner = schema.canonical(_PRED.sub("", head)) or head
    else:
        _name, shortcut = _resolve_column(kind, key)
        if shortcut is None:
            return ""
        if shortcut in ("insert_date", "last_modified"):
            return "date"  # meta fields: timestamps
        path = SHORTCUTS[kind].get(shortcut) or ""
        owner = shortcut_types(kind).get(shortcut, _ROOTS[kind])
    path = _PRED.sub("", path)
    if path.startswith("demographics/"):  # a named type's fields, not flattened into the owner
        owner, path = "xnat:demographicData", path.split("/", 1)[1]
    f = _field_through_refs(schema, owner, path) if path else None
    if f is None:
        return ""
    if f.xstype in _NO_JAVA_CASE:
        return "ignored"
    if f.xstype in ("xs:date", "xs:dateTime"):
        return "date"
    if f.xstype == "xs:boolean":
        return "boolean"
    if f.xstype in NUMERIC_FLOAT or f.xstype in NUMERIC_INT:
        return "number"
    return ""


def _matches(value: str, wanted: str) -> bool:
    """Whether a listing filter keeps a row, as XNAT filters (``QueryOrganizerResource
    .processStringQuery``, ``SearchCriteria.getSQLClause``): the alternatives between commas
    (not trimmed); one with ``*`` or ``%`` is ``LOWER(col) LIKE LOWER('%<value>%')`` (a match
    anywhere in the value, case aside, ``_`` any one character; never a missing value),
    another ``col = '<value>'`` (exact, case kept)."""
    for w in wanted.split(","):
        if "*" in w or "%" in w:
            if value and _like(w).fullmatch(value.lower()) is not None:
                return True
        elif value == w:
            return True
    return False


@functools.lru_cache(maxsize=256)
def _like(wanted: str) -> re.Pattern[str]:
    """The ``LIKE`` XNAT builds of a wildcard filter value: ``*`` as ``%``, the value's
    leading and trailing quotes and ``%`` stripped, then ``%`` around it, in lower case."""
    core = wanted.replace("*", "%").strip("'%").lower()
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in core)
    return re.compile(f".*{body}.*", re.DOTALL)


def _row_value(kind: str, row: Mapping[str, Any], data: Mapping[str, str], key: str) -> str:
    _name, shortcut = _resolve_column(kind, key)
    if shortcut is not None:
        if shortcut in row:
            return str(row[shortcut] if row[shortcut] is not None else "")
        path = SHORTCUTS[kind].get(shortcut)
        return _data_value(data, path) if path else ""
    if "/" in key:
        path = key.split("/", 1)[1] if ":" in key.split("/", 1)[0] else key
        return _data_value(data, _PRED.sub("", path))
    return ""


_ROOTS = {
    "project": "xnat:projectData",
    "subject": "xnat:subjectData",
    "experiment": "xnat:experimentData",
    "scan": "xnat:imageScanData",
    "recon": "xnat:reconstructedImageData",
}


def _xstype(schema: SchemaInfo, kind: str, row: Mapping[str, Any], key: str) -> str:
    """The XSD type of column ``key`` of ``row`` ("" when it is no schema field)."""
    _name, shortcut = _resolve_column(kind, key)
    if shortcut is not None:
        path = SHORTCUTS[kind].get(shortcut)
    elif "/" in key:
        path = _PRED.sub("", key.split("/", 1)[1] if ":" in key.split("/", 1)[0] else key)
    else:
        path = None
    if not path:
        return ""
    xsi = str(row.get("xsiType") or _ROOTS[kind])
    if path.lower().startswith("demographics/"):
        xsi, path = "xnat:demographicData", path.split("/", 1)[1]
    f = schema.field(xsi, path)
    return f.xstype if f is not None else ""


def _as_column(schema: SchemaInfo, kind: str, row: Mapping[str, Any], key: str, value: str) -> str:
    """A stored value as the listing's column holds it: an ``xs:float``/``xs:double``/
    ``xs:decimal`` field is read back as a ``Double`` and written as Java prints it
    (``XFTTable.toJSON`` / ``ValueParser``: ``42.0``, ``1.0E-4``); an ``xs:boolean`` field is
    an INTEGER column (xdat ``PGSQLMapping``) that ``DBAction.ValueParser`` stored ``true``
    or ``1`` (any case) into as 1, anything else as 0."""
    xstype = _xstype(schema, kind, row, key)
    if xstype in NUMERIC_FLOAT:
        return java_double(value)
    if xstype == "xs:boolean":
        return "1" if value.strip().lower() in ("true", "1") else "0"
    return value


def _with_custom_fields(
    ctx: RequestContext,
    kind: str,
    rows: list[tuple[dict[str, Any], Mapping[str, str]]],
    columns_param: str,
) -> list[tuple[dict[str, Any], Mapping[str, str]]]:
    """Give rows the custom-variable columns asked for by XPath (``fields/field[name=X]``)."""
    wanted: dict[str, str] = {}
    for raw in columns_param.split(","):
        m = _CUSTOM.search(raw.strip())
        if m is not None and kind in _CUSTOM_KINDS:
            wanted[raw.strip().lower()] = m.group(1).strip().strip("'\"").lower()
    if not wanted or not rows:
        return rows
    values: dict[tuple[str, str], str] = {}
    for r in ctx.store.query(
        "SELECT owner_id, name, value FROM custom_fields WHERE kind=?", (kind,)
    ):
        values[(str(r["owner_id"]), str(r["name"]).lower())] = str(r["value"])
    out: list[tuple[dict[str, Any], Mapping[str, str]]] = []
    for row, data in rows:
        extra = {
            col: values.get((str(row.get("ID", "")), name), "") for col, name in wanted.items()
        }
        out.append(({**row, **extra}, data))
    return out


#: first steps of the fields XFT adds to every data type (``meta/last_modified``, the
#: element name, the SQL key ``xnat_imagescandata_id``): no schema declares them
_XFT_STEPS = {"meta", "extension_item"}


def _unknown_field(schema: SchemaInfo, raw: str) -> bool:
    """Whether the XML path ``raw`` names a field its (known) data type does not have, first
    step checked (``xnat:subjectData/nonexistent``): XNAT's query organizer takes the path
    and fails on it when it builds the query (``FieldNotFoundException``)."""
    root, _, rest = raw.partition("/")
    xsi = schema.canonical(_PRED.sub("", root))
    step = _PRED.sub("", rest.split("/", 1)[0]).lower()
    if xsi is None or not step or step in _XFT_STEPS or step.endswith("_id"):
        return False
    return schema.has_step(xsi, step) is False


def _dropped(schema: SchemaInfo, kind: str, raw: str) -> bool:
    """Whether XNAT leaves the ``columns=`` entry ``raw`` out of the answer, logging an error
    (``QueryOrganizerResource.populateQuery``): a name that is not one of the listing's
    shortcuts (a case-sensitive map: ``Label`` is not ``label``), or an XML path of an
    unknown data type (``ElementNotFoundException``)."""
    if "/" not in raw:
        return raw not in SHORTCUTS[kind] and raw != "URI"
    root = _PRED.sub("", raw.partition("/")[0])
    return ":" in root and schema.canonical(root) is None


def narrowed_root(ctx: RequestContext, kind: str, default: str) -> str:
    """The query's root element as XNAT's ``getRootElementName`` makes it when ``xsiType=``
    is not one type: the ``default``, moved down to each field's type that extends the root
    so far, in order (the filters' keys, then ``columns=``; shortcuts by their paths). The
    rows are then those of that type only: ``columns=xnat:mrSessionData/fieldStrength`` on
    a project's experiments answers its MR sessions."""
    xsi = ctx.q("xsiType") or ""
    if xsi and "," not in xsi:
        return default
    schema = schema_of(ctx)
    names = [k for k, _ in ctx.query.items(multi=False) if k not in NOT_FILTERS]
    columns = ctx.q("columns") or ""
    if columns.strip().upper() != "DEFAULT":
        names += columns.split(",")  # not trimmed: " xnat:x/y" names no type XNAT knows
    root = default
    for name in names:
        if "/" in name:
            kind_of = name.split("/", 1)[0]
        elif name in SHORTCUTS[kind]:
            kind_of = shortcut_types(kind).get(name, default)
        else:
            continue
        found = schema.canonical(_PRED.sub("", kind_of))
        if found is not None and found != root and schema.is_a(found, root):
            root = found
    return root


def answer(
    ctx: RequestContext,
    kind: str,
    rows: Sequence[tuple[dict[str, Any], Mapping[str, str]]],
    default_columns: Sequence[str],
    *,
    pk_column: str | None = None,
    title: str | None = None,
    pageable: bool = False,
    extra_columns: Sequence[str] = (),
    unknown_field: Literal["error", "empty"] | None = None,
    root: str | None = None,
    filters: bool = True,
    uri_key: str | None = None,
    raw_when_empty: bool = False,
    overlay: Mapping[str, Mapping[str, Any]] | None = None,
) -> Response:
    """Filter, select columns, page and render the listing.

    ``overlay``: what the resource puts into rows after its query, by ``ID``: :func:`_overlaid`.

    ``filters``: whether the listing applies the shortcut and XML-path filters. The scans,
    reconstructions and assessors of an experiment do not: ``ScanList``, ``ReconList`` and
    ``ProjSubExptAsstList`` replace the criteria ``populateQuery`` set with their own
    (``qo.setWhere``), so ``?type=T1`` lists every scan; a filter's type still narrows the
    root (``xnat:mrScanData/type=...``: the MR scans).

    ``unknown_field`` is what the listing's resource answers when a ``columns=`` XML path
    names a field its data type does not have (its query fails to build): ``"error"`` a 500
    status page (``ProjectSubjectList``, ``SubjectListResource``, ``ExperimentListResource``
    set that status), ``"empty"`` a 200 with an empty body (``ProjSubExptList`` logs the
    exception and renders no table); ``None`` answers the column empty.

    ``uri_key``: the XML path ``formatHeaders`` reads each row's ``URI`` ID from, where that is
    not the root's primary key (a scan's or reconstruction's ``ID``): a ``columns=`` that
    leaves it out fails the listing (500; the column's index is null, unboxed to an int).

    ``root``: the resource's default root element, which the columns and filters may narrow
    (:func:`narrowed_root`): only rows of the narrowed type are answered, keyed by its ID
    column (``xnat:mrsessiondata/id``) instead of an XML path ``pk_column``.

    ``raw_when_empty``: an empty answer keeps the query's own column names and no ``URI``
    (the experiment and assessor listings, which call ``formatHeaders`` only when
    ``table.size()>0``): see :func:`raw_headers`. JSON shows no columns, so only the CSV,
    XML and HTML answers differ."""
    if ctx.q("fields") is not None:
        return _fields_table(ctx, kind)
    schema = schema_of(ctx)
    narrowed = narrowed_root(ctx, kind, root) if root is not None else None
    if narrowed is not None and narrowed != root:
        rows = [r for r in rows if schema.is_a(str(r[0].get("xsiType") or ""), narrowed)]
        if pk_column is None or pk_column.endswith("/id"):  # an XML path's, not a SQL key
            pk_column = f"{narrowed.lower()}/id"
            rows = [({**r, pk_column: r["ID"]}, data) for r, data in rows]
    columns_param = ctx.q("columns")
    asked = [c.strip() for c in (columns_param or "").split(",") if c.strip()]
    if columns_param and columns_param.strip().upper() == "DEFAULT":
        asked = []
    if (
        uri_key is not None
        and asked
        and not any(raw == "ID" or raw.lower() == uri_key.lower() for raw in asked)
    ):
        raise HttpError(500, None)
    if unknown_field is not None and any(
        "/" in raw and _unknown_field(schema, raw) for raw in asked
    ):
        if unknown_field == "error":
            raise HttpError(500, None)
        return Response(b"", status=200, mimetype=ctx.table([], []).mimetype)
    if unknown_field is not None:
        gone = {raw for raw in asked if _dropped(schema, kind, raw)}
        if gone:
            # what is left replaces the defaults even when nothing is (the key and URI remain)
            columns_param = ",".join(raw for raw in asked if raw not in gone) or ","
    try:
        selected = _filtered(ctx, schema, kind, rows) if filters else list(rows)
    except QueryFailed:
        # the SQL of a date or number filter PostgreSQL refuses: the listing's query
        # fails as for an unknown column (500, or ProjSubExptList's empty 200)
        if unknown_field == "empty":
            return Response(b"", status=200, mimetype=ctx.table([], []).mimetype)
        raise HttpError(500, None) from None
    selected = _with_custom_fields(ctx, kind, selected, columns_param or "")
    cols = _columns(kind, selected, columns_param, default_columns, pk_column, extra_columns)
    selected = _overlaid(selected, cols, overlay)
    out = [_rendered(schema, kind, row, data, cols) for row, data in selected]
    meta: dict[str, Any] = {"title": title} if title else {}
    page = _page(ctx) if pageable else None
    if page is _BAD_PAGE:
        if unknown_field == "error":
            raise HttpError(500, None)
        return Response(b"", status=200, mimetype=ctx.table([], []).mimetype)
    if isinstance(page, tuple):
        out = out[page[0] : page[0] + page[1]]
    else:
        meta["totalRecords"] = len(out)
    if raw_when_empty and not out:
        return ctx.table(raw_headers(kind, cols), out, meta=meta)
    return ctx.table(*_shortcut_headers(kind, cols, out), meta=meta)


def _overlaid(
    rows: list[tuple[dict[str, Any], Mapping[str, str]]],
    cols: Sequence[str],
    overlay: Mapping[str, Mapping[str, Any]] | None,
) -> list[tuple[dict[str, Any], Mapping[str, str]]]:
    """``rows`` with the ``overlay`` values of their ``ID`` (what the resource puts into them
    after its query: a shared object's share label, project, subject label, which
    ``ProjSubExptList``, ``ProjectSubjectList`` and ``ProjSubExptAsstList`` swap in in Java
    after the SQL that filtered on the primary values), when the answer has a ``label``
    column (all three look for it first)."""
    if not overlay or "label" not in cols:
        return rows
    return [({**r, **overlay.get(str(r["ID"]), {})}, data) for r, data in rows]


def _shortcut_headers(
    kind: str, cols: list[str], out: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """``formatHeaders``' names for the columns still named by an XML path one of the
    listing's shortcuts has (:mod:`.shortcut_paths`): a path the rows carry themselves (the
    root's key ``xnat:imagesessiondata/id``), or the path of a shortcut this server does not
    serve (``xnat:petSessionData/studyType``). A column renamed to one already present is the
    same field of the query (one column there): it is kept once."""
    xnat = xnat_paths(kind) or {}
    renames = {c: xnat[c.lower()] for c in cols if "/" in c and c.lower() in xnat}
    if not renames:
        return cols, out
    named = list(dict.fromkeys(renames.get(c, c) for c in cols))
    rows = [{renames.get(k, k): v for k, v in reversed(row.items())} for row in out]
    return named, [{c: row[c] for c in named} for row in rows]


def _filtered(
    ctx: RequestContext,
    schema: SchemaInfo,
    kind: str,
    rows: Sequence[tuple[dict[str, Any], Mapping[str, str]]],
) -> list[tuple[dict[str, Any], Mapping[str, str]]]:
    """The rows the request's shortcut and XML-path filters keep (:func:`answer`); raises
    :class:`QueryFailed` for a date or number filter whose SQL PostgreSQL refuses, and for
    a filter XNAT adds no clause for (an unknown field, :data:`_NO_JAVA_CASE`) next to one
    it does."""
    applied: list[tuple[str, str, str]] = []
    empty = 0
    for key, wanted in ctx.query.items(multi=False):
        if key in NOT_FILTERS:
            continue
        is_shortcut = key in SHORTCUTS[kind]
        if not is_shortcut and "/" not in key:
            continue
        if not is_shortcut and (_dropped(schema, kind, key) or _unknown_field(schema, key)):
            # processQueryCriteria logs the ElementNotFound/FieldNotFoundException: no filter
            empty += 1
            continue
        typed = _filter_kind(schema, kind, key)
        if typed == "ignored":
            empty += 1
            continue
        applied.append((key, wanted, typed))
    if empty and applied:
        # each filter is an OR collection in populateQuery's AND; one left empty is counted
        # as no clause (a lone one sets no WHERE) but written as "()" next to the others
        # (CriteriaCollection.getSQLClause): a syntax error
        raise QueryFailed("an empty criteria collection in the WHERE clause")
    selected = list(rows)
    for key, wanted, typed in applied:
        selected = [
            r
            for r in selected
            if (
                matches_typed(_row_value(kind, r[0], r[1], key), wanted, typed)
                if typed
                else _matches(_row_value(kind, r[0], r[1], key), wanted)
            )
        ]
    return selected


def _rendered(
    schema: SchemaInfo, kind: str, row: dict[str, Any], data: Mapping[str, str], cols: Sequence[str]
) -> dict[str, Any]:
    """One row of the answer: its ``cols``, as their columns hold them (:func:`_as_column`)."""
    out: dict[str, Any] = {}
    for c in cols:
        if c in row:
            out[c] = row[c]
        else:
            out[c] = _row_value(kind, row, data, c)
            if out[c]:
                out[c] = _as_column(schema, kind, row, c, out[c])
    return out


def raw_headers(kind: str, columns: Sequence[str]) -> list[str]:
    """The columns of an empty experiment or assessor listing: XNAT's
    ``ExperimentListResource``, ``ProjSubExptList`` and ``ProjSubExptAsstList`` rename the
    query's SQL aliases to shortcut names and XML paths and add ``URI`` in ``formatHeaders``,
    which they call only for a table with rows (the subject, scan and reconstruction listings
    call it always: their empty CSV has the usual names and ``URI``). The aliases are
    ``QueryOrganizer.buildQuery``'s: a field of the root element is named by its view column
    (``ViewManager.GetViewColumnName``, the last 62 characters), which ``GetFieldMap`` makes
    of the declaring element's SQL name and the field's index among every field of the
    element's view (``field[0] + counter``), else ``XftStringUtils.CreateAlias(table,
    column)``; a field of another element ``CreateAlias(table, view column)``; PostgreSQL
    folds them to lower case. The indexes depend on XFT's enumeration of the whole view (own
    fields, single references, XFT's meta fields), which this server does not reproduce: it
    spells an alias from the column's XML path, lower case, every run of other characters
    an ``_`` (``xnat:experimentdata/label`` -> ``xnat_experimentdata_label``). What it keeps
    of XNAT: the names are neither the shortcut names nor XML paths, and ``URI`` is absent.
    JSON shows no columns, so only the CSV, XML and HTML answers differ."""
    paths = {key: path for path, key in _shortcut_xpaths(kind).items()}
    return [
        re.sub(r"[^0-9a-z]+", "_", paths.get(c, c).lower()).strip("_")
        for c in columns
        if c != "URI"
    ]


#: what :func:`_page` answers for a ``limit``/``offset`` that is not a number
_BAD_PAGE = object()

#: ``SecureResource.DEFAULT_PAGE_SIZE``: the ``limit`` when only ``offset`` is given
DEFAULT_PAGE_SIZE = 100


def _page(ctx: RequestContext) -> tuple[int, int] | object | None:
    """``(offset, limit)`` of a paged listing, None when it is not paged (xnat-web
    ``SecureResource.buildOffsetFromParams``): with ``limit`` or ``offset`` present, an
    absent ``offset`` is 0 and an absent ``limit`` :data:`DEFAULT_PAGE_SIZE`; ``*`` for
    either turns paging off, as does ``limit=0&offset=0``; ``limit=0`` with an offset pages
    to nothing (``LIMIT 0``). Paged answers carry no ``totalRecords``. A value that is not
    a number (``Long.valueOf``), or a negative one, fails the query: :data:`_BAD_PAGE`."""
    offset_s, limit_s = ctx.q("offset"), ctx.q("limit")
    if offset_s is None and limit_s is None:
        return None
    try:
        offset = 0 if offset_s is None else None if offset_s == "*" else int(offset_s)
        limit = DEFAULT_PAGE_SIZE if limit_s is None else None if limit_s == "*" else int(limit_s)
    except ValueError:
        return _BAD_PAGE
    if offset is None or limit is None or (offset <= 0 and limit <= 0):
        return None
    if offset < 0 or limit < 0:  # PostgreSQL refuses a negative LIMIT or OFFSET
        return _BAD_PAGE
    return offset, limit


def _fields_table(ctx: RequestContext, kind: str) -> Response:
    """``fields=``: the shortcut names of ``kind`` and the XML paths they stand for."""
    root = _ROOTS[kind]
    table = [
        {"key": k, "xpath": f"{root}/{p if p is not None else k}"}
        for k, p in SHORTCUTS[kind].items()
    ]
    return ctx.table(["key", "xpath"], table, meta={})


def _columns(
    kind: str,
    selected: Sequence[tuple[dict[str, Any], Mapping[str, str]]],
    columns_param: str | None,
    default_columns: Sequence[str],
    pk_column: str | None,
    extra_columns: Sequence[str],
) -> list[str]:
    """The listing's columns: ``columns=`` (shortcut names or XML paths) or the defaults,
    then the PK column and the always-selected ones; ``URI`` last."""
    cols: list[str] = []
    if columns_param and columns_param.strip().upper() != "DEFAULT":
        for raw in re.split(r",", columns_param):
            raw = raw.strip()
            if not raw:
                continue
            if "/" in raw and selected and raw.lower() in selected[0][0]:
                # the rows carry this XPath themselves (a joined element, a custom variable)
                name = raw.lower()
            else:
                name = _column_name(kind, raw)
            if name and name not in cols:
                cols.append(name)
    else:
        cols = [c for c in default_columns if c != "URI"]
    if pk_column and pk_column not in cols:
        cols.append(pk_column)
    # columns the query always selects whatever ``columns=`` says (e.g. the xsiType and project
    # of /data/experiments rows when the root element is not a secured data type)
    cols += [c for c in extra_columns if c not in cols]
    return [c for c in cols if c != "URI"] + ["URI"]
