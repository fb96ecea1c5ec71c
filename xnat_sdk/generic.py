"""Model lookup by ``xsi:type`` and the generic objects used for types the models lack.

A site plugin can add data types the pinned schema does not have. Such objects are never a
crash: they become a generic object (with the behaviour of the base that fits the listing
they came from) exposing the raw ``data_fields`` as attributes and every REST verb.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from xnat_sdk._answers import fetch
from xnat_sdk.bases import (
    AssessorBase,
    ImageSessionBase,
    ProjectBase,
    ReconstructionBase,
    ResourceBase,
    ScanBase,
    SubjectBase,
    XNATObject,
    warn_unknown_type,
)

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = [
    "GenericAssessor",
    "GenericExperiment",
    "GenericObject",
    "GenericProject",
    "GenericReconstruction",
    "GenericResource",
    "GenericScan",
    "GenericSubject",
    "class_for",
    "model_class",
    "object_at",
    "register_models",
]

_B = TypeVar("_B", bound=XNATObject)
_LOOKUP: dict[tuple[str, bool], type[XNATObject] | None] = {}
_SITE_PACKAGES: list[ModuleType] = []


def register_models(package: str | ModuleType) -> ModuleType:
    """Use a site's generated models package (``xnat-sdk generate``) for its xsi types.

    After ``register_models("my_site_models")`` an object whose ``xsi:type`` the core models
    do not know, but the site package does, is an instance of the site's generated class
    (typed fields, the right runtime base) instead of a generic object. ``connect(...,
    extension_types=["my_site_models"])`` does the same. Returns the package.
    """
    import importlib

    from xnat_sdk.errors import XNATValueError

    try:
        module = importlib.import_module(package) if isinstance(package, str) else package
    except ImportError as exc:
        raise XNATValueError(f"cannot import the models package {package!r}: {exc}") from exc
    if not isinstance(module, ModuleType) or not callable(getattr(module, "model_for", None)):
        raise XNATValueError(
            f"{package!r} is not a generated models package (it has no model_for); "
            "make one with: xnat-sdk generate --schemas DIR --out PACKAGE_DIR"
        )
    if module not in _SITE_PACKAGES:
        _SITE_PACKAGES.append(module)
    _LOOKUP.clear()
    return module


def model_class(xsi: str, session: XNATSession | None = None) -> type[XNATObject] | None:
    """The generated class for an ``xsi:type``: the core models first, then the registered
    site packages unless ``session`` was opened with ``extension_types=False`` (None when
    none of them knows it)."""
    sites = session is None or session.extension_types
    key = (xsi, sites)
    if key in _LOOKUP:
        return _LOOKUP[key]
    found: type[XNATObject] | None
    try:
        from xnat_sdk.models import model_for

        found = model_for(xsi)
    except (ImportError, LookupError, ValueError, AttributeError):
        found = None
    for site in _SITE_PACKAGES if sites else ():
        if found is not None:
            break
        try:
            candidate = site.model_for(xsi)
        except (LookupError, ValueError, AttributeError):
            candidate = None
        if isinstance(candidate, type) and issubclass(candidate, XNATObject):
            found = candidate
    _LOOKUP[key] = found
    return found


def class_for(xsi: str, generic: type[_B], session: XNATSession | None = None) -> type[_B]:
    """The model class for ``xsi`` (see :func:`model_class`), else ``generic`` (with a
    one-time warning)."""
    found = model_class(xsi, session) if xsi else None
    if found is None:
        if xsi:
            warn_unknown_type(xsi)
        return generic
    return found  # type: ignore[return-value]


class _GenericMixin(XNATObject):
    """Raw-field access for objects without a generated class."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_xnat_"):
            return None
        if name.startswith("_"):
            raise AttributeError(name)
        for klass in type(self).__mro__:
            prop = klass.__dict__.get(name)
            if isinstance(prop, property):
                return prop.fget(self) if prop.fget is not None else None
        item = self._xnat_document()
        fields: dict[str, Any] = item.get("data_fields") or {}
        if name in fields:
            return fields[name]
        lowered = {key.lower(): value for key, value in fields.items()}
        if name.lower() in lowered:
            return lowered[name.lower()]
        raise AttributeError(
            f"generic {self.xsi_type!r} object has no field {name!r} "
            f"(known: {', '.join(sorted(fields)) or 'none'})"
        )

    def _xnat_populate(self, item: Any) -> None:
        super()._xnat_populate(item)
        fields = item.get("data_fields") or {}
        object.__setattr__(self, "_xnat_raw", dict(fields))

    def _xnat_identity(self) -> str:
        cache: dict[str, Any] = self._xnat_cache or {}
        row = cache.get("row") or {}
        item: dict[str, Any] = self._xnat_item or {}
        fields = item.get("data_fields") or {}
        for key in ("label", "ID", "name", "type"):
            value = fields.get(key) or row.get(key)
            if value:
                return str(value)
        return "?"


class GenericObject(_GenericMixin):
    """An object of an unknown type: raw fields as attributes, REST verbs."""

    __slots__ = ()


class GenericProject(_GenericMixin, ProjectBase):
    """A project-like object of an unknown type."""

    __slots__ = ()


class GenericSubject(_GenericMixin, SubjectBase):
    """A subject-like object of an unknown type."""

    __slots__ = ()


class GenericExperiment(_GenericMixin, ImageSessionBase):
    """An experiment of an unknown type (session navigation included)."""

    __slots__ = ()


class GenericAssessor(_GenericMixin, AssessorBase):
    """An assessor of an unknown type."""

    __slots__ = ()


class GenericScan(_GenericMixin, ScanBase):
    """A scan of an unknown type."""

    __slots__ = ()


class GenericReconstruction(_GenericMixin, ReconstructionBase):
    """A reconstruction of an unknown type."""

    __slots__ = ()


class GenericResource(_GenericMixin, ResourceBase):
    """A resource of an unknown type."""

    __slots__ = ()


_GENERIC_BY_SEGMENT: dict[str, type[XNATObject]] = {
    "projects": GenericProject,
    "subjects": GenericSubject,
    "experiments": GenericExperiment,
    "assessors": GenericAssessor,
    "scans": GenericScan,
    "reconstructions": GenericReconstruction,
    "resources": GenericResource,
}


def object_at(session: XNATSession, uri: str, xsi: str | None = None) -> XNATObject:
    """A bound object for a REST path; reads its document once when ``xsi`` is not given."""
    segments = [s for s in uri.split("?")[0].split("/") if s]
    generic: type[XNATObject] = GenericObject
    if len(segments) >= 2:
        generic = _GENERIC_BY_SEGMENT.get(segments[-2], GenericObject)
    path = "/" + "/".join(segments)
    if xsi is not None:
        return class_for(xsi, generic, session)._xnat_bind(session, path, xsi=xsi)
    item = fetch(session, path).current_item()
    found = str((item.get("meta") or {}).get("xsi:type") or "")
    cls = class_for(found, generic, session) if found else generic
    return cls._xnat_bind(session, path, xsi=found or None, item=item)
