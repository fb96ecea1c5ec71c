"""What a PUT on an archive object asks for: field changes from the query string and/or an
XML document, checked the way XNAT's validator checks them.

Writes accept ``xsiType`` plus field values as shortcuts (``gender=``, ``date=``) or XPaths
(``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender=male``, custom
variables ``.../fields/field[name=x]/field=v``; ``NULL`` clears), or an XML document body.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from xnat_sdk.testing._areas.archive.model import VALID_ID, set_custom_field
from xnat_sdk.testing._areas.archive.tables import SHORTCUTS
from xnat_sdk.testing._areas.archive.xsd import NAMESPACES, FieldDef, SchemaInfo, schema_of
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import now_timestamp

__all__ = [
    "Changes",
    "add_param_key",
    "apply_custom",
    "canonical_paths",
    "has_xml_body",
    "merge_data",
    "parse_changes",
    "refuse_project_change",
    "touch_when_changed",
    "validate_label",
]


_CUSTOM = re.compile(r"^fields/field\[name=([^\]]+)\]/(field|name)$", re.IGNORECASE)

_PRED = re.compile(r"\[(?!\d+\])[^\]]*\]")
"""Predicates dropped from a written path (``[@xsi:type=...]``); a numeric index is kept:
``scans/scan[1]/scan_id`` writes the second ``scans/scan`` item."""

#: ``path[N]/rest``: field ``rest`` of the N-th (0-based) item of child list ``path``
ITEM_KEY = re.compile(r"^(.+?)\[(\d+)\]/(.+)$")

#: ``parameters/addParam[name=X]/addField``: one ``xnat:addField`` of a scan's (or
#: reconstruction's) ``parameters/addParam`` list (``addParam`` is ``type="xnat:addField"``,
#: simple content ``addField`` with a ``name`` attribute, in xnat.xsd)
_ADD_PARAM = re.compile(r"^parameters/addParam\[name=([^\]]+)\]/(addField|name)$", re.IGNORECASE)


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
    id: str | None = None
    """The object's ID the client gives (``<type>/ID`` query field or the document's ``ID``
    attribute); XNAT keeps it for a new subject or experiment."""


def _xsi_from_params(ctx: RequestContext, body: list[tuple[str, str]]) -> str | None:
    x = ctx.q("xsiType") or ctx.q("ELEMENT_0")
    if x:
        return x
    for k in [*(key for key, _ in body), *ctx.query]:
        if _is_xpath(k):
            return k.partition("/")[0]
    return None


def _is_xpath(key: str) -> bool:
    head, slash, _ = key.partition("/")
    return bool(slash) and ":" in head


def _form_values(ctx: RequestContext) -> list[tuple[str, str]]:
    """The XPath values of a form body (XNAT's ``SecureResource.loadItem``: a body of type
    ``application/x-www-form-urlencoded`` with a length is read with the query string, which
    wins for a name in both; only full XPaths count there, shortcuts such as ``description``
    work in the query string alone)."""
    if (ctx.request.mimetype or "").lower() != "application/x-www-form-urlencoded":
        return []
    if not ctx.request.content_length:
        return []
    return [(k, v) for k, v in ctx.request.form.items(multi=True) if _is_xpath(k)]


def parse_changes(ctx: RequestContext, kind: str, schema: SchemaInfo) -> Changes:
    """Collect the field changes of a PUT (XML body first, then the query string)."""
    ch = Changes()
    body: list[tuple[str, str]] = []
    if has_xml_body(ctx):
        _parse_xml_body(ctx, kind, ch)
    else:
        body = _form_values(ctx)
    x = _xsi_from_params(ctx, body)
    if x:
        ch.xsi_type = schema.canonical(x) or x
    shortcuts = SHORTCUTS["recon" if kind == "recon" else kind]
    # the body's values first, so that the query string's win (XNAT: body map, then query)
    pairs = [(k, v, True) for k, v in body] + [
        (k, v, False) for k, v in ctx.query.items(multi=True)
    ]
    for key, value, in_body in pairs:
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
            m = _ADD_PARAM.match(path)
            if m:
                if m.group(2).lower() == "addfield" or val is None:
                    ch.data[add_param_key(m.group(1))] = val
                continue
            path = _PRED.sub("", path)
            if in_body and path in ("label", "project", "ID", "id"):
                continue  # renames, moves and IDs: the query string's (not verified in a body)
            if path == "label":
                ch.label = value
                continue
            if path == "project":
                ch.project = value
                continue
            if path in ("ID", "id"):
                if val:
                    ch.id = val
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


def study_protocol_key(protocol_id: str) -> str:
    """The data key of the project's ``studyProtocol`` item ``protocol_id``."""
    return f"studyProtocol[ID={protocol_id}]"


def add_param_key(name: str) -> str:
    """The data key of the ``parameters/addParam`` item named ``name``."""
    return f"parameters/addParam[name={name.strip().strip(chr(39) + chr(34))}]"


def has_xml_body(ctx: RequestContext) -> bool:
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
        elif k == "ID":
            ch.id = v or None
        elif k != "project":
            ch.data[k] = v
    _walk(root, "", kind, ch)


def _walk(el: ET.Element, prefix: str, kind: str, ch: Changes) -> None:
    for child in el:
        name = _local(child.tag)
        if name == "fields":
            # only the object's own ``fields`` are its custom variables; ``fields`` deeper in
            # the document belong to a nested item (a protocol's field definitions)
            if not prefix:
                for f in child:
                    n = f.get("name")
                    if n:
                        ch.custom[n.lower()] = f.text or ""
            continue
        if name == "studyProtocol" and not prefix and kind == "project":
            # one item of the project's ``studyProtocol`` list (xnat:abstractProtocol),
            # kept whole with what it holds (definitions/definition/fields/field ...)
            ch.data[study_protocol_key(child.get("ID", ""))] = ET.tostring(child, "unicode")
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
        if name == "addParam" and prefix == "parameters/":
            ch.data[add_param_key(child.get("name", ""))] = (child.text or "").strip()
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
        if name == "addParam" and prefix == "parameters/":
            out[add_param_key(child.get("name", ""))] = (child.text or "").strip()
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


def canonical_paths(
    schema: SchemaInfo, xsi: str, data: dict[str, str | None]
) -> dict[str, str | None]:
    """``data`` keyed by the declared field paths. Values XNAT's validator refuses (type,
    maxLength, enumeration) are a 400 naming each field in XNAT's words; nothing is stored."""
    out: dict[str, str | None] = {}
    problems: list[str] = []
    for k, v in data.items():
        item = _item_key(schema, xsi, k)
        if item is not None:
            # a field of a child item (XFTItem.setXMLPropertyChild: ``[N]`` picks the N-th)
            path, f = item
        elif (f := schema.field(xsi, k)) is None and k.startswith("demographics/"):
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


def _item_key(schema: SchemaInfo, xsi: str, key: str) -> tuple[str, FieldDef | None] | None:
    """(stored key ``scans/scan[N]/field``, its field) for a write to a child item: indexed
    (``scans/scan[1]/scan_id``) or not (``scans/scan/scan_id`` is the first item, as in XNAT);
    None when ``key`` is not inside a child list of ``xsi``."""
    children = schema.children(xsi)
    if not children:
        return None
    lowered = {c.lower(): c for c in children}
    m = ITEM_KEY.match(key)
    if m is not None:
        base, index, rest = m.group(1), int(m.group(2)), m.group(3)
    else:
        base = next((c for c in lowered if key.lower().startswith(c + "/")), "")
        index, rest = 0, key[len(base) + 1 :]
    path = lowered.get(base.lower())
    if path is None:
        return None
    f = schema.field(children[path], rest)
    return f"{path}[{index}]/{f.path if f else rest}", f


def merge_data(old: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    new = dict(old)
    for k, v in changes.items():
        if v is None:
            new.pop(k, None)
        else:
            new[k] = v
    return new


def apply_custom(
    db: sqlite3.Connection, kind: str, owner: str, custom: dict[str, str | None]
) -> None:
    for name, value in custom.items():
        set_custom_field(db, kind, owner, name, value)


def refuse_project_change(ch: Changes, project: str) -> None:
    """XNAT answers 409 to a PUT whose ``<type>/project`` differs from the owning project
    (moving takes ``.../projects/{P}?primary=true``); the same value is accepted."""
    if ch.project is not None and ch.project != project:
        raise HttpError(409, "Project must be modified through separate URI.")


def validate_label(label: str, what: str) -> None:
    if not VALID_ID.match(label):
        raise HttpError(417, f"Invalid character in {what} label.")


_TRACKED = {
    # table -> (key column, custom-variable kind, child rows that count as its content)
    "subjects": ("id", "subject", None),
    "experiments": (
        "id",
        "experiment",
        "SELECT id, xsi_type, type, data FROM scans WHERE experiment_id=? ORDER BY pk",
    ),
    "scans": ("pk", None, None),
}


def _state(db: sqlite3.Connection, table: str, key: Any) -> tuple[Any, ...]:
    key_col, kind, children = _TRACKED[table]
    row = db.execute(f"SELECT * FROM {table} WHERE {key_col}=?", (key,)).fetchone()
    names: list[str] = row.keys() if row else []  # (iterating a Row gives its values)
    own = tuple((k, row[k]) for k in names if k != "last_modified")
    custom: list[tuple[Any, ...]] = []
    if kind is not None:
        custom = [
            tuple(r)
            for r in db.execute(
                "SELECT name, value FROM custom_fields WHERE kind=? AND owner_id=? ORDER BY name",
                (kind, str(key)),
            )
        ]
    kids = [tuple(r) for r in db.execute(children, (key,))] if children else []
    return own, tuple(custom), tuple(kids)


@contextmanager
def touch_when_changed(db: sqlite3.Connection, table: str, key: Any) -> Iterator[None]:
    """Set the object's ``last_modified`` when the writes inside the block changed it (its
    fields, label, custom variables or, for a session, its scans). XNAT's
    ``DBAction.StoreHistoryAndMeta`` (run by ``UpdateItem`` for a changed item) sets
    ``meta.last_modified`` to the change's time ("other processes may change this as well,
    like modifications to a child element"); an unchanged item keeps its meta."""
    before = _state(db, table, key)
    yield
    if _state(db, table, key) != before:
        key_col = _TRACKED[table][0]
        db.execute(f"UPDATE {table} SET last_modified=? WHERE {key_col}=?", (now_timestamp(), key))
