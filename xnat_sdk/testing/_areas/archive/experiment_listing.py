"""Experiment listings: ``/data/experiments``, ``/data/projects/{P}/experiments``,
``.../subjects/{S}/experiments`` and ``{experiment}/assessors`` (``xsiType=`` filters,
scan columns joined in by ``columns=``). A project's listing answers its sessions and subject
assessors, or with an image assessor type in ``xsiType=`` its assessors of that type
(``ProjSubExptList``: the type is the query's root; ``session_ID`` in ``columns=`` tells
each one's session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.lookup import resolve
from xnat_sdk.testing._areas.archive.tables import answer, narrowed_root
from xnat_sdk.testing._areas.archive.xsd import schema_of
from xnat_sdk.testing._areas.permissions.access import (
    readable_projects,
    readable_through_shares,
)
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.store import loads_data

__all__ = ["assessor_list", "experiment_list"]


def _experiment_rows(
    ctx: RequestContext,
    *,
    project: str | None,
    subject_id: str | None,
    session_id: str | None,
    assessors: bool,
    substitute: bool = True,
    own_session: bool = False,
) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """The rows of an experiments listing, with the primary values (XNAT's query reads and
    filters those); in a project's, a shared experiment's row also holds (under
    :data:`_SHARE`) its share's ``label`` (when the share has one), ``project`` and
    ``subject_label`` (when its subject is shared into the project with a label), which
    :func:`answer` puts in after the filters, unless ``substitute`` is false.
    ``own_session``: the root is an image session type, so the ``session_*`` columns
    (``xnat:imagesessiondata/...``) are the row's own ID, primary label and project."""
    store = ctx.store
    base = (
        "SELECT e.*, e.rowid AS row_order, {share} AS share_label, {sproj} AS share_project, "
        "{ssub} AS share_subject_label, s.label AS subject_label, s.project AS subject_project, "
        "ss.label AS session_label, ss.project AS session_project "
        "FROM experiments e LEFT JOIN subjects s ON s.id = e.subject_id "
        "LEFT JOIN experiments ss ON ss.id = e.session_id "
    )
    params: list[Any] = []
    if session_id is not None:
        sql = base.format(share="NULL", sproj="NULL", ssub="NULL") + "WHERE e.session_id=?"
        params = [session_id]
    elif project is not None:
        cond = "e.session_id IS NULL" if not assessors else "1=1"
        sub = " AND e.subject_id=?" if subject_id else ""
        sql = (
            base.format(share="NULL", sproj="NULL", ssub="NULL")
            + f"WHERE e.project=? AND {cond}{sub} UNION ALL "
            + base.format(share="sh.label", sproj="sh.project", ssub="ssh.label")
            + "JOIN shares sh ON sh.object_id = e.id AND sh.kind='experiment' "
            + "LEFT JOIN shares ssh ON ssh.object_id = e.subject_id AND ssh.kind='subject' "
            + "AND ssh.project = sh.project "
            + f"WHERE sh.project=? AND {cond}{sub}"
        )
        params = [project] + ([subject_id] if subject_id else [])
        params += [project] + ([subject_id] if subject_id else [])
    else:
        sql = base.format(share="NULL", sproj="NULL", ssub="NULL") + "WHERE 1=1"
    allowed = readable_projects(store, ctx.user) if project is None and session_id is None else None
    shared = (
        readable_through_shares(store, ctx.user, "experiment") if allowed is not None else set()
    )
    for r in store.query(sql + " ORDER BY row_order", params):
        if allowed is not None and r["project"] not in allowed and r["id"] not in shared:
            continue
        data = loads_data(r["data"])
        row = {
            "ID": r["id"],
            "project": r["project"],
            "label": r["label"],
            "date": r["date"] or "",
            "xsiType": r["xsi_type"],
            "insert_date": r["insert_date"],
            "insert_user": r["insert_user"],
            "last_modified": r["last_modified"] or r["insert_date"],
            "subject_ID": r["subject_id"] or "",
            "subject_label": r["subject_label"] or "",
            "subject_project": r["subject_project"] or "",
            "session_ID": r["session_id"] or "",
            "session_label": r["session_label"] or "",
            "session_project": r["session_project"] or "",
            **(_own_session(r) if own_session else {}),
            "URI": f"/data/experiments/{r['id']}",
            "xnat:subjectassessordata/id": r["id"],
            "xnat:imageassessordata/id": r["id"],
            # the assessor's own column for its session (``sqlField imageSession_ID``)
            "xnat:imageassessordata/imagesession_id": r["session_id"] or "",
        }
        if substitute and r["share_project"] is not None:
            row[_SHARE] = _share_values(r)
        yield row, data


#: the private key of a row holding what its share puts in it (:func:`_share_values`)
_SHARE = "\0share"


def _share_values(r: Any) -> dict[str, str]:
    """What ``ProjSubExptList`` puts into a shared experiment's row after its query (so its
    filters saw the primary values): the share's label, the sharing project and the subject's
    label in that project, each only when not empty."""
    values = {
        "label": r["share_label"],
        "project": r["share_project"],
        "subject_label": r["share_subject_label"],
    }
    return {k: v for k, v in values.items() if v}


def _split_shares(
    rows: list[tuple[dict[str, Any], dict[str, str]]],
) -> dict[str, dict[str, str]]:
    """Take the share values out of ``rows``: ``{experiment ID: values}``."""
    return {str(r["ID"]): r.pop(_SHARE) for r, _ in rows if _SHARE in r}


def _own_session(r: Any) -> dict[str, str]:
    return {"session_ID": r["id"], "session_label": r["label"], "session_project": r["project"]}


def _filter_xsi(
    ctx: RequestContext, rows: Iterator[tuple[dict[str, Any], dict[str, str]]]
) -> tuple[list[tuple[dict[str, Any], dict[str, str]]], str | None]:
    x = ctx.q("xsiType")
    if not x:
        return list(rows), None
    schema = schema_of(ctx)
    if "," in x:  # not a root: the columns make it, and nothing filters on xsiType
        return list(rows), None
    canon = schema.canonical(x) or x
    out = [r for r in rows if schema.is_a(r[0]["xsiType"], canon) or r[0]["xsiType"] == canon]
    pk = canon.lower() + "/id"
    for r, _ in out:
        r[pk] = r["ID"]
    return out, pk


#: Experiment root types that are not secured elements in XNAT (abstract bases).
_UNSECURED_ROOTS = {
    "xnat:experimentData",
    "xnat:subjectAssessorData",
    "xnat:imageSessionData",
    "xnat:imageAssessorData",
    "xnat:derivedData",
}


def _join_scans(
    ctx: RequestContext, rows: list[tuple[dict[str, Any], dict[str, str]]]
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """One row per (experiment, scan) when ``columns=`` names scan XPaths, as XNAT's join does.

    ``columns=ID,xnat:mrScanData/ID`` gives the scans of each session in column
    ``xnat:mrscandata/id``; a session without such scans keeps one row with empty values.

    XNAT (xnat-web ``ProjSubExptList.getRepresentation``, ``SecureResource.populateQuery``):
    a column with a ``/`` goes to ``QueryOrganizer.addField`` as an XPath, the query LEFT
    JOINs from the root element down to the scan table (so one row per scan, and one row of
    nulls for a session without scans), and ``formatHeaders`` names the column by the
    XPath the organizer keeps for its alias. ``xnat:imageScanData/extension_item/element_name``
    is the scan's own xsi type (the ``xsiType`` shortcut of the scans listing,
    ``ScanList``'s field mapping).
    """
    schema = schema_of(ctx)
    wanted: dict[str, tuple[str, str]] = {}
    for raw in (ctx.q("columns") or "").split(","):
        raw = raw.strip()
        element, _, field = raw.partition("/")
        canon = schema.canonical(element) if field else None
        if canon and schema.is_a(canon, "xnat:imageScanData"):
            wanted[raw.lower()] = (canon, field)
    if not wanted:
        return rows
    out: list[tuple[dict[str, Any], dict[str, str]]] = []
    for row, data in rows:
        joined = 0
        for s in ctx.store.query(
            "SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (row["ID"],)
        ):
            if not all(schema.is_a(s["xsi_type"], el) for el, _ in wanted.values()):
                continue
            sdata = loads_data(s["data"])
            low = {k.lower(): v for k, v in sdata.items()}
            extra: dict[str, Any] = {}
            for col, (_, field) in wanted.items():
                key = field.lower()
                if key == "id":
                    extra[col] = s["id"]
                elif key == "type":
                    extra[col] = s["type"]
                elif key == "extension_item/element_name":
                    extra[col] = s["xsi_type"]
                elif key == "xnat_imagescandata_id":
                    extra[col] = str(s["pk"])
                else:
                    extra[col] = low.get(key, "")
            out.append(({**row, **extra}, data))
            joined += 1
        if not joined:
            out.append(({**row, **{col: "" for col in wanted}}, data))
    return out


def _assessor_root(ctx: RequestContext) -> bool:
    """Whether ``xsiType=`` makes an image assessor type the query's root: XNAT's
    ``getRootElementName`` takes one type as given, checking nothing, so a project's
    experiments listing then answers the project's assessors of that type (owned or shared)."""
    x = ctx.q("xsiType") or ""
    if not x or "," in x:
        return False
    schema = schema_of(ctx)
    return schema.is_a(schema.canonical(x) or x, "xnat:imageAssessorData")


def _query_root(ctx: RequestContext, default: str) -> str:
    """The query's root element (``getRootElementName``): the one type ``xsiType=`` names,
    else ``default`` moved down by the columns and filters (:func:`narrowed_root`)."""
    x = ctx.q("xsiType") or ""
    if x and "," not in x:
        return schema_of(ctx).canonical(x) or x
    return narrowed_root(ctx, "experiment", default)


def _default_key(top: bool, unnarrowed: bool) -> str | None:
    """The key column of the default root (its PK's name: ``ID`` is the shortcut of
    ``xnat:experimentData/ID``); None for a narrowed root, which :func:`answer` keys."""
    if not unnarrowed:
        return None
    return "ID" if top else "xnat:subjectassessordata/id"


#: the one experiment root whose primary key XNAT names by a shortcut (``session_ID`` is
#: ``xnat:imagesessiondata/id``, ``XMLPathShortcuts``)
_SESSION_ROOT = "xnat:imageSessionData"


def experiment_list(ctx: RequestContext) -> Response:
    """``/data/experiments`` (``ExperimentListResource``) and a project's or a subject's
    experiments (``ProjSubExptList``). Both add the element name (``xsiType``) and ``project``
    to the query when its root is not a secured data type (an abstract base: the default
    roots, ``xnat:imageSessionData``), to check access row by row, so those columns come
    whatever ``columns=`` says; a root narrowed by a column or a filter
    (``xnat:mrSessionData/...``) is secured, adds neither, and is keyed by its own ID column
    (``xnat:mrsessiondata/id``). The root ``xnat:imageSessionData`` is keyed by
    ``session_ID`` (the shortcut of its ID's path), so a project's listing does not find
    ``{root}/ID`` and leaves out the share's label, project and subject label."""
    chain = resolve(ctx)
    top = chain.project is None
    default = "xnat:experimentData" if top else "xnat:subjectAssessorData"
    schema = schema_of(ctx)
    root = _query_root(ctx, default)
    renamed = (schema.canonical(root) or root) == _SESSION_ROOT
    rows, pk = _filter_xsi(
        ctx,
        _experiment_rows(
            ctx,
            project=chain.context_project,
            subject_id=chain.subject["id"] if chain.subject is not None else None,
            session_id=None,
            assessors=chain.subject is None and _assessor_root(ctx),
            substitute=not renamed,
            own_session=schema.is_a(root, _SESSION_ROOT),
        ),
    )
    if renamed:
        pk = "session_ID"
    shares = _split_shares(rows)
    cols = ["ID", "project", "date", "xsiType", "label", "insert_date"]
    rows = _join_scans(ctx, rows)
    if top:
        if schema.is_a(root, "xnat:subjectAssessorData"):
            cols += ["subject_ID", "subject_label"]
        elif schema.is_a(root, "xnat:imageAssessorData"):
            cols += ["session_ID", "session_label"]
    extra = ("xsiType", "project") if root in _UNSECURED_ROOTS else ()
    return answer(
        ctx,
        "experiment",
        rows,
        [*cols, "URI"],
        pk_column=pk or _default_key(top, root == default),
        title="Matching experiments" if top else None,
        pageable=True,
        extra_columns=extra,
        unknown_field="error" if top else "empty",
        root=default,
        raw_when_empty=True,
        overlay=shares,
    )


def assessor_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.experiment is not None
    rows, pk = _filter_xsi(
        ctx,
        _experiment_rows(
            ctx, project=None, subject_id=None, session_id=chain.experiment["id"], assessors=True
        ),
    )
    return answer(
        ctx,
        "experiment",
        rows,
        [
            "ID",
            "project",
            "label",
            "date",
            "xsiType",
            "insert_date",
            "session_ID",
            "session_label",
            "URI",
        ],
        pk_column=pk or "xnat:imageassessordata/id",
        root="xnat:imageAssessorData",
        filters=False,
        raw_when_empty=True,
        overlay=_assessor_share_labels(ctx, chain.context_project or chain.experiment["project"]),
    )


def _assessor_share_labels(ctx: RequestContext, project: str) -> dict[str, dict[str, str]]:
    """What ``ProjSubExptAsstList.represent`` puts into the rows after its query: the label
    of each assessor's share in the URL's project, or without one in the session's primary
    project (``assessed.getProject()``), where that share has a label; only the label (the
    project and the rest stay the assessor's own), and only with a ``label`` column."""
    found = ctx.store.query(
        "SELECT object_id, label FROM shares WHERE kind='experiment' AND project=?", (project,)
    )
    return {str(r["object_id"]): {"label": str(r["label"])} for r in found if r["label"]}
