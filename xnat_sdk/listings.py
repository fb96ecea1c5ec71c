"""Typed listings: ``session.projects``, ``project.subjects``, ``experiment.scans`` ...

A :class:`Listing` is read with ONE request (a REST listing, or the parent's own document
when the children are in it), cached until :meth:`XNATSession.clearcache`, and never sends
one request per item: the objects it hands out are filled from the listing row (or fully,
from the document item) and load the rest of their fields lazily.

Index a listing by ID or by its secondary key (``name`` for projects, ``label`` for subjects,
experiments, assessors and resources, ``type`` for scans, ``Name`` for files). Iterating
yields the objects (like xnatpy); ``keys()``, ``values()``, ``items()`` and ``data`` give the
mapping views by ID.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from xnat_sdk._answers import fetch, whole_number
from xnat_sdk._columns import (
    as_asked,
    check_answered,
    check_names,
    fetch_columns,
    part_columns,
    path_of,
    root_of,
    shortcuts,
)
from xnat_sdk._objects.core import XNATObject, child_items, own_path, set_fields
from xnat_sdk._objects.registry import class_for, model_class
from xnat_sdk._objects.transfers import RemoteFileTransfers
from xnat_sdk._record import FrozenRecord
from xnat_sdk._sharedrows import with_share_values
from xnat_sdk._urls import quote_segment
from xnat_sdk.errors import (
    XNATIndexError,
    XNATKeyError,
    XNATTypeMismatchError,
    XNATValidationError,
    XNATValueError,
    listed_keys,
)
from xnat_sdk.fields import class_fields

if TYPE_CHECKING:
    import pandas

    from xnat_sdk.session import XNATSession
    from xnat_sdk.tables import Table

__all__ = [
    "FileData",
    "KeyedList",
    "Listing",
    "ListingSpec",
    "RemoteFile",
]

T = TypeVar("T")
U = TypeVar("U", bound=XNATObject)
_K = TypeVar("_K")

_FILE_PATH = r"^.*?/resources/[^/]+/files/"

_NOT_FILTERS = frozenset(
    k.lower()
    for k in (
        *("format", "columns", "fields", "req_format", "XNAT_CSRF", "URI"),
        *("sortBy", "sortOrder", "limit", "offset"),
    )
)
"""Query keys XNAT's listings read as something else than a column filter (the answer's
format and columns, paging): a filter on such a column is matched here, never sent."""


_UNFILTERED = {
    "projects": ("ID", "secondary_ID", "name", "description", "pi_firstname", "pi_lastname"),
    "scans": ("xnat_imagescandata_id", "ID", "type", "quality", "xsiType", "note",
              "series_description"),
    "reconstructions": ("xnat_reconstructedimagedata_id", "ID", "type", "baseScanType"),
    "assessors": ("ID", "project", "label", "date", "xsiType", "insert_date", "session_ID",
                  "session_label"),
}  # fmt: skip
"""The default columns of the listings whose filters XNAT ignores: ``ScanList``,
``ReconList`` and ``ProjSubExptAsstList`` replace the criteria their query organizer got
from the request (``qo.setWhere``), so ``?type=T1`` lists every scan; so does
``ProjectListResource`` for a user outside the all-data-admin group (the SDK asks
``/data/projects`` with ``allDataOverride=true``, which gives a site admin every project:
XNAT's project permissions come from groups, and a site admin made after the installation's
``admin`` is in no group that lists them all; other users' XNAT ignores it). Only ``xsiType``
(the query's root) holds there; a filter on another column is matched here, on that
column asked with these."""


def _is_pattern(value: str) -> bool:
    return any(char in value for char in "*%,")


_META_COLUMNS = ("insert_date", "insert_user", "last_modified")
"""XFT's ``meta`` fields of every item, which listings show and documents leave out."""


def _sent_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """The filters XNAT applies as sent: not those of :data:`_NOT_FILTERS`, and ``xsiType``
    only as one exact type (XNAT takes it as the query's root data type, never as a pattern:
    ``xnat:pet*`` or a list is matched here, after a listing of every type)."""
    return {
        key: value
        for key, value in filters.items()
        if key.lower() not in _NOT_FILTERS and not (key == "xsiType" and _is_pattern(value))
    }


_PROJECT_LISTING = re.compile(
    r"/data/(?:archive/)?projects/[^/]+/(?:subjects/[^/]+/)?(?P<name>experiments|subjects)/?$"
)

#: the columns a project's listing shows a shared object's share values in, by listing
_SWAPPED = {"experiments": ("label", "project", "subject_label"), "subjects": ("label",)}

#: ``SubjAssessmentAbst.getDefaultFields``: a project's experiments listing's own columns
_EXPERIMENT_DEFAULTS = ("ID", "project", "date", "xsiType", "label", "insert_date")


def _held_back(uri: str, name: str, filters: Mapping[str, str]) -> tuple[str, ...]:
    """The filters a project's experiments or subjects listing matches here, not at the
    server: XNAT (``ProjSubExptList``, ``ProjectSubjectList``) filters in SQL on the primary
    label, project and subject label, and puts a shared object's share values into its row
    only afterwards, so ``label=`` would find a shared session by its primary label (shown
    under another) and never by the label it has in the project, which the rows show."""
    found = _PROJECT_LISTING.search(uri.split("?", 1)[0])
    if found is None or found["name"] != name:
        return ()
    return tuple(k for k in _SWAPPED[name] if k in filters)


class ListingSpec(FrozenRecord):
    """How one kind of listing is read and keyed."""

    _compared = (
        "name",
        "singular",
        "id_key",
        "secondary_key",
        "xsi_key",
        "default_xsi",
        "generic",
        "base",
        "create_key",
        "needs_type",
    )
    __slots__ = _compared

    name: str
    """The URL segment of the collection (``subjects``), also the listing's name."""
    singular: str
    id_key: str
    secondary_key: str | None
    xsi_key: str | None
    default_xsi: str
    generic: type[XNATObject] | None
    """What an item of a type no model knows becomes (None: files, not archive objects)."""
    base: type[XNATObject] | None
    """The navigation base every item's class derives from."""
    create_key: str | None
    """What the URL segment of a new item is: ``label``, ``id`` or None (not creatable)."""
    needs_type: bool
    """``create`` must be told the item's class (experiments, scans, assessors)."""

    def __init__(
        self,
        name: str,
        singular: str,
        id_key: str,
        secondary_key: str | None,
        xsi_key: str | None,
        default_xsi: str,
        generic: type[XNATObject] | None,
        base: type[XNATObject] | None,
        create_key: str | None,
        needs_type: bool = True,
    ) -> None:
        values = (name, singular, id_key, secondary_key, xsi_key, default_xsi, generic, base)
        for field, value in zip(self._compared, (*values, create_key, needs_type), strict=True):
            object.__setattr__(self, field, value)


class RemoteFile(RemoteFileTransfers):
    """One file of a resource, from the resource's file listing; ``download``, ``open``,
    ``delete`` come from :mod:`xnat_sdk.transfers`."""

    __slots__ = ("_row", "_session", "digest", "name", "path", "resource", "size", "uri")

    def __init__(self, session: XNATSession, row: Mapping[str, Any]) -> None:
        self._session = session
        self._row = dict(row)
        uri = str(row.get("URI", ""))
        self.uri: str = uri
        """REST path of the file."""
        self.path: str = re.sub(_FILE_PATH, "", uri, count=1) if uri else str(row.get("Name", ""))
        """Path inside the resource (subfolders kept)."""
        self.name: str = str(row.get("Name", self.path.rsplit("/", 1)[-1]))
        """Base name."""
        # listings check Size (Answer.rows(numbers=...)) where they can name their URL
        self.size: int | None = whole_number(row.get("Size"))
        """Size in bytes (None when unknown)."""
        collection = row.get("collection")
        self.resource: str | None = str(collection) if collection else None
        """The label of the resource folder it is in (when the listing tells)."""
        digest = row.get("digest")
        self.digest: str | None = str(digest) if digest else None
        """MD5 hex digest (None when the server keeps none)."""

    @property
    def data(self) -> dict[str, Any]:
        """The raw listing row."""
        return dict(self._row)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the server URL and the listing row (no session, no credentials)."""
        from xnat_sdk._objects.travel import restore_file

        return (restore_file, (self._session.server, dict(self._row)))

    @property
    def xnat_session(self) -> XNATSession:
        """The session this file was listed through."""
        return self._session

    @property
    def fulluri(self) -> str:
        """Same as :attr:`uri`."""
        return self.uri

    def __repr__(self) -> str:
        return f"<RemoteFile {self.path} ({self.size} bytes)>"


FileData = RemoteFile
"""xnatpy's name for a file of a resource."""


def _is_a(session: XNATSession, xsi: str, wanted: str) -> bool:
    """Whether the type ``xsi`` is ``wanted`` or derives from it (by the models ``session``
    knows; the names compared, case aside, when they do not know both)."""
    if xsi.lower() == wanted.lower():
        return True
    found, base = model_class(xsi, session), model_class(wanted, session)
    return found is not None and base is not None and issubclass(found, base)


class Listing(Generic[T]):
    """A typed, cached, read-once listing of objects of type ``T``."""

    def __init__(
        self,
        session: XNATSession,
        spec: ListingSpec,
        uri: str,
        *,
        parent: XNATObject | None = None,
        filters: Mapping[str, str] | None = None,
        doc_field: str | None = None,
        prefer_doc: bool = False,
        source: Listing[Any] | None = None,
        type_filter: type[XNATObject] | None = None,
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        self._session = session
        self._keep = keep
        """Which rows of the REST answer are this listing's (a scan's, of an answer that
        XNAT's scan selector widened to scans of that type)."""
        self._spec = spec
        self._uri = uri
        self._parent = parent
        self._filters: dict[str, str] = dict(filters or {})
        self._kinds: dict[str, str] = {}
        """Each filter's kind (:meth:`_filter_kind`), found once, not once per row."""
        self._doc_field = doc_field
        self._prefer_doc = prefer_doc
        self._source = source
        self._type_filter = type_filter
        self._generation = -1
        self._entries: list[T] = []
        self._rows: list[dict[str, Any]] = []
        self._by_id: dict[str, T] = {}
        self._by_key: dict[str, T] = {}
        self._dupes: set[str] = set()
        self._tables: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self._from_doc = False
        self._tree = False
        """Filled by ``load_tree`` with its items' listings below (until read again)."""
        self._lock = threading.RLock()
        self._views: dict[type, Listing[Any]] = {}
        # a walk's project-wide rows, made on first use (a subjects listing's only): the
        # experiments of every subject (here), the scans of every session (_objects.tree)
        self._batches: dict[str, SecondAskBatch[Any]] = {}

    # -- constructors ----------------------------------------------------------------------

    @classmethod
    def rest(cls, owner: XNATObject | XNATSession, path: str, spec: ListingSpec) -> Listing[Any]:
        """A listing read from a REST collection (``path`` absolute, or relative to owner)."""
        if isinstance(owner, XNATObject):
            session = owner._xnat_bound_session()
            uri = path if path.startswith("/") else f"{owner.uri}/{path}"
            return cls(session, spec, uri, parent=owner)
        return cls(owner, spec, path)

    @classmethod
    def children(
        cls,
        owner: XNATObject,
        suffix: str,
        spec: ListingSpec,
        doc_field: str,
        *,
        prefer_doc: bool,
        uri: str | None = None,
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Listing[Any]:
        """A listing read from the owner's document (``doc_field`` children) when that costs
        no extra request (or always, with ``prefer_doc``), else from ``{owner}/{suffix}``."""
        session = owner._xnat_bound_session()
        return cls(
            session,
            spec,
            uri or f"{owner.uri}/{suffix}",
            parent=owner,
            doc_field=doc_field,
            prefer_doc=prefer_doc,
            keep=keep,
        )

    # -- reading -------------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """The REST path of the collection."""
        return self._uri

    @property
    def xnat_session(self) -> XNATSession:
        """The session the listing reads through."""
        return self._session

    @property
    def logger(self) -> logging.Logger:
        """The session's logger (xnatpy's name)."""
        return self._session.logger

    @property
    def caching(self) -> bool:
        """Whether reads are cached (the session's ``caching``)."""
        return self._session.caching

    def index(self, value: object) -> int:
        """The position of an item (a Sequence's ``index``); :class:`XNATValueError` if absent."""
        self._ensure()
        for position, item in enumerate(self._entries):
            if item is value or item == value:
                return position
        raise XNATValueError(f"{value!r} is not in {self._uri}")

    def count(self, value: object) -> int:
        """How often an item occurs (0 or 1; a Sequence's ``count``)."""
        self._ensure()
        return sum(1 for item in self._entries if item is value or item == value)

    @property
    def parent(self) -> XNATObject | None:
        """The object the listing belongs to (None for the session's own listings)."""
        return self._parent

    @property
    def used_filters(self) -> dict[str, str]:
        """The filters of this listing."""
        return dict(self._filters)

    def _stale(self) -> bool:
        session = self._session
        return not session.caching or self._generation != session.cache_generation

    def _ensure(self) -> None:
        if not self._stale():
            return
        with self._lock:  # one fetch even when several threads ask at once
            if not self._stale():
                return
            if self._source is not None:
                self._load_view(self._source)
                return
            rows_objs = self._fetch()
            self._index(rows_objs)

    def _load_view(self, source: Listing[Any]) -> None:
        source._ensure()
        if not source._from_doc:  # a document leaves empty fields out: no column check
            self._check_filter_columns(source._rows)
        wanted = self._type_filter
        pairs = [
            (row, obj)
            for row, obj in zip(source._rows, source._entries, strict=True)
            if wanted is None or isinstance(obj, wanted)
        ]
        pairs = [(r, o) for r, o in pairs if self._matches(r, source._from_doc)]
        self._index(pairs)

    def _index(self, pairs: list[tuple[dict[str, Any], Any]]) -> None:
        spec = self._spec
        self._rows = [row for row, _ in pairs]
        self._entries = [obj for _, obj in pairs]
        second = spec.secondary_key
        self._by_id, self._by_key, self._dupes = _keyed(
            (str(row.get(spec.id_key, "")), _text(row.get(second) if second else None), obj)
            for row, obj in pairs
        )
        self._tables = {}
        self._tree = False
        self._generation = self._session.cache_generation

    def _check_filter_columns(self, rows: list[dict[str, Any]]) -> None:
        """Refuse a filter on a column no row has: it would be ignored (a typo, say)."""
        if not rows:
            return
        named = shortcuts(self._spec.name)  # the server filters on those (not shown here)
        for key in self._filters:
            if ":" in key or "/" in key or key in named or any(key in row for row in rows):
                continue
            known = ", ".join(sorted(rows[0]))
            raise XNATValidationError(
                key, f"{self._uri} has no column {key!r} to filter on (columns: {known})"
            )

    def _matches(self, row: Mapping[str, Any], from_doc: bool | None = None) -> bool:
        """Whether ``row`` passes this listing's filters as XNAT applies them: values
        separated by commas are alternatives, exact (case kept) or with ``*`` and ``%``
        wildcards (case aside; :func:`cell_matches`); an
        ``xsiType`` without a wildcard is that type or one derived from it (XNAT's query
        root), with one a pattern on the type's name (``xnat:pet*``), as xnatpy matches it.
        A field a document row lacks is empty there (a document leaves empty fields out); a
        column a listing row lacks is one the server filtered on."""
        doc = self._from_doc if from_doc is None else from_doc
        for key, pattern in self._filters.items():
            if key not in row and (not doc or "/" in key or ":" in key):
                continue
            value = str(row.get(key, ""))
            alternatives = [p.strip() for p in str(pattern).split(",")]  # "": empty cells
            kind = self._filter_kind(key)
            if key == "xsiType" and not any("*" in a or "%" in a for a in alternatives):
                found = any(_is_a(self._session, value, wanted) for wanted in alternatives)
            elif kind:
                from xnat_sdk._typed_filters import typed_matches

                found = typed_matches(kind, value, str(pattern))
            else:
                found = cell_matches(value, str(pattern))
            if not found:
                return False
        return True

    def _sent_query(self) -> dict[str, str]:
        """The filters as sent (dates in XNAT's ``MM/DD/YYYY``: :mod:`._typed_filters`)."""
        sent = _sent_filters(self._filters)
        if not sent:
            return {}
        from xnat_sdk._typed_filters import sent_value

        return {key: sent_value(self._filter_kind(key), value) for key, value in sent.items()}

    def _filter_kind(self, key: str) -> str:
        """``"date"``/``"number"`` for a filter XNAT compares as such (:mod:`._typed_filters`,
        imported with the first filter: a listing without one does not need it)."""
        kind = self._kinds.get(key)
        if kind is None:
            from xnat_sdk._typed_filters import filter_kind

            if key in _META_COLUMNS and key != "insert_user":
                kind = "date"  # a timestamp wherever it is listed (projects have no shortcut)
            else:
                kind = filter_kind(self._session, path_of(key, self._spec.name))
            self._kinds[key] = kind
        return kind

    def _meta_filtered(self) -> bool:
        """Whether a filter names a meta column (``insert_date`` ...), which listings show
        and documents do not hold: the listing is then read, not the parent's document."""
        return any(k in _META_COLUMNS or "/meta/" in k for k in self._filters)

    def _fetch(self) -> list[tuple[dict[str, Any], Any]]:
        parent = self._parent
        if self._spec.name == "experiments" and parent is not None and not self._filters:
            siblings = (parent._xnat_cache or {}).get("siblings")
            if isinstance(siblings, Listing):
                batched = siblings._batched_experiments(parent)
                if batched is not None:
                    self._from_doc = False
                    return self._objects_from_rows(batched)
        if self._spec.name == "scans" and parent is not None and not self._filters:
            from xnat_sdk._objects.tree import batched_scan_rows, mark_loaded

            joined = batched_scan_rows(parent)
            if joined is not None:
                self._from_doc = False
                pairs = self._objects_from_rows(joined[0])
                mark_loaded(pairs, joined[1])
                return pairs
        if self._spec.name == "assessors" and parent is not None and not self._filters:
            from xnat_sdk._objects.tree import batched_assessor_rows

            listed = batched_assessor_rows(parent)
            if listed is not None:
                self._from_doc = False
                return self._objects_from_rows(listed)
        if self._doc_field is not None and parent is not None and not self._meta_filtered():
            loaded = parent._xnat_item is not None and (
                parent._xnat_generation == self._session.cache_generation
            )
            if self._prefer_doc or loaded:
                item = parent._xnat_document()
                items = child_items(item, self._doc_field)
                if items is not None:
                    self._from_doc = True
                    return self._from_items(items)
        self._from_doc = False
        return self._from_rest()

    def _generic(self) -> type[XNATObject]:
        found = self._spec.generic
        if found is None:
            raise XNATValidationError(self._spec.name, "these are files, not archive objects")
        return found

    def _batch(self, name: str) -> SecondAskBatch[Any]:
        """This listing's batch ``name`` (see :class:`SecondAskBatch`; ``setdefault`` is
        atomic, so no lock of this listing is taken from inside another listing's)."""
        return self._batches.get(name) or self._batches.setdefault(name, SecondAskBatch())

    def _batched_experiments(self, subject: XNATObject) -> list[dict[str, Any]] | None:
        """Experiment rows of one subject of this (project subjects) listing, from ONE
        project-wide listing; used once a walk asks a second subject for its experiments
        (instead of one listing request per subject). None: ask the subject's own listing."""
        parent = self._parent
        if self._spec.name != "subjects" or parent is None or "/projects/" not in self._uri:
            return None
        session = self._session
        if not session.caching:
            return None

        def load() -> dict[str, list[dict[str, Any]]] | None:
            rows = fetch(
                session,
                f"{parent.uri}/experiments",
                query={"columns": "ID,label,xsiType,subject_ID,project,date,insert_date"},
            ).rows()
            index: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                index.setdefault(str(row.get("subject_ID", "")), []).append(row)
            if not index or "" in index:
                return None  # the server ignored the subject_ID column: no batching
            return index

        index: dict[str, list[dict[str, Any]]] | None
        index = self._batch("experiments").get(session.cache_generation, load)
        if index is None:
            return None
        ident = (subject._xnat_uri or "").rstrip("/").rsplit("/", 1)[-1]
        return list(index.get(ident, []))

    def _from_rest(self) -> list[tuple[dict[str, Any], Any]]:
        query = self._sent_query()
        unfiltered = _UNFILTERED.get(self._spec.name)
        asked: list[str] = []
        if unfiltered is not None and any(k != "xsiType" for k in query):
            # XNAT ignores these listings' filters: their columns are asked, and matched here
            asked = [k for k in self._filters if k not in unfiltered and k != "xsiType"]
            query = {k: v for k, v in query.items() if k == "xsiType"}
            query["columns"] = ",".join([*unfiltered, *asked])
        if self._spec.name == "projects" and self._uri.rstrip("/") == "/data/projects":
            query["allDataOverride"] = "true"  # a site admin's projects: all of them
        held = _held_back(self._uri, self._spec.name, self._filters)
        if held:  # matched here, on the values the rows show
            query = {k: v for k, v in query.items() if k not in held}
            if "subject_label" in held:
                query["columns"] = ",".join([*_EXPERIMENT_DEFAULTS, "subject_label"])
        answer = fetch(self._session, self._uri, query=query or None)
        rows = answer.rows(numbers=("Size",) if self._spec.name == "files" else ())
        if self._spec.name == "experiments":
            with_share_values(self._session, self._uri, rows)
        if asked:
            as_asked(rows, asked, self._spec.name)
        if self._keep is not None:
            rows = [row for row in rows if self._keep(row)]
        return self._objects_from_rows(rows)

    def _objects_from_rows(self, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Any]]:
        session = self._session
        spec = self._spec
        pairs: list[tuple[dict[str, Any], Any]] = []
        self._check_filter_columns(rows)
        if spec.name == "files":
            for row in rows:
                remote = RemoteFile(session, row)
                row = dict(row)
                row["path"] = remote.path
                if spec.id_key == "key":  # the files of all an object's resources
                    row["key"] = (
                        f"{remote.resource}/{remote.path}" if remote.resource else remote.path
                    )
                if self._matches(row):
                    pairs.append((row, remote))
            return pairs
        generic = self._generic()
        for row in rows:
            if not self._matches(row):
                continue
            ident = str(row.get(spec.id_key) or row.get("ID") or row.get("label") or "").strip()
            if not ident:
                continue
            xsi = str(row.get(spec.xsi_key) or "") if spec.xsi_key else ""
            xsi = xsi.strip() or spec.default_xsi
            klass = class_for(xsi, generic, session)
            parts = part_columns(row, spec.name)
            obj = klass._xnat_bind(
                session,
                f"{self._uri}/{quote_segment(ident)}",
                xsi=xsi,
                parent=self._parent,
                row={**row, **parts} if parts else row,
            )
            obj._xnat_cache["row"] = row
            if parts:  # the parts' columns by XML path: a copy that travels fills them again
                obj._xnat_cache["parts"] = parts
            obj._xnat_cache["siblings"] = self
            row = dict(row)
            row[spec.id_key] = ident
            pairs.append((row, obj))
        return pairs

    def _from_items(self, items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Any]]:
        session = self._session
        spec = self._spec
        generic = self._generic()
        pairs: list[tuple[dict[str, Any], Any]] = []
        for item in items:
            fields = dict(item.get("data_fields") or {})
            xsi = str((item.get("meta") or {}).get("xsi:type") or spec.default_xsi)
            fields.setdefault("xsiType", xsi)
            if spec.xsi_key:
                fields.setdefault(spec.xsi_key, xsi)
            ident = str(fields.get(spec.id_key) or fields.get("ID") or fields.get("label") or "")
            if not ident:
                continue
            fields[spec.id_key] = ident
            if not self._matches(fields):
                continue
            klass = class_for(xsi, generic, session)
            obj = klass._xnat_bind(
                session,
                f"{self._uri}/{quote_segment(ident)}",
                xsi=xsi,
                parent=self._parent,
                item=item,
            )
            pairs.append((fields, obj))
        return pairs

    @overload
    def __getitem__(self, key: str) -> T: ...

    @overload
    def __getitem__(self, key: int) -> T: ...

    @overload
    def __getitem__(self, key: slice) -> list[T]: ...

    @overload
    def __getitem__(self, key: type[U]) -> Listing[U]: ...

    @overload
    def __getitem__(self, key: tuple[str, type[U]]) -> U: ...

    def __getitem__(
        self, key: str | int | slice | type[U] | tuple[str, type[U]]
    ) -> T | U | Listing[U] | list[T]:
        """The item under an ID or secondary key (``experiments["E1"]``); an int or a slice
        indexes the items in server order, as in xnatpy (``experiments[0]``).

        Narrowing: ``experiments[MrSessionData]`` is the typed view of the MR sessions (no
        extra request; the same as :meth:`of_type`), so ``experiments[MrSessionData]["E1"]``
        is an ``MrSessionData`` for mypy, pyright and IDEs, and raises
        :class:`XNATTypeMismatchError` naming both xsi types when ``E1`` is something else.
        ``experiments["E1", MrSessionData]`` is the same in one subscript.
        """
        if isinstance(key, str):
            return self._lookup(key)
        if isinstance(key, (int, slice)) and not isinstance(key, bool):
            self._ensure()
            try:
                return self._entries[key]
            except IndexError:
                raise XNATIndexError(
                    key, f"{self._uri} has {len(self._entries)} entries, no index {key}"
                ) from None
        if isinstance(key, type):
            return self.of_type(key)
        if (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], str)
            and isinstance(key[1], type)
        ):
            return self.of_type(key[1])._lookup(key[0])
        raise XNATKeyError(
            key,
            f"{self._spec.name} are indexed by ID or {self._spec.secondary_key} (a str), by a "
            f"model class (experiments[MrSessionData]) or by both (experiments['E1', "
            f"MrSessionData]); got {type(key).__name__} {key!r}",
        )

    def _mismatch(self, key: str) -> XNATTypeMismatchError | None:
        """The error for a key this typed view hides because its item has another type."""
        wanted, source = self._type_filter, self._source
        if wanted is None or source is None:
            return None
        try:
            found = source._lookup(key)
        except XNATKeyError:
            return None
        actual = getattr(found, "xsi_type", "") or type(found).__name__
        expected = wanted.__xsi_type__ or wanted.__name__
        return XNATTypeMismatchError(
            key,
            self._uri,
            f"{expected} ({wanted.__name__})",
            f"{actual} ({type(found).__name__})",
        )

    def _lookup(self, key: Any) -> T:
        if not isinstance(key, str):
            raise XNATKeyError(
                key,
                f"{self._spec.name} are indexed by ID or {self._spec.secondary_key} (a str), "
                f"got {type(key).__name__} {key!r}",
            )
        self._ensure()
        found = self._by_id.get(key)
        if found is not None:
            return found
        if key in self._dupes:
            ids = [
                i for i, obj in self._by_id.items() if obj is not None and self._key_of(i) == key
            ]
            raise XNATKeyError(
                key,
                f"several {self._spec.name} in {self._uri} have {self._spec.secondary_key} "
                f"{key!r}; use an ID ({', '.join(ids)})",
            )
        found = self._by_key.get(key)
        if found is not None:
            return found
        mismatch = self._mismatch(key)
        if mismatch is not None:
            raise mismatch
        raise XNATKeyError(
            key,
            f"no {self._spec.singular} with ID or {self._spec.secondary_key} {key!r} in "
            f"{self._uri} ({self._known_keys()})"
            + (
                "; XNAT lists only the projects this user may read"
                if self._uri == "/data/projects"
                else ""
            ),
        )

    def _known_keys(self) -> str:
        """The keys there are, for an error message: the IDs and the secondary keys."""
        spec = self._spec
        ids = listed_keys(str(row.get(spec.id_key)) for row in self._rows)
        text = f"{len(self._rows)} entries; IDs: {ids}"
        if spec.secondary_key:
            seconds = (row.get(spec.secondary_key) for row in self._rows)
            named = listed_keys(str(v) for v in seconds if v not in (None, ""))
            text += f"; {spec.secondary_key}s: {named}"
        return text

    def _key_of(self, ident: str) -> str | None:
        for row in self._rows:
            if str(row.get(self._spec.id_key)) == ident and self._spec.secondary_key:
                value = row.get(self._spec.secondary_key)
                return None if value is None else str(value)
        return None

    @overload
    def get(self, key: str) -> T | None: ...

    @overload
    def get(self, key: str, default: T) -> T: ...

    def get(self, key: str, default: T | None = None) -> T | None:
        """The item under an ID or secondary key, else ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        """Whether ``listing[key]`` finds an item: by ID, or by a secondary key one item has
        (a scan type two scans share is not in, as in xnatpy)."""
        if not isinstance(key, str):
            return False
        self._ensure()
        return key in self._by_id or (key in self._by_key and key not in self._dupes)

    def __iter__(self) -> Iterator[T]:
        self._ensure()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._ensure()
        return len(self._entries)

    def __bool__(self) -> bool:
        return len(self) > 0

    def keys(self) -> list[str]:
        """The IDs, in server order."""
        self._ensure()
        return list(self._by_id)

    def values(self) -> list[T]:
        """The objects, in server order."""
        self._ensure()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(ID, object) pairs, in server order."""
        self._ensure()
        return list(self._by_id.items())

    @property
    def data(self) -> dict[str, T]:
        """The objects by ID."""
        self._ensure()
        return dict(self._by_id)

    @property
    def non_unique_keys(self) -> set[str]:
        """Secondary keys (labels) that several items share: index those by ID."""
        self._ensure()
        return set(self._dupes)

    @property
    def listing(self) -> list[T]:
        """The items as a list, in server order (xnatpy's name)."""
        self._ensure()
        return list(self._entries)

    @property
    def key_map(self) -> dict[str, T]:
        """The objects by secondary key (label, name, type)."""
        self._ensure()
        return dict(self._by_key)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The raw rows (listing columns, or ``data_fields`` when read from a document)."""
        self._ensure()
        return [dict(row) for row in self._rows]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle without the session: server URL, path, filters, rows and objects (see
        :mod:`xnat_sdk._objects.travel`)."""
        from xnat_sdk._objects.travel import listing_state, restore_listing

        return (restore_listing, listing_state(self))

    def __repr__(self) -> str:
        if self._generation < 0:
            return f"<Listing {self._uri} (not read yet)>"
        keys = ", ".join(list(self._by_id)[:5])
        more = ", ..." if len(self._by_id) > 5 else ""
        return f"<Listing {self._uri} [{keys}{more}]>"

    def _forget_tables(self) -> None:
        """Drop the tables ``tabulate`` asked for (a write may have changed their cells);
        the listing's own rows and objects stay."""
        self._tables = {}
        for view in self._views.values():
            view._forget_tables()

    def clearcache(self) -> None:
        """Forget the cached rows; the next access reads again."""
        self._generation = -1
        for view in self._views.values():
            view.clearcache()

    # -- derived listings ------------------------------------------------------------------------

    def filter(self, filters: Mapping[str, str] | None = None, **criteria: str) -> Listing[T]:
        """A new listing restricted by column criteria (``*`` wildcards allowed), e.g.
        ``project.subjects.filter(label="S0*")``; sent to the server and checked locally
        (a project's ``label``, ``project`` and ``subject_label`` are matched here only, on
        the values the rows show: a shared object's in the project, :func:`_held_back`)."""
        merged = dict(self._filters)
        for key, value in _filter_values(filters, criteria).items():
            if key in merged and merged[key] != value:
                raise XNATValidationError(
                    key, f"already filtered on {merged[key]!r}, cannot also filter on {value!r}"
                )
            from xnat_sdk._typed_filters import check_value

            check_value(self._filter_kind(key), key, value)
            merged[key] = value
        if self._source is not None or (self._doc_field is not None and self._from_doc):
            base = self._source if self._source is not None else self
            return Listing(
                self._session,
                self._spec,
                self._uri,
                parent=self._parent,
                filters=merged,
                source=base,
                type_filter=self._type_filter,
            )
        return Listing(
            self._session,
            self._spec,
            self._uri,
            parent=self._parent,
            filters=merged,
            doc_field=self._doc_field,
            prefer_doc=self._prefer_doc,
            keep=self._keep,
        )

    def of_type(self, cls: type[U]) -> Listing[U]:
        """The items that are instances of ``cls`` (no extra request), typed as such; the
        same as ``listing[cls]``. Indexing it by the key of an item of another type raises
        :class:`XNATTypeMismatchError`."""
        if not isinstance(cls, type) or not issubclass(cls, XNATObject):
            raise XNATValidationError(
                "cls", f"of_type takes a model class (MrSessionData), got {cls!r}"
            )
        view = self._views.get(cls)
        if view is None:  # kept: listing[key, Cls] in a loop does not filter anew each time
            view = Listing(
                self._session,
                self._spec,
                self._uri,
                parent=self._parent,
                filters=self._filters,
                source=self if self._source is None else self._source,
                type_filter=cls,
            )
            self._views[cls] = view
        return view

    def tabulate(
        self,
        columns: Sequence[str] | None = None,
        filter: Mapping[str, str] | None = None,
    ) -> Table:
        """The listing as a :class:`~xnat_sdk.tables.Table` of named-tuple rows (xnatpy's
        ``tabulate``): ``row.label``, ``row["xnat:subjectData/label"]`` (a column by the name
        it was asked by), ``row[0]``.

        With ``columns``, only those, in that order (a REST listing asks the server for them,
        one request per distinct column set, a few when so many columns pass one request
        line); with ``filter``, the rows matching it as well
        (``{"label": "S0*"}``, merged with this listing's own filters).
        """
        from xnat_sdk.tables import Table  # on first use: a first listing does not need it

        if columns is not None:
            check_names("columns", columns)
        if filter:
            return self.filter(filter).tabulate(columns)
        plain_rest = self._source is None and self._doc_field is None
        if columns is None or not plain_rest or self._spec.name == "files":
            self._ensure()  # else the column request below is the only one
        if columns is None:
            names: dict[str, str] = {}  # by lower case: a document's row has XNAT's key
            for row in self._rows:  # (xnat_imageScanData_id) and the listing's, once
                for name in row:
                    names.setdefault(name.lower(), name)
            return Table(list(names.values()), self._rows)
        wanted = tuple(columns)
        if self._spec.name == "files":
            return Table(wanted, self._rows)
        source = self._source if self._source is not None else self
        if source._from_doc:
            return Table(wanted, self._document_rows(wanted))
        table = self._tables.get(wanted)
        if table is None:
            table = self._column_rows(wanted)
            self._tables[wanted] = table
        return Table(wanted, table)

    def _column_rows(self, wanted: tuple[str, ...]) -> list[dict[str, Any]]:
        """The rows of this REST listing (or view of one) with the ``wanted`` columns, asked
        of the server; a view keeps its own items' rows, in its order."""
        key = self._spec.id_key
        name = self._spec.name
        asked = wanted if self._source is None else tuple(dict.fromkeys([key, *wanted]))
        sent = _sent_filters(self._filters)
        if self._source is None and "xsiType" in self._filters and "xsiType" not in sent:
            asked = tuple(dict.fromkeys([*asked, "xsiType"]))  # matched here
        if self._source is None and name in _UNFILTERED:  # XNAT ignores the filters there
            asked = tuple(dict.fromkeys([*asked, *self._filters]))
        held = _held_back(self._uri, name, self._filters) if self._source is None else ()
        if held:  # matched here (:func:`_held_back`); a label column has the share's values
            sent = {k: v for k, v in sent.items() if k not in held}
            asked = tuple(dict.fromkeys([*asked, *held, "label"]))
        rows = fetch_columns(
            self._session,
            self._uri,
            sent,
            asked,
            (key,),
            root=root_of(name, self._uri),
            listing=name,
        )
        as_asked(rows, asked, name)
        check_answered(rows, asked, name, self._uri)
        if self._source is None:
            return [r for r in rows if self._matches(r)]
        self._ensure()  # the view's items: of its type, matching its filters
        by_id = {str(r.get(key, "")): r for r in rows}
        return [by_id.get(str(row.get(key, ""))) or {} for row in self._rows]

    def _document_rows(self, wanted: tuple[str, ...]) -> list[dict[str, Any]]:
        """This listing's rows (read from a document), each column asked by XML path also
        under that path when it is the item's own type's (``xnat:mrScanData/parameters/tr``
        is the MR scan's ``parameters/tr``)."""
        self._ensure()
        paths = [column for column in wanted if "/" in column and ":" in column.split("/")[0]]
        out: list[dict[str, Any]] = self._rows
        if paths:
            out = []
            for row, obj in zip(self._rows, self._entries, strict=True):
                found = dict(row)
                lower = {k.lower(): k for k in row}
                for column in paths:
                    rest = own_path(type(obj), column) if column not in row else None
                    if rest is not None and rest.lower() in lower:
                        found[column] = row[lower[rest.lower()]]
                out.append(found)
        unknown = [c for c in wanted if not any(c in r for r in out) and not self._field(c)]
        if unknown and out:
            raise XNATValueError(
                f"no column {', '.join(map(repr, unknown))} in {self._uri}: not a field of "
                f"its {self._spec.name} (a field name or path, 'type', 'parameters/tr', or an "
                "XML path of a data type, 'xnat:mrScanData/parameters/tr')"
            )
        return out

    def _field(self, column: str) -> bool:
        """Whether ``column`` names a field of this listing's items' types (by name or path),
        or, by XML path, of a data type the models know: a column no row has, but which an
        item could (empty in every row, not a typo)."""
        xml = "/" in column and ":" in column.split("/")[0]  # case aside, as XNAT reads it
        if xml:
            root, _, column = column.partition("/")
            found = model_class(root.split("[", 1)[0], self._session)
            classes: set[type[Any]] = {found} if found is not None else set()
        else:
            classes = {type(obj) for obj in self._entries}
        step = column.split("/", 1)[0].split("[", 1)[0]
        for cls in classes:
            table = class_fields(cls)
            if column in table.by_name or column in table.by_path:
                return True
            if "/" not in column and not xml:
                continue  # a name: as the rows have it
            names = [*table.by_path, *(n.path for n in table.nested), *table.children]
            heads = {name.split("/", 1)[0] for name in names}
            if step in heads or (xml and step.lower() in {h.lower() for h in heads}):
                return True
        return False

    def tabulate_csv(
        self,
        columns: Sequence[str] | None = None,
        filter: Mapping[str, str] | None = None,
        header: bool = True,
    ) -> str:
        """:meth:`tabulate` as CSV text (xnatpy's name)."""
        return self.tabulate(columns, filter).to_csv(header=header)

    def tabulate_pandas(
        self,
        columns: Sequence[str] | None = None,
        filter: Mapping[str, str] | None = None,
    ) -> pandas.DataFrame:
        """:meth:`tabulate` as a ``pandas.DataFrame`` (pandas is an optional extra)."""
        return self.tabulate(columns, filter).to_pandas()

    # -- creation ----------------------------------------------------------------------------

    @overload
    def create(self, obj: U, /) -> U: ...

    @overload
    def create(self, key: str, cls: type[U], /, **fields: Any) -> U: ...

    @overload
    def create(self, key: str, /, **fields: Any) -> T: ...

    def create(self, key: Any, cls: Any = None, /, **fields: Any) -> Any:
        """Create an item in this collection and return it (bound, lazy).

        Forms: ``create("S01", gender="male")`` (the listing's own type),
        ``create("E01", MrSessionData, date=...)`` (a concrete type), or
        ``create(MrSessionData(label="E01", ...))`` (a typed, unbound instance). Every field
        is checked (name, type, enumeration, label characters) before any request is sent.
        """
        from xnat_sdk._objects.creation import create_item, creation_class

        spec = self._spec
        if spec.create_key is None:
            raise XNATValidationError(spec.name, f"{spec.name} cannot be created this way")
        if isinstance(key, XNATObject):
            if cls is not None or fields:
                raise XNATValidationError("obj", "pass either an instance or key + fields")
            obj = key
            klass: type[XNATObject] = type(obj)
            values = set_fields(obj)
            key = values.pop(spec.create_key, None)
            if key is None:
                raise XNATValidationError(
                    spec.create_key, f"the {klass.__name__} instance has no {spec.create_key}"
                )
            fields = values
        else:
            klass = creation_class(self._session, spec, cls)
        return create_item(self._session, spec, self._uri, self._parent, key, klass, fields)


_B = TypeVar("_B")


class SecondAskBatch(Generic[_B]):
    """A batch of rows a walk shares: loaded (``load()``, one request for every sibling)
    when a second sibling asks, so that one lookup alone costs no bulk request; forgotten
    when the session's cache generation changes. A load that gives ``None`` (the server
    cannot batch) is not tried again in that generation. Thread-safe."""

    __slots__ = ("_generation", "_hits", "_loaded", "_lock", "_value")

    def __init__(self) -> None:
        self._generation = -1
        self._hits = 0
        self._loaded = False
        self._value: _B | None = None
        self._lock = threading.Lock()

    @property
    def value(self) -> _B | None:
        """The loaded batch (None: not loaded, or not possible)."""
        return self._value

    def get(self, generation: int, load: Callable[[], _B | None]) -> _B | None:
        """The batch for this ask (``None`` for a first ask, or when it cannot be had)."""
        with self._lock:
            if self._generation != generation:
                self._generation, self._hits, self._loaded, self._value = generation, 0, False, None
            self._hits += 1
            if not self._loaded and self._hits >= 2:
                self._value = load()
                self._loaded = True
            return self._value


# xnatpy's listings are mappings (by ID) that iterate over their values; so are these
Mapping.register(Listing)


def _keyed(
    entries: Iterable[tuple[str, str, _K]],
) -> tuple[dict[str, _K], dict[str, _K], set[str]]:
    """A listing's indexes of (ID, secondary key or "", item) entries: by ID, by secondary
    key, and the secondary keys several items share (``listing[key]`` refuses those)."""
    by_id: dict[str, _K] = {}
    by_key: dict[str, _K] = {}
    dupes: set[str] = set()
    for ident, key, item in entries:
        by_id[ident] = item
        if key:
            if key in by_key:
                dupes.add(key)
            by_key[key] = item
    return by_id, by_key, dupes


def _text(value: Any) -> str:
    return "" if value in (None, "") else str(value)


def _filter_values(
    filters: Mapping[str, str] | None, criteria: Mapping[str, str]
) -> dict[str, str]:
    """A ``filter`` call's criteria together, each value checked to be text."""
    if filters is not None and not isinstance(filters, Mapping):
        raise XNATValidationError(
            "filters",
            f"expected a dict of column -> pattern, got {type(filters).__name__} "
            f'{filters!r} (filter(label="S0*") or filter({{"label": "S0*"}}))',
        )
    wanted = {**(filters or {}), **criteria}
    for key, value in wanted.items():
        if not isinstance(value, str):
            raise XNATValidationError(key, f"filter values are str, got {type(value).__name__}")
    return wanted


def cell_matches(value: str, pattern: str) -> bool:
    """Whether a cell matches a listing filter: comma-separated alternatives; one with ``*``
    or ``%`` wildcards matches the whole value, case aside; another is the exact value, case
    kept, as XNAT compares it (``col = 'value'``: ``label="s1"`` finds no ``S1``; its
    wildcard filter is ``LOWER(col) LIKE '%value%'``, a superset of what this keeps;
    ``QueryOrganizerResource.processStringQuery``, ``SearchCriteria.getSQLClause``).
    ``""``: an empty cell."""
    for wanted in pattern.split(","):
        wanted = wanted.strip()
        if "*" in wanted or "%" in wanted:
            if fnmatch.fnmatchcase(value.lower(), wanted.replace("%", "*").lower()):
                return True
        elif value == wanted:
            return True
    return False


class KeyedList(Sequence[T], Generic[T]):
    """A read-only listing of objects already read (a prearchive session's ``scans``), as
    xnatpy's listings: iterated over the objects, indexed by position, by ID (``keys()``,
    ``items()``) and by a secondary key one item has; ``key in`` is true exactly when
    ``[key]`` finds an item."""

    def __init__(
        self,
        items: Iterable[T],
        ident: Callable[[T], str],
        secondary: Callable[[T], str],
        where: str,
        row: Callable[[T], Mapping[str, Any]] | None = None,
    ) -> None:
        self._row = row
        self._items = list(items)
        self._where = where
        self._by_id, self._by_key, self._dupes = _keyed(
            (ident(item), secondary(item), item) for item in self._items
        )
        self._ident = ident
        self._secondary = secondary

    @overload
    def __getitem__(self, key: int) -> T: ...

    @overload
    def __getitem__(self, key: str) -> T: ...

    @overload
    def __getitem__(self, key: slice) -> list[T]: ...

    def __getitem__(self, key: int | str | slice) -> T | list[T]:
        """The item with this ID or secondary key, or at this position."""
        if isinstance(key, slice):
            return self._items[key]
        if isinstance(key, int) and not isinstance(key, bool):
            try:
                return self._items[key]
            except IndexError:
                message = f"{self._where} has {len(self._items)} entries, no index {key}"
                raise XNATIndexError(key, message) from None
        if isinstance(key, str) and key in self._by_id:
            return self._by_id[key]
        if isinstance(key, str) and key in self._dupes:
            ids = [self._ident(i) for i in self._items if self._secondary(i) == key]
            raise XNATKeyError(key, f"several in {self._where} have {key!r}; use an ID ({ids})")
        if isinstance(key, str) and key in self._by_key:
            return self._by_key[key]
        known = listed_keys(self._by_id)
        raise XNATKeyError(
            key, f"no {key!r} in {self._where} ({len(self._items)} entries; IDs: {known})"
        )

    def get(self, key: str, default: T | None = None) -> T | None:
        """The item under an ID or secondary key, else ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return key in self._by_id or (key in self._by_key and key not in self._dupes)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        """The IDs, in server order."""
        return list(self._by_id)

    def values(self) -> list[T]:
        """The objects, in server order."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(ID, object) pairs, in server order."""
        return list(self._by_id.items())

    def filter(self, filters: Mapping[str, str] | None = None, **criteria: str) -> KeyedList[T]:
        """The items whose row matches every criterion (xnatpy's listing ``filter``:
        ``scans.filter(series_description="T1*")``; alternatives and wildcards as a
        listing's); a column no row has is refused."""
        rows = self._rows_of("filter")
        wanted = _filter_values(filters, criteria)
        known = {name for row in rows for name in row}
        for key in wanted:
            if rows and key not in known:
                raise XNATValidationError(key, f"no column {key!r} (columns: {sorted(known)})")
        kept = [
            item
            for item, row in zip(self._items, rows, strict=True)
            if all(cell_matches(str(row.get(k, "")), p) for k, p in wanted.items())
        ]
        return KeyedList(kept, self._ident, self._secondary, self._where, self._row)

    def tabulate(self, columns: Sequence[str] | None = None) -> Table:
        """The items' rows as a :class:`~xnat_sdk.tables.Table` (xnatpy's ``tabulate``),
        with ``columns`` only those."""
        from xnat_sdk.tables import Table

        rows = [dict(row) for row in self._rows_of("tabulate")]
        names = (
            list(columns)
            if columns is not None
            else list(dict.fromkeys(name for row in rows for name in row))
        )
        return Table(names, rows)

    def tabulate_csv(self, columns: Sequence[str] | None = None, header: bool = True) -> str:
        """:meth:`tabulate` as CSV text."""
        return self.tabulate(columns).to_csv(header=header)

    def tabulate_pandas(self, columns: Sequence[str] | None = None) -> pandas.DataFrame:
        """:meth:`tabulate` as a ``pandas.DataFrame`` (pandas is an optional extra)."""
        return self.tabulate(columns).to_pandas()

    def _rows_of(self, what: str) -> list[Mapping[str, Any]]:
        if self._row is None:
            raise XNATValidationError(what, f"{self._where} has no rows to {what}")
        return [self._row(item) for item in self._items]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeyedList):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self._where} [{', '.join(self._by_id)}]>"
