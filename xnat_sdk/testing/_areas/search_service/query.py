"""``POST /data/search`` of the local XNAT server: ``xdat:bundle`` searches over the store.

The body (raw XML, or the one XML part of a multipart form) is parsed by
:mod:`xnat_sdk.testing._areas.search_service.bundle`; one root element type (projects,
subjects, an experiment type, a scan type, or the abstract ``xnat:imageSessionData``/
``xnat:experimentData``/``xnat:imageScanData``) is answered from flat records built from the
store. Criteria may name fields of the root element or of its parents (subject, project; the
session of a scan) as display-field IDs (``xnat:mrSessionData/LABEL``,
``xnat:mrSessionData.LABEL``) or XML paths (``xnat:mrSessionData/label``,
``xnat:subjectData/demographics/gender``).

Response: a ResultSet with ``Columns`` (JSON), ``totalRecords`` and ``rootElementName``, in
``format=json`` (default), ``csv`` or ``xml``. Column keys are the lower-cased field IDs for
the root element and ``{element sql name}_{field id}`` for other elements; key columns
clients build URIs from (``session_id``, ``subject_id``, ``project`` ...) are always present.
Rows are limited to projects the user can read. Invalid XML or another document -> 422.
"""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.inspect_service.display_fields import (
    KEY_COLUMNS,
    DisplayField,
    Kind,
    fields_of,
    is_generic,
    kind_of,
)
from xnat_sdk.testing._areas.inspect_service.records import (
    experiment_records,
    project_records,
    scan_records,
    subject_records,
)
from xnat_sdk.testing._areas.prearchive.access import can_read
from xnat_sdk.testing._areas.search_service.bundle import (
    SearchBundleError,
    SearchField,
    parse_bundle,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["run_search", "search_document"]


#: XML path (last component, lower case) -> record key, per kind, where they differ.
_XPATH_ALIASES: dict[Kind, dict[str, str]] = {
    "project": {"id": "id", "secondary_id": "secondary_id", "name": "name"},
    "subject": {"id": "id", "label": "label", "project": "project"},
    "experiment": {"id": "id", "label": "label", "subject_id": "subject_id", "project": "project"},
    "scan": {"id": "id", "image_session_id": "image_session_id", "type": "type"},
}

_DEFAULT_FIELDS: dict[Kind, tuple[str, ...]] = {
    "project": ("ID", "SECONDARY_ID", "NAME", "DESCRIPTION"),
    "subject": ("SUBJECT_ID", "SUBJECT_LABEL", "PROJECT", "INSERT_DATE"),
    "experiment": ("SESSION_ID", "LABEL", "SUBJECT_ID", "SUBJECT_LABEL", "PROJECT", "DATE"),
    "scan": ("ID", "TYPE", "SERIES_DESCRIPTION", "IMAGE_SESSION_ID", "PROJECT"),
}


def _split_field(schema_field: str, default_element: str) -> tuple[str, str]:
    """``xnat:mrSessionData/label`` or ``xnat:mrSessionData.LABEL`` -> (element, field)."""
    text = schema_field.strip()
    if ":" in text:
        head, _, rest = text.partition(":")
        local_end = len(rest)
        for sep in ("/", "."):
            pos = rest.find(sep)
            if pos != -1:
                local_end = min(local_end, pos)
        element = f"{head}:{rest[:local_end]}"
        field = rest[local_end + 1 :] if local_end < len(rest) else ""
        return element, field
    return default_element, text


def _display_field(kind: Kind, field: str) -> DisplayField | None:
    upper = field.upper()
    for f in fields_of(kind):
        if f.id == upper:
            return f
    return None


def _xpath_key(kind: Kind, field: str) -> str:
    path = "/".join(part.split("[", 1)[0] for part in field.split("/"))
    last = path.rsplit("/", 1)[-1]
    low = last.lower()
    if "=" in field and "field_map" in field.lower():
        return "field_map=" + field.split("=", 1)[1].lower()
    return _XPATH_ALIASES[kind].get(low, last)


def _resolve_key(kind: Kind, field: str) -> tuple[str, DisplayField | None]:
    """The record key for a field (and its display field, when it is one)."""
    display = _display_field(kind, field)
    if display is not None:
        return display.key, display
    # an XML path may also name a display field by its last component (``.../ID``)
    key = _xpath_key(kind, field)
    return key, None


class _Records:
    """The store as flat records, loaded once per search."""

    def __init__(self, ctx: RequestContext) -> None:
        store = ctx.store
        self.projects = project_records(store)
        self.subjects = subject_records(store)
        self.experiments = experiment_records(store, self.subjects)
        self.scans = scan_records(store, self.experiments)

    def roots(self, element: str, kind: Kind) -> list[dict[str, str]]:
        if kind == "project":
            return list(self.projects.values())
        if kind == "subject":
            return list(self.subjects.values())
        if kind == "experiment":
            rows = list(self.experiments.values())
            if element in ("xnat:imageSessionData",):
                return [r for r in rows if r["xsi_type"].endswith("SessionData")]
            if is_generic(element):
                return rows
            return [r for r in rows if r["xsi_type"] == element]
        if is_generic(element):
            return list(self.scans)
        return [r for r in self.scans if r["xsi_type"] == element]

    def related(self, root_kind: Kind, rec: dict[str, str], kind: Kind) -> dict[str, str] | None:
        """The record of ``kind`` that ``rec`` (a ``root_kind`` record) belongs to."""
        if kind == root_kind:
            return rec
        if kind == "project":
            return self.projects.get(rec.get("project", ""))
        if kind == "subject" and root_kind in ("experiment", "scan"):
            return self.subjects.get(rec.get("subject_id", ""))
        if kind == "experiment" and root_kind == "scan":
            return self.experiments.get(rec.get("image_session_id", ""))
        return None


def _column_key(root: str, root_kind: Kind, sf: SearchField) -> tuple[str, Kind, str, str]:
    """``(column key, kind, record key, field id)`` for a search field."""
    element, field = _split_field(sf.field_id, sf.element_name or root)
    if not field:
        field = sf.field_id
    if sf.element_name and ":" not in sf.field_id:
        element = sf.element_name
    kind = kind_of(element)
    if kind is None:
        raise HttpError(400, f"Unknown data type: {element}")
    key, display = _resolve_key(kind, field)
    fid = display.id if display is not None else _display_for_key(kind, key, field)
    same = element == root or (kind == root_kind and kind_of(root) == kind)
    col = fid.lower() if same else f"{element.replace(':', '_').lower()}_{fid.lower()}"
    return col, kind, key, fid


def _display_for_key(kind: Kind, key: str, field: str) -> str:
    """Prefer the display field that reads ``key`` (``xnat:mrSessionData/ID`` -> SESSION_ID)."""
    for f in fields_of(kind):
        if f.key == key:
            return f.id
    return field.rsplit("/", 1)[-1]


def search_document(ctx: RequestContext) -> bytes:
    req = ctx.request
    if (req.mimetype or "").lower() == "multipart/form-data":
        for _, part in req.files.items(multi=True):
            data: bytes = part.read()
            return data
        raise HttpError(422, "The search request holds no XML document.")
    return req.get_data(cache=True)


def run_search(ctx: RequestContext, document: bytes) -> Response:
    """Answer the search ``document`` (an ``xdat:bundle``) for the requesting user."""
    try:
        bundle = parse_bundle(document)
    except SearchBundleError as exc:
        raise HttpError(422, str(exc)) from exc
    root = bundle.root_element
    root_kind = kind_of(root)
    if root_kind is None:
        raise HttpError(400, f"Unknown data type: {root}")
    records = _Records(ctx)
    fields = list(bundle.fields)
    if not fields:
        fields = [
            SearchField(root, fid, i, "string", "")
            for i, fid in enumerate(_DEFAULT_FIELDS[root_kind])
        ]
    columns: list[tuple[str, Kind, str]] = []
    props: list[dict[str, str]] = []
    seen: set[str] = set()
    for sf in fields:
        col, kind, key, fid = _column_key(root, root_kind, sf)
        if col in seen:
            continue
        seen.add(col)
        display = _display_field(kind, fid)
        element = sf.element_name or root
        columns.append((col, kind, key))
        props.append(
            {
                "key": col,
                "element_name": element,
                "id": fid,
                "xPATH": f"{element}.{fid}",
                "header": sf.header or (display.header if display else fid),
                "type": sf.type or (display.type if display else "string"),
            }
        )
    for col, key in KEY_COLUMNS[root_kind]:
        if col not in seen:
            seen.add(col)
            columns.append((col, root_kind, key))
            props.append(
                {
                    "key": col,
                    "element_name": root,
                    "id": col.upper(),
                    "xPATH": f"{root}.{col.upper()}",
                    "header": col,
                    "type": "string",
                    "visible": "false",
                }
            )
    rows = []
    for rec in records.roots(root, root_kind):
        project = rec.get("project", "")
        if not ctx.is_admin and not can_read(ctx.store, ctx.user, project):
            continue
        if not bundle.where.evaluate(_resolver(records, root, root_kind, rec)):
            continue
        row = {}
        for col, kind, key in columns:
            target = records.related(root_kind, rec, kind)
            row[col] = target.get(key, "") if target is not None else ""
        rows.append(row)
    meta = {"totalRecords": len(rows), "rootElementName": root}
    return ctx.table([c for c, _, _ in columns], rows, meta=meta, column_props=props)


def _resolver(
    records: _Records, root: str, root_kind: Kind, rec: dict[str, str]
) -> Callable[[str], str | None]:
    def resolve(schema_field: str) -> str | None:
        element, field = _split_field(schema_field, root)
        kind = kind_of(element)
        if kind is None or not field:
            return None
        target = records.related(root_kind, rec, kind)
        if target is None:
            return None
        key, _ = _resolve_key(kind, field)
        return target.get(key)

    return resolve
