"""The archive tree: projects, subjects, experiments, scans, reconstructions, assessors.

Routes (each also under ``/data/archive/...`` and ``/REST/...``):

* listings: ``/data/projects``, ``/data/subjects``, ``/data/projects/{P}/subjects``,
  ``/data/experiments``, ``/data/projects/{P}/experiments``,
  ``/data/projects/{P}/subjects/{S}/experiments``, ``{experiment}/scans``,
  ``{experiment}/assessors``, ``{experiment}/reconstructions``, ``/data/scanners``,
  ``/data/scan_types``, ``/data/projects/{P}/scan_types``;
* objects (GET ``format=json|xml``, PUT create/update, DELETE): ``/data/projects/{P}``,
  ``/data/projects/{P}/subjects/{S}``, ``/data/subjects/{S}``, experiments under a subject,
  a project or at top level, ``{experiment}/scans/{SC}``, ``{experiment}/reconstructions/{R}``,
  ``{experiment}/assessors/{A}``;
* sub-paths: ``.../projects`` (table), ``.../projects/{P2}`` (share PUT / unshare DELETE),
  ``.../status``; ``POST`` on the subject and experiment collections (§5.8).

Writes accept ``xsiType`` plus field values as shortcuts (``gender=``, ``date=``) or XPaths
(``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender=male``, custom
variables ``.../fields/field[name=x]/field=v``; ``NULL`` clears), or an XML document body.
"""

from __future__ import annotations

import datetime
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

import xnat_sdk.testing.objects as objects
import xnat_sdk.testing.render as render
from xnat_sdk.testing.auth import can_edit, can_see, readable_projects, visible_projects
from xnat_sdk.testing.listing import SHORTCUTS, answer
from xnat_sdk.testing.lookup import find_project, require_edit, resolve
from xnat_sdk.testing.routing import AuthMode, HttpError, RequestContext, Router
from xnat_sdk.testing.store import Store, dumps_data, loads_data
from xnat_sdk.testing.xsd import NAMESPACES, FieldDef, SchemaInfo, load_schema_info

__all__ = [
    "EXPERIMENT_PREFIXES",
    "PROJECT_PREFIX",
    "SUBJECT_PREFIXES",
    "register",
    "schema_of",
]

PROJECT_PREFIX = "/data/projects/{project}"
SUBJECT_PREFIXES = [PROJECT_PREFIX + "/subjects/{subject}", "/data/subjects/{subject}"]
EXPERIMENT_PREFIXES = [
    PROJECT_PREFIX + "/subjects/{subject}/experiments/{experiment}",
    PROJECT_PREFIX + "/experiments/{experiment}",
    "/data/experiments/{experiment}",
]

_CUSTOM = re.compile(r"^fields/field\[name=([^\]]+)\]/(field|name)$", re.IGNORECASE)
_PRED = re.compile(r"\[[^\]]*\]")


def schema_of(ctx: RequestContext) -> SchemaInfo:
    """The schema info of the server (cached)."""
    cfg = ctx.state.config
    return load_schema_info(cfg.schemas_dir, tuple(cfg.extra_schemas))


# ---------------------------------------------------------------------------------------
# write parameters
# ---------------------------------------------------------------------------------------


@dataclass
class Changes:
    """Field changes requested by a PUT (query and/or XML body)."""

    xsi_type: str | None = None
    data: dict[str, str | None] = field(default_factory=dict)
    custom: dict[str, str | None] = field(default_factory=dict)
    label: str | None = None
    scans: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    project: str | None = None
    """``<type>/project`` of the query string (XNAT refuses to move an object that way)."""


def _xsi_from_params(ctx: RequestContext) -> str | None:
    x = ctx.q("xsiType") or ctx.q("ELEMENT_0")
    if x:
        return x
    for k in ctx.query:
        head = k.split("/", 1)[0]
        if ":" in head and "/" in k:
            return head
    return None


def parse_changes(ctx: RequestContext, kind: str, schema: SchemaInfo) -> Changes:
    """Collect the field changes of a PUT (XML body first, then the query string)."""
    ch = Changes()
    if _has_xml_body(ctx):
        _parse_xml_body(ctx, kind, ch)
    x = _xsi_from_params(ctx)
    if x:
        ch.xsi_type = schema.canonical(x) or x
    shortcuts = SHORTCUTS["recon" if kind == "recon" else kind]
    for key, value in ctx.query.items(multi=True):
        if "[" in key and "]" not in key and "]" in value:
            # an unencoded ``=`` inside ``[name=x]``: rejoin key and value
            whole = key + "=" + value
            close = whole.index("]")
            cut = whole.index("=", close)
            key, value = whole[:cut], whole[cut + 1 :]
        val: str | None = None if value == "NULL" else value
        if "/" in key:
            head, _, path = key.partition("/")
            if ":" not in head:
                continue
            m = _CUSTOM.match(path)
            if m:
                if m.group(2).lower() == "field" or val is None:
                    ch.custom[m.group(1).lower()] = val
                continue
            path = _PRED.sub("", path)
            if path == "label":
                ch.label = value
                continue
            if path == "project":
                ch.project = value
                continue
            if path in ("ID", "id"):
                continue
            ch.data[path] = val
        elif key == "label":
            ch.label = value
        elif key in shortcuts:
            target = shortcuts[key]
            if target is None:
                if (kind == "project" and key in ("name", "secondary_ID", "description")) or (
                    kind in ("scan", "recon") and key in ("type", "baseScanType")
                ):
                    ch.data[key] = val
                continue
            ch.data[target] = val
    return ch


def _has_xml_body(ctx: RequestContext) -> bool:
    ctype = (ctx.request.mimetype or "").lower()
    if ctx.request.content_length == 0:
        return False
    if ctype == "multipart/form-data":
        # XNAT reads the document from the first file part of a form upload (pyxnat's create)
        return bool(ctx.request.files)
    return (
        ctype in ("text/xml", "application/xml")
        or ctx.flag("inbody")
        or ((ctx.q("req_format") or "").lower() == "xml")
    )


def _xml_body(ctx: RequestContext) -> bytes:
    """The XML document of the request: the body, or the first file of a multipart form."""
    if (ctx.request.mimetype or "").lower() == "multipart/form-data":
        for part in ctx.request.files.values():
            data: bytes = part.read()
            return data
    return ctx.request.get_data()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _parse_xml_body(ctx: RequestContext, kind: str, ch: Changes) -> None:
    raw = _xml_body(ctx)
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise HttpError(422, f"An error occurred parsing the XML: {exc}") from exc
    schema = schema_of(ctx)
    xsi = root.get(_XSI)
    if not xsi:
        name = _local(root.tag)
        for t in schema.types.values():
            if t.element == name:
                xsi = t.name
                break
    ch.xsi_type = xsi
    for k, v in root.attrib.items():
        if k.startswith("{"):
            continue
        if k == "label":
            ch.label = v
        elif k not in ("ID", "project"):
            ch.data[k] = v
    _walk(root, "", kind, ch)


def _walk(el: ET.Element, prefix: str, kind: str, ch: Changes) -> None:
    for child in el:
        name = _local(child.tag)
        if name == "fields":
            for f in child:
                n = f.get("name")
                if n:
                    ch.custom[n.lower()] = f.text or ""
            continue
        if name == "scans" and kind == "experiment":
            for s in child:
                fields: dict[str, str] = {}
                for k, v in s.attrib.items():
                    if not k.startswith("{"):
                        fields[k] = v
                _collect_simple(s, "", fields)
                ch.scans.append((s.get("ID", ""), s.get(_XSI, "xnat:imageScanData"), fields))
            continue
        if name in (
            "sharing",
            "resources",
            "experiments",
            "assessors",
            "reconstructions",
            "out",
            "in",
        ):
            continue
        path = prefix + name
        for k, v in child.attrib.items():
            if not k.startswith("{"):
                ch.data[f"{path}/{k}"] = v
        if len(child):
            _walk(child, path + "/", kind, ch)
        elif child.text is not None and child.text.strip():
            ch.data[path] = child.text.strip()


def _collect_simple(el: ET.Element, prefix: str, out: dict[str, str]) -> None:
    for child in el:
        name = _local(child.tag)
        if name == "file":
            continue
        path = prefix + name
        for k, v in child.attrib.items():
            if not k.startswith("{"):
                out[f"{path}/{k}"] = v
        if len(child):
            _collect_simple(child, path + "/", out)
        elif child.text and child.text.strip():
            out[path] = child.text.strip()


_TYPE_NAMES = {
    "xs:integer": "Integer",
    "xs:int": "Integer",
    "xs:long": "Long",
    "xs:short": "Short",
    "xs:float": "Float",
    "xs:double": "Double",
    "xs:decimal": "Decimal",
    "xs:boolean": "Boolean",
    "xs:date": "Date",
    "xs:dateTime": "Date",
}


def _value_problem(f: FieldDef, value: str) -> str | None:
    """What XNAT's validator (XFTValidator) says of ``value`` for field ``f``, or None:
    the XSD type, the maxLength facet, the enumeration (trimmed, any case)."""
    text = value.strip()
    if not text:
        return None  # an empty value clears the field
    xstype = f.xstype
    if xstype in _TYPE_NAMES and text.upper() not in ("INF", "NAN", "NULL"):
        try:
            if xstype in ("xs:integer", "xs:int", "xs:long", "xs:short"):
                int(text)
            elif xstype in ("xs:float", "xs:double", "xs:decimal"):
                float(text)
            elif xstype == "xs:boolean":
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
            elif "/" in text:
                datetime.datetime.strptime(text[:10], "%m/%d/%Y")
            else:
                datetime.date.fromisoformat(text[:10])
        except ValueError:
            return f"Must Be A Valid {_TYPE_NAMES[xstype]}"
    if f.max_length is not None and len(value) > f.max_length:
        return f"Must Be Less Than {f.max_length} Characters : Current Length ({len(value)})"
    if f.enumeration and text.lower() not in {e.strip().lower() for e in f.enumeration}:
        return f"'{value}' Must Match Pre-Defined Values...({','.join(f.enumeration)})"
    return None


def _canonical_paths(
    schema: SchemaInfo, xsi: str, data: dict[str, str | None]
) -> dict[str, str | None]:
    """``data`` keyed by the declared field paths. Values XNAT's validator refuses (type,
    maxLength, enumeration) are a 400 naming each field in XNAT's words; nothing is stored."""
    out: dict[str, str | None] = {}
    problems: list[str] = []
    for k, v in data.items():
        f = schema.field(xsi, k)
        if f is None and k.startswith("demographics/"):
            f = schema.field("xnat:demographicData", k.split("/", 1)[1])
            path = "demographics/" + f.path if f else k
        else:
            path = f.path if f else k
        problem = _value_problem(f, v) if f is not None and v is not None else None
        if problem is not None and f is not None:
            owner = f.owner or xsi
            namespace = NAMESPACES.get(owner.split(":", 1)[0], "")
            problems.append(
                f"The content of element '{owner}' is not complete. "
                f"'{{\"{namespace}\":{f.path}}}' {problem}\n"
            )
        out[path] = v
    if problems:
        raise HttpError(400, "".join(problems))
    return out


def _merge(old: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    new = dict(old)
    for k, v in changes.items():
        if v is None:
            new.pop(k, None)
        else:
            new[k] = v
    return new


def _apply_custom(
    db: sqlite3.Connection, kind: str, owner: str, custom: dict[str, str | None]
) -> None:
    for name, value in custom.items():
        objects.set_custom_field(db, kind, owner, name, value)


def _refuse_project_change(ch: Changes, project: str) -> None:
    """XNAT answers 409 to a PUT whose ``<type>/project`` differs from the owning project
    (moving takes ``.../projects/{P}?primary=true``); the same value is accepted."""
    if ch.project is not None and ch.project != project:
        raise HttpError(409, "Project must be modified through separate URI.")


def _validate_label(label: str, what: str) -> None:
    if not objects.VALID_ID.match(label):
        raise HttpError(417, f"Invalid character in {what} label.")


# ---------------------------------------------------------------------------------------
# GET representations
# ---------------------------------------------------------------------------------------


def _represent(ctx: RequestContext, node: render.ItemNode) -> Response:
    fmt = ctx.format or "html"
    schema = schema_of(ctx)
    if fmt == "json":
        return ctx.json(render.to_json(schema, node))
    if fmt == "xml":
        return ctx.xml(render.to_xml(schema, node, ctx.site_url))
    if fmt == "html":
        title = node.fields.get("label") or node.fields.get("ID", "")
        body = (
            f"<html><head><title>{node.xsi_type} {title}</title></head><body>"
            f"<h1>{node.xsi_type}</h1><p>{title}</p></body></html>"
        )
        return ctx.text(body, mimetype="text/html")
    raise HttpError(400, f"Unsupported format {fmt}")


def _projects_table(ctx: RequestContext, kind: str, row: sqlite3.Row) -> Response:
    store = ctx.store
    rows: list[dict[str, Any]] = []
    primary = store.one("SELECT * FROM projects WHERE id=?", (row["project"],))
    if primary is not None:
        rows.append(_proj_row(primary, row["label"]))
    for sh in store.query(
        "SELECT s.label AS slabel, p.* FROM shares s JOIN projects p ON p.id = s.project "
        "WHERE s.kind=? AND s.object_id=? ORDER BY s.project",
        (kind, row["id"]),
    ):
        rows.append(_proj_row(sh, sh["slabel"]))
    return ctx.table(["label", "ID", "Secondary_ID", "Name"], rows, meta={})


def _proj_row(p: sqlite3.Row, label: str) -> dict[str, Any]:
    return {"label": label, "ID": p["id"], "Secondary_ID": p["secondary_id"], "Name": p["name"]}


# ---------------------------------------------------------------------------------------
# projects
# ---------------------------------------------------------------------------------------


def _project_list(ctx: RequestContext) -> Response:
    store = ctx.store
    allowed = visible_projects(store, ctx.user)
    rows = []
    for p in store.query("SELECT * FROM projects ORDER BY id"):
        if allowed is not None and p["id"] not in allowed:
            continue
        data = loads_data(p["data"])
        rows.append(
            (
                {
                    "ID": p["id"],
                    "secondary_ID": p["secondary_id"],
                    "name": p["name"],
                    "description": p["description"],
                    "pi_firstname": data.get("PI/firstname", ""),
                    "pi_lastname": data.get("PI/lastname", ""),
                    "insert_date": p["insert_date"],
                    "insert_user": p["insert_user"],
                    "accessibility": p["accessibility"],
                    "URI": f"/data/projects/{p['id']}",
                },
                data,
            )
        )
    return answer(
        ctx,
        "project",
        rows,
        ["ID", "secondary_ID", "name", "description", "pi_firstname", "pi_lastname", "URI"],
        pk_column="ID",
    )


def _project_get(ctx: RequestContext) -> Response:
    row = find_project(ctx.store, ctx.params["project"])
    if row is not None and not can_see(ctx.store, ctx.user, row["id"]):
        row = resolve(ctx).project  # raises XNAT's 403/404
    if row is None:
        raise HttpError(404, f"Unable to identify project {ctx.params['project']}")
    tail = ctx.tail.strip("/")
    if tail == "accessibility":
        return ctx.text(row["accessibility"])
    if tail:
        raise HttpError(404, None)
    return _represent(ctx, render.project_node(ctx.store, row))


def _project_put(ctx: RequestContext) -> Response:
    store = ctx.store
    ref = ctx.params["project"]
    tail = ctx.tail.strip("/")
    existing = find_project(store, ref)
    if tail.startswith("accessibility/") and existing is not None:
        require_edit(ctx, existing["id"])
        level = tail.split("/", 1)[1]
        if level not in ("private", "protected", "public"):
            raise HttpError(400, f"Unknown accessibility {level}")
        with store.tx() as db:
            db.execute("UPDATE projects SET accessibility=? WHERE id=?", (level, existing["id"]))
        return ctx.text("")
    if tail:
        raise HttpError(400, "Unsupported project sub-path.")
    ctx.require_user()
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "project", schema)
    ch.data = _canonical_paths(schema, "xnat:projectData", ch.data)
    access = ctx.q("accessibility")
    if access is not None and access not in ("private", "protected", "public"):
        raise HttpError(400, f"Unknown accessibility {access}")
    if existing is None:
        if not objects.VALID_ID.match(ref):
            raise HttpError(417, "Invalid character in project ID.")
        sec = ch.data.pop("secondary_ID", None) or ref
        name = ch.data.pop("name", None) or sec
        desc = ch.data.pop("description", None) or ""
        for k in ("ID",):
            ch.data.pop(k, None)
        with store.tx() as db:
            clash = db.execute(
                "SELECT id FROM projects WHERE secondary_id=? OR name=?", (sec, name)
            ).fetchone()
            if clash is not None:
                raise HttpError(
                    409, f"Requested new project conflicts with existing projects: {clash[0]}"
                )
            objects.create_project(
                store,
                db,
                ref,
                name=name,
                secondary_id=sec,
                description=desc,
                accessibility=access or "private",
                data={k: v for k, v in ch.data.items() if v is not None},
                user=ctx.user.login,
            )
            _apply_custom(db, "project", ref, ch.custom)
        return ctx.text("")
    pid = existing["id"]
    require_edit(ctx, pid)
    with store.tx() as db:
        cols = {"name": "name", "secondary_ID": "secondary_id", "description": "description"}
        for key, col in cols.items():
            if key in ch.data:
                db.execute(f"UPDATE projects SET {col}=? WHERE id=?", (ch.data.pop(key) or "", pid))
        ch.data.pop("ID", None)
        data = _merge(loads_data(existing["data"]), ch.data)
        db.execute("UPDATE projects SET data=? WHERE id=?", (dumps_data(data), pid))
        if access:
            db.execute("UPDATE projects SET accessibility=? WHERE id=?", (access, pid))
        _apply_custom(db, "project", pid, ch.custom)
    return ctx.text("")


def _project_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.project is not None
    if ctx.tail.strip("/"):
        raise HttpError(400, "Unsupported project sub-path.")
    pid = chain.project["id"]
    store = ctx.store
    if not (ctx.is_admin or store.project_role(pid, ctx.user.login) == "owner"):
        raise HttpError(403, "Only project owners may delete a project.")
    remove = ctx.flag("removeFiles")
    with store.tx() as db:
        for s in db.execute("SELECT id FROM subjects WHERE project=?", (pid,)).fetchall():
            _delete_subject(store, db, s[0], remove)
        for e in db.execute("SELECT id FROM experiments WHERE project=?", (pid,)).fetchall():
            _delete_experiment(store, db, e[0], remove)
        _delete_resources(store, db, "project", pid, remove)
        db.execute("DELETE FROM shares WHERE project=?", (pid,))
        db.execute("DELETE FROM project_users WHERE project=?", (pid,))
        db.execute("DELETE FROM custom_fields WHERE kind='project' AND owner_id=?", (pid,))
        db.execute("DELETE FROM projects WHERE id=?", (pid,))
    return ctx.text("")


# ---------------------------------------------------------------------------------------
# deletion helpers
# ---------------------------------------------------------------------------------------


def _delete_resources(
    store: Store, db: sqlite3.Connection, kind: str, parent_id: str, remove_files: bool
) -> None:
    for r in db.execute(
        "SELECT id FROM resources WHERE parent_kind=? AND parent_id=?", (kind, parent_id)
    ).fetchall():
        db.execute("DELETE FROM files WHERE resource_id=?", (r[0],))
        db.execute("DELETE FROM resources WHERE id=?", (r[0],))
        if remove_files:
            shutil.rmtree(objects.resource_dir(store, r[0]), ignore_errors=True)


def _delete_scan(store: Store, db: sqlite3.Connection, pk: int, remove: bool) -> None:
    _delete_resources(store, db, "scan", str(pk), remove)
    db.execute("DELETE FROM scans WHERE pk=?", (pk,))


def _delete_experiment(store: Store, db: sqlite3.Connection, eid: str, remove: bool) -> None:
    for s in db.execute("SELECT pk FROM scans WHERE experiment_id=?", (eid,)).fetchall():
        _delete_scan(store, db, s[0], remove)
    for r in db.execute("SELECT pk FROM reconstructions WHERE experiment_id=?", (eid,)).fetchall():
        _delete_resources(store, db, "reconstruction", str(r[0]), remove)
    db.execute("DELETE FROM reconstructions WHERE experiment_id=?", (eid,))
    for a in db.execute("SELECT id FROM experiments WHERE session_id=?", (eid,)).fetchall():
        _delete_experiment(store, db, a[0], remove)
    _delete_resources(store, db, "experiment", eid, remove)
    _delete_resources(store, db, "assessor", eid, remove)
    db.execute("DELETE FROM custom_fields WHERE kind='experiment' AND owner_id=?", (eid,))
    db.execute("DELETE FROM shares WHERE kind='experiment' AND object_id=?", (eid,))
    db.execute("DELETE FROM experiments WHERE id=?", (eid,))


def _delete_subject(store: Store, db: sqlite3.Connection, sid: str, remove: bool) -> None:
    for e in db.execute("SELECT id FROM experiments WHERE subject_id=?", (sid,)).fetchall():
        _delete_experiment(store, db, e[0], remove)
    _delete_resources(store, db, "subject", sid, remove)
    db.execute("DELETE FROM custom_fields WHERE kind='subject' AND owner_id=?", (sid,))
    db.execute("DELETE FROM shares WHERE kind='subject' AND object_id=?", (sid,))
    db.execute("DELETE FROM subjects WHERE id=?", (sid,))


# ---------------------------------------------------------------------------------------
# subjects
# ---------------------------------------------------------------------------------------


def _subject_rows(
    ctx: RequestContext, project: str | None
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    store = ctx.store
    if project is not None:
        rows = store.query(
            "SELECT s.*, NULL AS share_label FROM subjects s WHERE s.project=? UNION ALL "
            "SELECT s.*, sh.label AS share_label FROM subjects s JOIN shares sh ON "
            "sh.object_id = s.id AND sh.kind='subject' WHERE sh.project=? ORDER BY id",
            (project, project),
        )
    else:
        allowed = readable_projects(store, ctx.user)
        rows = [
            r
            for r in store.query("SELECT s.*, NULL AS share_label FROM subjects s ORDER BY id")
            if allowed is None or r["project"] in allowed
        ]
    out = []
    for r in rows:
        data = loads_data(r["data"])
        out.append(
            (
                {
                    "ID": r["id"],
                    "project": r["project"],
                    "label": r["share_label"] or r["label"],
                    "insert_date": r["insert_date"],
                    "insert_user": r["insert_user"],
                    "last_modified": r["insert_date"],
                    "URI": f"/data/subjects/{r['id']}",
                },
                data,
            )
        )
    return out


def _subject_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    rows = _subject_rows(ctx, chain.context_project)
    return answer(
        ctx,
        "subject",
        rows,
        ["ID", "project", "label", "insert_date", "insert_user", "URI"],
        pk_column="ID",
        pageable=True,
    )


def _subject_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.subject is not None
    tail = ctx.tail.strip("/")
    if tail == "projects":
        return _projects_table(ctx, "subject", chain.subject)
    if tail == "status":
        return ctx.text("active")
    if tail:
        raise HttpError(404, None)
    return _represent(ctx, render.subject_node(ctx.store, chain.subject))


def _subject_put(ctx: RequestContext) -> Response:
    tail = ctx.tail.strip("/")
    if tail:
        return _share(ctx, "subject")
    store = ctx.store
    ctx.require_user()
    chain = resolve(ctx, upto="subject")
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "subject", schema)
    ch.data = _canonical_paths(schema, "xnat:subjectData", ch.data)
    ref = ctx.params["subject"]
    project = chain.project
    existing = None
    if project is not None:
        try:
            existing = resolve(ctx).subject
        except HttpError as err:
            if err.status != 404:
                raise
    else:
        existing = store.one("SELECT * FROM subjects WHERE id=?", (ref,))
        if existing is None:
            raise HttpError(404, f"Unable to find subject {ref}; create it under a project.")
    if existing is None:
        assert project is not None
        pid = project["id"]
        require_edit(ctx, pid)
        label = ch.label or ref
        _validate_label(label, "subject")
        with store.tx() as db:
            if db.execute(
                "SELECT 1 FROM subjects WHERE project=? AND label=?", (pid, label)
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            sid = objects.create_subject(
                store,
                db,
                pid,
                label,
                data={k: v for k, v in ch.data.items() if v is not None},
                user=ctx.user.login,
            )
            _apply_custom(db, "subject", sid, ch.custom)
        return ctx.text(sid, status=201)
    sid = existing["id"]
    require_edit(ctx, existing["project"])
    _refuse_project_change(ch, existing["project"])
    with store.tx() as db:
        renamed = False
        if ch.label and ch.label != existing["label"]:
            _validate_label(ch.label, "subject")
            if db.execute(
                "SELECT 1 FROM subjects WHERE project=? AND label=?",
                (existing["project"], ch.label),
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            db.execute("UPDATE subjects SET label=? WHERE id=?", (ch.label, sid))
            renamed = True
        data = _merge(loads_data(existing["data"]), ch.data)
        db.execute("UPDATE subjects SET data=? WHERE id=?", (dumps_data(data), sid))
        _apply_custom(db, "subject", sid, ch.custom)
    if renamed and not ch.data and not ch.custom:
        return ctx.text("")
    return ctx.text(sid)


def _subject_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.subject is not None
    tail = ctx.tail.strip("/")
    store = ctx.store
    subj = chain.subject
    target_project = chain.context_project
    if tail.startswith("projects/"):
        target_project = tail.split("/", 1)[1]
    elif tail:
        raise HttpError(400, "Unsupported sub-path.")
    if target_project is not None and target_project != subj["project"]:
        require_edit(ctx, target_project)
        with store.tx() as db:
            db.execute(
                "DELETE FROM shares WHERE kind='subject' AND object_id=? AND project=?",
                (subj["id"], target_project),
            )
        return ctx.text("")
    require_edit(ctx, subj["project"])
    with store.tx() as db:
        _delete_subject(store, db, subj["id"], ctx.flag("removeFiles"))
    return ctx.text("")


def _share(ctx: RequestContext, kind: str) -> Response:
    tail = ctx.tail.strip("/")
    if not tail.startswith("projects/"):
        raise HttpError(400, "Unsupported sub-path.")
    dest_ref = tail.split("/", 1)[1]
    chain = resolve(ctx)
    row = chain.subject if kind == "subject" else (chain.assessor or chain.experiment)
    assert row is not None
    store = ctx.store
    dest = find_project(store, dest_ref)
    if dest is None:
        raise HttpError(404, f"Unable to identify project: {dest_ref}")
    dest_id = dest["id"]
    if not can_edit(store, ctx.user, dest_id) and not (
        ctx.user.login != "guest" and store.project_role(dest_id, ctx.user.login)
    ):
        raise HttpError(403, f"Insufficient privileges to share into project {dest_id}.")
    table = "subjects" if kind == "subject" else "experiments"
    label = ctx.q("label") or row["label"]
    primary = ctx.strict_flag("primary")
    with store.tx() as db:
        if primary:
            require_edit(ctx, row["project"])
            clash = db.execute(
                f"SELECT 1 FROM {table} WHERE project=? AND label=? AND id<>?",
                (dest_id, label, row["id"]),
            ).fetchone()
            if clash:
                raise HttpError(409, f"Label already in use:{label}")
            db.execute(
                "DELETE FROM shares WHERE kind=? AND object_id=? AND project=?",
                (kind, row["id"], dest_id),
            )
            db.execute(
                f"UPDATE {table} SET project=?, label=? WHERE id=?", (dest_id, label, row["id"])
            )
        else:
            if dest_id == row["project"]:
                raise HttpError(409, f"Already assigned to project:{dest_id}")
            current = db.execute(
                "SELECT label FROM shares WHERE kind=? AND object_id=? AND project=?",
                (kind, row["id"], dest_id),
            ).fetchone()
            if current is not None and current[0] == label:
                raise HttpError(409, f"Already assigned to project:{dest_id}")
            clash = (
                db.execute(
                    f"SELECT 1 FROM {table} WHERE project=? AND label=?", (dest_id, label)
                ).fetchone()
                or db.execute(
                    "SELECT 1 FROM shares WHERE kind=? AND project=? AND label=? AND object_id<>?",
                    (kind, dest_id, label, row["id"]),
                ).fetchone()
            )
            if clash:
                raise HttpError(409, f"Label already in use:{label}")
            objects.add_share(db, kind, row["id"], dest_id, label)
    if ctx.format in ("json", "xml"):
        fresh = store.one(f"SELECT * FROM {table} WHERE id=?", (row["id"],))
        assert fresh is not None
        node = (
            render.subject_node(store, fresh)
            if kind == "subject"
            else render.experiment_node(store, fresh)
        )
        return _represent(ctx, node)
    return ctx.text("")


# ---------------------------------------------------------------------------------------
# experiments and assessors
# ---------------------------------------------------------------------------------------


def _experiment_rows(
    ctx: RequestContext,
    *,
    project: str | None,
    subject_id: str | None,
    session_id: str | None,
    assessors: bool,
) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    store = ctx.store
    base = (
        "SELECT e.*, {share} AS share_label, {sproj} AS share_project, "
        "s.label AS subject_label, s.project AS subject_project, "
        "ss.label AS session_label, ss.project AS session_project "
        "FROM experiments e LEFT JOIN subjects s ON s.id = e.subject_id "
        "LEFT JOIN experiments ss ON ss.id = e.session_id "
    )
    params: list[Any] = []
    if session_id is not None:
        sql = base.format(share="NULL", sproj="NULL") + "WHERE e.session_id=?"
        params = [session_id]
    elif project is not None:
        cond = "e.session_id IS NULL" if not assessors else "1=1"
        sub = " AND e.subject_id=?" if subject_id else ""
        sql = (
            base.format(share="NULL", sproj="NULL")
            + f"WHERE e.project=? AND {cond}{sub} UNION ALL "
            + base.format(share="sh.label", sproj="sh.project")
            + "JOIN shares sh ON sh.object_id = e.id AND sh.kind='experiment' "
            + f"WHERE sh.project=? AND {cond}{sub}"
        )
        params = [project] + ([subject_id] if subject_id else [])
        params += [project] + ([subject_id] if subject_id else [])
    else:
        sql = base.format(share="NULL", sproj="NULL") + "WHERE 1=1"
    allowed = readable_projects(store, ctx.user) if project is None and session_id is None else None
    for r in store.query(sql + " ORDER BY id", params):
        if allowed is not None and r["project"] not in allowed:
            continue
        data = loads_data(r["data"])
        row = {
            "ID": r["id"],
            "project": r["share_project"] or r["project"],
            "label": r["share_label"] or r["label"],
            "date": r["date"] or "",
            "xsiType": r["xsi_type"],
            "insert_date": r["insert_date"],
            "insert_user": r["insert_user"],
            "last_modified": r["insert_date"],
            "subject_ID": r["subject_id"] or "",
            "subject_label": r["subject_label"] or "",
            "subject_project": r["subject_project"] or "",
            "session_ID": r["session_id"] or "",
            "session_label": r["session_label"] or "",
            "session_project": r["session_project"] or "",
            "URI": f"/data/experiments/{r['id']}",
            "xnat:subjectassessordata/id": r["id"],
            "xnat:imageassessordata/id": r["id"],
        }
        yield row, data


def _filter_xsi(
    ctx: RequestContext, rows: Iterator[tuple[dict[str, Any], dict[str, str]]]
) -> tuple[list[tuple[dict[str, Any], dict[str, str]]], str | None]:
    x = ctx.q("xsiType")
    if not x:
        return list(rows), None
    schema = schema_of(ctx)
    if "," in x:
        kinds = [schema.canonical(k.strip()) or k.strip() for k in x.split(",") if k.strip()]
        return [r for r in rows if any(schema.is_a(r[0]["xsiType"], k) for k in kinds)], None
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
                elif key == "xnat_imagescandata_id":
                    extra[col] = str(s["pk"])
                else:
                    extra[col] = low.get(key, "")
            out.append(({**row, **extra}, data))
            joined += 1
        if not joined:
            out.append(({**row, **{col: "" for col in wanted}}, data))
    return out


def _experiment_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    top = chain.project is None
    rows, pk = _filter_xsi(
        ctx,
        _experiment_rows(
            ctx,
            project=chain.context_project,
            subject_id=chain.subject["id"] if chain.subject is not None else None,
            session_id=None,
            assessors=False,
        ),
    )
    cols = ["ID", "project", "date", "xsiType", "label", "insert_date"]
    rows = _join_scans(ctx, rows)
    if top:
        # XNAT adds the element name (xsiType) and project to the query when the root element is
        # not a secured data type (no xsiType, or an abstract base), to check access row by row.
        root = schema_of(ctx).canonical(ctx.q("xsiType") or "") if pk is not None else None
        unsecured = root is None or root in _UNSECURED_ROOTS
        if pk is not None:
            schema = schema_of(ctx)
            x = schema.canonical(ctx.q("xsiType") or "") or ""
            if schema.is_a(x, "xnat:subjectAssessorData"):
                cols += ["subject_ID", "subject_label"]
            elif schema.is_a(x, "xnat:imageAssessorData"):
                cols += ["session_ID", "session_label"]
        return answer(
            ctx,
            "experiment",
            rows,
            [*cols, "URI"],
            pk_column=pk or "ID",
            title="Matching experiments",
            pageable=True,
            extra_columns=("xsiType", "project") if unsecured else (),
        )
    return answer(
        ctx,
        "experiment",
        rows,
        [*cols, "URI"],
        pk_column=pk or "xnat:subjectassessordata/id",
        pageable=True,
    )


def _assessor_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.experiment is not None
    rows, pk = _filter_xsi(
        ctx,
        _experiment_rows(
            ctx, project=None, subject_id=None, session_id=chain.experiment["id"], assessors=True
        ),
    )
    ctxp = chain.context_project
    if ctxp is not None:
        for r, _ in rows:
            r["label"] = _label_in(ctx.store, "experiment", r["ID"], ctxp, r["label"])
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
    )


def _label_in(store: Store, kind: str, oid: str, project: str, default: str) -> str:
    row = store.one(
        "SELECT label FROM shares WHERE kind=? AND object_id=? AND project=?", (kind, oid, project)
    )
    return str(row[0]) if row is not None else default


def _experiment_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    row = chain.assessor or chain.experiment
    assert row is not None
    tail = ctx.tail.strip("/")
    if tail == "projects":
        return _projects_table(ctx, "experiment", row)
    if tail == "status":
        return ctx.text(row["status"])
    if tail:
        raise HttpError(404, None)
    return _represent(ctx, render.experiment_node(ctx.store, row))


def _experiment_put(ctx: RequestContext) -> Response:
    if ctx.tail.strip("/"):
        return _share(ctx, "experiment")
    ctx.require_user()
    store = ctx.store
    assessor = "assessor" in ctx.params
    try:
        chain = resolve(ctx, upto="assessor" if assessor else "experiment")
    except HttpError as err:
        if err.status != 404 or assessor or "subject" not in ctx.params:
            raise
        chain = resolve(ctx, upto="subject")  # the subject is created below
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "experiment", schema)
    existing: sqlite3.Row | None = None
    try:
        full = resolve(ctx)
        existing = full.assessor if assessor else full.experiment
    except HttpError as err:
        if err.status != 404:
            raise
    ref = ctx.params["assessor" if assessor else "experiment"]
    if existing is None:
        if assessor and chain.experiment is not None:
            pid = chain.context_project or chain.experiment["project"]
        elif chain.project is None:
            raise HttpError(404, "Unable to find the specified experiment.")
        else:
            pid = chain.project["id"]
        require_edit(ctx, pid)
        if not ch.xsi_type:
            raise HttpError(417, "Need POST Contents" if assessor else "Need PUT Contents")
        xsi = ch.xsi_type
        if schema.canonical(xsi) is None:
            raise HttpError(400, f"Unknown data type: {xsi}")
        if not schema.is_a(xsi, "xnat:experimentData"):
            # XNAT's wording, whatever the address (subject, scan, ... types are refused here)
            raise HttpError(422, "Only xnat:Subject documents can be PUT to this address.")
        label = ch.label or ref
        _validate_label(label, "experiment")
        data = {
            k: v
            for k, v in _canonical_paths(schema, xsi, ch.data).items()
            if v is not None and k not in ("subject_ID", "imageSession_ID")
        }
        subject_id: str | None = None
        session_id: str | None = None
        with store.tx() as db:
            if db.execute(
                "SELECT 1 FROM experiments WHERE project=? AND label=?", (pid, label)
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            if assessor:
                assert chain.experiment is not None
                session_id = chain.experiment["id"]
                subject_id = chain.experiment["subject_id"]
            elif chain.subject is not None:
                subject_id = chain.subject["id"]
            elif "subject" in ctx.params:
                subject_id = objects.create_subject(
                    store, db, pid, ctx.params["subject"], user=ctx.user.login
                )
            else:
                sref = ch.data.get("subject_ID")
                if sref:
                    srow = db.execute(
                        "SELECT id FROM subjects WHERE id=? OR (project=? AND label=?)",
                        (sref, pid, sref),
                    ).fetchone()
                    if srow is None:
                        raise HttpError(404, f"Unable to identify subject {sref}")
                    subject_id = srow[0]
                elif schema.is_a(xsi, "xnat:subjectAssessorData"):
                    raise HttpError(422, "Submitted experiment record must include the subject.")
            eid = objects.create_experiment(
                store,
                db,
                pid,
                label,
                xsi,
                subject_id=subject_id,
                session_id=session_id,
                data=data,
                user=ctx.user.login,
            )
            _apply_custom(db, "experiment", eid, ch.custom)
            for scan_id, sxsi, sfields in ch.scans:
                objects.create_scan(
                    store,
                    db,
                    eid,
                    scan_id,
                    sxsi,
                    type=sfields.pop("type", ""),
                    data={k: v for k, v in sfields.items() if k != "ID"},
                )
        return ctx.text(eid, status=201)
    eid = existing["id"]
    require_edit(ctx, existing["project"])
    _refuse_project_change(ch, existing["project"])
    wanted = schema.canonical(ch.xsi_type) if ch.xsi_type else None
    if wanted not in (None, existing["xsi_type"]) and not schema.is_a(
        existing["xsi_type"], wanted or ""
    ):
        raise HttpError(400, "Specified xsiType differs from existing xsiType")
    renamed = False
    with store.tx() as db:
        if ch.label and ch.label != existing["label"]:
            _validate_label(ch.label, "experiment")
            if db.execute(
                "SELECT 1 FROM experiments WHERE project=? AND label=?",
                (existing["project"], ch.label),
            ).fetchone():
                raise HttpError(409, "Specified label is already in use.")
            db.execute("UPDATE experiments SET label=? WHERE id=?", (ch.label, eid))
            renamed = True
        changes = _canonical_paths(schema, existing["xsi_type"], ch.data)
        new_subject = changes.pop("subject_ID", None)
        if new_subject:
            srow = db.execute(
                "SELECT id FROM subjects WHERE id=? OR (project=? AND label=?)",
                (new_subject, existing["project"], new_subject),
            ).fetchone()
            if srow is None:
                raise HttpError(404, f"Unable to identify subject {new_subject}")
            db.execute("UPDATE experiments SET subject_id=? WHERE id=?", (srow[0], eid))
        changes.pop("imageSession_ID", None)
        data = (
            {k: v for k, v in changes.items() if v is not None}
            if ctx.strict_flag("allowDataDeletion") and _has_xml_body(ctx)
            else _merge(loads_data(existing["data"]), changes)
        )
        db.execute(
            "UPDATE experiments SET data=?, date=? WHERE id=?",
            (dumps_data(data), data.get("date"), eid),
        )
        if ctx.flag("activate"):
            db.execute("UPDATE experiments SET status='active' WHERE id=?", (eid,))
        if ctx.qi("quarantine") is not None:
            status = "quarantine" if ctx.flag("quarantine") else "active"
            db.execute("UPDATE experiments SET status=? WHERE id=?", (status, eid))
        _apply_custom(db, "experiment", eid, ch.custom)
        for scan_id, sxsi, sfields in ch.scans:
            if not db.execute(
                "SELECT 1 FROM scans WHERE experiment_id=? AND id=?", (eid, scan_id)
            ).fetchone():
                objects.create_scan(
                    store,
                    db,
                    eid,
                    scan_id,
                    sxsi,
                    type=sfields.pop("type", ""),
                    data={k: v for k, v in sfields.items() if k != "ID"},
                )
    if renamed and not ch.data and not ch.custom:
        return ctx.text("")
    return ctx.text(eid)


def _experiment_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    row = chain.assessor or chain.experiment
    assert row is not None
    tail = ctx.tail.strip("/")
    target = chain.context_project
    if tail.startswith("projects/"):
        target = tail.split("/", 1)[1]
    elif tail:
        raise HttpError(400, "Unsupported sub-path.")
    store = ctx.store
    if target is not None and target != row["project"]:
        require_edit(ctx, target)
        with store.tx() as db:
            db.execute(
                "DELETE FROM shares WHERE kind='experiment' AND object_id=? AND project=?",
                (row["id"], target),
            )
        return ctx.text("")
    require_edit(ctx, row["project"])
    with store.tx() as db:
        _delete_experiment(store, db, row["id"], ctx.flag("removeFiles"))
    return ctx.text("")


# ---------------------------------------------------------------------------------------
# scans and reconstructions
# ---------------------------------------------------------------------------------------


def _scan_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.experiment is not None
    eid = chain.experiment["id"]
    rows = []
    for s in ctx.store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (eid,)):
        data = loads_data(s["data"])
        rows.append(
            (
                {
                    "xnat_imagescandata_id": s["pk"],
                    "ID": s["id"],
                    "type": s["type"],
                    "quality": data.get("quality", ""),
                    "xsiType": s["xsi_type"],
                    "note": data.get("note", ""),
                    "series_description": data.get("series_description", ""),
                    "insert_date": s["insert_date"],
                    "insert_user": s["insert_user"],
                    "URI": f"/data/experiments/{eid}/scans/{s['id']}",
                },
                data,
            )
        )
    if ctx.q("xsiType"):
        rows = [r for r in rows if r[0]["xsiType"] == ctx.q("xsiType")]
    return answer(
        ctx,
        "scan",
        rows,
        [
            "xnat_imagescandata_id",
            "ID",
            "type",
            "quality",
            "xsiType",
            "note",
            "series_description",
            "URI",
        ],
        pk_column="xnat_imagescandata_id",
    )


def _scan_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.scan is not None and chain.experiment is not None
    if ctx.tail.strip("/"):
        raise HttpError(404, None)
    return _represent(ctx, render.scan_node(ctx.store, chain.scan, chain.experiment["project"]))


def _scan_put(ctx: RequestContext) -> Response:
    ctx.require_user()
    if ctx.tail.strip("/"):
        raise HttpError(400, "Unsupported scan sub-path.")
    store = ctx.store
    chain = resolve(ctx, upto="scan")
    assert chain.experiment is not None
    exp = chain.experiment
    require_edit(ctx, exp["project"])
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "scan", schema)
    scan_id = ctx.params["scan"]
    existing = store.one("SELECT * FROM scans WHERE experiment_id=? AND id=?", (exp["id"], scan_id))
    if existing is None:
        if not ch.xsi_type:
            raise HttpError(417, "Need PUT Contents")
        xsi = schema.canonical(ch.xsi_type) or ch.xsi_type
        if schema.canonical(xsi) is None:
            raise HttpError(400, f"Unknown data type: {xsi}")
        if not schema.is_a(xsi, "xnat:imageScanData"):
            raise HttpError(
                400,
                "Only Scan documents can be PUT to this address. "
                f"Expected: xnat:imageScanData Received: {xsi}",
            )
        if xsi == "xnat:imageScanData":
            raise HttpError(
                400,
                "Multiple scan modalities can be associated here.  Please retry with the "
                "specification of a particular modality (i.e. ?xsiType=xnat:mrScanData).",
            )
        data = {k: v for k, v in _canonical_paths(schema, xsi, ch.data).items() if v is not None}
        data.pop("ID", None)
        with store.tx() as db:
            objects.create_scan(
                store,
                db,
                exp["id"],
                scan_id,
                xsi,
                type=data.pop("type", ""),
                data=data,
                user=ctx.user.login,
            )
        return ctx.text("")
    if ch.xsi_type and (schema.canonical(ch.xsi_type) or ch.xsi_type) != existing["xsi_type"]:
        raise HttpError(409, "Specified xsiType differs from existing xsiType")
    changes = _canonical_paths(schema, existing["xsi_type"], ch.data)
    changes.pop("ID", None)
    data = _merge(loads_data(existing["data"]), changes)
    with store.tx() as db:
        db.execute(
            "UPDATE scans SET data=?, type=? WHERE pk=?",
            (dumps_data(data), data.get("type", ""), existing["pk"]),
        )
    return ctx.text("")


def _scan_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.scan is not None and chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    store = ctx.store
    with store.tx() as db:
        _delete_scan(store, db, chain.scan["pk"], ctx.flag("removeFiles"))
    return ctx.text("")


def _recon_list(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.experiment is not None
    eid = chain.experiment["id"]
    rows = []
    for r in ctx.store.query(
        "SELECT * FROM reconstructions WHERE experiment_id=? ORDER BY pk", (eid,)
    ):
        rows.append(
            (
                {
                    "xnat_reconstructedimagedata_id": r["pk"],
                    "ID": r["id"],
                    "type": r["type"],
                    "baseScanType": r["base_scan_type"],
                    "xsiType": r["xsi_type"],
                    "URI": f"/data/experiments/{eid}/reconstructions/{r['id']}",
                },
                loads_data(r["data"]),
            )
        )
    return answer(
        ctx, "recon", rows, ["xnat_reconstructedimagedata_id", "ID", "type", "baseScanType", "URI"]
    )


def _recon_get(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.recon is not None
    return _represent(ctx, render.recon_node(ctx.store, chain.recon))


def _recon_put(ctx: RequestContext) -> Response:
    ctx.require_user()
    store = ctx.store
    chain = resolve(ctx, upto="recon")
    assert chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    schema = schema_of(ctx)
    ch = parse_changes(ctx, "recon", schema)
    rid = ctx.params["recon"]
    existing = store.one(
        "SELECT * FROM reconstructions WHERE experiment_id=? AND id=?",
        (chain.experiment["id"], rid),
    )
    data = {k: v for k, v in ch.data.items()}
    with store.tx() as db:
        if existing is None:
            objects.create_reconstruction(
                store,
                db,
                chain.experiment["id"],
                rid,
                type=data.pop("type", None) or "",
                base_scan_type=data.pop("baseScanType", None) or "",
                data={k: v for k, v in data.items() if v is not None and k != "ID"},
            )
        else:
            new = _merge(loads_data(existing["data"]), data)
            db.execute(
                "UPDATE reconstructions SET data=?, type=?, base_scan_type=? WHERE pk=?",
                (
                    dumps_data(new),
                    new.get("type", existing["type"]),
                    new.get("baseScanType", existing["base_scan_type"]),
                    existing["pk"],
                ),
            )
    return ctx.text("")


def _recon_delete(ctx: RequestContext) -> Response:
    chain = resolve(ctx)
    assert chain.recon is not None and chain.experiment is not None
    require_edit(ctx, chain.experiment["project"])
    store = ctx.store
    with store.tx() as db:
        _delete_resources(
            store, db, "reconstruction", str(chain.recon["pk"]), ctx.flag("removeFiles")
        )
        db.execute("DELETE FROM reconstructions WHERE pk=?", (chain.recon["pk"],))
    return ctx.text("")


# ---------------------------------------------------------------------------------------
# misc listings
# ---------------------------------------------------------------------------------------


def _scanners(ctx: RequestContext) -> Response:
    allowed = readable_projects(ctx.store, ctx.user)
    found: set[str] = set()
    for e in ctx.store.query("SELECT project, data FROM experiments"):
        if allowed is not None and e["project"] not in allowed:
            continue
        s = loads_data(e["data"]).get("scanner")
        if s:
            found.add(s)
    rows = [{"scanner": s} for s in sorted(found)]
    return ctx.table(["scanner"], rows, meta={"title": "Scanners", "totalRecords": len(rows)})


def _scan_types(ctx: RequestContext) -> Response:
    project = None
    if "project" in ctx.params:
        project = resolve(ctx).context_project
    allowed = readable_projects(ctx.store, ctx.user)
    sql = (
        "SELECT s.type, s.data, e.project FROM scans s JOIN experiments e ON e.id = s.experiment_id"
    )
    by_type: dict[str, list[str]] = {}
    for r in ctx.store.query(sql):
        if project is not None and r["project"] != project:
            continue
        if allowed is not None and r["project"] not in allowed:
            continue
        desc = loads_data(r["data"]).get("series_description", "")
        by_type.setdefault(r["type"], [])
        if desc and desc not in by_type[r["type"]]:
            by_type[r["type"]].append(desc)
    rows = [
        {"series_descriptions": "".join(d + "," for d in descs), "type": t}
        for t, descs in sorted(by_type.items())
    ]
    return ctx.table(
        ["series_descriptions", "type"],
        rows,
        meta={"title": "Scan Types", "totalRecords": len(rows)},
    )


# ---------------------------------------------------------------------------------------


def register(router: Router) -> None:
    """Register the archive routes."""
    opt: AuthMode = "optional"
    router.add("GET", "/data/projects", _project_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX, _project_get, archive=True, auth=opt, tail=True)
    router.add("PUT", PROJECT_PREFIX, _project_put, archive=True, tail=True)
    router.add("DELETE", PROJECT_PREFIX, _project_delete, archive=True, tail=True)

    router.add("GET", "/data/subjects", _subject_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/subjects", _subject_list, archive=True, auth=opt)
    for sp in SUBJECT_PREFIXES:
        router.add("GET", sp, _subject_get, archive=True, auth=opt, tail=True)
        router.add("PUT", sp, _subject_put, archive=True, tail=True)
        router.add("DELETE", sp, _subject_delete, archive=True, tail=True)

    router.add("GET", "/data/experiments", _experiment_list, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/experiments", _experiment_list, archive=True, auth=opt)
    router.add(
        "GET", SUBJECT_PREFIXES[0] + "/experiments", _experiment_list, archive=True, auth=opt
    )
    for ep in EXPERIMENT_PREFIXES:
        router.add("GET", ep, _experiment_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ep, _experiment_put, archive=True, tail=True)
        router.add("DELETE", ep, _experiment_delete, archive=True, tail=True)
        router.add("GET", ep + "/scans", _scan_list, archive=True, auth=opt)
        router.add("GET", ep + "/scans/{scan}", _scan_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ep + "/scans/{scan}", _scan_put, archive=True, tail=True)
        router.add("DELETE", ep + "/scans/{scan}", _scan_delete, archive=True)
        router.add("GET", ep + "/reconstructions", _recon_list, archive=True, auth=opt)
        router.add("GET", ep + "/reconstructions/{recon}", _recon_get, archive=True, auth=opt)
        router.add("PUT", ep + "/reconstructions/{recon}", _recon_put, archive=True)
        router.add("DELETE", ep + "/reconstructions/{recon}", _recon_delete, archive=True)
        router.add("GET", ep + "/assessors", _assessor_list, archive=True, auth=opt)
        ap = ep + "/assessors/{assessor}"
        router.add("GET", ap, _experiment_get, archive=True, auth=opt, tail=True)
        router.add("PUT", ap, _experiment_put, archive=True, tail=True)
        router.add("DELETE", ap, _experiment_delete, archive=True, tail=True)

    router.add("GET", "/data/scanners", _scanners, archive=True, auth=opt)
    router.add("GET", "/data/scan_types", _scan_types, archive=True, auth=opt)
    router.add("GET", PROJECT_PREFIX + "/scan_types", _scan_types, archive=True, auth=opt)
