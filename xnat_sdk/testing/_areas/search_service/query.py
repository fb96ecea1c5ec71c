"""``POST /data/search`` of the local XNAT server: ``xdat:bundle`` searches over the store.

The body (raw XML, or the one XML part of a multipart form) is parsed by
:mod:`xnat_sdk.testing._areas.search_service.bundle`; one root element type (projects,
subjects, an experiment type, a scan type, or the abstract ``xnat:imageSessionData``/
``xnat:experimentData``/``xnat:imageScanData``) is answered from flat records built from the
store. Criteria may name fields of the root element or of its parents (subject, project; the
session of a scan) as display-field IDs (``xnat:mrSessionData/LABEL``,
``xnat:mrSessionData.LABEL``) or XML paths (``xnat:mrSessionData/label``,
``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender``: a field of a
single child element, read through the ``xsi:type`` named, or its declared type; one that
names nothing answers 500, as XNAT's query fails to build).

Response: a ResultSet with ``Columns`` (JSON), ``totalRecords`` and ``rootElementName``, in
``format=json`` (default), ``csv`` or ``xml``, keyed as XNAT keys them
(``SearchResource.setColumnProperties``, ``DisplaySearch.getSQLQuery``): one column per
search field, the display field's ID lower-cased (``project``, ``session_id``; an XML path
that no display field is made of gets ``XNAT_COL_...``, ``xnat_col_mrsessiondatalabel``),
prefixed by the element's SQL name (``xnat_subjectdata_``) for another element than the
root, then ``quarantine_status`` (the root's ``meta/status``). A search naming no field gets
the element's listing fields and the key columns clients build URIs from. Rows are sorted
by the first column unless ``sortBy`` is given (``defaultToSortedListings``), and limited to
projects the user can read. Invalid XML or another document -> 422. Subjects and
experiments have XNAT's ``PROJECTS`` display field (:meth:`_Records.projects_field`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.xsd import FieldDef, SchemaInfo, schema_of
from xnat_sdk.testing._areas.inspect_service.display_fields import (
    KEY_COLUMNS,
    DisplayField,
    Kind,
    fields_of,
    kind_of,
)
from xnat_sdk.testing._areas.inspect_service.records import (
    experiment_records,
    project_records,
    scan_records,
    subject_records,
)
from xnat_sdk.testing._areas.permissions.access import readable_through_shares
from xnat_sdk.testing._areas.prearchive.access import can_read
from xnat_sdk.testing._areas.search_service.bundle import (
    CriteriaSet,
    Criterion,
    FieldKind,
    Resolved,
    SearchBundleError,
    SearchField,
    SearchQueryFailed,
    compare_typed,
    holds,
    parse_bundle,
)
from xnat_sdk.testing._areas.search_service.joins import (
    JOINED,
    Through,
    display_kind,
    field_kind,
    steps,
    through,
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


_MULTIPLE = "\x00multiple"
"""What :func:`_part_key` answers for a path through a repeated element (``scans/scan``)."""


def _part_key(schema: SchemaInfo, xsi: str, field: str) -> str | None:
    """The record key of an XML path through an element of a named complex type (``xnat:
    subjectData`` ``demographics[@xsi:type=xnat:demographicData]/gender`` ->
    ``demographics/gender``): see :func:`_walk`."""
    walked = _walk(schema, xsi, field)
    return walked[0] if walked is not None else None


def _walk(schema: SchemaInfo, xsi: str, field: str) -> tuple[str, FieldDef | None] | None:
    """(record key, schema field) of an XML path, walked as XFT walks it
    (``GenericWrapperElement.getTableAndFieldGrandSQLForXMLPath``): at each step the rest is
    a field of the current type, or the head is an element of a named complex type, whose
    fields are those of its declared type, or of the ``[@xsi:type=...]`` named
    (``demographics/gender`` names nothing: ``gender`` is not a field of
    ``xnat:abstractDemographicData``). None for a path that names nothing; the key is
    :data:`_MULTIPLE` through a repeated element, "" when the path's first step is no such
    element (another path, left to the caller; the field is then the one the whole path
    names in ``xsi``, if any)."""
    found_steps = steps(field)
    if found_steps is None:
        return "", None
    plain = "/".join(name for name, _ in found_steps)
    if len(found_steps) < 2:
        return "", schema.field(xsi, plain)
    prefix, current, index = "", xsi, 0
    while index < len(found_steps):
        rest = "/".join(name for name, _ in found_steps[index:])
        found = schema.field(current, rest)
        if found is not None:
            return prefix + found.path, found
        ref = next(
            (
                (j, made)
                for j in range(len(found_steps) - 1, index, -1)
                if (made := schema.ref(current, "/".join(n for n, _ in found_steps[index:j])))
            ),
            None,
        )
        if ref is None:
            return ("", None) if index == 0 else None
        j, (declared, repeated) = ref
        if repeated:
            return _MULTIPLE, None
        wanted = found_steps[j - 1][1]
        current = (schema.canonical(wanted) or "") if wanted else declared
        if not current:
            return None  # GenericWrapperElement.GetElement: no such type
        prefix += "/".join(name for name, _ in found_steps[index:j]) + "/"
        index = j
    return None


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
        self.schema = schema_of(ctx)
        self.shares: dict[tuple[str, str], list[dict[str, str]]] = {}
        for r in store.query("SELECT kind, object_id, project, label FROM shares"):
            label = r[3] or ""  # none for a share made without one
            self.shares.setdefault((r[0], r[1]), []).append({"project": r[2], "label": label})
        for rec in self.subjects.values():
            rec["projects"] = self.projects_field("subject", rec)
        for rec in self.experiments.values():
            rec["projects"] = self.projects_field("experiment", rec)
        self.scans_of: dict[str, list[dict[str, str]]] = {}
        for scan in self.scans:
            self.scans_of.setdefault(scan.get("image_session_id", ""), []).append(scan)
        self.custom: dict[tuple[str, str], list[dict[str, str]]] = {}
        for r in store.query("SELECT kind, owner_id, name, value FROM custom_fields"):
            item = {"name": str(r[2]), "field": str(r[3] if r[3] is not None else "")}
            self.custom.setdefault((str(r[0]), str(r[1])), []).append(item)
        self._scan_fields: dict[tuple[str, str, str], tuple[str, FieldKind] | None] = {}

    def projects_field(self, kind: Kind, rec: dict[str, str]) -> str:
        """The ``PROJECTS`` display field of a subject or experiment: its primary project and
        those it is shared into, each in angle brackets, comma-separated, labels left out.
        An experiment's is ``<A>,<B>``: the ``{TYPE}_PROJECTS`` view of its type's display
        document, ``'<' || expt.project || '>' || xs_a_concat(',<' || shared.project ||
        '>')`` over ``xnat_experimentData_share`` (xnat-web ``src/main/resources/schemas/
        xnat/display/mrSessionData_display.xml``'s ``MR_PROJECTS``, ``xnat_ctSessionData_
        display.xml``'s ``XNAT_CTSESSIONDATA_PROJECTS``; xnat ``libs/xdat/src/main/java/org/
        nrg/xft/generators/JavaFileGenerator.java`` ``generateDisplayFile`` writes the same
        for other types). A subject's is ``,<A>,<B>`` (``SUB_PROJECTS`` of
        ``subjectData_display.xml`` starts with ``',<'``, over ``xnat_projectParticipant``).
        ``xs_a_concat`` is ``textcat`` from ``''`` (``GenericWrapperUtils.java``), which
        skips the NULL of no share."""
        shared = "".join(
            f",<{s['project']}>" for s in self.shares.get((kind, str(rec.get("id", ""))), [])
        )
        lead = "," if kind == "subject" else ""
        return f"{lead}<{rec.get('project', '')}>{shared}"

    def items(self, kind: Kind, rec: dict[str, str], prefix: str) -> list[dict[str, str]]:
        """The items of the repeated child ``prefix`` (one of :data:`joins.JOINED`) of a
        record: a session's scans, the custom fields (``name``, ``field``) of a project,
        subject or experiment, the shares (``project``, ``label``) of a subject or experiment.
        XNAT shares a session's scans with it, each labelled by its ID
        (``SecureResource.shareExperimentToProject``: ``shareAllScans``)."""
        rid = str(rec.get("id", ""))
        if prefix == "scans/scan":
            return self.scans_of.get(rid, []) if kind == "experiment" else []
        if prefix == "fields/field":
            return self.custom.get((kind, rid), []) if kind != "scan" else []
        if kind == "scan":
            found = self.shares.get(("experiment", rec.get("image_session_id", "")), [])
            return [{"project": s["project"], "label": rid} for s in found]
        return self.shares.get((kind, rid), []) if kind != "project" else []

    def item_value(self, via: Through, item: dict[str, str] | None) -> Resolved:
        """The field ``via.rest`` of one item of a repeated child (None: the record has no
        item, the ``LEFT JOIN``'s NULL), typed as its schema field."""
        if item is None:
            return Resolved(None)
        if via.prefix != "scans/scan":  # fields/field: name, field; sharing/share
            return Resolved(item.get(via.rest.lower()), "string")
        xsi = item.get("xsi_type", "")
        found = self._scan_field(xsi, via)
        if found is None:
            return Resolved(None)
        return Resolved(item.get(found[0]), found[1])

    def _scan_field(self, xsi: str, via: Through) -> tuple[str, FieldKind] | None:
        """The record key and comparison of ``via.rest`` of a scan of type ``xsi`` (None: not
        of ``via.xsi``), worked out once per type in a search."""
        cached = (xsi, via.xsi, via.rest)
        if cached in self._scan_fields:
            return self._scan_fields[cached]
        found: tuple[str, FieldKind] | None = None
        if not via.xsi or self.schema.is_a(xsi, self.schema.canonical(via.xsi) or via.xsi):
            walked = _walk(self.schema, xsi, via.rest)
            key = walked[0] if walked is not None else ""
            if key in ("", _MULTIPLE):
                key = _xpath_key("scan", via.rest)
            found = (key, field_kind(walked[1] if walked is not None else None))
        self._scan_fields[cached] = found
        return found

    def roots(self, element: str, kind: Kind) -> list[dict[str, str]]:
        if kind == "project":
            return list(self.projects.values())
        if kind == "subject":
            return list(self.subjects.values())
        # a type and those derived from it (QC assessors are image assessors, derived data and
        # experiments, not subject assessors)
        root = self.schema.canonical(element) or element
        rows = list(self.experiments.values()) if kind == "experiment" else list(self.scans)
        return [r for r in rows if self.schema.is_a(r["xsi_type"], root)]

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


_REMOVE_CHARS = re.compile(r"[/@\[\]]")
_TO_UNDERSCORE = re.compile(r"[ .!#$%&'()*+\-;<=>?\"\\^`{|}~]")


def clean_column_name(raw: str) -> str:
    """XNAT's ``XftStringUtils.cleanColumnName``: ``/@[]`` dropped, ``:`` -> ``_col_``,
    ``,`` -> ``_com_``, other punctuation -> ``_`` (``xnat:mrSessionData/label`` ->
    ``xnat_col_mrSessionDatalabel``)."""
    text = _REMOVE_CHARS.sub("", raw).replace(":", "_col_").replace(",", "_com_")
    return _TO_UNDERSCORE.sub("_", text)


@dataclass(frozen=True)
class _Column:
    """One result column: its key, where its value comes from, and its ``Columns`` entry."""

    key: str
    kind: Kind
    record_key: str
    props: dict[str, str]
    #: an ``xs:boolean`` field's: its INTEGER column holds 0/1 (``DBAction.ValueParser``)
    boolean: bool = False

    def value(self, rec: dict[str, str] | None) -> str:
        """The column's value for a record (None: no related record)."""
        found = rec.get(self.record_key, "") if rec is not None else ""
        if self.boolean and found.strip():
            return "1" if found.strip().lower() in ("true", "1") else "0"
        return found


def _path_display(kind: Kind, field: str) -> DisplayField | None:
    """The display field made of the one schema field ``field`` (``getDisplayFieldForXMLPath``)."""
    low = field.lower()
    for f in fields_of(kind):
        if f.path and f.path.lower() == low:
            return f
    return None


def _field_display(
    element: str, kind: Kind, fid: str, schema: SchemaInfo
) -> tuple[str, Kind, str] | None:
    """``(display field ID, kind of the value, record key)`` of a search field ``fid`` of
    ``element`` (``BaseXdatStoredSearch.getDisplaySearch`` -> ``DisplaySearch.addDisplayField``):
    a display field ID of the element; else an XML path (a bare name is taken under the
    element) matched to the display field made of that one schema field, else a field made
    for it named ``cleanColumnName(path)`` upper-cased (``SchemaElement.
    createDisplayFieldForXMLPath``: ``xnat:mrSessionData/label`` ->
    ``XNAT_COL_MRSESSIONDATALABEL``). ``None`` for a path that names nothing or goes through
    a repeated element (``createDisplayFieldForXMLPath`` makes no field when
    ``IsMultipleReference``; ``addDisplayField`` logs and drops it)."""
    for f in fields_of(kind):
        if f.id == fid:
            return f.id, kind, f.key
    dotted = re.fullmatch(r"([A-Za-z]+:[A-Za-z]+)\.([A-Za-z_0-9]+)", fid)
    if dotted is not None and kind_of(dotted.group(1)) is not None:
        dkind = kind_of(dotted.group(1))
        assert dkind is not None
        display = _display_field(dkind, dotted.group(2))
        if display is not None:
            return display.id, dkind, display.key
    made = "XNAT_COL_" + element.split(":", 1)[-1].upper()
    if fid.upper().startswith(made) and len(fid) > len(made):
        # a field made for an XML path earlier (XNAT keeps it in the element's display)
        return fid.upper(), kind, _xpath_key(kind, fid[len(made) :].lower())
    path = fid if "/" in fid or ":" in fid else f"{element}/{fid}"
    path_element, field = _split_field(path, element)
    pkind = kind_of(path_element)
    if pkind is None or not field:
        return None
    if path_element == element:
        display = _path_display(pkind, field)
        if display is not None:
            return display.id, pkind, display.key
    part = _part_key(schema, schema.canonical(path_element) or path_element, field)
    if part is None or part == _MULTIPLE:
        return None
    return clean_column_name(path).upper(), pkind, part or _xpath_key(pkind, field)


def _search_column(root: str, sf: SearchField, schema: SchemaInfo) -> _Column | None:
    """The result column of a search field (``SearchResource.setColumnProperties``: the key
    is the display field's row ID lower-cased, prefixed by the element's SQL name,
    ``xnat_subjectdata_``, when the field belongs to another element than the root)."""
    element = sf.element_name or root
    kind = kind_of(element)
    if kind is None:
        raise HttpError(400, f"Unknown data type: {element}")
    found = _field_display(element, kind, sf.field_id.strip(), schema)
    if found is None:
        return None
    did, value_kind, record_key = found
    same = element.lower() == root.lower()
    key = did.lower() if same else f"{element.replace(':', '_').lower()}_{did.lower()}"
    display = _display_field(value_kind, did)
    made = _made_field(element, sf.field_id.strip(), schema) if display is None else None
    props = {
        "key": key,
        "element_name": element,
        "id": did,
        "xPATH": f"{element}.{did}",
        "header": sf.header or " ",
        # a field made for an XML path has its schema field's XML type (``setDataType``)
        "type": display.type if display is not None else _local_type(made),
    }
    boolean = made is not None and made.xstype == "xs:boolean"
    return _Column(key, value_kind, record_key, props, boolean)


def _made_field(element: str, fid: str, schema: SchemaInfo) -> FieldDef | None:
    """The schema field of a search field given as an XML path (None: another kind)."""
    path = fid if "/" in fid or ":" in fid else f"{element}/{fid}"
    path_element, field = _split_field(path, element)
    walked = _walk(schema, schema.canonical(path_element) or path_element, field)
    return walked[1] if walked is not None else None


def _local_type(field: FieldDef | None) -> str:
    """``XMLType.getLocalType`` of a schema field (``xs:boolean`` -> ``boolean``)."""
    return field.xstype.split(":", 1)[-1] if field is not None else "string"


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
    if schema_of(ctx).canonical(root) is None:
        # Permissions.canQuery: GenericWrapperElement.GetElement throws, so "no" (403)
        raise HttpError(403, None)
    root_kind = kind_of(root)
    if root_kind is None:
        raise HttpError(400, f"Unknown data type: {root}")
    records = _Records(ctx)
    _check_criteria(records.schema, root, bundle.where.schema_fields())
    columns = _columns(root, root_kind, bundle.fields, records.schema)
    try:
        plans = _plans(records.schema, root, bundle.where)
    except SearchQueryFailed:
        raise HttpError(500, None) from None
    rows = []
    readable = _readable(ctx, root_kind)
    for rec in records.roots(root, root_kind):
        if not readable(rec):
            continue
        try:
            if not _matches(records, bundle.where, plans, root_kind, rec):
                continue
        except SearchQueryFailed:
            raise HttpError(500, None) from None
        row = {}
        for column in columns:
            row[column.key] = column.value(records.related(root_kind, rec, column.kind))
        row["quarantine_status"] = rec.get("status") or "active"
        rows.append(row)
    if columns and not ctx.q("sortBy"):
        first = columns[0].key
        rows.sort(key=lambda r: _order(r.get(first)))
    props = [c.props for c in columns] + [{"key": "quarantine_status"}]
    meta = {"totalRecords": len(rows), "rootElementName": root}
    keys = [c.key for c in columns] + ["quarantine_status"]
    return ctx.table(keys, rows, meta=meta, column_props=props)


def _readable(ctx: RequestContext, root_kind: Kind) -> Callable[[dict[str, str]], bool]:
    """Which records the user may read: those of a readable project and, as XNAT's search
    applies the user's permissions (read through ``{type}/sharing/share/project`` too, see
    ``access.can_read_object``), the subjects and experiments shared into one (a scan
    with its session, which shares its scans). Each appears once, in its primary project."""
    if ctx.is_admin:
        return lambda rec: True
    kind = "subject" if root_kind == "subject" else "experiment"
    shared = readable_through_shares(ctx.store, ctx.user, kind) if root_kind != "project" else set()
    key = "image_session_id" if root_kind == "scan" else "id"

    def readable(rec: dict[str, str]) -> bool:
        if can_read(ctx.store, ctx.user, rec.get("project", "")):
            return True
        return str(rec.get(key, "")) in shared

    return readable


def _order(value: str | None) -> tuple[int, float, str]:
    text = value or ""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text.lower())


def _columns(
    root: str, root_kind: Kind, fields: Iterable[SearchField], schema: SchemaInfo
) -> list[_Column]:
    """The result columns: one per search field XNAT can resolve (in order, repeats
    dropped); a search naming no field gets the element's listing fields and the key
    columns clients build URIs from."""
    requested = list(fields)
    columns: list[_Column] = []
    seen: set[str] = set()
    for sf in requested or [
        SearchField(root, fid, i, "string", "") for i, fid in enumerate(_DEFAULT_FIELDS[root_kind])
    ]:
        column = _search_column(root, sf, schema)
        if column is not None and column.key not in seen:
            seen.add(column.key)
            columns.append(column)
    if requested:
        return columns
    for key, record_key in KEY_COLUMNS[root_kind]:
        if key not in seen:
            seen.add(key)
            hidden = {"key": key, "element_name": root, "id": key.upper(), "header": key}
            columns.append(_Column(key, root_kind, record_key, {**hidden, "visible": "false"}))
    return columns


def _check_criteria(schema: SchemaInfo, root: str, fields: Iterable[str]) -> None:
    """Answer 500 for a criterion whose XML path names nothing through an element of a named
    type (``xnat:subjectData/demographics/gender``): ``XdatCriteria.buildDisplaySearchCriteria``
    logs the ``FieldNotFoundException`` and returns null, which ``CriteriaCollection`` keeps
    and the query then fails on."""
    for schema_field in fields:
        element, field = _split_field(schema_field, root)
        xsi = schema.canonical(element) or element
        if kind_of(element) is not None and field and _part_key(schema, xsi, field) is None:
            raise HttpError(500, None)


_Joined = dict[tuple[Kind, str], "dict[str, str] | None"]
"""One row of the join: the item chosen of each repeated child the criteria name."""


@dataclass(frozen=True)
class _Plan:
    """How a criterion's schema field is read from a row, worked out once per search: the
    kind of its element (None: no such element, or no field), the joined repeated child it
    goes through, else its record key (None: another repeated child, not joined here: no
    value), how it compares and whether it is a display field (``DisplayCriteria``)."""

    kind: Kind | None
    via: Through | None = None
    key: str | None = None
    compare: FieldKind = ""
    display: bool = False


def _plan(schema: SchemaInfo, root: str, schema_field: str) -> _Plan:
    element, field = _split_field(schema_field, root)
    kind = kind_of(element)
    if kind is None or not field:
        return _Plan(None)
    via = through(field)
    if via is not None and kind in JOINED[via.prefix]:
        return _Plan(kind, via)
    display = next((f for f in fields_of(kind) if f.id == field), None)
    if display is not None:  # XdatCriteria: a display field ID (case kept) first
        return _Plan(kind, key=display.key, compare=display_kind(display.type), display=True)
    walked = _walk(schema, schema.canonical(element) or element, field)
    if walked is not None and walked[0] == _MULTIPLE:
        return _Plan(kind)
    key = (walked[0] if walked is not None else "") or _resolve_key(kind, field)[0]
    return _Plan(kind, key=key, compare=field_kind(walked[1] if walked is not None else None))


def _plans(schema: SchemaInfo, root: str, where: CriteriaSet) -> dict[str, _Plan]:
    """The :class:`_Plan` of each schema field the criteria name; raises
    :class:`SearchQueryFailed` for a value the SQL of its field's type refuses (a number
    field's value that is no number), as XNAT's query fails whatever the rows."""
    plans = {f: _plan(schema, root, f) for f in where.schema_fields()}
    for criterion in _criteria_of(where):
        plan = plans[criterion.schema_field]
        if plan.compare:  # a dummy stored value: the criterion's value is parsed the same
            compare_typed(
                "0", criterion.comparison, criterion.value, plan.compare, display=plan.display
            )
    return plans


def _criteria_of(where: CriteriaSet) -> Iterable[Criterion]:
    for child in where.children:
        if isinstance(child, Criterion):
            yield child
        else:
            yield from _criteria_of(child)


def _joins(plans: dict[str, _Plan]) -> list[tuple[Kind, str]]:
    """The repeated children (kind of their owner, path) the criteria's fields go through."""
    found: list[tuple[Kind, str]] = []
    for plan in plans.values():
        joined = (plan.kind, plan.via.prefix) if plan.kind and plan.via else None
        if joined is not None and joined not in found:
            found.append(joined)
    return found


def _matches(
    records: _Records,
    where: CriteriaSet,
    plans: dict[str, _Plan],
    root_kind: Kind,
    rec: dict[str, str],
) -> bool:
    """Whether the criteria hold for ``rec`` in one row of its join with the items of the
    repeated children the criteria name (:func:`_joins`; a child without items: one row of
    NULLs). Of a child's items only one of each outcome of the criteria on it is tried
    (:func:`_distinct`): the rows of 300 scans and 300 custom fields are not 90,000."""
    joins = _joins(plans)
    choices: list[list[dict[str, str] | None]] = []
    for kind, prefix in joins:
        target = records.related(root_kind, rec, kind)
        found = records.items(kind, target, prefix) if target is not None else []
        if len(joins) > 1:  # (one child's rows are its items: nothing multiplies)
            on = [
                (c, via)
                for c in _criteria_of(where)
                if (via := plans[c.schema_field].via) is not None
                and (plans[c.schema_field].kind, via.prefix) == (kind, prefix)
            ]
            found = _distinct(records, on, found)
        choices.append(list(found) or [None])
    for combination in itertools.product(*choices):
        joined: _Joined = dict(zip(joins, combination, strict=True))
        if where.evaluate(_resolver(records, plans, root_kind, rec, joined)):
            return True
    return False


def _distinct(
    records: _Records, on: list[tuple[Criterion, Through]], items: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The first of ``items`` of each outcome of the criteria ``on`` them (held, not held,
    failed): the criteria's outcome in a row depends on its item of this child only through
    these, so the others change no answer (the first of each keeps the order in which rows
    are tried, and so which failure a failing query meets first)."""
    kept: dict[tuple[bool | None, ...], dict[str, str]] = {}
    for item in items:
        outcome: list[bool | None] = []
        for criterion, via in on:
            try:
                outcome.append(holds(records.item_value(via, item), criterion))
            except SearchQueryFailed:
                outcome.append(None)
        kept.setdefault(tuple(outcome), item)
    return list(kept.values())


def _resolver(
    records: _Records,
    plans: dict[str, _Plan],
    root_kind: Kind,
    rec: dict[str, str],
    joined: _Joined,
) -> Callable[[str], Resolved]:
    def resolve(schema_field: str) -> Resolved:
        plan = plans[schema_field]
        if plan.kind is None:
            return Resolved(None)
        target = records.related(root_kind, rec, plan.kind)
        if target is None:
            return Resolved(None)
        if plan.via is not None:
            return records.item_value(plan.via, joined[plan.kind, plan.via.prefix])
        if plan.key is None:
            return Resolved(None)
        return Resolved(target.get(plan.key), plan.compare, display=plan.display)

    return resolve
