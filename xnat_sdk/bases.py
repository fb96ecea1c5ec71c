"""Hand-written base classes that the generated models (``xnat_sdk.models``) inherit.

The generator (``codegen/xnat_sdk_codegen``) decides which base goes with which XSD type
(its binding table); this module gives those bases their behaviour. Every generated class
derives from :class:`XNATObject`; the archive types also mix in one of the bases below.

Contract with the generator (keep both sides in step):

* generated classes are ``@attrs.define(kw_only=True, eq=False, repr=False)`` (slotted);
  the bases here declare ``__slots__`` so the slotted layout stays valid;
* class variables emitted on every generated class: ``__xsi_type__`` (``"xnat:mrSessionData"``),
  ``__xsd_element__`` (the global element name such as ``"MRSession"`` or ``None``),
  ``__xsd_abstract__`` (bool);
* every attrs field carries ``metadata`` with ``"xsd"`` (the XSD name), ``"path"`` (the XML
  path relative to the nearest named complexType, which is the ``data_fields`` key XNAT
  uses in ``?format=json``), ``"kind"`` (``"attribute"``, ``"element"``, ``"text"``,
  ``"nested"`` for inline anonymous single elements flattened into the parent's path, or
  ``"child"`` for named complex types that XNAT lists under ``children``) and ``"list"``
  (bool).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AssessorBase",
    "DerivedDataBase",
    "ExperimentBase",
    "ImageSessionBase",
    "ProjectBase",
    "ReconstructionBase",
    "ResourceBase",
    "ScanBase",
    "SubjectAssessorBase",
    "SubjectBase",
    "XNATObject",
]


class XNATObject:
    """Root of every generated model class."""

    __slots__ = ()

    __xsi_type__: ClassVar[str] = ""
    __xsd_element__: ClassVar[str | None] = None
    __xsd_abstract__: ClassVar[bool] = False


class ProjectBase(XNATObject):
    """Behaviour of ``xnat:projectData``."""

    __slots__ = ()


class SubjectBase(XNATObject):
    """Behaviour of ``xnat:subjectData``."""

    __slots__ = ()


class ExperimentBase(XNATObject):
    """Behaviour of ``xnat:experimentData`` and everything derived from it."""

    __slots__ = ()


class SubjectAssessorBase(ExperimentBase):
    """Behaviour of ``xnat:subjectAssessorData`` (experiments that belong to a subject)."""

    __slots__ = ()


class ImageSessionBase(SubjectAssessorBase):
    """Behaviour of ``xnat:imageSessionData`` (sessions with scans)."""

    __slots__ = ()


class DerivedDataBase(ExperimentBase):
    """Behaviour of ``xnat:derivedData``."""

    __slots__ = ()


class AssessorBase(DerivedDataBase):
    """Behaviour of ``xnat:imageAssessorData`` (assessors of an image session)."""

    __slots__ = ()


class ScanBase(XNATObject):
    """Behaviour of ``xnat:imageScanData``."""

    __slots__ = ()


class ReconstructionBase(XNATObject):
    """Behaviour of ``xnat:reconstructedImageData``."""

    __slots__ = ()


class ResourceBase(XNATObject):
    """Behaviour of ``xnat:abstractResource`` (resource folders and catalogs)."""

    __slots__ = ()
