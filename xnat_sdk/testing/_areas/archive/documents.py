"""Single-object representations: XNAT's ``?format=json`` items and ``?format=xml`` documents.

JSON: ``{"items":[ITEM]}`` with ``ITEM = {"meta":{...},"data_fields":{...},"children":[...]}``
(spec §5.2): ``data_fields`` keys are XSD paths relative to the type, numbers stay numbers
(by the XSD type), booleans are ``"true"``/``"false"``; children carry nested collections
(``scans/scan``, ``resources/resource``, ``fields/field``, ``demographics``,
``sharing/share``, ``assessors/assessor``, ``reconstructions/reconstructedImage``, ``file``,
``out/file``).

XML: the root element is named after the schema element of the type (``xnat:MRSession``);
paths become attributes or nested elements following the XSD; polymorphic children carry
``xsi:type``.
"""

from __future__ import annotations

import copy
import math
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from xnat_sdk.testing._areas.archive.xsd import NAMESPACES, NUMERIC_FLOAT, NUMERIC_INT, SchemaInfo
from xnat_sdk.testing._server.store import Store, loads_data

__all__ = [
    "ADD_PARAM",
    "STUDY_PROTOCOL",
    "ItemNode",
    "java_date",
    "java_double",
    "to_json",
    "to_xml",
    "typed",
]

for _p, _u in NAMESPACES.items():
    ET.register_namespace(_p, _u)
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def java_date(ts: str) -> str:
    """``2021-04-08 19:28:45.123`` -> ``Thu Apr 08 19:28:45 UTC 2021`` (``Date.toString``)."""
    try:
        dt = datetime.strptime(ts.split(".")[0], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ts
    return dt.strftime("%a %b %d %H:%M:%S UTC %Y")


def java_double(text: str) -> str:
    """``text`` as Java's ``Double.toString`` writes it (``42`` -> ``42.0``, ``0.0001`` ->
    ``1.0E-4``, ``1e7`` -> ``1.0E7``): the text XNAT gives a stored ``xs:float`` /
    ``xs:double`` / ``xs:decimal`` (``FLOAT``/``NUMERIC`` columns read back as ``Double``,
    ``JavaMapping``) in XML documents and listings. Text that is no number is left alone."""
    try:
        v = float(text)
    except ValueError:
        return text
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    if 1e-3 <= abs(v) < 1e7:
        return repr(v)  # positional, shortest digits, always with a fraction
    # the shortest round-tripping digits (as Double.toString of JDK 19+ picks them)
    sign, digits, exp = Decimal(repr(v)).as_tuple()
    text_digits = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = len(digits) + int(exp) - 1
    tail = text_digits[1:] or "0"
    return f"{'-' if sign else ''}{text_digits[0]}.{tail}E{exponent}"


def _json_number(v: float) -> int | float:
    """A ``Double`` as org.json writes it (``JSONObject.numberToString`` drops a trailing
    ``.0``, so ``42.0`` is the JSON number ``42``; ``1.0E-4`` and ``1.0E7`` keep the
    exponent)."""
    if v.is_integer() and abs(v) < 1e7:
        return int(v)
    return v


def typed(schema: SchemaInfo, xsi_type: str, path: str, value: str) -> Any:
    """``value`` converted to the JSON type XNAT gives the field."""
    f = schema.field(xsi_type, path)
    if f is None:
        return value
    try:
        if f.xstype in NUMERIC_INT:
            return int(value)
        if f.xstype in NUMERIC_FLOAT:
            v = float(value)
            return value if math.isinf(v) or math.isnan(v) else _json_number(v)
    except ValueError:
        return value
    if f.xstype == "xs:boolean":
        return "true" if value.lower() in ("true", "1") else "false"
    return value


def xml_text(schema: SchemaInfo, xsi_type: str, path: str, value: str) -> str:
    """``value`` as XNAT's XML writer puts it (``XMLWriter.ValueParser``: ``o.toString()``
    of the stored ``Double`` for float/double/decimal, ``INF``/``-INF`` for infinities)."""
    f = schema.field(xsi_type, path)
    if f is None or f.xstype not in NUMERIC_FLOAT:
        return value
    out = java_double(value)
    return {"Infinity": "INF", "-Infinity": "-INF"}.get(out, out)


#: ``parameters/addParam[name=X]`` data keys: the ``xnat:addField`` items of a scan's or a
#: reconstruction's ``parameters/addParam`` list, kept with the object's fields
ADD_PARAM = re.compile(r"^parameters/addParam\[name=(.*)\]$")

#: ``studyProtocol[ID=X]`` data keys of a project: one item of its ``studyProtocol`` list
#: (``xnat:abstractProtocol``, maxOccurs unbounded), kept as the XML element it came in
STUDY_PROTOCOL = re.compile(r"^studyProtocol\[ID=(.*)\]$")
#: ``path[N]/field`` data keys: field ``field`` of the N-th item of child list ``path``
_ITEM_KEY = re.compile(r"^(.+?)\[(\d+)\]/(.+)$")


class ItemNode:
    """One XFT item (object or nested child) renderable as JSON and XML."""

    def __init__(
        self,
        xsi_type: str,
        fields: Mapping[str, str],
        *,
        event_id: int = 0,
        insert_date: str = "",
        extra_json: Mapping[str, Any] | None = None,
    ) -> None:
        self.xsi_type = xsi_type
        self.fields = dict(fields)
        self.event_id = event_id
        self.insert_date = insert_date
        self.extra_json = dict(extra_json or {})
        #: (field path, xml container path, xml element name, items)
        self.children: list[tuple[str, ItemNode]] = []
        #: custom variables name -> value
        self.custom: dict[str, str] = {}
        #: an item kept as the XML it came in (written back as it is, under its own tag)
        self.raw: ET.Element | None = None

    def add(self, field: str, node: ItemNode) -> None:
        """Append a child item under collection ``field``."""
        self.children.append((field, node))

    def _split_items(self, schema: SchemaInfo) -> None:
        """Turn stored ``scans/scan[N]/field`` keys into child items of ``scans/scan`` (of
        XNAT's pseudo type ``...Data_scan``), in index order."""
        children = schema.children(self.xsi_type)
        if not children:
            return
        groups: dict[tuple[str, int], dict[str, str]] = {}
        for key in list(self.fields):
            m = _ITEM_KEY.match(key)
            if m is not None and m.group(1) in children:
                item = groups.setdefault((m.group(1), int(m.group(2))), {})
                item[m.group(3)] = self.fields.pop(key)
        for (path, _), fields in sorted(groups.items()):
            self.add(path, ItemNode(children[path], fields))

    # -- JSON -----------------------------------------------------------------------------
    def json_item(
        self, schema: SchemaInfo, parent_date: str = "", parent_event: int = 0
    ) -> dict[str, Any]:
        """The ITEM dict (nested items without their own dates inherit the parent's)."""
        self._split_items(schema)
        insert_date = self.insert_date or parent_date
        event_id = self.event_id or parent_event
        data: dict[str, Any] = {
            k: typed(schema, self.xsi_type, k, v) for k, v in self.fields.items() if v != ""
        }
        data.update(self.extra_json)
        groups: dict[str, list[dict[str, Any]]] = {}
        for field, node in self.children:
            groups.setdefault(field, []).append(node.json_item(schema, insert_date, event_id))
        children = [{"field": f, "items": items} for f, items in groups.items()]
        meta: dict[str, Any] = {
            "isHistory": False,
            "create_event_id": event_id,
            "start_date": java_date(insert_date),
            "xsi:type": self.xsi_type,
        }
        return {"meta": meta, "data_fields": data, "children": children}

    # -- XML ------------------------------------------------------------------------------
    def xml_element(self, schema: SchemaInfo, tag: str, *, with_type: bool) -> ET.Element:
        """This item as an element named ``tag`` (``prefix:Name``)."""
        if self.raw is not None:
            kept = copy.deepcopy(self.raw)
            kept.tag = _qname(tag)
            kept.set(XSI_TYPE, self.xsi_type)
            return kept
        self._split_items(schema)
        el = ET.Element(_qname(tag))
        if with_type:
            el.set(XSI_TYPE, self.xsi_type)
        prefix = tag.split(":", 1)[0] if ":" in tag else "xnat"
        order = [f.path for f in schema.fields(self.xsi_type)]
        known = {p.lower(): p for p in order}
        kinds = {f.path: f.kind for f in schema.fields(self.xsi_type)}
        rank = {p: i for i, p in enumerate(order)}
        items = sorted(
            ((known.get(k.lower(), k), v) for k, v in self.fields.items() if v != ""),
            key=lambda kv: rank.get(kv[0], len(rank)),
        )
        for path, value in items:
            value = xml_text(schema, self.xsi_type, path, value)
            parts = path.split("/")
            kind = kinds.get(
                path, "attribute" if len(parts) == 1 and path[:1].isupper() else "element"
            )
            parent = el
            for seg in parts[:-1]:
                sub = _child(parent, _qname(f"{prefix}:{seg}"))
                if sub is None:
                    sub = ET.SubElement(parent, _qname(f"{prefix}:{seg}"))
                parent = sub
            last = parts[-1]
            if kind == "attribute":
                parent.set(last, value)
            else:
                existing = _child(parent, _qname(f"{prefix}:{last}"))
                if existing is None:
                    existing = ET.SubElement(parent, _qname(f"{prefix}:{last}"))
                existing.text = value
        for field, node in self.children:
            container, _, leaf = field.rpartition("/")
            parent = el
            if container:
                for seg in container.split("/"):
                    sub = _child(parent, _qname(f"{prefix}:{seg}"))
                    if sub is None:
                        sub = ET.SubElement(parent, _qname(f"{prefix}:{seg}"))
                    parent = sub
            if node.xsi_type.endswith("_field") or node.xsi_type == "xnat:addField":
                # simple content with a ``name`` attribute: ``<xnat:field name="x">v``,
                # ``<xnat:addParam name="x">v`` (the ``field`` / ``addField`` value)
                f = ET.SubElement(parent, _qname(f"{prefix}:{leaf}"))
                f.set("name", node.fields.get("name", ""))
                f.text = node.fields.get("field", node.fields.get("addField", ""))
                continue
            parent.append(node.xml_element(schema, f"{prefix}:{leaf}", with_type=True))
        return el


def _child(parent: ET.Element, tag: str) -> ET.Element | None:
    for c in parent:
        if c.tag == tag:
            return c
    return None


def _qname(tag: str) -> str:
    prefix, _, local = tag.partition(":")
    if not local:
        return tag
    return "{" + NAMESPACES.get(prefix, NAMESPACES["xnat"]) + "}" + local


def to_json(schema: SchemaInfo, node: ItemNode) -> dict[str, Any]:
    """``{"items": [ITEM]}`` for ``node``."""
    return {"items": [node.json_item(schema)]}


def to_xml(schema: SchemaInfo, node: ItemNode, site_url: str) -> str:
    """The XML document of ``node`` with its schema element as root."""
    root = node.xml_element(schema, schema.element_name(node.xsi_type), with_type=False)
    root.set(
        "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation",
        f"http://nrg.wustl.edu/xnat {site_url}/schemas/xnat/xnat.xsd",
    )
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


# -- builders for the stored objects -----------------------------------------------------


def custom_field_nodes(store: Store, kind: str, owner_id: str, xsi_type: str) -> list[ItemNode]:
    """Custom variables of an object as ``fields/field`` items."""
    rows = store.query(
        "SELECT name, value FROM custom_fields WHERE kind=? AND owner_id=? ORDER BY name",
        (kind, owner_id),
    )
    return [ItemNode(f"{xsi_type}_field", {"name": r[0], "field": r[1]}) for r in rows]


def resource_nodes(
    store: Store, parent_kind: str, parent_id: str, inout: str | None = None
) -> list[ItemNode]:
    """Resource catalogs of a parent as items."""
    sql = (
        "SELECT r.*, COUNT(f.id) AS n, COALESCE(SUM(f.size), 0) AS total FROM resources r "
        "LEFT JOIN files f ON f.resource_id = r.id WHERE r.parent_kind=? AND r.parent_id=?"
    )
    params: list[Any] = [parent_kind, parent_id]
    if inout is not None:
        sql += " AND r.inout=?"
        params.append(inout)
    sql += " GROUP BY r.id ORDER BY r.id"
    out = []
    for r in store.query(sql, params):
        fields = {
            "label": r["label"],
            "format": r["format"],
            "content": r["content"],
            "description": r["description"],
            "tags": r["tags"],
            "URI": f"{store.files_root / str(r['id'])}/{r['label']}_catalog.xml",
        }
        fields.update(loads_data(r["data"]))  # a site subtype's own fields
        out.append(
            ItemNode(
                r["xsi_type"],
                fields,
                event_id=r["event_id"],
                insert_date=r["insert_date"],
                extra_json={
                    "file_count": r["n"],
                    "file_size": r["total"],
                    "xnat_abstractresource_id": r["id"],
                },
            )
        )
    return out


def share_nodes(store: Store, kind: str, object_id: str) -> list[ItemNode]:
    """``sharing/share`` items (without ``label`` for a share made without one: XNAT stores
    none, and its ``xnat:share`` element has no ``label`` attribute)."""
    rows = store.query(
        "SELECT project, label FROM shares WHERE kind=? AND object_id=? ORDER BY project",
        (kind, object_id),
    )
    xsi = "xnat:projectParticipant" if kind == "subject" else "xnat:experimentData_share"
    return [ItemNode(xsi, {"project": r[0], "label": r[1] or ""}) for r in rows]


#: project settings XNAT keeps in ``arc:project``, not in the ``xnat:projectData`` document
_ARC_SETTINGS = frozenset({"prearchive_code", "quarantine_code", "current_arc"})


def project_node(store: Store, row: sqlite3.Row) -> ItemNode:
    """A project item."""
    data = loads_data(row["data"])
    fields = {
        "ID": row["id"],
        "secondary_ID": row["secondary_id"],
        "name": row["name"],
        "description": row["description"],
    }
    fields.update(
        {
            k: v
            for k, v in data.items()
            if not k.startswith("PI/") and k not in _ARC_SETTINGS and not STUDY_PROTOCOL.match(k)
        }
    )
    node = ItemNode(
        "xnat:projectData", fields, event_id=row["event_id"], insert_date=row["insert_date"]
    )
    pi = {k[3:]: v for k, v in data.items() if k.startswith("PI/")}
    if pi:
        node.add("PI", ItemNode("xnat:investigatorData", pi))
    for key in sorted(k for k in data if STUDY_PROTOCOL.match(k)):
        node.add("studyProtocol", _protocol_node(data[key]))
    for n in custom_field_nodes(store, "project", row["id"], "xnat:projectData"):
        node.add("fields/field", n)
    for n in resource_nodes(store, "project", row["id"]):
        node.add("resources/resource", n)
    return node


def _protocol_node(text: str) -> ItemNode:
    """A ``studyProtocol`` item from its kept XML: its attributes (ID, name, description,
    data-type) are its fields; what it holds is written back as it came."""
    el = ET.fromstring(text)
    xsi = el.get(XSI_TYPE) or "xnat:abstractProtocol"
    node = ItemNode(xsi, {k: v for k, v in el.attrib.items() if not k.startswith("{")})
    node.raw = el
    return node


def subject_node(
    store: Store, row: sqlite3.Row, *, label: str | None = None, project: str | None = None
) -> ItemNode:
    """A subject item (``label``/``project`` as seen from the URL's project)."""
    data = loads_data(row["data"])
    fields = {"ID": row["id"], "project": row["project"], "label": row["label"]}
    demo = {}
    for k, v in data.items():
        if k.startswith("demographics/"):
            demo[k[len("demographics/") :]] = v
        else:
            fields[k] = v
    node = ItemNode(
        "xnat:subjectData", fields, event_id=row["event_id"], insert_date=row["insert_date"]
    )
    if demo:
        node.add("demographics", ItemNode("xnat:demographicData", demo))
    for n in custom_field_nodes(store, "subject", row["id"], "xnat:subjectData"):
        node.add("fields/field", n)
    for n in share_nodes(store, "subject", row["id"]):
        node.add("sharing/share", n)
    for n in resource_nodes(store, "subject", row["id"]):
        node.add("resources/resource", n)
    exps = store.query(
        "SELECT * FROM experiments WHERE subject_id=? AND session_id IS NULL ORDER BY id",
        (row["id"],),
    )
    for e in exps:
        node.add("experiments/experiment", experiment_node(store, e, deep=False))
    return node


def add_param_nodes(data: Mapping[str, str]) -> list[ItemNode]:
    """The ``xnat:addField`` items (``name`` attribute, ``addField`` value) of the
    ``parameters/addParam[name=X]`` keys of a scan's or reconstruction's data, by name."""
    out = []
    for key in sorted(data):
        m = ADD_PARAM.match(key)
        if m is not None:
            out.append(ItemNode("xnat:addField", {"addField": data[key], "name": m.group(1)}))
    return out


def scan_node(store: Store, row: sqlite3.Row, project: str) -> ItemNode:
    """A scan item with its resources under ``file``."""
    data = loads_data(row["data"])
    fields = {
        "ID": row["id"],
        "type": row["type"],
        "image_session_ID": row["experiment_id"],
        "project": project,
    }
    fields.update({k: v for k, v in data.items() if k not in fields and not ADD_PARAM.match(k)})
    node = ItemNode(
        row["xsi_type"],
        fields,
        event_id=row["event_id"],
        insert_date=row["insert_date"],
        extra_json={"xnat_imagescandata_id": row["pk"], "xnat_imageScanData_id": row["pk"]},
    )
    for n in add_param_nodes(data):
        node.add("parameters/addParam", n)
    for n in resource_nodes(store, "scan", str(row["pk"])):
        node.add("file", n)
    return node


def recon_node(store: Store, row: sqlite3.Row) -> ItemNode:
    """A reconstruction item."""
    data = loads_data(row["data"])
    fields = {
        "ID": row["id"],
        "type": row["type"],
        "baseScanType": row["base_scan_type"],
        "image_session_ID": row["experiment_id"],
    }
    fields.update({k: v for k, v in data.items() if k not in fields and not ADD_PARAM.match(k)})
    node = ItemNode(
        row["xsi_type"],
        fields,
        event_id=row["event_id"],
        insert_date=row["insert_date"],
        extra_json={"xnat_reconstructedimagedata_id": row["pk"]},
    )
    for n in add_param_nodes(data):
        node.add("parameters/addParam", n)
    for n in resource_nodes(store, "reconstruction", str(row["pk"]), "in"):
        node.add("in/file", n)
    for n in resource_nodes(store, "reconstruction", str(row["pk"]), "out"):
        node.add("out/file", n)
    for n in resource_nodes(store, "reconstruction", str(row["pk"]), ""):
        node.add("out/file", n)
    return node


def experiment_node(
    store: Store,
    row: sqlite3.Row,
    *,
    label: str | None = None,
    project: str | None = None,
    deep: bool = True,
) -> ItemNode:
    """An experiment (session, subject assessor or image assessor) item."""
    data = loads_data(row["data"])
    fields = {"ID": row["id"], "project": row["project"], "label": row["label"]}
    if row["subject_id"]:
        fields["subject_ID"] = row["subject_id"]
    if row["session_id"]:
        fields["imageSession_ID"] = row["session_id"]
    fields.update({k: v for k, v in data.items() if k not in fields})
    node = ItemNode(
        row["xsi_type"],
        fields,
        event_id=row["event_id"],
        insert_date=row["insert_date"],
        extra_json={"id": row["id"]},
    )
    if not deep:
        return node
    eid = row["id"]
    for s in store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (eid,)):
        node.add("scans/scan", scan_node(store, s, row["project"]))
    for r in store.query("SELECT * FROM reconstructions WHERE experiment_id=? ORDER BY pk", (eid,)):
        node.add("reconstructions/reconstructedImage", recon_node(store, r))
    if row["session_id"]:
        for n in resource_nodes(store, "assessor", eid, "in"):
            node.add("in/file", n)
        for n in resource_nodes(store, "assessor", eid, "out"):
            node.add("out/file", n)
        for n in resource_nodes(store, "assessor", eid, ""):
            node.add("out/file", n)
    else:
        for n in resource_nodes(store, "experiment", eid):
            node.add("resources/resource", n)
    for a in store.query("SELECT * FROM experiments WHERE session_id=? ORDER BY id", (eid,)):
        node.add("assessors/assessor", experiment_node(store, a))
    for n in custom_field_nodes(store, "experiment", eid, row["xsi_type"]):
        node.add("fields/field", n)
    for n in share_nodes(store, "experiment", eid):
        node.add("sharing/share", n)
    return node


def iter_nodes(nodes: Iterable[ItemNode]) -> list[ItemNode]:
    """Materialise ``nodes`` (helper for typing)."""
    return list(nodes)
