"""Hand-written base classes that the generated models (``xnat_sdk.models``) inherit.

The generator (``codegen/xnat_sdk_codegen``) decides which base goes with which XSD type
(its binding table); this module gives those bases their behaviour. Every generated class
derives from :class:`XNATObject`; the archive types also mix in one of the bases below.

Contract with the generator (keep both sides in step):

* generated classes are ``@attrs.define(kw_only=True, eq=False, repr=False)`` (slotted);
  the bases here declare ``__slots__`` so the slotted layout stays valid (only
  :class:`XNATObject` has non-empty slots, all named ``_xnat_*``);
* class variables emitted on every generated class: ``__xsi_type__`` (``"xnat:mrSessionData"``),
  ``__xsd_element__`` (the global element name such as ``"MRSession"`` or ``None``),
  ``__xsd_abstract__`` (bool);
* every attrs field carries ``metadata`` with ``"xsd"`` (the XSD name), ``"path"`` (the XML
  path relative to the nearest named complexType, which is the ``data_fields`` key XNAT
  uses in ``?format=json``), ``"kind"`` (``"attribute"``, ``"element"``, ``"text"``,
  ``"nested"`` for inline anonymous single elements flattened into the parent's path, or
  ``"child"`` for named complex types that XNAT lists under ``children``, and for repeated
  anonymous elements, typed with XNAT's pseudo xsi type such as ``xnat:subjectData_field``)
  and ``"list"`` (bool); also ``"xpath"`` (REST XPath, rooted at the declaring type:
  ``xnat:mrScanData/parameters/tr``), ``"type"`` (XSD type, ``xs:float``) and, when the XSD
  restricts the value, ``"facets"`` (``{"maxLength": 255}``);
* no attrs validators, converters or ``on_setattr`` hooks (the runtime validates writes
  itself, and a generated ``__setattr__`` would bypass the one here);
* fields whose Python name is in :data:`RESERVED_NAMES` are navigation the bases provide
  (``scans``, ``experiments``, ``resources``, ``fields`` ...): the generator should not emit
  them; if it does, the runtime never fills them and the base's navigation still answers.

Runtime behaviour: objects handed out by a session are *bound* (to the session and their REST
path) and *lazy*: fields known from a listing row are filled at once, the others stay unset
until the first read, which fetches the object's ``?format=json`` document once and fills
every field (and the children the navigation properties use). Assigning a field of a bound
object writes it to the server (validated first); objects made with the generated
``__init__`` are unbound plain values, usable as input for ``Listing.create``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote

from xnat_sdk._answers import fetch
from xnat_sdk.dicom import DicomReading
from xnat_sdk.errors import (
    XNATConflictError,
    XNATError,
    XNATNoModelError,
    XNATNotConnectedError,
    XNATNotFoundError,
    XNATUnknownTypeWarning,
    XNATValidationError,
)
from xnat_sdk.fields import (
    VARIABLE_PATTERN,
    FieldSpec,
    class_fields,
    encode_value,
    validate_fields,
    validate_label,
)
from xnat_sdk.transfers import (
    ProjectDownloads,
    ResourceTransfers,
    ScanTransfers,
    SessionDownloads,
    SubjectDownloads,
)

if TYPE_CHECKING:
    from xnat_sdk.listings import Listing, RemoteFile
    from xnat_sdk.models import (
        AbstractResource,
        ImageAssessorData,
        ImageScanData,
        ReconstructedImageData,
        SubjectAssessorData,
        SubjectData,
    )
    from xnat_sdk.services import DicomDumpRow
    from xnat_sdk.session import XNATSession

__all__ = [
    "RESERVED_NAMES",
    "AssessorBase",
    "CustomVariables",
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

#: Attribute names the bases provide; never filled from a document.
RESERVED_NAMES = frozenset(
    {
        "subjects",
        "experiments",
        "scans",
        "assessors",
        "reconstructions",
        "resources",
        "files",
        "fields",
        "uri",
        "fulluri",
        "xpath",
        "fulldata",
        "data",
        "raw",
        "xsi_type",
        "xnat_session",
        "parent",
    }
)

_O = TypeVar("_O", bound="XNATObject")
_P = TypeVar("_P", bound="ProjectBase")
_A = TypeVar("_A", bound="XNATObject")

_warned_types: set[str] = set()


def warn_unknown_type(xsi: str) -> None:
    """Warn (once per type) that an ``xsi:type`` has no generated model."""
    if xsi in _warned_types:
        return
    _warned_types.add(xsi)
    warnings.warn(
        XNATUnknownTypeWarning(
            f"the server returned xsi:type {xsi!r}, which the generated models do not know; "
            "it is handed out as a generic object (raw fields and REST verbs only). Run "
            "`xnat-sdk generate --schemas <the site's XSDs> --out <package>` for typed classes."
        ),
        stacklevel=3,
    )


def child_items(item: Mapping[str, Any], field: str) -> list[dict[str, Any]] | None:
    """The items under ``children[field]`` of a document item checked by
    :func:`xnat_sdk._answers.object_items` (None when absent)."""
    found: list[dict[str, Any]] | None = None
    for child in item.get("children") or ():
        if child.get("field") == field:
            found = (found or []) + list(child.get("items") or ())
    return found


class XNATObject:
    """Root of every generated model class: binding, lazy loading, writes."""

    __slots__ = (
        "__weakref__",  # the session tracks the objects it handed out (clearcache)
        "_xnat_cache",
        "_xnat_generation",
        "_xnat_item",
        "_xnat_parent",
        "_xnat_raw",
        "_xnat_session",
        "_xnat_uri",
        "_xnat_xsi",
    )
    _xnat_cache: dict[str, Any]
    _xnat_generation: int
    _xnat_item: dict[str, Any] | None
    _xnat_parent: XNATObject | None
    _xnat_raw: dict[str, Any]
    _xnat_session: XNATSession | None
    _xnat_uri: str | None
    _xnat_xsi: str | None

    __xsi_type__: ClassVar[str] = ""
    __xsd_element__: ClassVar[str | None] = None
    __xsd_abstract__: ClassVar[bool] = False

    # -- binding ---------------------------------------------------------------------------

    @classmethod
    def _xnat_bind(
        cls: type[_O],
        session: XNATSession,
        uri: str | None,
        *,
        xsi: str | None = None,
        parent: XNATObject | None = None,
        item: Mapping[str, Any] | None = None,
        row: Mapping[str, Any] | None = None,
    ) -> _O:
        """A bound, lazy instance (no ``__init__``); filled from ``item`` or ``row``."""
        obj = cls.__new__(cls)
        setter = object.__setattr__
        setter(obj, "_xnat_session", session)
        setter(obj, "_xnat_uri", uri)
        setter(obj, "_xnat_parent", parent)
        setter(obj, "_xnat_cache", {})
        setter(obj, "_xnat_xsi", xsi or cls.__xsi_type__)
        setter(obj, "_xnat_item", None)
        setter(obj, "_xnat_raw", {})
        setter(obj, "_xnat_generation", session.cache_generation)
        if uri is not None:
            session._track(obj)
        if item is not None:
            obj._xnat_populate(item)
        elif row is not None:
            obj._xnat_prefill(row)
        return obj

    def _xnat_bound_session(self) -> XNATSession:
        session: XNATSession | None = self._xnat_session
        if session is None:
            raise XNATNotConnectedError(
                f"this {type(self).__name__} is not bound to a session (made with its "
                "constructor); create it on the server first, e.g. listing.create(obj)"
            )
        return session

    def _xnat_populate(self, item: Mapping[str, Any]) -> None:
        """Fill every field from a document item (``data_fields``, ``meta``, ``children``)."""
        setter = object.__setattr__
        data: dict[str, Any] = item.get("data_fields") or {}
        meta = item.get("meta") or {}
        used: set[str] = set()
        session = self._xnat_session
        _fill_data(self, data, used)
        table = class_fields(type(self))
        for path, spec in table.children.items():
            if spec.name in RESERVED_NAMES:
                continue
            items = child_items(item, path)
            if items is None:
                setter(self, spec.name, [] if spec.is_list else None)
                continue
            step = None if spec.is_list else path
            nested = [_nested(session, it, self, spec.target, step) for it in items]
            setter(self, spec.name, nested if spec.is_list else (nested[0] if nested else None))
        xsi = meta.get("xsi:type")
        if isinstance(xsi, str) and xsi:
            setter(self, "_xnat_xsi", xsi)
        setter(self, "_xnat_item", item)
        setter(self, "_xnat_raw", {k: v for k, v in data.items() if k not in used})
        if session is not None:
            setter(self, "_xnat_generation", session.cache_generation)

    def _xnat_prefill(self, row: Mapping[str, Any]) -> None:
        """Fill the fields a listing row already tells (no request)."""
        setter = object.__setattr__
        table = class_fields(type(self))
        for key, value in row.items():
            spec = table.by_path.get(key)
            if spec is None or spec.name in RESERVED_NAMES or value in ("", None):
                continue
            try:
                setter(self, spec.name, spec.convert(value))
            except (TypeError, ValueError):
                continue

    def _xnat_document(self, refresh: bool = False) -> dict[str, Any]:
        """This object's document item, read (once per cache generation) when needed."""
        item: dict[str, Any] | None = self._xnat_item
        session = self._xnat_session
        if item is not None and not refresh:
            if session is None or self._xnat_uri is None:
                return item
            if session.caching and self._xnat_generation == session.cache_generation:
                return item
        session = self._xnat_bound_session()
        uri = self._xnat_uri
        if uri is None:
            if item is not None:
                return item
            raise XNATError(f"this {type(self).__name__} has no REST path of its own")
        found = self._xnat_fetch(session, uri)
        self._xnat_populate(found)
        return found

    def _xnat_fetch(self, session: XNATSession, uri: str) -> dict[str, Any]:
        """Read this object's document item from the server (its ``?format=json``)."""
        return fetch(session, uri).current_item()

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup failed: an unset slot or an unknown name.
            if name.startswith("_xnat_"):
                return None
            if name.startswith("_"):
                raise AttributeError(name)
            cls = type(self)
            for klass in cls.__mro__:
                prop = klass.__dict__.get(name)
                if isinstance(prop, property) and klass.__module__ == __name__:
                    return prop.fget(self)
            table = class_fields(cls)
            if name in table.by_name and self._xnat_session is not None:
                self._xnat_document()
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    return None
            raise AttributeError(
                f"{cls.__name__!r} object has no attribute {name!r}{table.suggest(name)}"
            )

        def __setattr__(self, name: str, value: Any) -> None:
            if name.startswith("_") or self._xnat_session is None:
                object.__setattr__(self, name, value)
                return
            table = class_fields(type(self))
            if name in table.by_name:
                self.mset({name: value})
                return
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        ident = self._xnat_identity()
        where = f" {self._xnat_uri}" if self._xnat_uri else ""
        return f"<{type(self).__name__} {ident}{where}>"

    def _xnat_identity(self) -> str:
        for name in ("label", "id", "name", "type"):
            try:
                value = object.__getattribute__(self, name)
            except AttributeError:
                continue
            if value:
                return str(value)
        return "?"

    # -- public accessors ----------------------------------------------------------------------

    @property
    def xnat_session(self) -> XNATSession:
        """The session this object is bound to."""
        return self._xnat_bound_session()

    @property
    def uri(self) -> str:
        """The object's REST path (``/data/projects/P/subjects/XNAT_S00001``)."""
        uri: str | None = self._xnat_uri
        if uri is None:
            raise XNATError(f"this {type(self).__name__} has no REST path (not bound)")
        return uri

    @property
    def fulluri(self) -> str:
        """The object's REST path (same as :attr:`uri`)."""
        return self.uri

    @property
    def xsi_type(self) -> str:
        """The object's actual ``xsi:type`` (from the server when known)."""
        xsi: str | None = self._xnat_xsi
        return xsi or type(self).__xsi_type__

    @property
    def xpath(self) -> str:
        """The XPath root used to address this object's fields in writes (its xsi type)."""
        return self.xsi_type

    @property
    def fulldata(self) -> dict[str, Any]:
        """The object's raw JSON document item (``data_fields``, ``meta``, ``children``)."""
        return self._xnat_document()

    @property
    def data(self) -> dict[str, Any]:
        """The raw ``data_fields`` of the object's document."""
        fields: dict[str, Any] = self._xnat_document().get("data_fields") or {}
        return fields

    @property
    def raw(self) -> Mapping[str, Any]:
        """``data_fields`` entries the model does not know (kept, never dropped)."""
        self._xnat_document()
        raw: dict[str, Any] = self._xnat_raw or {}
        return MappingProxyType(raw)

    @property
    def parent(self) -> XNATObject | None:
        """The object this one was reached from (None for top-level objects)."""
        parent: XNATObject | None = self._xnat_parent
        return parent

    def clearcache(self) -> None:
        """Forget this object's document, fields and listings; the next read fetches again.

        (:meth:`XNATSession.clearcache` does this for every object of the session that has a
        REST path of its own; a nested part, e.g. ``subject.demographics``, is read again
        through its owner, so take it from the owner anew.)
        """
        object.__setattr__(self, "_xnat_generation", -1)
        cache: dict[str, Any] | None = self._xnat_cache
        if cache is not None:
            row = cache.get("row")
            siblings = cache.get("siblings")
            step = cache.get("xnat_xpath")
            cache.clear()
            for key, value in (("row", row), ("siblings", siblings), ("xnat_xpath", step)):
                if value is not None:
                    cache[key] = value
        if self._xnat_uri is None or self._xnat_session is None:
            return
        object.__setattr__(self, "_xnat_item", None)
        for name in class_fields(type(self)).by_name:
            try:
                object.__delattr__(self, name)
            except AttributeError:
                continue

    # -- writes ----------------------------------------------------------------------------

    def _xnat_write_target(self) -> tuple[XNATObject, str]:
        """(the addressable object that owns this one, the XPath prefix from it to here)."""
        prefix = ""
        current: XNATObject = self
        while current._xnat_uri is None:
            cache = current._xnat_cache or {}
            step = cache.get("xnat_xpath")
            parent = current._xnat_parent
            if step is None or parent is None:
                raise XNATValidationError(
                    type(self).__name__,
                    "this nested object cannot be written on its own (no REST path, and it is "
                    "not a single child of an object that has one)",
                )
            prefix = f"{step}/{prefix}" if step and prefix else (step or prefix)
            current = parent
        return current, prefix

    def mset(self, values: Mapping[str, Any], timeout: float | None = None) -> None:
        """Write several fields in one request (validated first; ``None`` clears a field).

        Nested single children (``subject.demographics``) write through their owner.
        """
        session = self._xnat_bound_session()
        cls = type(self)
        table = class_fields(cls)
        objects = {
            name: value
            for name, value in values.items()
            if isinstance(value, XNATObject) and name in table.by_name
        }
        specs = validate_fields(cls, {k: v for k, v in values.items() if k not in objects})
        owner, prefix = self._xnat_write_target()
        xsi = owner.xsi_type
        root = f"{xsi}/{prefix}/" if prefix else f"{xsi}/"
        query: dict[str, str] = {"xsiType": xsi}
        for name, value in values.items():
            if name in objects:
                for path, encoded in _object_params(table.by_name[name], objects[name]):
                    query[root + path] = encoded
                continue
            spec = specs[name]
            if spec.name == "label" and not prefix:
                query["label"] = validate_label(value, "label")
            else:
                query[root + spec.path] = encode_value(value)
        session.put(owner.uri, query=query, timeout=timeout)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        session.clearcache()
        object.__setattr__(self, "_xnat_generation", session.cache_generation)

    def del_(self, name: str) -> None:
        """Clear one field on the server (xnatpy's name; same as ``set(name, None)``)."""
        self.mset({name: None})

    def external_uri(
        self, query: Mapping[str, str] | None = None, scheme: str | None = None
    ) -> str:
        """The full URL of this object on the server (for browsers and other tools)."""
        return self._xnat_bound_session().url_for(self, query=query, scheme=scheme)

    def set(self, name: str, value: Any, timeout: float | None = None) -> None:
        """Write one field to the server (validated first)."""
        self.mset({name: value}, timeout=timeout)

    def update(self, **values: Any) -> None:
        """Write fields given as keywords in one request (validated first)."""
        self.mset(values)

    def delete(self, remove_files: bool = True) -> None:
        """Delete the object on the server (``removeFiles=true`` by default)."""
        session = self._xnat_bound_session()
        query = {"removeFiles": "true"} if remove_files else None
        session.delete(self.uri, query=query)
        session.clearcache()


def _object_params(spec: FieldSpec, value: XNATObject) -> list[tuple[str, str]]:
    """XPath parameters (relative to the owner) that write a whole nested or child object.

    ``subject.demographics = DemographicData(gender="female")`` becomes
    ``demographics[@xsi:type=xnat:demographicData]/gender=female``. Only single (not list)
    nested/child fields can be written this way; every set field is validated first.
    """
    if spec.is_data or spec.is_list:
        raise XNATValidationError(
            spec.name, f"{spec.name} takes a plain value, not a {type(value).__name__} object"
        )
    if spec.target is not None and not isinstance(value, spec.target):
        raise XNATValidationError(
            spec.name,
            f"expects a {spec.target.__name__} (or a subclass), got {type(value).__name__}",
        )
    if value._xnat_session is not None:
        raise XNATValidationError(
            spec.name, "assign a new, unbound object (e.g. DemographicData(gender='male'))"
        )
    klass = type(value)
    table = class_fields(klass)
    present = {
        name: getattr(value, name)
        for name in table.by_name
        if name not in RESERVED_NAMES and getattr(value, name, None) not in (None, [], "")
    }
    nested = {k: v for k, v in present.items() if isinstance(v, XNATObject)}
    specs = validate_fields(klass, {k: v for k, v in present.items() if k not in nested})
    if spec.kind == "child":
        # a named complex type: its own paths are relative to itself, behind the child step
        step = f"{spec.path}[@xsi:type={klass.__xsi_type__}]/" if klass.__xsi_type__ else ""
        step = step or f"{spec.path}/"
    else:
        # an inline anonymous element: its paths already start from the owning type
        step = ""
    params: list[tuple[str, str]] = []
    for name, item in present.items():
        if name in nested:
            params.extend((step + p, v) for p, v in _object_params(table.by_name[name], item))
        else:
            params.append((step + specs[name].path, encode_value(item)))
    if not params:
        raise XNATValidationError(spec.name, f"the {klass.__name__} has no field set")
    return params


def refuse_existing(session: XNATSession, uri: str, what: str) -> None:
    """Raise :class:`XNATConflictError` when ``uri`` already exists.

    XNAT's create is a PUT that merges into an existing object, so ``create`` would silently
    overwrite fields of an object that is already there; one GET first rules that out.
    """
    response = session.get(uri, format="json", accepted_status=(200, 404))
    if response.status_code == 200:
        raise XNATConflictError(
            "PUT",
            uri,
            409,
            f"{what} already exists; nothing was changed (read it with the listing, "
            "e.g. listing[key], and change it with .update(...))",
        )


def _fill_data(obj: XNATObject, data: Mapping[str, Any], used: set[str]) -> bool:
    """Set ``obj``'s data and nested fields from ``data_fields``; True if any was present."""
    setter = object.__setattr__
    table = class_fields(type(obj))
    lowered: dict[str, str] | None = None
    found = False
    for spec in table.data:
        if spec.name in RESERVED_NAMES:
            continue
        key = spec.path
        if key not in data:
            if lowered is None:
                lowered = {k.lower(): k for k in data}
            key = lowered.get(key.lower(), "")
        if key and key not in used and key in data:
            used.add(key)
            try:
                value = spec.convert(data[key])
            except (TypeError, ValueError):
                used.discard(key)
                value = None
            found = found or value is not None
            setter(obj, spec.name, value)
        else:
            setter(obj, spec.name, [] if spec.is_list else None)
    for spec in table.nested:
        if spec.name in RESERVED_NAMES:
            continue
        target = spec.target
        nested_value: Any = None
        if isinstance(target, type) and issubclass(target, XNATObject):
            inner = target.__new__(target)
            for slot, default in _UNBOUND_SLOTS:
                setter(inner, slot, default() if callable(default) else default)
            if _fill_data(inner, data, used):
                setter(inner, "_xnat_session", obj._xnat_session)
                setter(inner, "_xnat_parent", obj)
                inner._xnat_cache["xnat_xpath"] = ""
                nested_value = inner
                found = True
        if spec.is_list:
            nested_value = [nested_value] if nested_value is not None else []
        setter(obj, spec.name, nested_value)
    return found


_UNBOUND_SLOTS: tuple[tuple[str, Any], ...] = (
    ("_xnat_session", None),
    ("_xnat_uri", None),
    ("_xnat_parent", None),
    ("_xnat_cache", dict),
    ("_xnat_xsi", None),
    ("_xnat_item", None),
    ("_xnat_raw", dict),
    ("_xnat_generation", 0),
)


def _nested(
    session: XNATSession | None,
    item: Mapping[str, Any],
    parent: XNATObject,
    target: type | None = None,
    step: str | None = None,
) -> Any:
    """A nested (non-addressable) child object built from a document item."""
    from xnat_sdk.generic import GenericObject, class_for

    xsi = str((item.get("meta") or {}).get("xsi:type") or "")
    fallback: type[XNATObject] = GenericObject
    if isinstance(target, type) and issubclass(target, XNATObject):
        fallback = target
    cls = class_for(xsi, fallback, session) if xsi else fallback
    if session is None:
        obj = cls.__new__(cls)
        for slot, default in _UNBOUND_SLOTS:
            object.__setattr__(obj, slot, default() if callable(default) else default)
        obj._xnat_populate(item)
        return obj
    obj = cls._xnat_bind(session, None, xsi=xsi or None, parent=parent, item=item)
    if step is not None:
        obj._xnat_cache["xnat_xpath"] = f"{step}[@xsi:type={xsi}]" if xsi else step
    return obj


class CustomVariables(MutableMapping[str, str]):
    """The custom variables (``fields/field``) of an object; setting one writes it."""

    def __init__(self, owner: XNATObject) -> None:
        self._owner = owner

    def _current(self) -> dict[str, str]:
        item = self._owner._xnat_document()
        result: dict[str, str] = {}
        for entry in child_items(item, "fields/field") or ():
            fields = entry.get("data_fields") or {}
            name = fields.get("name")
            if name is not None:
                value = fields.get("field")
                result[str(name)] = "" if value is None else str(value)
        return result

    def __getitem__(self, key: str) -> str:
        current = self._current()
        try:
            return current[key]
        except KeyError:
            lowered = key.lower()
            if lowered in current:
                return current[lowered]
            from xnat_sdk.errors import XNATKeyError

            known = ", ".join(sorted(current)) or "none"
            raise XNATKeyError(
                key, f"no custom variable {key!r} on {self._owner.uri} (known: {known})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def _write(self, key: str, query: dict[str, str]) -> None:
        owner = self._owner
        session = owner._xnat_bound_session()
        session.put(owner.uri, query={"xsiType": owner.xsi_type, **query})
        session.clearcache()

    def __setitem__(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not VARIABLE_PATTERN.match(key):
            raise XNATValidationError(
                f"fields[{key!r}]", "a custom variable name is letters, digits and '_'"
            )
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise XNATValidationError(
                f"fields[{key!r}]", f"value must be str (or a number), got {type(value).__name__}"
            )
        root = f"{self._owner.xsi_type}/fields/field[name={key.lower()}]"
        self._write(key, {f"{root}/field": str(value)})

    def __delitem__(self, key: str) -> None:
        self[key]  # raises a clear error when absent
        root = f"{self._owner.xsi_type}/fields/field[name={key.lower()}]"
        self._write(key, {f"{root}/field": "NULL", f"{root}/name": "NULL"})

    def __repr__(self) -> str:
        return f"<CustomVariables {self._current()!r}>"


def _listing_cache(obj: XNATObject, name: str, make: Any) -> Any:
    cache: dict[str, Any] | None = obj._xnat_cache
    if cache is None:
        obj._xnat_bound_session()
        raise XNATError("object has no cache")
    found = cache.get(name)
    if found is None:
        found = make()
        cache[name] = found
    return found


def _require_model(obj: XNATObject, what: str) -> XNATSession:
    session = obj._xnat_bound_session()
    if session._no_parse_model:
        raise XNATNoModelError(f"{what} needs the typed object model (no_parse_model=True)")
    return session


class _HasResources(XNATObject):
    """Mixin: ``resources`` (from the document when loaded, else one listing request)."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "resources/resource"

    @property
    def resources(self) -> Listing[AbstractResource]:
        """The resource folders of this object, by ID and by label."""
        from xnat_sdk.listings import RESOURCES, Listing

        _require_model(self, "resources")
        field = type(self)._resources_field
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "resources",
            lambda: Listing.children(self, "resources", RESOURCES, field, prefer_doc=False),
        )

    def create_resource(
        self,
        label: str,
        format: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        method: str | None = None,
        *,
        content: str | None = None,
    ) -> AbstractResource:
        """Create a resource folder on this object (xnatpy's name); with ``data_dir`` its
        files are uploaded (``upload_dir`` with ``method``, default ``tgz_file``)."""
        fields = {k: v for k, v in (("format", format), ("content", content)) if v is not None}
        created: AbstractResource = self.resources.create(label, **fields)
        if data_dir is not None:
            created.upload_dir(data_dir, method=method or "tgz_file")
        return created


class _HasFields(XNATObject):
    """Mixin: custom variables as a mutable mapping."""

    __slots__ = ()

    @property
    def fields(self) -> CustomVariables:
        """Custom variables (``name -> value``); assigning or deleting one writes it."""
        return CustomVariables(self)


class ProjectBase(ProjectDownloads, _HasResources, _HasFields):
    """Behaviour of ``xnat:projectData``."""

    __slots__ = ()

    @classmethod
    def create(cls: type[_P], session: XNATSession, id: str, **fields: Any) -> _P:
        """Create a project (``PUT /data/projects/{id}``) after validating every field."""
        session._require_model("ProjectData.create")
        validate_label(id, "id")
        fields.pop("id", None)
        specs = validate_fields(cls, fields)
        xsi = cls.__xsi_type__ or "xnat:projectData"
        query: dict[str, str] = {"xsiType": xsi}
        for name, value in fields.items():
            query[f"{xsi}/{specs[name].path}"] = encode_value(value)
        uri = f"/data/projects/{id}"
        refuse_existing(session, uri, f"project {id!r}")
        session.put(uri, query=query)
        session.clearcache()
        return cls._xnat_bind(session, uri, xsi=xsi)

    @property
    def subjects(self) -> Listing[SubjectData]:
        """The subjects of this project, by ID and by label (one request, cached)."""
        from xnat_sdk.listings import SUBJECTS, Listing

        _require_model(self, "subjects")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "subjects", lambda: Listing.rest(self, "subjects", SUBJECTS)
        )

    @property
    def experiments(self) -> Listing[SubjectAssessorData]:
        """The experiments of this project, by ID and by label (one request, cached)."""
        from xnat_sdk.listings import EXPERIMENTS, Listing

        _require_model(self, "experiments")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "experiments", lambda: Listing.rest(self, "experiments", EXPERIMENTS)
        )


def _share_target(project: object) -> str:
    if isinstance(project, ProjectBase):
        value = project._xnat_uri or ""
        return value.rstrip("/").rsplit("/", 1)[-1]
    return validate_label(project, "project")


class _Shareable(XNATObject):
    """Mixin: ``share(project, label=None)``."""

    __slots__ = ()

    def share(self, project: str | ProjectBase, label: str | None = None) -> None:
        """Share this object into another project (optionally under another label)."""
        session = self._xnat_bound_session()
        target = _share_target(project)
        query = {"label": validate_label(label, "label")} if label is not None else None
        session.put(f"{self.uri}/projects/{target}", query=query, format="json")
        session.clearcache()


class SubjectBase(SubjectDownloads, _HasResources, _HasFields, _Shareable):
    """Behaviour of ``xnat:subjectData``."""

    __slots__ = ()

    @property
    def experiments(self) -> Listing[SubjectAssessorData]:
        """The experiments of this subject, by ID and by label (one request, cached)."""
        from xnat_sdk.listings import EXPERIMENTS, Listing

        _require_model(self, "experiments")

        def make() -> Listing[Any]:
            uri = self.uri
            if "/projects/" not in uri:
                # /data/subjects/{ID} has no experiments route: go through the project.
                project = getattr(self, "project", None)
                ident = uri.rstrip("/").rsplit("/", 1)[-1]
                if project:
                    uri = f"/data/projects/{project}/subjects/{ident}"
            # Always the REST listing (or a walk's batched project listing), never the
            # experiments nested in the subject's document: those may come without their
            # own children (scans), which would cost one more request per experiment.
            return Listing.rest(self, f"{uri}/experiments", EXPERIMENTS)

        return _listing_cache(self, "experiments", make)  # type: ignore[no-any-return]


class ExperimentBase(_HasResources, _HasFields, _Shareable):
    """Behaviour of ``xnat:experimentData`` and everything derived from it."""

    __slots__ = ()


class SubjectAssessorBase(ExperimentBase):
    """Behaviour of ``xnat:subjectAssessorData`` (experiments that belong to a subject)."""

    __slots__ = ()


class ImageSessionBase(SessionDownloads, SubjectAssessorBase):
    """Behaviour of ``xnat:imageSessionData`` (sessions with scans)."""

    __slots__ = ()

    @property
    def scans(self) -> Listing[ImageScanData]:
        """The scans, by ID and by type; read from the session's own document (one request
        for the session and all its scans)."""
        from xnat_sdk.listings import SCANS, Listing

        _require_model(self, "scans")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "scans",
            lambda: Listing.children(self, "scans", SCANS, "scans/scan", prefer_doc=True),
        )

    @property
    def assessors(self) -> Listing[ImageAssessorData]:
        """The assessors of this session, by ID and by label."""
        from xnat_sdk.listings import ASSESSORS, Listing

        _require_model(self, "assessors")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "assessors",
            lambda: Listing.children(
                self, "assessors", ASSESSORS, "assessors/assessor", prefer_doc=False
            ),
        )

    def create_assessor(self, label: str, type_: type[_A]) -> _A:
        """Create an assessor of this session (xnatpy's name for ``assessors.create``)."""
        return self.assessors.create(label, type_)

    @property
    def reconstructions(self) -> Listing[ReconstructedImageData]:
        """The reconstructions of this session, by ID."""
        from xnat_sdk.listings import RECONSTRUCTIONS, Listing

        _require_model(self, "reconstructions")
        return _listing_cache(  # type: ignore[no-any-return]
            self,
            "reconstructions",
            lambda: Listing.children(
                self,
                "reconstructions",
                RECONSTRUCTIONS,
                "reconstructions/reconstructedImage",
                prefer_doc=False,
            ),
        )


class DerivedDataBase(ExperimentBase):
    """Behaviour of ``xnat:derivedData``."""

    __slots__ = ()


class AssessorBase(DerivedDataBase):
    """Behaviour of ``xnat:imageAssessorData`` (assessors of an image session)."""

    __slots__ = ()


class ScanBase(DicomReading, ScanTransfers, _HasResources):
    """Behaviour of ``xnat:imageScanData``."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "file"

    def dicom_dump(self, fields: list[str] | None = None) -> list[DicomDumpRow]:
        """The DICOM header of this scan's first file (``fields`` restricts the tags)."""
        return self.xnat_session.services.dicom_dump(self, fields=fields)


class ReconstructionBase(_HasResources):
    """Behaviour of ``xnat:reconstructedImageData``."""

    __slots__ = ()
    _resources_field: ClassVar[str] = "out/file"


class ResourceBase(ResourceTransfers, XNATObject):
    """Behaviour of ``xnat:abstractResource`` (resource folders and catalogs).

    Transfers (download, upload, upload_dir ...) come from :mod:`xnat_sdk.transfers`;
    ``files`` lists the entries.
    """

    __slots__ = ()

    def _xnat_fetch(self, session: XNATSession, uri: str) -> dict[str, Any]:
        """A resource's fields come from its parent's ``resources`` listing (one request).

        XNAT answers ``GET .../resources/{R}`` with the catalog XML whatever ``format`` asks
        for, so, as xnatpy does, the row of the parent's listing is the resource's document.
        """
        if "/resources/" not in uri:
            return super()._xnat_fetch(session, uri)
        parent_uri, _, key = uri.rpartition("/resources/")
        key = unquote(key)
        rows = fetch(session, f"{parent_uri}/resources").rows()
        row = next(
            (r for r in rows if str(r.get("xnat_abstractresource_id")) == key),
            None,
        ) or next((r for r in rows if r.get("label") == key), None)
        if row is None:
            raise XNATNotFoundError(
                "GET", f"{parent_uri}/resources", 404, f"no resource {key!r} is listed there"
            )
        cache: dict[str, Any] | None = self._xnat_cache
        if cache is not None:
            cache["row"] = row
        data = dict(row)
        if data.get("cat_desc") and "description" not in data:
            data["description"] = data["cat_desc"]
        return {
            "data_fields": data,
            "meta": {"xsi:type": row.get("element_name") or "xnat:resourceCatalog"},
            "children": [],
        }

    @property
    def files(self) -> Listing[RemoteFile]:
        """The files of this resource, by path and by name (one request, cached)."""
        from xnat_sdk.listings import FILES, Listing

        _require_model(self, "files")
        return _listing_cache(  # type: ignore[no-any-return]
            self, "files", lambda: Listing.rest(self, "files", FILES)
        )
