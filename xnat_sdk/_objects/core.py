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
* fields whose Python name is in :data:`RESERVED_NAMES` and that a base of the class provides
  are navigation (a session's ``scans``, ``resources``, ``fields`` ...): the generator does
  not emit them; if an older package does, the runtime never fills them and the base's
  navigation still answers (:func:`runtime_owned`). Where no base provides the name (an
  assessor's own ``scans`` items) the field is data.

Runtime behaviour: objects handed out by a session are *bound* (to the session and their REST
path) and *lazy*: fields known from a listing row are filled at once, the others stay unset
until the first read, which fetches the object's ``?format=json`` document once and fills
every field (and the children the navigation properties use). Assigning a field of a bound
object writes it to the server (validated first); objects made with the generated
``__init__`` are unbound plain values, usable as input for ``Listing.create``.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote

import attrs

from xnat_sdk._answers import fetch
from xnat_sdk._objects.registry import class_for
from xnat_sdk.errors import (
    XNATConflictError,
    XNATError,
    XNATNotConnectedError,
    XNATValidationError,
)
from xnat_sdk.fields import (
    ClassFields,
    FieldSpec,
    class_fields,
    encode_value,
    from_text,
    texts_converted,
    validate_fields,
    validate_label,
)

if TYPE_CHECKING:
    from xnat_sdk.listings import Listing
    from xnat_sdk.search import ClassQuery
    from xnat_sdk.session import XNATSession

__all__ = [
    "NAVIGATION_NAMES",
    "RESERVED_NAMES",
    "Creatable",
    "GenericObject",
    "XNATObject",
    "canonical_xsi",
    "child_items",
    "field_params",
    "item_params",
    "object_params",
    "own_path",
    "refuse_existing",
    "runtime_owned",
    "set_fields",
]

_LAYER = "xnat_sdk._objects."
"""Properties of classes of these modules re-raise their own AttributeError."""

#: Navigation the bases provide over data a document also holds (a session's ``scans``, a
#: resource's ``file_count``): the generator leaves a field of such a name to the base that
#: defines it (``xnat_sdk_codegen.binding``).
NAVIGATION_NAMES = frozenset(
    {
        "subjects",
        "experiments",
        "scans",
        "assessors",
        "reconstructions",
        "resources",
        "files",
        "fields",
        "file_count",
        "file_size",
    }
)

#: Attribute names the bases provide; never filled from a document.
RESERVED_NAMES = NAVIGATION_NAMES | frozenset(
    {
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


_OWNED: dict[tuple[type, str], bool] = {}


def runtime_owned(cls: type, name: str) -> bool:
    """True when a hand-written base of ``cls`` provides ``name`` (navigation such as a
    session's ``scans``): such a field is never filled from a document. A generated field of
    a reserved name that no base of its class provides (an assessor's own ``scans``) is
    data like any other."""
    if name not in RESERVED_NAMES:
        return False
    found = _OWNED.get((cls, name))
    if found is None:
        bases = [b for b in cls.__mro__ if "__attrs_attrs__" not in vars(b)]
        found = _OWNED[(cls, name)] = any(name in vars(b) for b in bases)
    return found


_O = TypeVar("_O", bound="XNATObject")


def child_items(item: Mapping[str, Any], field: str) -> list[dict[str, Any]] | None:
    """The items under ``children[field]`` of a document item checked by
    :func:`xnat_sdk._answers.object_items` (None when absent)."""
    found: list[dict[str, Any]] | None = None
    for child in item.get("children") or ():
        if child.get("field") == field:
            found = (found or []) + list(child.get("items") or ())
    return found


_MEMBER = type(type("_Slotted", (), {"__slots__": ("x",)}).__dict__["x"])  # slot descriptor


class _ModelType(type):
    """The models' metaclass: at class level a searchable field is its search column
    (``MrSessionData.label == "E1"`` is a condition, xnatpy's query spelling) and a single
    part a :class:`~xnat_sdk.search.SearchPart` of its fields (``SubjectData.demographics.
    gender == "female"``); reading a field
    of an instance is untouched (plain slot access)."""

    if not TYPE_CHECKING:

        def __getattribute__(cls, name):
            value = super().__getattribute__(name)
            if name[:1] != "_" and type(value) is _MEMBER:
                spec = class_fields(cls).by_name.get(name)
                if spec is not None:
                    from xnat_sdk.search import SearchList, search_column, search_part

                    if spec.is_list:  # refuses its items' fields, typed
                        return SearchList(cls, name)
                    if spec.is_data:
                        return search_column(cls, name)
                    if spec.target is not None:  # a single part: its fields are columns
                        return search_part(cls, name)
            return value


class XNATObject(metaclass=_ModelType):
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

    @classmethod
    def query(
        cls: type[_O], *constraints: Any, session: XNATSession | None = None
    ) -> ClassQuery[_O]:
        """xnatpy's search spelling: ``MrSessionData.query().filter(MrSessionData.label ==
        "E1").all()`` (a :class:`~xnat_sdk.search.ClassQuery`). The session is ``session``,
        else the one whose ``session.classes`` was used last."""
        from xnat_sdk._objects.registry import current_session
        from xnat_sdk.search import ClassQuery, Query

        found = session or current_session()
        found._require_model(f"{cls.__name__}.query")
        made: ClassQuery[_O] = ClassQuery(Query(found, cls))
        return made.filter(*constraints) if constraints else made

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
        obj._xnat_set_binding(session, uri, parent, xsi or cls.__xsi_type__)
        if item is not None:
            obj._xnat_populate(item)
        elif row is not None:
            obj._xnat_prefill(row)
        return obj

    def _xnat_set_binding(
        self,
        session: XNATSession | None,
        uri: str | None,
        parent: XNATObject | None,
        xsi: str,
        item: dict[str, Any] | None = None,
    ) -> None:
        """Every binding slot at once, caches empty (the one place that knows them all):
        bound to ``session`` (and tracked by it) or, with ``None``, detached."""
        setter = object.__setattr__
        setter(self, "_xnat_session", session)
        setter(self, "_xnat_uri", uri)
        setter(self, "_xnat_parent", parent)
        setter(self, "_xnat_cache", {})
        setter(self, "_xnat_xsi", xsi)
        setter(self, "_xnat_item", item)
        setter(self, "_xnat_raw", {})
        setter(self, "_xnat_generation", -1 if session is None else session.cache_generation)
        if session is not None and uri is not None:
            session._track(self)

    def _xnat_bound_session(self) -> XNATSession:
        session: XNATSession | None = self._xnat_session
        if session is None and self._xnat_uri is not None:
            raise XNATNotConnectedError(
                f"this {type(self).__name__} ({self._xnat_uri}) was unpickled where no session "
                "for its server was open: unpickle it with session.unpickle(data), or send "
                "it to other processes with session.map_over(function, objects, executor=...)"
            )
        if session is None:
            raise XNATNotConnectedError(
                f"this {type(self).__name__} is not bound to a session (made with its "
                "constructor); create it on the server first, e.g. listing.create(obj)"
            )
        return session

    def _xnat_populate(self, item: Mapping[str, Any]) -> None:
        """Fill every field from a document item (``data_fields``, ``meta``, ``children``)."""
        setter = object.__setattr__
        meta = item.get("meta") or {}
        data: dict[str, Any] = _as_shared(self._xnat_uri, item.get("data_fields") or {}, item)
        used: set[str] = set()
        session = self._xnat_session
        _fill_data(self, data, used, item)
        _fill_children(self, item)
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
        cls = type(self)
        table = class_fields(cls)
        for key, value in row.items():
            spec = table.by_path.get(key)
            if spec is None and "/" in key:
                path = own_path(cls, key)
                spec = table.by_lower_path.get(path.lower()) if path is not None else None
                if spec is None and path is not None:
                    _prefill_part(self, table, path, value)
            elif spec is None:  # a shortcut naming an element with a value (``scanner``)
                _prefill_nested(self, table, key, value)
            if spec is None or runtime_owned(cls, spec.name):
                continue
            if value in ("", None):  # the field is empty: known, no read to tell it
                _known_empty(self, spec)
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
                if isinstance(prop, property) and klass.__module__.startswith(_LAYER):
                    return prop.fget(self)
            table = class_fields(cls)
            spec = table.by_name.get(name)
            if spec is not None:
                if self._xnat_uri is not None:
                    if self._xnat_session is None:  # unpickled where no session fits
                        raise XNATNotConnectedError(
                            f"{name!r} of {self._xnat_uri} was not loaded and this object is "
                            "not bound to a session: unpickle it with session.unpickle(data), "
                            "or send it to other processes with session.map_over(function, "
                            "objects, executor=...)"
                        )
                    self._xnat_document()
                elif (part_of := (self._xnat_cache or {}).get("partial_of")) is not None:
                    value = _read_through_owner(self, part_of, name)
                    if value is not _UNKNOWN:
                        return value
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    pass
                if not spec.single:
                    return spec.missing
                stand_in = _stand_in(self, spec)
                object.__setattr__(self, name, stand_in)
                return stand_in
            raise AttributeError(
                f"{cls.__name__!r} object has no attribute {name!r}{table.suggest(name)}"
            )

        def __setattr__(self, name: str, value: Any) -> None:
            if name.startswith("_"):
                object.__setattr__(self, name, value)
                return
            if self._xnat_session is None:
                object.__setattr__(self, name, _typed_if_text(type(self), name, value))
                return
            table = class_fields(type(self))
            if name in table.by_name:
                self.mset({name: value})
                return
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            # ``del obj.field`` on an object of the server clears the field there, as
            # ``obj.field = None`` does (it dropped the value read, only here: the next
            # read said None while the server kept it)
            bound = not name.startswith("_") and self._xnat_session is not None
            if bound and name in class_fields(type(self)).by_name:
                self.mset({name: None})
                return
            object.__delattr__(self, name)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle without the session (see :mod:`xnat_sdk._objects.travel`): server URL,
        REST path, xsi type, the loaded fields and document, the parent."""
        from xnat_sdk._objects.travel import object_state, restore_object

        arguments, fields = object_state(self)
        return (restore_object, arguments, fields)

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Set the fields of an unpickled object (the state :meth:`__reduce__` gives; a
        generated model's own ``__setstate__``, made by attrs, does the same)."""
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        """Two objects are equal when they stand for one object of one server, whichever
        REST path reached them (``project.subjects["S"].experiments["E"] ==
        session.experiments[ID]``, as xnatpy's cache makes them one); one not bound to a
        server (or a part) equals only itself."""
        if not isinstance(other, XNATObject):
            return NotImplemented
        if other is self:
            return True
        key = self._xnat_key()
        return key is not None and key == other._xnat_key()

    def __hash__(self) -> int:
        key = self._xnat_key()
        return hash(key) if key is not None else object.__hash__(self)

    def _xnat_key(self) -> tuple[str, ...] | None:
        """(server, ``experiments``, ID, ``scans``, ID ...): the object this stands for,
        from its REST path, from the nearest level whose IDs are unique on the server
        (projects, subjects, experiments); None when not bound or a part."""
        session, uri = self._xnat_session, self._xnat_uri
        if session is None or not uri:
            return None
        cache = self._xnat_cache
        found: tuple[str, tuple[str, ...]] | None = cache.get("entity")
        if found is not None and found[0] is uri:  # parsed once per path (a write compares
            return found[1]  # the written object with every object held)
        key = (session.server, *entity_path(uri))
        cache["entity"] = (uri, key)
        return key

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
    def logger(self) -> logging.Logger:
        """The session's logger (xnatpy's name)."""
        return self._xnat_bound_session().logger

    @property
    def caching(self) -> bool:
        """Whether this object's reads are cached (the session's ``caching``)."""
        return self._xnat_bound_session().caching

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
    def insert_date(self) -> datetime.datetime | None:
        """When the object was stored (xnatpy's name): the ``start_date`` of its document's
        ``meta`` (UTC); None when the server gives none."""
        from xnat_sdk.fields import parse_meta_date

        return parse_meta_date((self._xnat_document().get("meta") or {}).get("start_date"))

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

    def _xnat_forget(self) -> None:
        """Forget this object's document and fields (after a write to it): they read again;
        its listings (``subject.experiments``) stay, as a write to it does not change them."""
        from xnat_sdk.listings import Listing

        cache: dict[str, Any] = self._xnat_cache or {}
        kept = {k: v for k, v in cache.items() if isinstance(v, Listing) or k == "parts"}
        self.clearcache()
        if self._xnat_cache is not None:
            self._xnat_cache.update(kept)

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

    def mset(
        self,
        values: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Write several fields in one request (validated first; ``None`` clears a field).

        xnatpy's call: ``values`` and/or keywords, keyed by field name (``field_strength``)
        or by XML path relative to this object's type, as XNAT spells it (``fieldStrength``,
        ``scanner/manufacturer``). Nested single children (``subject.demographics``) write
        through their owner.
        """
        session = self._xnat_bound_session()
        groups = [  # stored as the typed values text spells
            (part, texts_converted(type(part), named))
            for part, named in write_groups(self, merged_values(values, kwargs))
        ]
        owner: XNATObject = self
        query: dict[str, str] = {}
        for part, named in groups:
            owner, found = part._xnat_write_query(named)
            query.update(found)
        from xnat_sdk._values import put_values

        put_values(session, owner.uri, query, timeout=timeout)
        for part, named in groups:
            for name, value in named.items():
                object.__setattr__(part, name, value)
            object.__setattr__(part, "_xnat_generation", session.cache_generation)
        session._written(owner, listings=True)

    def _xnat_write_query(self, values: Mapping[str, Any]) -> tuple[XNATObject, dict[str, str]]:
        """(the addressable owner, the query that writes ``values`` of this object to it)."""
        params = field_params(type(self), values)
        owner, prefix = self._xnat_write_target()
        xsi = owner.xsi_type
        root = f"{xsi}/{prefix}/" if prefix else f"{xsi}/"
        query: dict[str, str] = {"xsiType": xsi}
        for spec, path, encoded in params:
            if spec.name == "label" and spec.is_data and not prefix:
                query["label"] = validate_label(values["label"], "label")
                _refuse_share_rename(owner)
            else:
                query[root + path] = encoded
        return owner, query

    def get(self, name: str, type_: type | None = None) -> Any:
        """A field by name (xnatpy's ``get``): a model field (``get("label")``), else the raw
        ``data_fields`` entry (``get("ID")``, the server's spelling); None when neither has a
        value. ``type_`` (``int``, ``float`` ...) converts a value found."""
        if not isinstance(name, str) or not name:
            raise XNATValidationError("name", f"a field name is a str, got {name!r}")
        spec = class_fields(type(self)).by_name.get(name)
        value: Any = None
        if spec is not None and spec.is_data and not runtime_owned(type(self), name):
            value = getattr(self, name)
        elif self._xnat_session is not None and self._xnat_uri is not None:
            fields = self._xnat_document().get("data_fields") or {}
            value = fields.get(name)
            if value is None:
                lowered = {str(k).lower(): v for k, v in fields.items()}
                value = lowered.get(name.lower())
        if value is None or type_ is None:
            return value
        try:
            return type_(value)
        except (TypeError, ValueError) as exc:
            raise XNATValidationError(name, f"{value!r} is no {type_.__name__}: {exc}") from exc

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


@attrs.define(kw_only=True, eq=False, repr=False)
class Creatable(XNATObject):
    """Root of the archive types (projects, subjects, experiments, scans, resources ...):
    their constructor takes xnatpy's ``parent=``.

    ``MrSessionData(label="E1", date=...)`` is an unbound value (for ``listing.create``);
    ``MrSessionData(parent=subject, label="E1", ...)`` creates the session on the server
    (every field validated first, an existing one refused) and the new object is bound, as
    if read from ``subject.experiments``. ``parent`` is the object (or the listing, or for a
    project the session) the new one goes into.
    """

    _xnat_create_in: XNATObject | Listing[Any] | XNATSession | None = attrs.field(
        default=None, alias="parent", metadata={"runtime": True}
    )

    def __attrs_post_init__(self) -> None:
        parent = self._xnat_create_in
        if parent is None:
            return
        object.__setattr__(self, "_xnat_create_in", None)
        from xnat_sdk._objects.construct import create_in_parent

        create_in_parent(self, parent)


def _is_object_value(spec: FieldSpec, value: Any) -> bool:
    """True for a nested/child object, or a list of them for a repeated child field."""
    if isinstance(value, XNATObject):
        return True
    if spec.is_data or not spec.is_list or not isinstance(value, (list, tuple)):
        return False
    return all(isinstance(item, XNATObject) for item in value)


def _typed_if_text(cls: type, name: str, value: Any) -> Any:
    """An unbound object's value (nothing is sent yet): text for a typed field converted
    when it is that type's spelling (:func:`~xnat_sdk.fields.from_text`), else kept for the
    write that sends it to refuse, naming the field."""
    if not isinstance(value, (str, list, tuple)):
        return value
    spec = class_fields(cls).by_name.get(name)
    if spec is None or not spec.is_data:
        return value
    try:
        return from_text(spec, value)
    except XNATValidationError:
        return value


def merged_values(values: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``mset``'s values: the mapping and the keywords together (a key given twice is refused)."""
    if values is not None and not isinstance(values, Mapping):
        raise XNATValidationError("values", f"a mapping of fields, got {type(values).__name__}")
    merged = dict(values or {})
    for key, value in kwargs.items():
        if key in merged:
            raise XNATValidationError(key, "given both in values and as a keyword")
        merged[key] = value
    return merged


def write_groups(
    obj: XNATObject, values: Mapping[str, Any]
) -> list[tuple[XNATObject, dict[str, Any]]]:
    """``values`` keyed by field name or XML path, as ``(object, {field name: value})``: the
    fields of ``obj`` and those of its nested single children (``scanner/manufacturer`` is
    ``manufacturer`` of ``obj.scanner``). A key that names nothing is kept as given, for
    :func:`validate_fields` to refuse with a hint."""
    groups: dict[int, tuple[XNATObject, dict[str, Any]]] = {id(obj): (obj, {})}
    for key, value in values.items():
        found = _named_field(obj, key) if isinstance(key, str) else None
        part, name = found or (obj, key)
        groups.setdefault(id(part), (part, {}))[1][name] = value
    return [group for group in groups.values() if group[1] or group[0] is obj]


def _named_field(obj: XNATObject, key: str) -> tuple[XNATObject, str] | None:
    """(the object, its field name) a key of ``mset`` names: a field name, an XML path of a
    field of ``obj``'s type (exact, else in any case, as XNAT reads XPaths), or a path
    through a nested single child (``scanner/manufacturer``, ``demographics/gender``); None
    when it names none."""
    table = class_fields(type(obj))
    spec = table.by_name.get(key) or table.lookup_path(key)
    if spec is not None:
        return obj, spec.name
    step, _, rest = key.partition("/")
    step = step.split("[", 1)[0].lower()  # demographics[@xsi:type=...]: the element's name
    for nested in table.by_name.values():
        if rest and nested.single and nested.path.lower() == step:
            part = getattr(obj, nested.name)
            # an inline element's fields keep the owner's path; a named type's start anew
            found = class_fields(type(part)).lookup_path(f"{nested.path}/{rest}")
            return (part, found.name) if found is not None else _named_field(part, rest)
    return None


def field_params(
    cls: type,
    values: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
    skip_none: bool = False,
    items: bool = False,
) -> list[tuple[FieldSpec, str, str]]:
    """``(spec, XPath relative to cls, encoded value)`` for every value written to a ``cls``,
    all checked first (names, types, ``required``). A nested or child object
    (``demographics=DemographicData(gender="female")``) gives the parameters of its set fields
    (:func:`object_params`), and with ``items`` (a new object) a list of child items
    (``scans=[Scan(scan_id="1")]``) XNAT's indexed parameters (:func:`item_params`);
    ``None`` is ``NULL`` (it clears a field), or left out with ``skip_none``."""
    table = class_fields(cls)
    values = texts_converted(cls, values)  # "2006-04-18" is sent as the date it spells
    objects = {
        name
        for name, value in values.items()
        if name in table.by_name and _is_object_value(table.by_name[name], value)
    }
    plain = {k: v for k, v in values.items() if k not in objects}
    specs = validate_fields(cls, plain, required=required)
    params: list[tuple[FieldSpec, str, str]] = []
    for name, value in values.items():
        if name in objects:
            spec = table.by_name[name]
            if isinstance(value, XNATObject):
                found = object_params(spec, value)
            elif not items:
                raise XNATValidationError(
                    name,
                    "the items of a stored object's list are not replaced this way: give them "
                    "when creating the object",
                )
            else:
                found = item_params(spec, value)
            params.extend((spec, path, encoded) for path, encoded in found)
        elif specs[name].is_list and specs[name].kind == "element" and value is not None:
            if not items:
                raise XNATValidationError(
                    name,
                    "the values of a stored object's repeated element are not replaced this "
                    "way: give them when creating the object",
                )
            params.extend((specs[name], path, v) for path, v in value_params(specs[name], value))
        elif value is not None or not skip_none:
            params.append((specs[name], specs[name].path, encode_value(value)))
    return params


def value_params(spec: FieldSpec, values: Iterable[Any]) -> list[tuple[str, str]]:
    """XPath parameters of the values of a repeated simple element: ``comments=["a", "b"]``
    becomes ``comments/comment[0]/comment=a`` and ``comments/comment[1]/comment=b`` (XNAT
    keeps each value as an item of an in-line repeater type whose one field is the element's
    name: ``XFTField.AddField``)."""
    leaf = spec.path.rsplit("/", 1)[-1]
    return [(f"{spec.path}[{i}]/{leaf}", encode_value(v)) for i, v in enumerate(values)]


def item_params(spec: FieldSpec, items: Iterable[XNATObject]) -> list[tuple[str, str]]:
    """XPath parameters (relative to the owner) of the items of a repeated child field.

    ``scans=[Scan(scan_id="1"), Scan(scan_id="2")]`` becomes ``scans/scan[0]/scan_id=1`` and
    ``scans/scan[1]/scan_id=2``: XNAT's indexed form (``XFTItem.setXMLPropertyChild``: a
    numeric ``[N]`` step picks the N-th item, 0-based, and creates the missing ones)."""
    params: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        params.extend(object_params(spec, item, index))
    return params


def object_params(
    spec: FieldSpec, value: XNATObject, index: int | None = None
) -> list[tuple[str, str]]:
    """XPath parameters (relative to the owner) that write a whole nested or child object.

    ``subject.demographics = DemographicData(gender="female")`` becomes
    ``demographics[@xsi:type=xnat:demographicData]/gender=female``. Single nested/child
    fields are written this way, list items with their ``index`` (:func:`item_params`);
    every set field is validated first.
    """
    if spec.is_data:
        raise XNATValidationError(
            spec.name, f"{spec.name} takes a plain value, not a {type(value).__name__} object"
        )
    if spec.is_list != (index is not None):
        raise XNATValidationError(
            spec.name, f"{spec.name} takes a list of objects, not a {type(value).__name__}"
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
    present = set_fields(value)
    nested = {
        k: v
        for k, v in present.items()
        if k in table.by_name and _is_object_value(table.by_name[k], v)
    }
    specs = validate_fields(klass, {k: v for k, v in present.items() if k not in nested})
    if index is not None:
        # one item of a list: its own paths are relative to itself, behind the indexed step
        step = f"{spec.path}[{index}]/"
    elif spec.kind == "child":
        # a named complex type: its own paths are relative to itself, behind the child step
        step = f"{spec.path}[@xsi:type={klass.__xsi_type__}]/" if klass.__xsi_type__ else ""
        step = step or f"{spec.path}/"
    else:
        # an inline anonymous element: its paths already start from the owning type
        step = ""
    params: list[tuple[str, str]] = []
    for name, item in present.items():
        if isinstance(item, XNATObject):
            params.extend((step + p, v) for p, v in object_params(table.by_name[name], item))
        elif name in nested:
            params.extend((step + p, v) for p, v in item_params(table.by_name[name], item))
        elif specs[name].is_list and specs[name].kind == "element":
            params.extend((step + p, v) for p, v in value_params(specs[name], item))
        else:
            params.append((step + specs[name].path, encode_value(item)))
    if not params:
        raise XNATValidationError(spec.name, f"the {klass.__name__} has no field set")
    return params


def set_fields(obj: XNATObject) -> dict[str, Any]:
    """The fields of ``obj`` that hold a value (empty nested objects left out)."""
    present: dict[str, Any] = {}
    for name in class_fields(type(obj)).by_name:
        if runtime_owned(type(obj), name):
            continue
        value = getattr(obj, name, None)
        if value in (None, [], "") or (isinstance(value, XNATObject) and not set_fields(value)):
            continue
        present[name] = value
    return present


def _unset(obj: XNATObject, name: str) -> None:
    with contextlib.suppress(AttributeError):
        object.__delattr__(obj, name)


_TYPE_NAMES: dict[type, frozenset[str]] = {}


def own_path(cls: type, column: str) -> str | None:
    """The path under the root element of a listing column named by XML path
    (``columns=xnat:mrSessionData/study_id``, which XNAT answers in lower case), when the root
    is ``cls``'s own type or one it derives from; None for another element's (a joined
    subject's label on the experiments listing)."""
    root, _, rest = column.partition("/")
    names = _TYPE_NAMES.get(cls)
    if names is None:
        names = frozenset(
            str(k.__dict__["__xsi_type__"]).lower()
            for k in cls.__mro__
            if "__xsi_type__" in k.__dict__
        )
        _TYPE_NAMES[cls] = names
    return rest if rest and root.lower() in names else None


def _prefill_part(owner: XNATObject, table: ClassFields, path: str, value: Any) -> None:
    """Fill a field of one of ``owner``'s single child parts from a listing column
    (``demographics[@xsi:type=xnat:demographicData]/gender``: ``subject.demographics.gender``).

    The part holds only what listings told; a field they did not is read through the owner,
    whose document then replaces the part (see ``__getattr__``). A part the owner's document
    already gave is left alone."""
    step, _, rest = path.partition("/")
    name, _, predicate = step.partition("[")
    spec = table.children.get(name) or next(
        (c for p, c in table.children.items() if p.lower() == name.lower()), None
    )
    if spec is None:
        _prefill_nested(owner, table, path, value)
        return
    target = spec.target
    if not spec.single or not rest or not isinstance(target, type):
        return

    def made() -> XNATObject:
        cls = _part_class(target, predicate)
        part = _bound_part(owner, cls)
        part._xnat_cache["xnat_xpath"] = f"{spec.path}[@xsi:type={cls.__xsi_type__}]"
        return part

    part = _listed_part(owner, spec, made)
    if part is not None:
        _into_part(part, rest, value, _prefill_part)


def _listed_part(
    owner: XNATObject, spec: FieldSpec, made: Callable[[], XNATObject]
) -> XNATObject | None:
    """``owner``'s part ``spec`` for listing columns to fill: the one only listings filled,
    else a new one from ``made()`` (set on ``owner``, marked so); None when they must leave
    it alone (its owner's document gave it, or it is navigation)."""
    if runtime_owned(type(owner), spec.name):
        return None
    try:
        held: Any = object.__getattribute__(owner, spec.name)
    except AttributeError:
        held = None
    if isinstance(held, XNATObject):
        return held if (held._xnat_cache or {}).get("partial_of") else None
    if held is not None:
        return None
    part = made()
    part._xnat_cache["partial_of"] = spec.name
    object.__setattr__(owner, spec.name, part)
    return part


def _prefill_nested(owner: XNATObject, table: ClassFields, path: str, value: Any) -> None:
    """Fill a field of one of ``owner``'s nested parts (their fields keep the whole path:
    ``tracer/name`` is ``experiment.tracer.name``), as :func:`_prefill_part` fills a child."""
    lower = path.lower()
    spec = next(
        (
            n
            for n in table.nested
            if lower == n.path.lower() or lower.startswith(f"{n.path}/".lower())
        ),
        None,
    )
    target = spec.target if spec is not None else None
    if spec is None or not spec.single or not isinstance(target, type):
        return
    part = _listed_part(owner, spec, lambda: _bound_part(owner, target))
    if part is not None:
        _into_part(part, path, value, _prefill_nested)


def _into_part(
    part: XNATObject,
    path: str,
    value: Any,
    deeper: Callable[[XNATObject, ClassFields, str, Any], None],
) -> None:
    """A listing cell into ``part``: its field at ``path``, else ``deeper`` in its parts."""
    inner = class_fields(type(part))
    field = inner.by_lower_path.get(path.lower())
    if field is None:
        deeper(part, inner, path, value)
    else:
        _prefill_field(part, field, value)


def _prefill_field(part: XNATObject, field: FieldSpec, value: Any) -> None:
    """A part's field from a listing cell: its value, or known empty."""
    if runtime_owned(type(part), field.name):
        return
    if value in ("", None):
        _known_empty(part, field)
        return
    with contextlib.suppress(TypeError, ValueError):
        object.__setattr__(part, field.name, field.convert(value))


def _known_empty(obj: XNATObject, spec: FieldSpec) -> None:
    """A single data field a listing shows empty: empty, with no read to tell it (unless a
    value is there already)."""
    if not spec.is_data or spec.is_list:
        return
    try:
        object.__getattribute__(obj, spec.name)
    except AttributeError:
        object.__setattr__(obj, spec.name, spec.missing)


_LOWER_XSI: dict[str, str] = {}


def canonical_xsi(xsi: str) -> str | None:
    """The models' spelling of an xsi type named in any case (``xnat:mrsessiondata``: XNAT
    lower-cases paths), or None for a type they do not know."""
    if not _LOWER_XSI:
        from xnat_sdk.models import XSI_TYPES

        _LOWER_XSI.update({k.lower(): k for k in XSI_TYPES})
    return _LOWER_XSI.get(xsi.lower())


def _part_class(target: type, predicate: str) -> type[XNATObject]:
    """The class a part's ``[@xsi:type=...]`` step names (any case), if it derives from
    ``target`` (a generated model class); else ``target``."""
    xsi = predicate.partition("=")[2].rstrip("]").strip()
    if xsi:
        from xnat_sdk.models import model_for

        canonical = canonical_xsi(xsi)
        found = model_for(canonical) if canonical else None
        if found is not None and issubclass(found, target):
            return found
    return target


def _read_through_owner(part: XNATObject, field: str, name: str) -> Any:
    """A field of a part filled from listing columns that they did not tell: the owner reads
    its document, which gives the whole part, and the value is that part's."""
    owner = part._xnat_parent
    if owner is None:
        part._xnat_cache.pop("partial_of", None)
        return _UNKNOWN
    owner._xnat_document()  # a failure leaves the part as it was, to be tried again
    whole = getattr(owner, field)
    if whole is part:  # the document did not replace it: nothing more to tell
        part._xnat_cache.pop("partial_of", None)
        return _UNKNOWN
    return getattr(whole, name)


_UNKNOWN = object()


def _stand_in(owner: XNATObject, spec: FieldSpec) -> Any:
    """The empty stand-in for a missing single child or nested part (``subject.demographics``
    of a subject without any, ``scan.parameters``): every field empty, and writing one
    creates it through ``owner`` (made on first read, so reading a document costs none)."""
    target = spec.target
    if not (isinstance(target, type) and issubclass(target, XNATObject)):
        return None
    if spec.kind == "child":
        item = {"meta": {"xsi:type": target.__xsi_type__}, "data_fields": {}, "children": []}
        return _nested(owner._xnat_session, item, owner, target, spec.path)
    inner = _bound_part(owner, target)
    _fill_data(inner, {}, set())
    _fill_children(inner, None)
    return inner


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


def _mentions(path: str, data: Mapping[str, Any], item: Mapping[str, Any] | None) -> bool:
    """True when a data key or a child field of ``item`` lies under ``path`` (lower case:
    ``parameters``), or is ``path`` itself (an element with a value and attributes,
    ``tracer/isotope``)."""
    prefix = path + "/"
    if any(key[: len(prefix)].lower() == prefix or key.lower() == path for key in data):
        return True
    children = item.get("children") if item is not None else None
    return any(str(c.get("field", "")).lower().startswith(prefix) for c in children or ())


def _item_values(spec: FieldSpec, item: Mapping[str, Any] | None) -> list[Any] | None:
    """The values of a repeated simple element (``comments/comment``) that XNAT keeps as
    child items, one value each under the element's name; None when there are none."""
    if not spec.is_list or spec.kind != "element" or item is None:
        return None
    items = child_items(item, spec.path)
    if items is None:
        return None
    leaf = spec.path.rsplit("/", 1)[-1]
    raw = [(it.get("data_fields") or {}).get(leaf) for it in items]
    try:
        values: list[Any] = spec.convert(raw)
    except (TypeError, ValueError):
        return None
    return values


_URI_PROJECT = re.compile(r"^/data/(?:archive/)?projects/([^/]+)/")


def _share_seen(uri: str | None, item: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(the project of ``uri``, its ``sharing/share`` fields) when the object of document
    ``item`` is seen there through a share (None in its primary project or elsewhere)."""
    found = _URI_PROJECT.match(uri or "")
    project = unquote(found.group(1)) if found is not None else None
    data = item.get("data_fields") or {}
    if project is None or data.get("project") in (None, "", project):
        return None
    for share in child_items(item, "sharing/share") or []:
        fields = share.get("data_fields") or {}
        if fields.get("project") == project:
            return project, fields
    return None


def _refuse_share_rename(obj: XNATObject) -> None:
    """Raise before a label write through a project the object is only shared into: XNAT
    would rename the object itself, in its primary project (``Rename`` sets its own
    ``label``; the label is checked in the sharing project), not the share."""
    if obj._xnat_uri is None or obj._xnat_session is None:
        return
    item = obj._xnat_document()
    seen = _share_seen(obj._xnat_uri, item)
    if seen is None:
        return
    primary = (item.get("data_fields") or {}).get("project")
    raise XNATValidationError(
        "label",
        f"{obj._xnat_uri} is shared into project {seen[0]}: XNAT would rename it in its "
        f"primary project {primary}, not the share. Relabel the share with "
        f"share({seen[0]!r}, label=...), or set the label from project {primary}",
    )


def _as_shared(uri: str | None, data: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as seen from the project of ``uri`` when the object is shared into it: a
    subject's or experiment's document carries its primary ``label`` and ``project``, and
    its shares as ``sharing/share`` items (``project``, ``label``); the listing of a
    sharing project answers the share's label (and, for an experiment, the sharing
    project: XNAT's ``ProjectSubjectList`` / ``ProjSubExptList``), so the document read
    later keeps them, as xnatpy's ``label`` does, instead of turning into the primary's."""
    found = _share_seen(uri, item)
    if found is None:
        return data
    project, fields = found
    seen = dict(data)
    if fields.get("label"):
        seen["label"] = fields["label"]
    if (item.get("meta") or {}).get("xsi:type") != "xnat:subjectData":
        seen["project"] = project  # a subject's listing keeps its primary project
    return seen


def _fill_data(
    obj: XNATObject,
    data: Mapping[str, Any],
    used: set[str],
    item: Mapping[str, Any] | None = None,
    lowered: dict[str, str] | None = None,
) -> bool:
    """Set ``obj``'s data and nested fields from ``data_fields``; True if any was present."""
    setter = object.__setattr__
    table = class_fields(type(obj))
    found = False
    for spec in table.data:
        if runtime_owned(type(obj), spec.name):
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
            setter(obj, spec.name, spec.missing if value is None else value)
        elif (values := _item_values(spec, item)) is not None:
            found = found or bool(values)
            setter(obj, spec.name, values)
        else:
            setter(obj, spec.name, spec.missing)
    for spec in table.nested:
        if runtime_owned(type(obj), spec.name):
            continue
        target = spec.target
        nested_value: Any = None
        if not _mentions(spec.path.lower(), data, item):
            pass  # nothing of it in the document: no object to build
        elif isinstance(target, type) and issubclass(target, XNATObject):
            if lowered is None:
                lowered = {k.lower(): k for k in data}
            inner = _bound_part(obj, target)
            present = _fill_data(inner, data, used, item, lowered)
            present = _fill_children(inner, item) or present
            if present:
                nested_value = inner
                found = True
        if nested_value is None and spec.single:
            _unset(obj, spec.name)  # an empty stand-in is made when first read
            continue
        if spec.is_list:
            nested_value = [nested_value] if nested_value is not None else []
        setter(obj, spec.name, nested_value)
    return found


def _fill_children(obj: XNATObject, item: Mapping[str, Any] | None) -> bool:
    """Set ``obj``'s child lists and objects from ``item``'s ``children`` (for a flattened
    nested part, ``parameters.add_param`` of a scan, ``item`` is its owner's document: the
    paths are the owner's child fields); True if any was present. A missing single child is
    left unset: an empty stand-in is made when first read."""
    session = obj._xnat_session
    found = False
    for path, spec in class_fields(type(obj)).children.items():
        if runtime_owned(type(obj), spec.name):
            continue
        items = child_items(item, path) if item is not None else None
        if items is None:
            if spec.single:
                _unset(obj, spec.name)
            else:
                object.__setattr__(obj, spec.name, [] if spec.is_list else None)
            continue
        found = found or bool(items)
        step = None if spec.is_list else path
        nested = [_nested(session, it, obj, spec.target, step) for it in items]
        object.__setattr__(
            obj, spec.name, nested if spec.is_list else (nested[0] if nested else None)
        )
    return found


def _bound_part(owner: XNATObject, target: type[XNATObject]) -> XNATObject:
    """A new, empty flattened nested part of ``owner`` (``scan.parameters``): no REST path of
    its own; bound before it is filled, so that it and its own parts write through ``owner``."""
    setter = object.__setattr__
    inner = target.__new__(target)
    for slot, default in _UNBOUND_SLOTS:
        setter(inner, slot, default() if callable(default) else default)
    setter(inner, "_xnat_session", owner._xnat_session)
    setter(inner, "_xnat_parent", owner)
    inner._xnat_cache["xnat_xpath"] = ""
    return inner


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


_PROJECT_EXPERIMENT = r"^/data/(?:archive/)?projects/[^/]+/experiments/"


_SITE_UNIQUE = {
    "projects": "projects",
    "subjects": "subjects",
    "experiments": "experiments",
    "assessors": "experiments",  # an assessor's ID is an experiment ID
}


def entity_path(uri: str) -> tuple[str, ...]:
    """The segments of a REST path from its last level whose IDs are unique on the server
    (``/data/projects/P/subjects/S/experiments/E/scans/1`` and ``/data/experiments/E/scans/1``
    both give ``("experiments", "E", "scans", "1")``), decoded."""
    parts = [unquote(p) for p in uri.split("?", 1)[0].strip("/").split("/")]
    while parts and parts[0] in ("data", "archive", "REST"):
        parts.pop(0)
    anchor = 0  # collections and IDs alternate, up to a file's own path
    for at in range(0, len(parts) - 1, 2):
        if parts[at] == "files":
            break
        if parts[at] in _SITE_UNIQUE:
            anchor = at
    tail = parts[anchor:]
    if tail and tail[0] in _SITE_UNIQUE:
        tail[0] = _SITE_UNIQUE[tail[0]]
    return tuple(tail)


def routed_experiment_uri(uri: str) -> str:
    """The path under which XNAT routes an experiment's sub-objects: ``/data/experiments/{E}``
    for an experiment reached as ``/data/projects/{P}/experiments/{E}``. XNAT's router
    (``XNATApplication.addRoutes``) has only the experiment itself, its ``resources`` (and
    their files), ``DIR`` and ``XAR`` under ``/projects/{P}/experiments/{E}``; Restlet's
    prefix matching sends anything longer (``.../scans/1``, ``.../files``) to
    ``ExperimentResource``, which answers the experiment itself."""
    return re.sub(_PROJECT_EXPERIMENT, "/data/experiments/", uri)


def reached_uri(obj: Any) -> str:
    """The REST path by which ``obj`` was reached from its parents: its :attr:`uri`, except
    below an experiment reached as ``/data/projects/{P}/experiments/{E}``, whose scans (and
    their resources) are bound to the path XNAT routes them under,
    ``/data/experiments/{E}/...`` (:func:`routed_experiment_uri`): there the project's path,
    ``/data/projects/{P}/experiments/{E}/scans/1``. A walk keys its objects by it, so a key
    names the project the walk went through, as for a session shared with its subject
    (``/data/projects/{P}/subjects/{S}/...``): a walk of that project alone and a walk from
    the session (which visits a shared session once, through one project:
    :mod:`xnat_sdk._sitewalk`) give the scans of a session shared without its subject the
    same key, and a walk of each project it is shared into its own. A key, not a path to
    send requests to."""
    uri = str(obj.uri)
    parent = getattr(obj, "_xnat_parent", None)
    above = parent._xnat_uri if isinstance(parent, XNATObject) else None
    if not above:
        return uri
    base = routed_experiment_uri(above)
    if base != above and uri.startswith(f"{base}/"):
        return reached_uri(parent) + uri[len(base) :]
    if uri.startswith(f"{above}/"):
        return reached_uri(parent) + uri[len(above) :]
    return uri
