"""The generator's intermediate representation: plain frozen dataclasses, no I/O.

The reader (:mod:`xnat_sdk_codegen.reader`) turns XSD files into a :class:`SchemaSet`; the
emitter (:mod:`xnat_sdk_codegen.emit`) turns a :class:`SchemaSet` into Python modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldKind = Literal["attribute", "element", "text", "nested", "child"]
"""How a field appears in XML and in XNAT's JSON (see the contract in ``xnat_sdk.bases``)."""

TypeKind = Literal["named", "nested", "child", "opaque"]
"""``named``: a named complexType; ``nested``: an anonymous single element flattened into its
owner's paths; ``child``: an anonymous repeated element that XNAT stores as its own item (with a
pseudo xsi type such as ``xnat:subjectData_field``); ``opaque``: a type from a schema that is not
available, kept as raw data."""

UNBOUNDED = -1
"""``FieldDecl.max_occurs`` value for ``maxOccurs="unbounded"``."""


@dataclass(frozen=True)
class FieldDecl:
    """One field of a generated class."""

    xsd_name: str
    """The XSD attribute or element name (``fieldStrength``)."""
    py_name: str
    """The Python attribute name (``field_strength``)."""
    py_type: str
    """One value's annotation: ``str``, ``datetime.date``, ``Literal[...]`` or a class name."""
    xsd_type: str
    """The XSD type (``xs:float``, ``xnat:abstractResource``; inline types: their builtin base)."""
    kind: FieldKind
    path: str
    """XML path relative to the nearest named complexType (the ``data_fields`` key)."""
    xpath: str
    """REST XPath, e.g. ``xnat:mrScanData/parameters/tr``."""
    min_occurs: int = 0
    max_occurs: int = 1
    """``UNBOUNDED`` (-1) for unbounded."""
    required: bool = False
    default: str | None = None
    """The XSD default as written (lexical form), if any."""
    enumeration: tuple[str, ...] = ()
    facets: tuple[tuple[str, str], ...] = ()
    """Other restriction facets as written: ``(("maxLength", "255"),)``."""
    doc: str = ""
    target: str | None = None
    """Key of the target :class:`TypeSpec` for ``nested`` and ``child`` fields."""
    appinfo: tuple[tuple[str, str], ...] = ()
    """Flattened ``xdat:*`` appinfo, e.g. ``(("field.unique", "true"),)``."""
    runtime: bool = False
    """True when the runtime base already provides an attribute of this name (``scans``,
    ``resources``, ``fields``, ``uri`` ...); such fields are kept in the IR but not emitted."""

    @property
    def is_list(self) -> bool:
        """True when the field holds several values (maxOccurs > 1)."""
        return self.max_occurs == UNBOUNDED or self.max_occurs > 1


@dataclass(frozen=True)
class TypeSpec:
    """One generated class."""

    key: str
    """Unique key: ``{namespace}name`` for named types; anonymous ones extend their owner's."""
    xsd_name: str
    """XSD type name (``mrSessionData``); for anonymous types the owner name plus path."""
    namespace: str
    prefix: str
    xsi_type: str
    """``xnat:mrSessionData``; XNAT's pseudo type for child types; ``""`` for nested ones."""
    py_name: str
    module: str
    """Module (without package) that holds this class."""
    kind: TypeKind
    base: str | None = None
    """Key of the XSD base type, if any."""
    abstract: bool = False
    element: str | None = None
    """Global element name (``MRSession``)."""
    doc: str = ""
    fields: tuple[FieldDecl, ...] = ()
    display_identifiers: str | None = None
    """``xdat:element displayIdentifiers`` (XNAT's secondary lookup field), if any."""
    external: bool = False
    """True when the class already exists in another package (core types in a site build)."""
    package: str = ""
    """Absolute package of an external type (``xnat_sdk.models``); ``""`` for own types."""
    owner: str | None = None
    """Key of the named type this anonymous type belongs to."""


@dataclass(frozen=True)
class SourceFile:
    """One schema file that was read."""

    rel_path: str
    """Path relative to its schema folder, posix form (``xnat/xnat.xsd``)."""
    sha256: str
    namespace: str
    external: bool = False


@dataclass(frozen=True)
class SchemaSet:
    """Everything the reader found: types in generation order, and the files read."""

    types: tuple[TypeSpec, ...]
    sources: tuple[SourceFile, ...]
    opaque_namespaces: tuple[str, ...] = field(default=())

    def by_key(self) -> dict[str, TypeSpec]:
        """Index of the types by key."""
        return {t.key: t for t in self.types}

    def own_types(self) -> tuple[TypeSpec, ...]:
        """The types this run generates (not external)."""
        return tuple(t for t in self.types if not t.external)
