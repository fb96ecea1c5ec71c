"""The explicit table XSD type -> hand-written runtime base in ``xnat_sdk.bases``.

The REST behaviour of a type (which URL it owns, what it can download, ...) cannot be read from
the XSD, so it lives in hand-written bases. A generated class derives from its XSD base class
first and then from its bound base, if it has one; roots without a binding derive from
``XNATObject``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from types import MappingProxyType, ModuleType

BASES_MODULE = "xnat_sdk.bases"
"""Module that defines the runtime bases."""

ROOT_BASE = "XNATObject"
"""Base of every generated class without an XSD base or a binding."""

BINDINGS: Mapping[str, str] = MappingProxyType(
    {
        "{http://nrg.wustl.edu/xnat}projectData": "ProjectBase",
        "{http://nrg.wustl.edu/xnat}subjectData": "SubjectBase",
        "{http://nrg.wustl.edu/xnat}experimentData": "ExperimentBase",
        "{http://nrg.wustl.edu/xnat}subjectAssessorData": "SubjectAssessorBase",
        "{http://nrg.wustl.edu/xnat}imageSessionData": "ImageSessionBase",
        "{http://nrg.wustl.edu/xnat}derivedData": "DerivedDataBase",
        "{http://nrg.wustl.edu/xnat}imageAssessorData": "AssessorBase",
        "{http://nrg.wustl.edu/xnat}imageScanData": "ScanBase",
        "{http://nrg.wustl.edu/xnat}reconstructedImageData": "ReconstructionBase",
        "{http://nrg.wustl.edu/xnat}abstractResource": "ResourceBase",
    }
)
"""Type key (``{namespace}name``) -> class name in :data:`BASES_MODULE`."""


_XNAT = "{http://nrg.wustl.edu/xnat}"

SERVER_FILLED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        f"{_XNAT}projectData": frozenset({"ID"}),
        f"{_XNAT}subjectData": frozenset({"ID", "project"}),
        f"{_XNAT}experimentData": frozenset({"ID", "project"}),
        f"{_XNAT}subjectAssessorData": frozenset({"subject_ID"}),
        f"{_XNAT}imageAssessorData": frozenset({"imageSession_ID"}),
        f"{_XNAT}imageScanData": frozenset({"ID", "image_session_ID"}),
    }
)
"""Type key -> XSD names of the fields every stored object has, because XNAT fills them in
itself on creation (``SubjectResource``/``SubjAssessmentResource``/``ScanResource``/
``ExptAssessmentResource.handlePut``: the ID, generated or taken from the URL, the project
and the parent's ID from the URL). They are typed ``str``, not
``str | None``: ``""`` on an unbound instance means "not assigned yet". Every other field is
optional, whatever the XSD says: objects read from a server often lack fields the XSD
requires, and ``create`` demands only what XNAT itself demands."""


def server_filled(type_key: str, xsd_name: str) -> bool:
    """True when XNAT always fills field *xsd_name* of type *type_key* (see
    :data:`SERVER_FILLED`)."""
    return xsd_name in SERVER_FILLED.get(type_key, frozenset())


def bound_base(type_key: str) -> str | None:
    """The runtime base bound to *type_key*, or None."""
    return BINDINGS.get(type_key)


@functools.cache
def _bases_module() -> ModuleType:
    return importlib.import_module(BASES_MODULE)


def navigation_names() -> frozenset[str]:
    """Runtime attributes that give the field's own data (the child items of ``scans/scan``,
    the counts of the catalog; the runtime's ``NAVIGATION_NAMES``): a field of such a name
    is left to a bound base that defines it. Any other field whose name the runtime uses
    (``uri``, ``data``, ``set``, ``parent`` ...) is a different thing and is generated under
    the name with a trailing underscore (``uri_``), its XSD name kept in the field
    metadata."""
    names: frozenset[str] = _bases_module().NAVIGATION_NAMES
    return names


@functools.cache
def runtime_attributes(base_names: tuple[str, ...]) -> frozenset[str]:
    """Public attributes (properties, methods) the runtime bases *base_names* define.

    :data:`ROOT_BASE` is always included. A generated field with such a name would hide the
    runtime's attribute (and clash for the type checker), so the generator leaves it out
    (navigation over the same data, :func:`navigation_names`) or renames it (``uri_``).
    """
    module = _bases_module()
    names: set[str] = set()
    for name in (ROOT_BASE, *base_names):
        cls = getattr(module, name, None)
        if cls is None:
            raise LookupError(f"{BASES_MODULE} has no class {name} (see the binding table)")
        names.update(a for a in dir(cls) if not a.startswith("_"))
    return frozenset(names)
