"""What the server needs to know from the XSD files: field paths, kinds and types per xsi type.

Read with ElementTree on first use and cached per schemas folder (~30 ms for xnat.xsd).
Fields are flattened the way XNAT's ``data_fields`` are: attributes and simple elements,
through nested anonymous single elements joined with ``/`` (``scanner/manufacturer``);
named complex types and repeated elements are children and are not flattened.
Without a schemas folder a tiny built-in fallback keeps the server usable.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xnat_sdk.testing._server.context import RequestContext

__all__ = ["FieldDef", "SchemaInfo", "TypeDef", "load_schema_info", "schema_of"]

XS = "{http://www.w3.org/2001/XMLSchema}"
NUMERIC_INT = {
    "xs:integer",
    "xs:int",
    "xs:long",
    "xs:short",
    "xs:nonNegativeInteger",
    "xs:positiveInteger",
}
NUMERIC_FLOAT = {"xs:float", "xs:double", "xs:decimal"}

NAMESPACES = {
    "xnat": "http://nrg.wustl.edu/xnat",
    "xdat": "http://nrg.wustl.edu/security",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


@dataclass(frozen=True)
class FieldDef:
    """One flattened field: its ``data_fields`` path, XML kind and XSD simple type, with the
    restriction facets XNAT's validator checks (``enumeration``, ``max_length``) and the
    type that declares it (``owner``, for validation messages)."""

    path: str
    kind: str  # "attribute" | "element"
    xstype: str
    enumeration: tuple[str, ...] = ()
    max_length: int | None = None
    owner: str = ""


@dataclass(frozen=True)
class _Simple:
    """A simple type: its XSD base type and facets."""

    base: str
    enumeration: tuple[str, ...] = ()
    max_length: int | None = None


_STRING = _Simple("xs:string")


def _restriction(st: ET.Element | None) -> _Simple:
    """The base and facets of a ``simpleType`` element (xs:string when it has none)."""
    r = st.find(f"{XS}restriction") if st is not None else None
    if r is None:
        return _STRING
    values = tuple(e.get("value", "") for e in r.findall(f"{XS}enumeration"))
    longest = r.find(f"{XS}maxLength")
    limit = longest.get("value") if longest is not None else None
    return _Simple(
        r.get("base", "xs:string"), values, int(limit) if limit and limit.isdigit() else None
    )


@dataclass
class TypeDef:
    """One named complex type."""

    name: str
    base: str | None
    fields: list[FieldDef] = field(default_factory=list)
    element: str | None = None
    abstract: bool = False
    steps: set[str] = field(default_factory=set)
    """The first steps of the type's own paths, in lower case: each attribute and element
    declared directly in it, of a simple or a complex type (``demographics``, ``scans``)."""
    children: dict[str, str] = field(default_factory=dict)
    """Repeated anonymous child items: path (``scans/scan``) -> XNAT's pseudo type of the
    items (``qc:reviewData_scan``, the owner's name, ``_`` and the element's, as
    ``XFTElement(node, prefix, schema, header)`` names them)."""
    refs: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Elements of a named complex type (items of their own in XNAT): path
    (``demographics``, ``scans/scan``) -> (declared type, repeated)."""


class SchemaInfo:
    """Type table of the loaded schemas."""

    def __init__(self, types: dict[str, TypeDef]) -> None:
        self.types = types
        self._cache: dict[str, list[FieldDef]] = {}
        self._by_lower = {k.lower(): k for k in types}

    def canonical(self, xsi_type: str) -> str | None:
        """The declared spelling of ``xsi_type`` (case-insensitive), or ``None``."""
        return self._by_lower.get(xsi_type.lower())

    def fields(self, xsi_type: str) -> list[FieldDef]:
        """All flattened fields of ``xsi_type``, base types first."""
        if xsi_type in self._cache:
            return self._cache[xsi_type]
        t = self.types.get(xsi_type)
        out: list[FieldDef] = []
        if t is not None:
            if t.base:
                out.extend(self.fields(t.base))
            seen = {f.path for f in out}
            out.extend(f for f in t.fields if f.path not in seen)
        self._cache[xsi_type] = out
        return out

    def children(self, xsi_type: str) -> dict[str, str]:
        """The repeated anonymous child items of ``xsi_type`` and its bases (path -> type)."""
        out: dict[str, str] = {}
        t = self.types.get(xsi_type)
        while t is not None:
            for path, child in t.children.items():
                out.setdefault(path, child)
            t = self.types.get(t.base) if t.base else None
        return out

    def ref(self, xsi_type: str, path: str) -> tuple[str, bool] | None:
        """(declared type, repeated) of the element of a named complex type at ``path`` (any
        case) of ``xsi_type`` or a base (``xnat:subjectData`` ``demographics`` ->
        ``("xnat:abstractDemographicData", False)``)."""
        low = path.lower()
        t = self.types.get(xsi_type)
        while t is not None:
            for step, found in t.refs.items():
                if step.lower() == low:
                    return found
            t = self.types.get(t.base) if t.base else None
        return None

    def field(self, xsi_type: str, path: str) -> FieldDef | None:
        """The field at ``path`` (case-insensitive) of ``xsi_type``."""
        low = path.lower()
        for f in self.fields(xsi_type):
            if f.path.lower() == low:
                return f
        return None

    def has_step(self, xsi_type: str, step: str) -> bool | None:
        """Whether ``xsi_type`` or a base declares the first path step ``step`` (any case);
        ``None`` when the type's steps are not known (the fallback table)."""
        t = self.types.get(xsi_type)
        known = False
        while t is not None:
            if step.lower() in t.steps:
                return True
            known = known or bool(t.steps)
            t = self.types.get(t.base) if t.base else None
        return False if known else None

    def is_a(self, xsi_type: str, base: str) -> bool:
        """Whether ``xsi_type`` is ``base`` or derives from it."""
        t: str | None = xsi_type
        while t is not None:
            if t == base:
                return True
            td = self.types.get(t)
            t = td.base if td is not None else None
        return False

    def element_name(self, xsi_type: str) -> str:
        """The global element of ``xsi_type`` (``xnat:MRSession``), else derived from it."""
        t = self.types.get(xsi_type)
        prefix = xsi_type.split(":", 1)[0] if ":" in xsi_type else "xnat"
        if t is not None and t.element:
            return f"{prefix}:{t.element}"
        local = xsi_type.split(":", 1)[-1]
        if local.endswith("Data"):
            local = local[:-4]
        return f"{prefix}:{local[:1].upper()}{local[1:]}"


_lock = threading.Lock()
_cache: dict[str, SchemaInfo] = {}


def load_schema_info(folder: Path | None, extra: tuple[Path, ...] = ()) -> SchemaInfo:
    """The :class:`SchemaInfo` of the ``*/*.xsd`` files in ``folder`` plus ``extra`` files
    (cached)."""
    key = str(folder) if folder is not None else ""
    key += "|" + "|".join(str(p) for p in extra)
    with _lock:
        if key in _cache:
            return _cache[key]
        types: dict[str, TypeDef] = {}
        files = sorted(Path(folder).glob("*/*.xsd")) if folder is not None else []
        roots = [(path, ET.parse(path).getroot()) for path in [*files, *extra]]
        simple: dict[str, _Simple] = {}  # shared: a file may use a type another defines
        prefixes = [_prefix_of(root, path) for path, root in roots]
        for (_, root), prefix in zip(roots, prefixes, strict=True):
            for st in root.findall(f"{XS}simpleType"):
                simple[f"{prefix}:{st.get('name')}"] = _restriction(st)
        site = set(extra)
        for (path, root), prefix in zip(roots, prefixes, strict=True):
            _parse_root(root, prefix, simple, types, site=path in site)
        if not types:
            types = _fallback()
        info = SchemaInfo(types)
        _cache[key] = info
        return info


def _prefix_of(root: ET.Element, path: Path) -> str:
    tns = root.get("targetNamespace", "")
    for prefix, uri in NAMESPACES.items():
        if uri == tns:
            return prefix
    for _event, (prefix, uri) in ET.iterparse(path, events=["start-ns"]):
        if uri == tns and prefix:
            # a site plugin namespace: known from now on for XML output too
            NAMESPACES.setdefault(str(prefix), str(uri))
            ET.register_namespace(str(prefix), str(uri))
            return str(prefix)
    return path.parent.name


def _named_complex_types(root: ET.Element) -> list[tuple[str, ET.Element]]:
    """(name, complexType) of the named complex types and of the global elements with an
    anonymous one (XNAT makes those data types named after the element, ``XFTSchema``)."""
    found = [(str(ct.get("name")), ct) for ct in root.findall(f"{XS}complexType")]
    if root.get("targetNamespace") == "http://nrg.wustl.edu/xdat":
        return found  # the xdat annotation vocabulary, not a data model
    for el in root.findall(f"{XS}element"):
        ct = el.find(f"{XS}complexType")
        if el.get("name") and el.get("type") is None and ct is not None:
            found.append((str(el.get("name")), ct))
    return found


def _definitions(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {
        (n.tag.replace(XS, ""), str(n.get("name"))): n
        for n in root
        if n.tag in (f"{XS}group", f"{XS}attributeGroup", f"{XS}element") and n.get("name")
    }


def _parse_root(
    root: ET.Element,
    prefix: str,
    simple: dict[str, _Simple],
    types: dict[str, TypeDef],
    *,
    site: bool = False,
) -> None:
    for local, ct in _named_complex_types(root):
        name = f"{prefix}:{local}"
        td = TypeDef(name=name, base=None, abstract=ct.get("abstract") == "true")
        body: ET.Element = ct
        for tag in ("complexContent", "simpleContent"):
            cc = ct.find(f"{XS}{tag}")
            if cc is not None:
                ext = cc.find(f"{XS}extension")
                if ext is None:
                    ext = cc.find(f"{XS}restriction")
                if ext is not None:
                    base = ext.get("base")
                    if base and not base.startswith("xs:"):
                        td.base = base
                    body = ext
        _collect(body, "", _Owner(td, types, simple, prefix, _definitions(root), site))
        types[name] = td
    for el in root.findall(f"{XS}element"):
        t = el.get("type") or f"{prefix}:{el.get('name')}"
        if t in types and types[t].element is None:
            types[t].element = el.get("name")


@dataclass
class _Owner:
    """The type whose fields are being collected, and what resolving them needs."""

    td: TypeDef
    types: dict[str, TypeDef]
    simple: dict[str, _Simple]
    prefix: str
    defs: dict[tuple[str, str], ET.Element] = field(default_factory=dict)
    """Top-level groups, attribute groups and elements of the file, by (kind, name)."""
    site: bool = False
    """A site schema: its elements of a named complex type are child items (as in XNAT,
    where they are items of their own); the core ones keep their special handling."""

    def add(self, path: str, kind: str, st: _Simple) -> None:
        self.td.fields.append(
            FieldDef(path, kind, st.base, st.enumeration, st.max_length, self.td.name)
        )


def _simple_type(el: ET.Element, owner: _Owner) -> _Simple | None:
    """The simple type of an element or attribute, read as leniently as XNAT's loader: a
    restriction directly under the element, an unprefixed name of the schema's own type, and
    ``type=`` with inline facets are all accepted (see ``xnat_sdk_codegen.lenient``)."""
    t = el.get("type")
    st = el.find(f"{XS}simpleType")
    if st is None and el.find(f"{XS}restriction") is not None:
        st = el  # a restriction directly under the element (XFTRule reads it too)
    if t is not None:
        inline = _restriction(st) if st is not None else _STRING
        if ":" not in t:
            t = f"{owner.prefix}:{t}" if f"{owner.prefix}:{t}" in owner.simple else f"xs:{t}"
        if t.startswith("xs:"):
            return _Simple(t, inline.enumeration, inline.max_length)
        return owner.simple.get(t)
    if st is not None:
        return _restriction(st)
    if el.find(f"{XS}complexType") is None:
        return _STRING
    return None


def _collect(node: ET.Element, prefix: str, owner: _Owner) -> None:
    for child in node:
        tag = child.tag
        if not prefix and tag in (f"{XS}attribute", f"{XS}element"):
            step = child.get("name") or str(child.get("ref") or "").rpartition(":")[2]
            if step:
                owner.td.steps.add(step.lower())
        if tag == f"{XS}attribute":
            name = child.get("name")
            if name:
                owner.add(prefix + name, "attribute", _simple_type(child, owner) or _STRING)
        elif tag in (f"{XS}sequence", f"{XS}choice", f"{XS}all"):
            _collect(child, prefix, owner)
        elif tag == f"{XS}element" and child.get("name"):
            _collect_element(child, prefix, owner)
        elif child.get("ref") and tag in (f"{XS}group", f"{XS}attributeGroup", f"{XS}element"):
            _collect_ref(child, prefix, owner)


def _collect_ref(ref: ET.Element, prefix: str, owner: _Owner) -> None:
    """A reference to a top-level group, attribute group or element of the same file, read
    in place as XNAT's ``XFTField.GetFields`` reads them (see ``xnat_sdk_codegen.lenient``)."""
    kind = ref.tag.replace(XS, "")
    target = owner.defs.get((kind, str(ref.get("ref")).rpartition(":")[2]))
    if target is None:
        return
    if kind != "element":
        _collect(target, prefix, owner)
        return
    if target.get("type") is None and target.find(f"{XS}complexType") is not None:
        if owner.site:  # a global element's anonymous type is a data type of its own
            owner.td.children[prefix + str(target.get("name"))] = (
                f"{owner.prefix}:{target.get('name')}"
            )
        return
    copy = ET.Element(target.tag, dict(target.attrib))
    copy.extend(list(target))
    for attr in ("minOccurs", "maxOccurs"):
        if ref.get(attr) is not None:
            copy.set(attr, str(ref.get(attr)))
    _collect_element(copy, prefix, owner)


def _collect_element(child: ET.Element, prefix: str, owner: _Owner) -> None:
    name = str(child.get("name"))
    repeated = child.get("maxOccurs", "1") not in ("1", "0")
    st = _simple_type(child, owner)
    ct = child.find(f"{XS}complexType")
    if st is not None:
        if repeated:
            _value_items(name, prefix + name, st, owner)
            return
        owner.add(prefix + name, "element", st)
        if ct is not None:  # type= plus inline attributes: XNAT keeps both
            _collect(ct, prefix + name + "/", owner)
        return
    if ct is None:
        t = child.get("type") or ""
        if t:
            owner.td.refs[prefix + name] = (t if ":" in t else f"{owner.prefix}:{t}", repeated)
        if owner.site and t:
            owner.td.children[prefix + name] = t if ":" in t else f"{owner.prefix}:{t}"
        return
    if repeated:
        _child_items(child, ct, prefix + name, owner)
        return
    sc = ct.find(f"{XS}simpleContent")
    if sc is not None:
        ext = sc.find(f"{XS}extension")
        base = ext.get("base", "xs:string") if ext is not None else "xs:string"
        owner.add(prefix + name, "element", owner.simple.get(base, _Simple(base)))
        if ext is not None:
            _collect(ext, prefix + name + "/", owner)
        return
    _collect(ct, prefix + name + "/", owner)


def _value_items(name: str, path: str, st: _Simple, owner: _Owner) -> None:
    """A repeated simple element (``comments/comment``): XNAT stores each value as an item of
    a type it makes for it (``XFTField.AddField``, "standard data type with max occurs": an
    in-line repeater ``XFTElement`` named ``{owner}_{name}`` with one field ``{name}``)."""
    root = owner.td.name.split(":", 1)[-1]
    xsi = f"{owner.prefix}:{root}_{name}"
    td = TypeDef(name=xsi, base=None)
    td.fields.append(FieldDef(name, "element", st.base, st.enumeration, st.max_length, xsi))
    owner.types.setdefault(xsi, td)
    owner.td.children[path] = xsi


def _child_items(el: ET.Element, ct: ET.Element, path: str, owner: _Owner) -> None:
    """Register the pseudo type of repeated anonymous items (``scans/scan``)."""
    root = owner.td.name.split(":", 1)[-1]
    xsi = f"{owner.prefix}:{root}_{el.get('name')}"
    td = TypeDef(name=xsi, base=None)
    body: ET.Element = ct
    cc = ct.find(f"{XS}complexContent")
    ext = cc.find(f"{XS}extension") if cc is not None else None
    if ext is not None:
        td.base = ext.get("base")
        body = ext
    sc = ct.find(f"{XS}simpleContent")
    simple = sc.find(f"{XS}extension") if sc is not None else None
    if simple is not None:  # text with attributes (``sharing/share``: label, project)
        body = simple
    inner = _Owner(td, owner.types, owner.simple, owner.prefix, owner.defs, owner.site)
    _collect(body, "", inner)
    owner.types.setdefault(xsi, td)
    owner.td.children[path] = xsi


def _fallback() -> dict[str, TypeDef]:
    def td(name: str, base: str | None, attrs: list[str], elems: list[str]) -> TypeDef:
        fields = [FieldDef(a, "attribute", "xs:string") for a in attrs]
        fields += [FieldDef(e, "element", "xs:string") for e in elems]
        return TypeDef(name, base, fields)

    types = {
        "xnat:projectData": td(
            "xnat:projectData",
            None,
            ["ID", "secondary_ID", "active"],
            ["name", "description", "keywords"],
        ),
        "xnat:subjectData": td(
            "xnat:subjectData", None, ["ID", "project", "label", "group", "src"], []
        ),
        "xnat:experimentData": td(
            "xnat:experimentData",
            None,
            ["ID", "project", "label", "visit_id"],
            ["date", "time", "note"],
        ),
        "xnat:subjectAssessorData": td(
            "xnat:subjectAssessorData", "xnat:experimentData", [], ["subject_ID"]
        ),
        "xnat:imageSessionData": td(
            "xnat:imageSessionData", "xnat:subjectAssessorData", ["UID"], ["scanner", "modality"]
        ),
        "xnat:mrSessionData": td(
            "xnat:mrSessionData", "xnat:imageSessionData", [], ["fieldStrength"]
        ),
        "xnat:imageScanData": td(
            "xnat:imageScanData",
            None,
            ["ID", "type", "UID"],
            ["quality", "series_description", "note"],
        ),
        "xnat:mrScanData": td("xnat:mrScanData", "xnat:imageScanData", [], []),
        "xnat:derivedData": td("xnat:derivedData", "xnat:experimentData", [], []),
        "xnat:imageAssessorData": td(
            "xnat:imageAssessorData", "xnat:derivedData", [], ["imageSession_ID"]
        ),
    }
    types["xnat:projectData"].element = "Project"
    types["xnat:subjectData"].element = "Subject"
    types["xnat:mrSessionData"].element = "MRSession"
    types["xnat:mrScanData"].element = "MRScan"
    return types


def schema_of(ctx: RequestContext) -> SchemaInfo:
    """The schema info of the server (cached)."""
    cfg = ctx.state.config
    return load_schema_info(cfg.schemas_dir, tuple(cfg.extra_schemas))
