"""Read XSD files with xsdata's ``SchemaParser`` and build the IR (:mod:`xnat_sdk_codegen.ir`).

The reader follows ``xs:import`` / ``xs:include``, keeps ``xs:documentation`` and the ``xdat:*``
appinfo, and fails loudly (:class:`SchemaError`) on any import or type reference it cannot
resolve. The only exception are the namespaces declared opaque (:data:`OPAQUE_NAMESPACES`):
XNAT's ``xnat.xsd`` imports ``../birn/birnprov.xsd``, which is not published; each type used from
such a namespace becomes one opaque class that keeps the raw data.

Imports of the XNAT core namespaces (``xnat``, ``xdat``) that cannot be found next to the
importing file are resolved against the core schema folder (``--core-schemas``). Files outside
the ``--schemas`` folder are *external*: their types are not generated again, the generated
code imports them from the core package (``xnat_sdk.models``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import binding, lenient, naming
from .ir import UNBOUNDED, FieldDecl, FieldKind, SchemaSet, SourceFile, TypeKind, TypeSpec
from .options import CORE_PACKAGE

XS_NS = "http://www.w3.org/2001/XMLSchema"
XDAT_NS = "http://nrg.wustl.edu/xdat"

OPAQUE_NAMESPACES: Mapping[str, str] = MappingProxyType(
    {
        "http://www.nbirn.net/prov": (
            "the BIRN provenance schema (birnprov.xsd), imported by xnat.xsd but not published "
            "with XNAT's data model"
        ),
    }
)
"""Namespaces whose schema may be missing; their types become opaque classes."""

BUILTIN_TYPES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            [
                "string", "normalizedString", "token", "anyURI", "language", "Name", "NCName",
                "ID", "IDREF", "IDREFS", "ENTITY", "ENTITIES", "NMTOKEN", "NMTOKENS", "QName",
                "NOTATION", "duration", "base64Binary", "hexBinary", "gYear", "gYearMonth",
                "gMonth", "gMonthDay", "gDay", "anySimpleType",
            ],
            "str",
        ),
        "boolean": "bool",
        **dict.fromkeys(
            [
                "integer", "int", "long", "short", "byte", "nonNegativeInteger",
                "positiveInteger", "nonPositiveInteger", "negativeInteger", "unsignedLong",
                "unsignedInt", "unsignedShort", "unsignedByte",
            ],
            "int",
        ),
        **dict.fromkeys(["float", "double", "decimal"], "float"),
        "date": "datetime.date",
        "dateTime": "datetime.datetime",
        "time": "datetime.time",
    }
)  # fmt: skip
"""XSD builtin type (local name) -> Python annotation."""


_FACETS = (
    ("length", "length"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min_inclusive", "minInclusive"),
    ("max_inclusive", "maxInclusive"),
    ("min_exclusive", "minExclusive"),
    ("max_exclusive", "maxExclusive"),
    ("total_digits", "totalDigits"),
    ("fraction_digits", "fractionDigits"),
)


class SchemaError(Exception):
    """A schema cannot be read: missing import, unknown type, unsupported construct;
    ``where`` says where (when known), ``problem`` what, without the place."""

    def __init__(self, message: str, where: Where | None = None, problem: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.problem = problem or message


@dataclass(frozen=True)
class Where:
    """The place in a schema a message is about: the file, a type (a top-level complexType's
    or element's own name, with its ``kind``, or the xsi type ``prefix:name`` a field belongs
    to, with the ``trail`` of elements and ``@attributes`` below it) and a ``note``. Printed
    as the reader's messages begin; the line it stands on is found with
    :func:`lenient.line_of`."""

    file: str
    type: str
    trail: tuple[str, ...] = ()
    kind: str = ""
    note: str = ""

    def __str__(self) -> str:
        head = f"{self.kind} {self.type}" if self.kind else self.type
        text = f"{self.file}: {head}" + "".join(f"/{part}" for part in self.trail)
        return f"{text} ({self.note})" if self.note else text

    def below(self, *parts: str) -> Where:
        """The place of an element or ``@attribute`` below this one."""
        return dataclasses.replace(self, trail=(*self.trail, *parts))

    def noting(self, note: str) -> Where:
        """This place with a note (``simpleType X in FILE``)."""
        return dataclasses.replace(self, note=note)

    def error(self, problem: str) -> SchemaError:
        """A :class:`SchemaError` about this place."""
        return SchemaError(f"{self}: {problem}", self, problem)


@dataclass
class _Loaded:
    path: Path
    rel: str
    sha256: str
    schema: Any
    external: bool

    @property
    def namespace(self) -> str:
        return str(self.schema.target_namespace or "")


@dataclass(frozen=True)
class _Simple:
    py_type: str
    enumeration: tuple[str, ...]
    builtin: str = ""
    """The builtin XSD type it derives from (``xs:string``)."""
    facets: tuple[tuple[str, str], ...] = ()
    """Restriction facets other than enumerations (``maxLength``, ``minInclusive`` ...)."""


@dataclass
class _Scope:
    """Where fields are being collected: which class, which path below which root."""

    key: str
    root_xsi: str
    path: tuple[str, ...]
    class_name: str
    module: str
    namespace: str
    prefix: str
    external: bool
    owner: str
    where_file: str
    bound: tuple[str, ...] = ()
    """Runtime bases (``xnat_sdk.bases``) bound to this type and its ancestors."""


@dataclass
class _Draft:
    """A TypeSpec under construction (fields are added after registration)."""

    spec: TypeSpec
    fields: list[FieldDecl] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_url(location: str) -> bool:
    return "://" in location


def _parse_file(path: Path) -> Any:
    """Parse one XSD file after the lenient pass (:mod:`xnat_sdk_codegen.lenient`)."""
    from xsdata.codegen.parsers.schema import SchemaParser

    try:
        data = lenient.prepare(path, path.read_bytes())
    except lenient.Refused as exc:
        raise SchemaError(str(exc)) from exc
    try:
        return SchemaParser(location=path.as_uri()).from_bytes(data)
    except Exception as exc:
        raise SchemaError(f"cannot parse schema {path}: {exc}") from exc


def _max(value: Any) -> int:
    if value == "unbounded" or value == sys.maxsize:
        return UNBOUNDED
    return int(value)


def _text(content: Sequence[Any]) -> str:
    parts: list[str] = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        else:
            text = getattr(item, "text", None)
            if text:
                parts.append(str(text))
    return " ".join(" ".join(parts).split())


def _flatten_appinfo(node: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    qname = str(getattr(node, "qname", "") or "")
    if not qname.startswith("{" + XDAT_NS + "}"):
        return
    local = qname.split("}", 1)[1]
    here = f"{prefix}.{local}" if prefix else local
    for key, value in (getattr(node, "attributes", None) or {}).items():
        out.append((f"{here}.{key}", str(value)))
    for child in getattr(node, "children", None) or []:
        _flatten_appinfo(child, here, out)


def _annotation(annotations: Sequence[Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    docs: list[str] = []
    app: list[tuple[str, str]] = []
    for ann in annotations or []:
        for doc in ann.documentations or []:
            text = _text(doc.content or [])
            if text:
                docs.append(text)
        for info in ann.app_infos or []:
            for node in info.content or []:
                _flatten_appinfo(node, "", app)
    return "\n\n".join(docs), tuple(app)


def _appinfo_get(app: tuple[tuple[str, str], ...], key: str) -> str | None:
    for k, v in app:
        if k == key:
            return v
    return None


def _xnat_required(by_occurs: bool, simple: _Simple, app: tuple[tuple[str, str], ...]) -> bool:
    """Whether XNAT requires an element's value (``GenericWrapperField.getRequired``): an
    ``xdat:field required="true"`` always; a string only when a ``length`` or ``minLength``
    facet restricts it (``minOccurs`` alone does not); any other value when it must occur."""
    if _appinfo_get(app, "field.required") == "true":
        return True
    if not by_occurs:
        return False
    if simple.builtin == "xs:string":
        return any(name in ("length", "minLength") for name, _ in simple.facets)
    return True


def _children_in_order(group: Any) -> list[Any]:
    kids: list[Any] = []
    for attr in ("elements", "sequences", "choices", "groups", "any"):
        kids.extend(getattr(group, attr, None) or [])
    return sorted(kids, key=lambda k: int(k.index))


class Reader:
    """Reads one schema folder (plus what it imports) into a :class:`SchemaSet`."""

    def __init__(
        self,
        schema_dir: Path,
        core_dir: Path | None = None,
        core_package: str = CORE_PACKAGE,
        opaque_namespaces: Mapping[str, str] = OPAQUE_NAMESPACES,
        only: Sequence[Path] | None = None,
    ) -> None:
        self.schema_dir = schema_dir.resolve()
        self.only = None if only is None else sorted(p.resolve() for p in only)
        self.core_dir = core_dir.resolve() if core_dir is not None else None
        self.core_package = core_package
        self.opaque_namespaces = opaque_namespaces
        self._loaded: dict[Path, _Loaded] = {}
        self._order: list[_Loaded] = []
        self._core_ns: dict[str, Path] | None = None
        self._opaque_used: dict[str, bool] = {}
        self._complex: dict[str, tuple[Any, _Loaded]] = {}
        self._simple: dict[str, tuple[Any, _Loaded]] = {}
        self._elements: dict[str, str] = {}
        self._prefix: dict[str, str] = {}
        self._drafts: dict[str, _Draft] = {}
        self._order_keys: list[str] = []
        self._class_names: set[str] = set()
        self._building: set[str] = set()
        self._element_types: dict[Path, list[str]] = {}
        self._external_now = False
        self._parsed: dict[Path, Any] = {}
        """Whether the type being built comes from an external (core) schema."""

    # ----------------------------------------------------------------- loading
    def _core_namespaces(self) -> dict[str, Path]:
        if self._core_ns is None:
            found: dict[str, Path] = {}
            if self.core_dir is not None and self.core_dir.is_dir():
                for path in sorted(self.core_dir.rglob("*.xsd")):
                    schema = self._parse(path)
                    ns = str(schema.target_namespace or "")
                    found.setdefault(ns, path.resolve())
            self._core_ns = found
        return self._core_ns

    def _parse(self, path: Path) -> Any:
        """Each file is parsed (and warned about) once."""
        path = path.resolve()
        if path not in self._parsed:
            self._parsed[path] = _parse_file(path)
        return self._parsed[path]

    def _rel(self, path: Path) -> tuple[str, bool]:
        if path.is_relative_to(self.schema_dir):
            return path.relative_to(self.schema_dir).as_posix(), False
        if self.core_dir is not None and path.is_relative_to(self.core_dir):
            return path.relative_to(self.core_dir).as_posix(), True
        return path.name, True

    def _load(self, path: Path) -> _Loaded:
        path = path.resolve()
        if path in self._loaded:
            return self._loaded[path]
        rel, external = self._rel(path)
        loaded = _Loaded(path, rel, _sha256(path.read_bytes()), self._parse(path), external)
        self._loaded[path] = loaded
        self._order.append(loaded)
        for ns, prefix in self._prefixes_of(loaded):
            self._prefix.setdefault(ns, prefix)
        for imp in sorted(
            [*(loaded.schema.imports or []), *(loaded.schema.includes or [])],
            key=lambda i: int(i.index),
        ):
            target = self._resolve_import(loaded, imp)
            if target is not None:
                self._load(target)
        return loaded

    @staticmethod
    def _prefixes_of(loaded: _Loaded) -> list[tuple[str, str]]:
        pairs = []
        for prefix, ns in sorted(
            (loaded.schema.ns_map or {}).items(), key=lambda kv: (kv[0] is None, kv[0] or "")
        ):
            if prefix and ns not in (XS_NS, "http://www.w3.org/2001/XMLSchema-instance"):
                pairs.append((ns, prefix))
        return pairs

    def _resolve_import(self, importer: _Loaded, imp: Any) -> Path | None:
        namespace = getattr(imp, "namespace", None)
        if namespace is None and type(imp).__name__ == "Include":
            namespace = importer.namespace
        location = str(getattr(imp, "schema_location", None) or "")
        tried: list[str] = []
        if location and not _is_url(location):
            candidate = (importer.path.parent / location).resolve()
            tried.append(str(candidate))
            if candidate.is_file():
                return candidate
        if namespace:
            core = self._core_namespaces().get(namespace)
            if core is not None:
                return core
            if namespace in self.opaque_namespaces:
                self._opaque_used.setdefault(namespace, importer.external)
                return None
        core_hint = (
            f"core schemas searched in {self.core_dir}"
            if self.core_dir is not None
            else "no core schemas: none built into this installation and no checkout; "
            "give --core-schemas DIR, or generate from your server with --server URL"
        )
        raise SchemaError(
            f"{importer.path}: cannot resolve xs:import/xs:include of namespace "
            f"{namespace!r} from schemaLocation {location!r} (tried: {', '.join(tried) or '-'}; "
            f"{core_hint})"
        )

    def _index(self) -> None:
        for loaded in self._order:
            ns = loaded.namespace
            schema = loaded.schema
            for ct in schema.complex_types or []:
                key = f"{{{ns}}}{ct.name}"
                if key in self._complex:
                    other = self._complex[key][1].path
                    raise SchemaError(f"complexType {key} is defined twice: {other}, {loaded.path}")
                self._complex[key] = (ct, loaded)
            for st in schema.simple_types or []:
                self._simple.setdefault(f"{{{ns}}}{st.name}", (st, loaded))
            for el in schema.elements or []:
                if el.name and el.type:
                    at = Where(str(loaded.path), str(el.name), kind="element")
                    tkey = self._qkey(el.type, el.ns_map, at)
                    self._elements.setdefault(tkey, str(el.name))
                elif el.name and el.complex_type is not None and ns != XDAT_NS:
                    self._index_element_type(el, loaded)
        for ns in self._opaque_used:
            if ns not in self._prefix:
                self._prefix[ns] = naming.snake_module(ns.rstrip("/").rsplit("/", 1)[-1])

    def _index_element_type(self, el: Any, loaded: _Loaded) -> None:
        """A global element with an anonymous complexType is a data type named after the
        element, as in XNAT (``XFTSchema``: a root element with complex content becomes an
        ``XFTElement``). The ``xdat`` annotation vocabulary is not a data model."""
        key = f"{{{loaded.namespace}}}{el.name}"
        if key in self._complex:
            other = self._complex[key][1].path
            raise SchemaError(f"type {key} is defined twice: {other}, {loaded.path}")
        self._complex[key] = (el.complex_type, loaded)
        self._elements.setdefault(key, str(el.name))
        self._element_types.setdefault(loaded.path, []).append(key)

    # ------------------------------------------------------------- resolution
    @staticmethod
    def _split(key: str) -> tuple[str, str]:
        ns, local = key[1:].split("}", 1)
        return ns, local

    def _qkey(self, ref: str, ns_map: Mapping[Any, str] | None, where: Where) -> str:
        ns_map = ns_map or {}
        if ":" in ref:
            prefix, local = ref.split(":", 1)
            ns = ns_map.get(prefix)
            if ns is None:
                raise where.error(f"unknown namespace prefix in type reference {ref!r}")
        else:
            local = ref
            ns = ns_map.get(None) or ns_map.get("") or ""
        return f"{{{ns}}}{local}"

    def _simple_type(self, key: str, where: Where) -> _Simple | None:
        """The Python view of a simple type key, or None when *key* is not simple."""
        ns, local = self._split(key)
        if ns == XS_NS:
            if local not in BUILTIN_TYPES:
                raise where.error(f"unsupported XSD builtin type xs:{local}")
            return _Simple(BUILTIN_TYPES[local], (), f"xs:{local}")
        if key in self._simple:
            st, loaded = self._simple[key]
            return self._inline_simple(st, where.noting(f"simpleType {local} in {loaded.path}"))
        return None

    def _inline_simple(self, st: Any, where: Where) -> _Simple:
        restriction = getattr(st, "restriction", None)
        if restriction is None:
            if getattr(st, "list", None) is not None or getattr(st, "union", None) is not None:
                return _Simple("str", (), "xs:string")
            raise where.error("simpleType without restriction is not supported")
        enums = tuple(str(e.value) for e in restriction.enumerations or [])
        if restriction.base:
            base_key = self._qkey(restriction.base, restriction.ns_map, where)
            base = self._simple_type(base_key, where)
            if base is None:
                raise where.error(f"restriction base {restriction.base!r} is not simple")
        elif restriction.simple_type is not None:
            base = self._inline_simple(restriction.simple_type, where)
        else:
            raise where.error("restriction without a base")
        facets = dict(base.facets)
        for attr, facet in _FACETS:
            node = getattr(restriction, attr, None)
            if node is not None and getattr(node, "value", None) is not None:
                facets[facet] = str(node.value)
        patterns = [str(p.value) for p in getattr(restriction, "patterns", None) or []]
        if patterns:
            facets["pattern"] = "|".join(patterns)
        return _Simple(base.py_type, enums or base.enumeration, base.builtin, tuple(facets.items()))

    # ---------------------------------------------------------------- building
    def read(self) -> SchemaSet:
        """Load every ``.xsd`` under the schema folder (and its imports) and build the IR;
        errors name the line of the element they are about."""
        try:
            return self._read()
        except SchemaError as exc:
            place = exc.where
            line = lenient.line_of(place.file, place.type, place.trail) if place else None
            if place is None or line is None:
                raise
            note = f" ({place.note})" if place.note else ""
            named = "/".join((place.type.rsplit(":", 1)[-1], *place.trail))
            raise SchemaError(
                f"{place.file}:{line}: <{named}>{note}: {exc.problem}", place, exc.problem
            ) from exc

    def _read(self) -> SchemaSet:
        if not self.schema_dir.is_dir():
            raise SchemaError(f"schema folder {self.schema_dir} does not exist")
        own = self.only if self.only is not None else sorted(self.schema_dir.rglob("*.xsd"))
        if not own:
            raise SchemaError(f"no .xsd files in {self.schema_dir}")
        for path in own:
            self._load(path)
        self._index()
        # External (core) types first, in core order, so their names match the core build.
        ordered = sorted(self._order, key=lambda f: (not f.external, f.rel))
        for loaded in ordered:
            for ct in loaded.schema.complex_types or []:
                self._build_named(f"{{{loaded.namespace}}}{ct.name}")
            for key in self._element_types.get(loaded.path, []):
                self._build_named(key)
        types = tuple(self._finish(self._drafts[k]) for k in self._order_keys)
        sources = tuple(
            SourceFile(f.rel, f.sha256, f.namespace, f.external)
            for f in sorted(self._order, key=lambda f: (f.external, f.rel))
        )
        return SchemaSet(types, sources, tuple(sorted(self._opaque_used)))

    @staticmethod
    def _finish(draft: _Draft) -> TypeSpec:
        from dataclasses import replace

        return replace(draft.spec, fields=tuple(draft.fields))

    def _claim_class_name(self, name: str) -> str:
        name = naming.unique(name, self._class_names)
        self._class_names.add(name)
        return name

    def _register(self, spec: TypeSpec) -> _Draft:
        draft = _Draft(spec)
        self._drafts[spec.key] = draft
        self._order_keys.append(spec.key)
        return draft

    def _bound_chain(self, key: str, base: str | None) -> tuple[str, ...]:
        bound: list[str] = []
        own = binding.bound_base(key)
        if own is not None:
            bound.append(own)
        while base is not None:
            found = binding.bound_base(base)
            if found is not None and found not in bound:
                bound.append(found)
            base = self._drafts[base].spec.base
        return tuple(bound)

    @staticmethod
    def _py_name(scope: _Scope, xsd_name: str, taken: set[str]) -> tuple[str, bool]:
        """(Python name, provided by the runtime) for a field of the class in *scope*."""
        py = naming.field_name(xsd_name)
        navigation = binding.runtime_attributes(scope.bound) - binding.runtime_attributes(())
        if py in binding.navigation_names() and py in navigation:
            return py, True
        if py in binding.runtime_attributes(scope.bound):
            py += "_"  # D6: the runtime's attribute stays; the field keeps its XSD name
        return naming.unique(py, taken), False

    def _inherited_names(self, base: str | None) -> set[str]:
        names: set[str] = set()
        while base is not None:
            draft = self._drafts[base]
            names.update(f.py_name for f in draft.fields if not f.runtime)
            base = draft.spec.base
        return names

    def _ensure_opaque(self, key: str, where: Where) -> None:
        if key in self._drafts:
            return
        ns, local = self._split(key)
        prefix = self._prefix.get(ns, "ns")
        xsi = f"{prefix}:{local}"
        # an opaque type the core uses is built with the core (core types come first); one
        # only a site schema uses does not exist there and is generated with the site types
        external = self._opaque_used.get(ns, False) and self._external_now
        reason = self.opaque_namespaces[ns]
        draft = self._register(
            TypeSpec(
                key=key,
                xsd_name=local,
                namespace=ns,
                prefix=prefix,
                xsi_type=xsi,
                py_name=self._claim_class_name(naming.class_name(xsi)),
                module=naming.module_name(prefix, local),
                kind="opaque",
                doc=(
                    f"Opaque ``{xsi}``: {reason}. Its structure is unknown, so it has no typed "
                    "fields; the data is kept as received (``raw``)."
                ),
                external=external,
                package=self.core_package if external else "",
            )
        )
        del draft  # no fields: the runtime keeps every data field in ``raw``

    def _build_named(self, key: str) -> None:
        if key in self._drafts:
            return
        if key in self._building:
            raise SchemaError(f"complexType {key} derives from itself")
        self._building.add(key)
        ct, loaded = self._complex[key]
        outer, self._external_now = self._external_now, loaded.external
        try:
            self._build_type(key, ct, loaded)
        finally:
            self._external_now = outer
        self._building.discard(key)

    def _build_type(self, key: str, ct: Any, loaded: _Loaded) -> None:
        ns, local = self._split(key)
        prefix = self._prefix.get(ns)
        if prefix is None:
            raise SchemaError(f"{loaded.path}: namespace {ns} has no prefix to build xsi types")
        xsi = f"{prefix}:{local}"
        where = Where(str(loaded.path), local, kind="complexType")
        base = self._base_of(ct, where)
        if base is not None:
            self._build_base(base, where)
        doc, app = _annotation(ct.annotations)
        py = self._claim_class_name(naming.class_name(xsi))
        module = naming.module_name(prefix, local)
        spec = TypeSpec(
            key=key,
            xsd_name=local,
            namespace=ns,
            prefix=prefix,
            xsi_type=xsi,
            py_name=py,
            module=module,
            kind="named",
            base=base,
            abstract=bool(ct.abstract) or _appinfo_get(app, "element.abstract") == "true",
            element=self._elements.get(key),
            doc=doc,
            display_identifiers=_appinfo_get(app, "element.displayIdentifiers"),
            external=loaded.external,
            package=self.core_package if loaded.external else "",
        )
        draft = self._register(spec)
        scope = _Scope(
            key=key,
            root_xsi=xsi,
            path=(),
            class_name=py,
            module=module,
            namespace=ns,
            prefix=prefix,
            external=loaded.external,
            owner=key,
            where_file=str(loaded.path),
            bound=self._bound_chain(key, base),
        )
        draft.fields.extend(self._body_fields(scope, ct, local, self._inherited_names(base)))

    def _build_base(self, base: str, where: Where) -> None:
        if base in self._complex:
            self._build_named(base)
        elif self._split(base)[0] in self._opaque_used:
            self._ensure_opaque(base, where)
        else:
            raise where.error(f"base type {base} is not defined in any schema read")

    def _base_of(self, ct: Any, where: Where) -> str | None:
        content = ct.complex_content or ct.simple_content
        if content is None:
            return None
        if content.restriction is not None:
            raise where.error("derivation by restriction is not supported")
        ext = content.extension
        if ext is None or not ext.base:
            return None
        key = self._qkey(ext.base, ext.ns_map, where)
        if self._simple_type_or_none(key, where) is not None:
            return None  # simpleContent over a simple type: a text field, not a base class
        return key

    def _simple_type_or_none(self, key: str, where: Where) -> _Simple | None:
        ns, _ = self._split(key)
        if ns == XS_NS or key in self._simple:
            return self._simple_type(key, where)
        return None

    # ------------------------------------------------------------------ fields
    def _body_fields(
        self, scope: _Scope, ct: Any, text_name: str, inherited: set[str]
    ) -> list[FieldDecl]:
        """Fields of a complexType body: text, attributes, then elements in schema order."""
        where = Where(scope.where_file, scope.root_xsi, scope.path)
        taken = set(inherited)
        fields: list[FieldDecl] = []
        holder: Any = ct
        content = ct.complex_content or ct.simple_content
        if content is not None and content.extension is not None:
            holder = content.extension
        if ct.simple_content is not None and holder is not ct:
            base_key = self._qkey(holder.base, holder.ns_map, where)
            simple = self._simple_type_or_none(base_key, where)
            if simple is not None:
                path = "/".join(scope.path) if scope.path else text_name
                py, runtime = self._py_name(scope, text_name, taken)
                taken.add(py)
                fields.append(
                    FieldDecl(
                        xsd_name=text_name,
                        py_name=py,
                        runtime=runtime,
                        py_type=self._literal_or(simple),
                        xsd_type=str(holder.base),
                        kind="text",
                        path=path,
                        xpath=f"{scope.root_xsi}/{path}",
                        enumeration=simple.enumeration,
                        facets=simple.facets,
                        doc="The element's text value.",
                    )
                )
        if getattr(holder, "attribute_groups", None):
            raise where.error("xs:attributeGroup is not supported")
        for attr in holder.attributes or []:
            spec = self._attribute_field(scope, attr, taken, where)
            taken.add(spec.py_name)
            fields.append(spec)
        for group_name in ("sequence", "choice", "all"):
            group = getattr(holder, group_name, None)
            if group is None:
                continue
            optional = group_name == "choice" or int(group.min_occurs) == 0
            repeated = _max(group.max_occurs) != 1
            for el, opt, rep in self._walk(group, optional, repeated, where):
                spec = self._element_field(scope, el, opt, rep, taken, where)
                taken.add(spec.py_name)
                fields.append(spec)
        if getattr(holder, "group", None) is not None:
            raise where.error("xs:group references are not supported")
        return fields

    def _walk(
        self, group: Any, optional: bool, repeated: bool, where: Where
    ) -> Iterator[tuple[Any, bool, bool]]:
        for kid in _children_in_order(group):
            kind = type(kid).__name__
            if kind == "Element":
                yield (
                    kid,
                    optional or int(kid.min_occurs) == 0,
                    repeated or _max(kid.max_occurs) != 1,
                )
            elif kind == "Sequence":
                yield from self._walk(
                    kid,
                    optional or int(kid.min_occurs) == 0,
                    repeated or _max(kid.max_occurs) != 1,
                    where,
                )
            elif kind == "Choice":
                yield from self._walk(kid, True, repeated or _max(kid.max_occurs) != 1, where)
            else:
                raise where.error(f"xs:{kind.lower()} inside a model group is unsupported")

    def _literal_or(self, simple: _Simple) -> str:
        if simple.enumeration and simple.py_type == "str":
            from json import dumps

            return "Literal[" + ", ".join(dumps(v) for v in simple.enumeration) + "]"
        if simple.enumeration and simple.py_type == "int":
            try:
                return "Literal[" + ", ".join(str(int(v)) for v in simple.enumeration) + "]"
            except ValueError:
                return "int"
        return simple.py_type

    def _attribute_field(
        self, scope: _Scope, attr: Any, taken: set[str], where: Where
    ) -> FieldDecl:
        if attr.ref or not attr.name:
            raise where.error(f"attribute references (ref={attr.ref!r}) are not supported")
        name = str(attr.name)
        awhere = where.below(f"@{name}")
        doc, app = _annotation(attr.annotations)
        if attr.type:
            key = self._qkey(attr.type, attr.ns_map, awhere)
            simple = self._simple_type(key, awhere) if self._is_simple_key(key) else None
            if simple is None:
                raise awhere.error(
                    f"attribute type {attr.type!r} ({key}) is not defined in any "
                    "schema that was read"
                )
            xsd_type = str(attr.type)
        elif attr.simple_type is not None:
            simple = self._inline_simple(attr.simple_type, awhere)
            xsd_type = simple.builtin
        else:
            simple, xsd_type = _Simple("str", (), "xs:string"), "xs:string"
        use = getattr(attr.use, "value", attr.use)
        default = attr.default if attr.default is not None else attr.fixed
        path = "/".join((*scope.path, name))
        py, runtime = self._py_name(scope, name, taken)
        return FieldDecl(
            xsd_name=name,
            py_name=py,
            runtime=runtime,
            py_type=self._literal_or(simple),
            xsd_type=xsd_type,
            kind="attribute",
            path=path,
            xpath=f"{scope.root_xsi}/{path}",
            min_occurs=1 if use == "required" else 0,
            required=use == "required" and default is None,
            default=None if default is None else str(default),
            enumeration=simple.enumeration,
            facets=simple.facets,
            doc=doc,
            appinfo=app,
        )

    def _is_simple_key(self, key: str) -> bool:
        ns, _ = self._split(key)
        return ns == XS_NS or key in self._simple

    def _element_field(
        self,
        scope: _Scope,
        el: Any,
        optional: bool,
        repeated: bool,
        taken: set[str],
        where: Where,
        py_source: str | None = None,
        extra_path: tuple[str, ...] = (),
        outer_doc: str = "",
    ) -> FieldDecl:
        if el.ref or not el.name:
            raise where.error(f"element references (ref={el.ref!r}) are not supported")
        name = str(el.name)
        ewhere = where.below(*extra_path, name)
        doc, app = _annotation(el.annotations)
        doc = doc or outer_doc
        path_t = (*scope.path, *extra_path, name)
        path = "/".join(path_t)
        max_occurs = _max(el.max_occurs)
        if repeated and max_occurs == 1:
            max_occurs = UNBOUNDED
        min_occurs = 0 if optional else int(el.min_occurs)
        py, runtime = self._py_name(scope, py_source or name, taken)
        common: dict[str, Any] = {
            "xsd_name": py_source or name,
            "py_name": py,
            "runtime": runtime,
            "path": path,
            "xpath": f"{scope.root_xsi}/{path}",
            "min_occurs": min_occurs,
            "max_occurs": max_occurs,
            "doc": doc,
            "appinfo": app,
        }
        is_list = max_occurs != 1
        default = el.default if el.default is not None else el.fixed
        simple_required = min_occurs >= 1 and not is_list and default is None

        if el.type:
            return self._typed_element_field(el, ewhere, simple_required, default, common)
        if el.simple_type is not None:
            simple = self._inline_simple(el.simple_type, ewhere)
            return FieldDecl(
                py_type=self._literal_or(simple),
                xsd_type=simple.builtin,
                kind="element",
                required=_xnat_required(simple_required, simple, app),
                default=None if default is None else str(default),
                enumeration=simple.enumeration,
                facets=simple.facets,
                **common,
            )
        if el.complex_type is None:
            # No type at all means xs:anyType; XNAT stores such leaf elements as strings.
            return FieldDecl(
                py_type="str",
                xsd_type="xs:string",
                kind="element",
                required=_xnat_required(simple_required, _Simple("str", (), "xs:string"), app),
                default=None if default is None else str(default),
                **common,
            )
        ct = el.complex_type
        if not is_list:
            inner = self._collapsible(ct)
            if inner is not None and py_source is None:
                return self._element_field(
                    scope,
                    inner,
                    optional,
                    True,
                    taken,
                    where,
                    py_source=name,
                    extra_path=(*extra_path, name),
                    outer_doc=doc,
                )
        if is_list:
            target = self._build_child(scope, el, ct, ewhere, path)
            kind: FieldKind = "child"
        else:
            target = self._build_nested(scope, path_t, name, ct, ewhere, doc)
            kind = "nested"
        return FieldDecl(py_type="", xsd_type="", kind=kind, target=target, **common)

    def _typed_element_field(
        self,
        el: Any,
        ewhere: Where,
        simple_required: bool,
        default: Any,
        common: dict[str, Any],
    ) -> FieldDecl:
        """The field of an element with ``type=``: a simple value, or a child of a named
        complex type (an opaque one when its schema is declared opaque)."""
        key = self._qkey(el.type, el.ns_map, ewhere)
        if self._is_simple_key(key):
            simple = self._simple_type(key, ewhere)
            assert simple is not None
            return FieldDecl(
                py_type=self._literal_or(simple),
                xsd_type=str(el.type),
                kind="element",
                required=_xnat_required(simple_required, simple, common["appinfo"]),
                default=None if default is None else str(default),
                enumeration=simple.enumeration,
                facets=simple.facets,
                **common,
            )
        if key in self._complex:
            target = key
        elif self._split(key)[0] in self._opaque_used:
            self._ensure_opaque(key, ewhere)
            target = key
        else:
            raise ewhere.error(
                f"type {el.type!r} ({key}) is not defined in any schema that was "
                "read; add the schema that defines it, or fix the import"
            )
        return FieldDecl(py_type="", xsd_type=str(el.type), kind="child", target=target, **common)

    @staticmethod
    def _collapsible(ct: Any) -> Any | None:
        """The one repeated element of a pure wrapper element (``scans`` -> ``scan``)."""
        if ct.attributes or ct.simple_content or ct.complex_content:
            return None
        if ct.choice or ct.all or ct.group or ct.sequence is None:
            return None
        seq = ct.sequence
        if _max(seq.max_occurs) != 1 or seq.sequences or seq.choices or seq.groups or seq.any:
            return None
        if len(seq.elements or []) != 1:
            return None
        inner = seq.elements[0]
        return inner if _max(inner.max_occurs) != 1 else None

    def _anonymous(
        self,
        scope: _Scope,
        key: str,
        xsd_name: str,
        xsi: str,
        py: str,
        kind: TypeKind,
        ct: Any,
        where: Where,
        doc: str,
        app: tuple[tuple[str, str], ...],
    ) -> TypeSpec:
        base = self._base_of(ct, where)
        if base is not None:
            self._build_base(base, where)
        _, ct_app = _annotation(ct.annotations)
        return TypeSpec(
            key=key,
            xsd_name=xsd_name,
            namespace=scope.namespace,
            prefix=scope.prefix,
            xsi_type=xsi,
            py_name=self._claim_class_name(py),
            module=scope.module,
            kind=kind,
            base=base,
            doc=doc,
            display_identifiers=_appinfo_get(app + ct_app, "element.displayIdentifiers"),
            external=scope.external,
            package=self.core_package if scope.external else "",
            owner=scope.owner,
        )

    def _build_nested(
        self, scope: _Scope, path_t: tuple[str, ...], name: str, ct: Any, where: Where, doc: str
    ) -> str:
        key = f"{scope.key}/{name}"
        py = naming.nested_class_name(scope.class_name, name)
        _, app = _annotation(ct.annotations)
        spec = self._anonymous(
            scope,
            key,
            f"{scope.root_xsi}/{'/'.join(path_t)}",
            "",
            py,
            "nested",
            ct,
            where,
            doc,
            app,
        )
        return self._fill_anonymous(scope, spec, key, scope.root_xsi, path_t, ct, name)

    def _build_child(self, scope: _Scope, el: Any, ct: Any, where: Where, path: str) -> str:
        name = str(el.name)
        local = scope.root_xsi.split(":", 1)[1] + "_" + name
        key = naming.unique(f"{{{scope.namespace}}}{local}", self._drafts)
        local = self._split(key)[1]
        xsi = f"{scope.prefix}:{local}"
        doc, app = _annotation(el.annotations)
        doc = doc or (f"One ``{path}`` item of ``{scope.root_xsi}`` (XNAT stores it as ``{xsi}``).")
        spec = self._anonymous(
            scope, key, local, xsi, naming.class_name(xsi), "child", ct, where, doc, app
        )
        return self._fill_anonymous(scope, spec, key, xsi, (), ct, name)

    def _fill_anonymous(
        self,
        scope: _Scope,
        spec: TypeSpec,
        key: str,
        root_xsi: str,
        path: tuple[str, ...],
        ct: Any,
        name: str,
    ) -> str:
        """Register an anonymous type and read its fields, with paths from ``root_xsi``
        (the owner's, for a nested element; its own, for a repeated child)."""
        draft = self._register(spec)
        inner = _Scope(
            key=key,
            root_xsi=root_xsi,
            path=path,
            class_name=spec.py_name,
            module=scope.module,
            namespace=scope.namespace,
            prefix=scope.prefix,
            external=scope.external,
            owner=scope.owner,
            where_file=scope.where_file,
            bound=self._bound_chain(key, spec.base),
        )
        draft.fields.extend(self._body_fields(inner, ct, name, self._inherited_names(spec.base)))
        return key


def read_schemas(
    schema_dir: Path,
    core_dir: Path | None = None,
    core_package: str = CORE_PACKAGE,
    only: Sequence[Path] | None = None,
) -> SchemaSet:
    """Read *schema_dir* (resolving core namespaces against *core_dir*) into the IR; with
    *only*, just those files of it (and what they import)."""
    return Reader(schema_dir, core_dir, core_package, only=only).read()
