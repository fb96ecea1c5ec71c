"""Typed searches over the generated models, sent as XNAT ``xdat:bundle`` XML (``POST
/data/search``).

A query names its root type with a model class and its conditions with lambdas over an
instance of that class, so mypy checks every field name and every compared value::

    from xnat_sdk.models import MrSessionData
    from xnat_sdk.search import col

    query = (
        session.query(MrSessionData)
        .where(lambda s: (col(s.project) == "P1") & (col(s.label).like("E%")))
        .columns(lambda s: [col(s.label), col(s.date)])
    )
    table = query.all()          # SearchTable: the chosen columns by model field name
    sessions = query.objects()   # list[MrSessionData], bound and lazy
    dates = query.values(lambda s: col(s.date))   # list[datetime.date | None]

``col(s.label)`` turns a field of the lambda's argument into a :class:`Column`; comparing a
column (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``like``, ``is_null``,
``is_not_null``, ``one_of``) gives a :class:`Criterion`; criteria combine with ``&`` and
``|`` (``and``/``or`` raise, they would silently drop a condition). Mistakes mypy reports:
a field the class does not have (``s.labell``), a value of the wrong type
(``col(s.label) == 3``, ``col(s.date) > "2020"``), a bare comparison without ``col``
(``lambda s: s.label == "x"`` returns ``bool``, not a ``Criterion``). At run time the lambda
receives a recorder, not a real object: no request is sent until :meth:`Query.all`.

Fields are addressed by their XML path under the root type (``xnat:mrSessionData/label``),
as xnatpy does; several conditions passed to :meth:`Query.where` (or chained calls) are
ANDed. A field of a single part is one too, as conditions and columns: ``col(s.
demographics.gender)`` is ``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/
gender`` (XFT walks a child element's path through its declared type, here
``xnat:abstractDemographicData``, which has no ``gender``, unless ``[@xsi:type=...]`` names
another: ``GenericWrapperElement.getTableAndFieldGrandSQLForXMLPath``), a nested element's
by its path (``col(s.parameters.voxel_res.x)``: ``xnat:mrScanData/parameters/voxelRes/x``);
its column is named through the part (``demographics.gender``). :func:`col` takes one value:
a part or a list (``col(s.demographics)``, ``col(s.sharing)``) is a type error.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from xnat_sdk._answers import answer_of
from xnat_sdk._objects.core import XNATObject
from xnat_sdk._objects.navigation import ExperimentBase, ProjectBase, ScanBase, SubjectBase
from xnat_sdk._objects.registry import class_for
from xnat_sdk._urls import quote_segment
from xnat_sdk.errors import XNATResponseError, XNATValidationError, XNATValueError
from xnat_sdk.fields import FieldSpec, class_fields, encode_value, validate_label
from xnat_sdk.tables import Row, RowValue, Table

if TYPE_CHECKING:
    import pandas
    import requests

    from xnat_sdk.session import XNATSession

__all__ = [
    "AnyColumn",
    "ClassQuery",
    "Column",
    "Criterion",
    "CustomColumn",
    "Query",
    "SearchTable",
    "and_",
    "col",
    "or_",
    "readable_projects",
]

M = TypeVar("M", bound="XNATObject")
T = TypeVar("T")
S = TypeVar("S", bound="str | int | float | bool | datetime.date | datetime.time")
"""What :func:`col` takes: one value (a part, ``s.demographics``, or a list, ``s.scans``, is
no column: type checkers say so; its fields are, ``col(s.demographics.gender)``)."""

XDAT_NS = "http://nrg.wustl.edu/security"
_SCALARS = {"str", "int", "float", "bool", "date", "datetime", "time", "literal"}


@dataclass(frozen=True)
class _FieldRef:
    """What ``s.<field>`` (or ``s.<part>.<field>``) gives inside a query lambda at run time:
    the query's class (``owner``), the field, and the XML path of the part it is read
    through (``demographics[@xsi:type=xnat:demographicData]/``, empty for the class's own
    fields) with the part's attribute names (``("demographics",)``)."""

    owner: type
    spec: FieldSpec
    prefix: str = ""
    through: tuple[str, ...] = ()


def _part_prefix(spec: FieldSpec, target: type, prefix: str) -> str:
    """The XML path prefix of the fields of ``spec``'s part (XFT's
    ``GenericWrapperElement.getTableAndFieldGrandSQLForXMLPath``): a nested element's fields
    already carry its path (``parameters/voxelRes/x``); a child element of another type is a
    step of its own, with ``[@xsi:type=...]`` when its class is not the declared type (the
    fields of ``xnat:demographicData`` are not those of the declared
    ``xnat:abstractDemographicData``: XNAT finds ``demographics/gender`` nowhere)."""
    if spec.kind == "nested":
        return prefix
    declared = spec.target_source[2] if spec.target_source is not None else None
    xsi = str(getattr(target, "__xsi_type__", "") or "")
    step = spec.path
    if xsi and xsi != declared:
        step += f"[@xsi:type={xsi}]"
    return f"{prefix}{step}/"


class _Recorder:
    """The stand-in a query lambda receives: attribute access yields field references, and
    a single part (``s.demographics``, ``s.parameters``) a recorder of the part's fields."""

    def __init__(self, cls: type, root: type | None = None, prefix: str = "") -> None:
        object.__setattr__(self, "_cls", cls)
        object.__setattr__(self, "_root", root or cls)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_through", ())

    def _part(self, name: str, spec: FieldSpec, target: type) -> _Recorder:
        get = object.__getattribute__
        made = _Recorder(
            target, get(self, "_root"), _part_prefix(spec, target, get(self, "_prefix"))
        )
        object.__setattr__(made, "_through", (*get(self, "_through"), name))
        return made

    def __getattr__(self, name: str) -> _FieldRef | _CustomRecorder | _Recorder:
        get = object.__getattribute__
        cls: type = get(self, "_cls")
        table = class_fields(cls)
        if name == "fields" and name not in table.by_name and not get(self, "_through"):
            return _CustomRecorder(cls)  # s.fields["weight"]: a custom variable
        spec = table.by_name.get(name)
        if spec is None:
            raise XNATValidationError(
                name, f"{cls.__name__} has no field {name!r}{table.suggest(name, parts=True)}"
            )
        if spec.is_list:
            raise XNATValidationError(
                name,
                f"{cls.__name__}.{name} is a list and cannot be searched (a condition or a "
                "column names one value per object: the class's own fields, those of its "
                "single parts, s.demographics.gender, and custom variables can)",
            )
        if not spec.is_data:
            target = spec.target
            if target is None:
                raise XNATValidationError(name, f"{cls.__name__}.{name} cannot be searched")
            return self._part(name, spec, target)
        return _FieldRef(get(self, "_root"), spec, get(self, "_prefix"), get(self, "_through"))


@dataclass(frozen=True)
class _CustomRef:
    """What ``s.fields["name"]`` gives inside a query lambda: a custom variable."""

    owner: type
    name: str


class _CustomRecorder:
    """``s.fields`` inside a query lambda: indexing it names a custom variable."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __getitem__(self, name: str) -> _CustomRef:
        if not isinstance(name, str) or not name.strip():
            raise XNATValidationError("fields", f"a custom variable name is a str, got {name!r}")
        return _CustomRef(self._cls, name)


def _value(spec: FieldSpec, value: object) -> str:
    if isinstance(value, (list, tuple, set, dict)):
        raise XNATValidationError(spec.name, f"cannot compare with a {type(value).__name__}")
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return encode_value(value)


def _check_enumerated(name: str, allowed: Sequence[str], value: str) -> None:
    """An equality with a value the schema's enumeration of the field does not hold (in
    any case: the comparison's case is the server's business) matches nothing on any
    XNAT: a typo (``gender == "mle"``), refused before anything is sent."""
    if value.casefold() not in {a.casefold() for a in allowed}:
        listed = ", ".join(repr(a) for a in allowed)
        raise XNATValidationError(name, f"{value!r} is none of the field's values: {listed}")


@dataclass(frozen=True)
class Criterion:
    """A condition (or an AND/OR set of them); combine with ``&`` and ``|``."""

    method: Literal["AND", "OR", "LEAF"] = "LEAF"
    field: str = ""
    comparison: str = ""
    value: str = ""
    children: tuple[Criterion, ...] = ()

    def __and__(self, other: Criterion) -> Criterion:
        return self._join("AND", other)

    def __or__(self, other: Criterion) -> Criterion:
        return self._join("OR", other)

    def _join(self, method: Literal["AND", "OR"], other: Criterion) -> Criterion:
        if not isinstance(other, Criterion):
            raise XNATValidationError(
                "criteria", f"can only combine conditions, got {type(other).__name__}"
            )
        parts: list[Criterion] = []
        for item in (self, other):
            parts.extend(item.children if item.method == method else (item,))
        return Criterion(method=method, children=tuple(parts))

    def __bool__(self) -> bool:
        raise XNATValidationError(
            "criteria", "combine conditions with & and | (and/or/not would drop them)"
        )

    def to_xml(self, parent: ET.Element) -> None:
        """Append this condition to a ``search_where``/``child_set`` element."""
        q = f"{{{XDAT_NS}}}"
        if self.method == "LEAF":
            node = ET.SubElement(parent, q + "criteria", override_value_formatting="0")
            ET.SubElement(node, q + "schema_field").text = self.field
            ET.SubElement(node, q + "comparison_type").text = self.comparison
            ET.SubElement(node, q + "value").text = self.value
            return
        child = ET.SubElement(parent, q + "child_set", method=self.method)
        for item in self.children:
            item.to_xml(child)


class AnyColumn:
    """What :meth:`Query.columns` takes: a :class:`Column` of any value type. (Typed
    ``Column[Any]``, a selector's ``col(s.demographics)``, a part, would pass type checkers:
    ``Any`` is what they would take the part for.)"""

    __slots__ = ()


class Column(AnyColumn, Generic[T]):
    """A searchable field of the query's root type (made by :func:`col`)."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, ref: _FieldRef) -> None:
        self._ref = ref

    @property
    def name(self) -> str:
        """The model field name (``label``); a part's field is named through the part
        (``demographics.gender``)."""
        return ".".join((*self._ref.through, self._ref.spec.name))

    @property
    def owner(self) -> type:
        """The model class searched (the query's)."""
        return self._ref.owner

    def schema_field(self, root: str) -> str:
        """The field's XML path under the root type (``xnat:mrSessionData/label``,
        ``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender``)."""
        return f"{root}/{self._ref.prefix}{self._ref.spec.path}"

    def _leaf(self, comparison: str, value: object) -> Criterion:
        spec = self._ref.spec
        if comparison in ("=", "!=") and spec.literals and isinstance(value, str):
            _check_enumerated(self.name, spec.literals, value)
        root = str(getattr(self._ref.owner, "__xsi_type__", ""))
        return Criterion(
            field=self.schema_field(root), comparison=comparison, value=_value(spec, value)
        )

    def _ordered(self, comparison: str, value: object) -> Criterion:
        if value is None:
            raise XNATValidationError(self.name, f"cannot compare {comparison} None")
        return self._leaf(comparison, value)

    def __eq__(self, other: T | None) -> Criterion:  # type: ignore[override]
        return self.is_null() if other is None else self._leaf("=", other)

    def __ne__(self, other: T | None) -> Criterion:  # type: ignore[override]
        return self.is_not_null() if other is None else self._leaf("!=", other)

    def __lt__(self, other: T) -> Criterion:
        return self._ordered("<", other)

    def __le__(self, other: T) -> Criterion:
        return self._ordered("<=", other)

    def __gt__(self, other: T) -> Criterion:
        return self._ordered(">", other)

    def __ge__(self, other: T) -> Criterion:
        return self._ordered(">=", other)

    def like(self, pattern: str) -> Criterion:
        """SQL ``LIKE`` (``%`` any text, ``_`` one character)."""
        if not isinstance(pattern, str):
            raise XNATValidationError(self.name, "a LIKE pattern must be a string")
        return self._leaf("LIKE", pattern)

    def is_null(self) -> Criterion:
        """The field has no value."""
        return Criterion(field=self._schema(), comparison="IS NULL", value="")

    def is_not_null(self) -> Criterion:
        """The field has a value."""
        return Criterion(field=self._schema(), comparison="IS NOT NULL", value="")

    def one_of(self, values: Sequence[T]) -> Criterion:
        """Equal to any of ``values`` (an OR of equalities)."""
        items = list(values)
        if not items or isinstance(values, str):
            raise XNATValidationError(self.name, "one_of needs a non-empty list of values")
        result = self._leaf("=", items[0])
        for item in items[1:]:
            result = result | self._leaf("=", item)
        return result

    def _schema(self) -> str:
        return self.schema_field(str(getattr(self._ref.owner, "__xsi_type__", "")))

    def __repr__(self) -> str:
        return f"<Column {self._ref.owner.__name__}.{self.name}>"


def col(value: S | None) -> Column[S]:
    """The searchable column of a field read in a query lambda: ``col(s.label)``, a field
    of a single part (``col(s.demographics.gender)``: XNAT's
    ``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender``), or a custom
    variable: ``col(s.fields["weight"])``. A part or a list itself is no column (a type
    error)."""
    if isinstance(value, _CustomRef):
        custom: Any = CustomColumn(value.owner, value.name)  # a Column[str]
        return custom
    if not isinstance(value, _FieldRef):
        what = "a part, not one of its fields" if isinstance(value, _Recorder) else None
        raise XNATValidationError(
            "col",
            "col() takes a field of the query lambda's argument, e.g. "
            f"lambda s: col(s.label) == 'x' (got {what or type(value).__name__})",
        )
    return Column(value)


class CustomColumn(Column[str]):
    """A custom variable of the query's root type (``xnat:mrSessionData``): XNAT searches it
    as ``{TYPE}_FIELD_MAP={name}`` (names are lowercase on the server); values are text."""

    def __init__(self, owner: type, name: str) -> None:
        self._owner = owner
        self._name = name.lower()

    @property
    def name(self) -> str:
        """The custom variable's name (lowercase, as XNAT keeps it)."""
        return self._name

    @property
    def owner(self) -> type:
        """The model class searched."""
        return self._owner

    def schema_field(self, root: str) -> str:
        """``xnat:mrSessionData/XNAT_MRSESSIONDATA_FIELD_MAP=weight``."""
        upper = root.upper().replace(":", "_")
        return f"{root}/{upper}_FIELD_MAP={self._name}"

    def _schema(self) -> str:
        return self.schema_field(str(getattr(self._owner, "__xsi_type__", "")))

    def _leaf(self, comparison: str, value: object) -> Criterion:
        if isinstance(value, (list, tuple, set, dict)):
            raise XNATValidationError(self.name, f"cannot compare with a {type(value).__name__}")
        return Criterion(field=self._schema(), comparison=comparison, value=encode_value(value))

    def __repr__(self) -> str:
        return f"<CustomColumn {self._owner.__name__}.fields[{self._name!r}]>"


def and_(*criteria: Criterion | bool) -> Criterion:
    """All of ``criteria`` (xnatpy's ``and_``; the same as joining them with ``&``)."""
    return _combine("AND", criteria)


def or_(*criteria: Criterion | bool) -> Criterion:
    """Any of ``criteria`` (xnatpy's ``or_``; the same as joining them with ``|``)."""
    return _combine("OR", criteria)


def _combine(method: Literal["AND", "OR"], criteria: Sequence[object]) -> Criterion:
    items = [_criterion(c) for c in criteria]
    if not items:
        raise XNATValidationError("criteria", f"{method.lower()}_ needs at least one condition")
    result = items[0]
    for item in items[1:]:
        result = result._join(method, item)
    return result


def _criterion(value: object) -> Criterion:
    if isinstance(value, Criterion):
        return value
    raise XNATValidationError(
        "criteria",
        "expected a condition such as MrSessionData.label == 'E1' (a search field of the "
        f"class compared with a value), got {type(value).__name__} {value!r}",
    )


class SearchTable(Table):
    """The rows of a search: a :class:`~xnat_sdk.tables.Table` of named-tuple rows (``row.
    label``, ``row["label"]``), keyed by model field name for the chosen columns and by
    XNAT's column keys (``session_id``, ``project`` ...) for the rest; cells are text."""

    root: str
    total: int

    def __new__(
        cls,
        root: str,
        columns: Sequence[str],
        rows: Iterable[Mapping[str, Any]] = (),
        total: int | None = None,
    ) -> SearchTable:
        made = super().__new__(cls, columns, rows)
        made.root = root
        made.total = len(made) if total is None else total
        return made

    @property
    def rows(self) -> list[Row]:
        """The rows, as a list."""
        return list(self)

    def __repr__(self) -> str:
        return f"<SearchTable {self.root}: {len(self)} of {self.total} rows>"


_LISTED_FIELDS: tuple[tuple[type[XNATObject], tuple[str, ...]], ...] = (
    (ProjectBase, ("name", "secondary_ID")),
    (SubjectBase, ("label",)),
    (ExperimentBase, ("label", "date")),
    (ScanBase, ("type", "series_description", "quality")),
)
"""What a search's objects know without a request, besides the keys of their URIs."""

_SHARES = "key_projects"
"""The name the ``PROJECTS`` display field is asked under by :meth:`Query.objects`."""

_PROJECT_LIST = re.compile(r"<([^<>]*)>")
"""A project of a ``PROJECTS`` value: ``<A>,<B>`` (an experiment's), ``,<A>,<B>`` (a
subject's)."""

_NO_DISPLAY = frozenset(
    {
        "xnat:experimentData",
        "xnat:subjectAssessorData",
        "xnat:imageSessionData",
        "xnat:imageAssessorData",
    }
)
"""Abstract experiment types XNAT has no display document for (none in xnat-web's
``schemas/xnat/display``): no ``PROJECTS`` field to ask."""


class Query(Generic[M]):
    """A search over one model type; immutable (each method returns a new query)."""

    def __init__(
        self,
        session: XNATSession,
        cls: type[M],
        criteria: tuple[Criterion, ...] = (),
        columns: tuple[Column[Any], ...] = (),
    ) -> None:
        root = getattr(cls, "__xsi_type__", "")
        if not isinstance(cls, type) or not root:
            raise XNATValidationError("cls", f"expected a generated model class, got {cls!r}")
        self._session = session
        self._cls = cls
        self._criteria = criteria
        self._columns = columns

    @property
    def root(self) -> str:
        """The root element type (``xnat:mrSessionData``)."""
        return str(self._cls.__xsi_type__)

    def _record(self, selector: Callable[[M], Any]) -> Any:
        return selector(_Recorder(self._cls))  # type: ignore[arg-type]

    def where(self, *conditions: Callable[[M], Criterion]) -> Query[M]:
        """Add conditions (ANDed): ``.where(lambda s: col(s.label) == 'E1')``."""
        found = list(self._criteria)
        for condition in conditions:
            made = self._record(condition)
            if not isinstance(made, Criterion):
                raise XNATValidationError(
                    "where",
                    "a condition must compare a column, e.g. lambda s: col(s.label) == 'x' "
                    f"(got {type(made).__name__})",
                )
            found.append(made)
        return Query(self._session, self._cls, tuple(found), self._columns)

    def columns(self, *selectors: Callable[[M], AnyColumn | Sequence[AnyColumn]]) -> Query[M]:
        """Choose the returned columns: ``.columns(lambda s: [col(s.label), col(s.date)])``."""
        found = list(self._columns)
        for selector in selectors:
            made = self._record(selector)
            items = made if isinstance(made, (list, tuple)) else [made]
            for item in items:
                if not isinstance(item, Column):
                    raise XNATValidationError(
                        "columns", f"expected col(s.<field>), got {type(item).__name__}"
                    )
                found.append(item)
        return Query(self._session, self._cls, self._criteria, tuple(found))

    def in_project(self, project: str) -> Query[M]:
        """Only the subjects, experiments or scans of ``project``: those whose primary
        project it is and those shared into it (a session's scans are shared with it), as
        XNAT searches a project (``{type}/project = P OR {type}/sharing/share/project = P``,
        its ``SavedSearchResource`` with ``?project=P``; a condition on ``project`` alone
        finds only the former). XNAT's rows (:meth:`all`) still name the primary project and
        label of a shared one; its object (:meth:`objects`) is bound under ``project``
        (``/data/projects/P/experiments/{ID}``), where a reader of ``project`` alone reaches
        it, and reads the share's label (a scan's, by its session's accession ID, is
        readable there already)."""
        cls = self._cls
        if issubclass(cls, ProjectBase):
            raise XNATValidationError("in_project", "projects are not shared into projects")
        name = validate_label(project, "project")
        own = Criterion(field=f"{self.root}/project", comparison="=", value=name)
        shared = Criterion(field=f"{self.root}/sharing/share/project", comparison="=", value=name)
        return Query(self._session, cls, (*self._criteria, own | shared), self._columns)

    def _home(self) -> str | None:
        """The project the search is limited to with what is shared into it (the condition
        of :meth:`in_project`, however written), else None."""
        own, shared = f"{self.root}/project".lower(), f"{self.root}/sharing/share/project".lower()
        found = list(self._criteria)
        for c in found:
            if c.method == "AND":
                found.extend(c.children)
            leaves = c.children if c.method == "OR" else ()
            if len(leaves) != 2 or any(x.method != "LEAF" or x.comparison != "=" for x in leaves):
                continue
            if {x.field.lower() for x in leaves} == {own, shared} and len(
                {x.value for x in leaves}
            ) == 1:
                return leaves[0].value
        return None

    def to_xml(self) -> str:
        """The ``xdat:bundle`` document sent to ``POST /data/search``."""
        return self._bundle(())

    def _bundle(self, extra: Sequence[str], displays: Sequence[str] = ()) -> str:
        """The search document; ``extra`` XML paths (under the root), then the root's
        display fields ``displays`` (by ID: ``PROJECTS``), follow the columns."""
        ET.register_namespace("xdat", XDAT_NS)
        q = f"{{{XDAT_NS}}}"
        bundle = ET.Element(q + "bundle")
        ET.SubElement(bundle, q + "root_element_name").text = self.root
        fields = [(c.schema_field(self.root), c.name) for c in self._columns]
        fields += [(f"{self.root}/{path}", path) for path in extra]
        fields += [(field_id, field_id) for field_id in displays]
        for index, (field_id, header) in enumerate(fields):
            node = ET.SubElement(bundle, q + "search_field")
            ET.SubElement(node, q + "element_name").text = self.root
            ET.SubElement(node, q + "field_ID").text = field_id
            ET.SubElement(node, q + "sequence").text = str(index)
            ET.SubElement(node, q + "type").text = "string"
            ET.SubElement(node, q + "header").text = header
        where = ET.SubElement(bundle, q + "search_where", method="AND")
        for criterion in self._criteria:
            criterion.to_xml(where)
        return ET.tostring(bundle, encoding="unicode")

    def send(self, format: str = "json") -> requests.Response:
        """POST the search and return the server's answer as it came (``csv``, ``json``)."""
        return self._post(self.to_xml(), format)

    def _post(self, bundle: str, format: str) -> requests.Response:
        return self._session.post(
            "/data/search",
            data=bundle.encode(),
            format=format,
            headers={"Content-Type": "text/xml"},
        )

    def all(self) -> SearchTable:
        """Run the search (one request); rows are keyed by model field name for the chosen
        columns and by XNAT's column keys for the rest (``quarantine_status``; with no
        columns chosen, those of XNAT's default listing)."""
        return self._run({})[0]

    def _run(
        self, extra: Mapping[str, str], displays: Mapping[str, str] | None = None
    ) -> tuple[SearchTable, dict[str, str]]:
        """Run the search with ``extra`` fields (name -> XML path under the root) after the
        chosen columns. XNAT keys a column by its display field (``project``, ``session_id``,
        ``xnat_col_mrsessiondatalabel`` ...: ``SearchResource.setColumnProperties``) and
        answers them in the order asked, so the first keys are renamed to the chosen
        columns' names and the next ones to ``extra``'s names. Also returns, per ``extra``
        name, the column holding it (a chosen column when it names the same field).
        ``displays`` (name -> display field ID of the root, asked last) are found by their
        keys (the ID lower-cased): a type without the field answers none, and is named in
        the returned mapping only when answered."""
        chosen = {c.schema_field(self.root).lower(): c.name for c in self._columns}
        names = [c.name for c in self._columns]
        paths: list[str] = []
        where: dict[str, str] = {}
        for name, path in extra.items():
            field = f"{self.root}/{path}".lower()
            known = chosen.get(field)
            where[name] = known or name
            if known is None:  # asked once: XNAT answers a field asked twice once
                chosen[field] = name
                paths.append(path)
                names.append(name)
        shown = dict(displays or {})
        response = self._post(self._bundle(paths, list(shown.values())), "json")
        answer = answer_of(response)
        result = answer.result_set()
        raw_rows: list[dict[str, Any]] = result["Result"]
        keys = [str(c.get("key")) for c in result.get("Columns") or [] if c.get("key")]
        if not keys and raw_rows:
            keys = list(raw_rows[0])
        rename = {keys[i]: name for i, name in enumerate(names) if i < len(keys)}
        for name, field_id in shown.items():
            if field_id.lower() in keys[len(names) :]:
                rename[field_id.lower()] = where[name] = name
        columns = [rename.get(k, k) for k in keys]
        rows = [
            {rename.get(k, k): "" if v is None else str(v) for k, v in raw.items()}
            for raw in raw_rows
        ]
        if not columns and rows:
            columns = list(rows[0])
        return SearchTable(self.root, columns, rows, answer.total_records()), where

    def tabulate(self) -> SearchTable:
        """The same as :meth:`all` (the name listings use)."""
        return self.all()

    def tabulate_dict(self) -> list[dict[str, RowValue]]:
        """The rows as ``{column: text}`` dicts (xnatpy's name)."""
        return self.all().dicts()

    def tabulate_csv(self, header: bool = True) -> str:
        """The rows as CSV text (xnatpy's name)."""
        return self.all().to_csv(header=header)

    def tabulate_pandas(self) -> pandas.DataFrame:
        """The rows as a ``pandas.DataFrame`` (pandas is an optional extra)."""
        return self.all().to_pandas()

    def values(self, selector: Callable[[M], Column[T]]) -> list[T | None]:
        """One column of the matching rows, converted to the field's Python type:
        ``.values(lambda s: col(s.date))`` is a ``list[date | None]``, in the order of
        :meth:`objects` (one value per object)."""
        made = self._record(selector)
        if not isinstance(made, Column):
            raise XNATValidationError("values", f"expected col(s.<field>), got {made!r}")
        # a custom variable's values are text (XNAT keeps no type for them)
        convert: Callable[[str], Any] = (
            str if isinstance(made, CustomColumn) else made._ref.spec.convert
        )
        # asked after the objects' key, the rows come in the order objects() gives them
        # (XNAT sorts a search by its first field): the two zip
        try:
            key = self._object_keys()["key_id"]
        except XNATValidationError:
            key = None
        if key is None:
            table = Query(self._session, self._cls, self._criteria, (made,)).all()
            column = made.name
        else:
            path = made.schema_field(self.root)[len(self.root) + 1 :]
            plain = Query(self._session, self._cls, self._criteria)
            table, where = plain._run({"key": key, "value": path})
            column = where["value"]
        found: list[T | None] = []
        for row in table:
            text = str(row.get(column) or "")
            try:
                found.append(convert(text) if text != "" else None)
            except (TypeError, ValueError):
                found.append(None)
        return found

    def objects(self) -> list[M]:
        """Run the search and return the matching objects (bound, lazy, typed as ``M``).

        A subject or experiment shared from a project the user cannot read into one they
        can (a search answers it once, under its primary project) is bound under the
        latter, where they open it, with its label there: XNAT's ``PROJECTS`` field (its
        projects, asked with the search) names the candidates, and :func:`readable_projects`
        (one request, cached) those whose data the user reads, asked only when no unshared
        row of the result shows the primary project readable. Within :meth:`in_project`,
        every shared one is bound under its project, if the user reads it (else as without
        it: a reader of another project it is shared into finds it, to be opened there)."""
        keys = self._object_keys()
        asked = {**keys, **self._listed_fields()}
        home = self._home()
        shares = {_SHARES: "PROJECTS"} if self._lists_projects() else {}
        table, where = self._run(asked, shares)
        kinds = self._own_types(table, where)
        if home is not None and not self._reads(home, table, where):
            home = None
        homes = self._share_homes(table, where) if home is None and _SHARES in where else {}
        bound = [(row, home or homes.get(str(row.get(where["key_id"])))) for row in table]
        labels = self._share_labels(bound, where)
        return [self._object(row, where, kinds, asked, at, labels) for row, at in bound]

    def _share_labels(
        self, bound: Sequence[tuple[Row, str | None]], where: Mapping[str, str]
    ) -> dict[tuple[str, str], str]:
        """``{(project, ID): label}`` of the subjects or experiments bound under a project
        they are shared into (their label there is the share's, which the search's row,
        their primary project's, does not tell): one listing of each such project
        (``/data/projects/{P}/subjects`` or ``.../experiments``, ``ID`` and ``label``, the
        share's label for a shared one), instead of each object's document read when its
        label is. An object a listing leaves out (an image assessor), or all of a listing
        the server refuses, reads its document."""
        cls = self._cls
        if not issubclass(cls, SubjectBase | ExperimentBase) or "key_project" not in where:
            return {}
        wanted: dict[str, set[str]] = {}
        for row, home in bound:
            primary = str(row.get(where["key_project"]) or "")
            if home is not None and primary not in ("", home):
                wanted.setdefault(home, set()).add(str(row.get(where["key_id"]) or ""))
        kind = "subjects" if issubclass(cls, SubjectBase) else "experiments"
        labels: dict[tuple[str, str], str] = {}
        for home, idents in wanted.items():
            try:
                listing = answer_of(
                    self._session.get(
                        f"/data/projects/{quote_segment(home)}/{kind}",
                        format="json",
                        query={"columns": "ID,label"},
                    )
                )
                rows = listing.rows()
            except XNATResponseError:  # a listing refused: each label read from its document
                continue
            for found in rows:
                ident, label = str(found.get("ID") or ""), str(found.get("label") or "")
                if ident in idents and label:
                    labels[(home, ident)] = label
        return labels

    def _reads(self, project: str, table: Table, where: Mapping[str, str]) -> bool:
        """Whether the user reads ``project``, the one :meth:`in_project` names, where its
        shared objects are bound: asked (:func:`readable_projects`, one request, cached)
        only when the result has one whose primary project is another."""
        key = where.get("key_project")
        if key is None or all(str(row.get(key) or "") == project for row in table):
            return True
        return project in readable_projects(self._session)

    def _lists_projects(self) -> bool:
        """Whether the searched type has XNAT's ``PROJECTS`` display field (its projects,
        the primary one and those it is shared into): subjects and the concrete experiment
        types (``subjectData_display.xml``, ``mrSessionData_display.xml`` ...), not the
        abstract ones, which have no display document (``xnat:imageSessionData`` ...)."""
        cls = self._cls
        if issubclass(cls, SubjectBase):
            return True
        return issubclass(cls, ExperimentBase) and self.root not in _NO_DISPLAY

    def _share_homes(self, table: Table, where: Mapping[str, str]) -> dict[str, str]:
        """``{ID: project}`` for the shared objects found whose primary project the user
        cannot read: a project it is shared into that they can (its first in ``PROJECTS``,
        ``<A>,<B>,<C>``), where they open it. The projects whose data the user reads are
        :func:`readable_projects`' (one request, cached), asked only for a shared object
        whose primary project no unshared row found shows readable (a search finds only
        what the user reads)."""
        shared: dict[str, tuple[str, list[str]]] = {}
        known: set[str] = set()
        for row in table:
            primary = str(row.get(where["key_project"]) or "")
            listed = _PROJECT_LIST.findall(str(row.get(where[_SHARES]) or ""))
            others = [p for p in dict.fromkeys(listed) if p != primary]
            if others:
                shared[str(row.get(where["key_id"]))] = (primary, others)
            else:
                known.add(primary)  # read through its primary project, the only one
        waiting = {ident: found for ident, found in shared.items() if found[0] not in known}
        if not waiting:
            return {}
        readable = readable_projects(self._session)
        homes: dict[str, str] = {}
        for ident, (primary, others) in waiting.items():
            home = next((p for p in others if p in readable), None)
            if primary not in readable and home is not None:
                homes[ident] = home
        return homes

    def _listed_fields(self) -> dict[str, str]:
        """Fields asked with the objects' keys, those a listing of their level shows
        (``listed_label`` -> ``label``): the objects know them without reading their
        documents, one request each."""
        cls = self._cls
        for base, names in _LISTED_FIELDS:
            if issubclass(cls, base):
                return {f"listed_{name.lower()}": name for name in names}
        return {}

    def _own_types(self, table: Table, where: Mapping[str, str]) -> dict[str, str]:
        """``{key: xsi type}`` of the experiments (key: ID) or scans (key: session ID/scan
        ID) found: a search answers no type, and an ``ImageSessionData`` search finds MR,
        PET and CT sessions (an ``ImageScanData`` one, MR and CT scans). Read from
        ``/data/experiments`` filtered by ID (for scans, joined with their scans' types), the
        IDs in as few requests as fit a request line."""
        cls = self._cls
        if not table or not issubclass(cls, ExperimentBase | ScanBase):
            return {}
        from xnat_sdk._columns import cell, fetch_columns
        from xnat_sdk._objects.tree import SCAN_ROOT, SCAN_XSI

        scans = issubclass(cls, ScanBase)
        key = where["key_session"] if scans else where["key_id"]
        scan_id = f"{SCAN_ROOT}/ID"
        query = {"xsiType": "xnat:imageSessionData"} if scans else {}
        columns = ["ID", scan_id, SCAN_XSI] if scans else ["ID", "xsiType"]
        keys = columns[:2] if scans else columns[:1]  # what identifies a row
        found: dict[str, str] = {}
        idents = (str(row.get(key) or "") for row in table)
        for group in self._id_groups(idents, query, columns):
            asked = {**query, "ID": ",".join(group)}
            for row in fetch_columns(self._session, "/data/experiments", asked, columns, keys):
                if scans:
                    found[f"{row.get('ID')}/{cell(row, scan_id)}"] = str(cell(row, SCAN_XSI))
                else:
                    found[str(row.get("ID"))] = str(row.get("xsiType") or "")
        return found

    @staticmethod
    def _id_groups(
        idents: Iterable[str], query: Mapping[str, str], columns: Sequence[str]
    ) -> list[list[str]]:
        """The IDs (each once, in order) in groups whose ``/data/experiments`` request
        target fits :data:`~xnat_sdk._values.MAX_TARGET`."""
        from xnat_sdk._values import MAX_TARGET, target_length

        groups: list[list[str]] = [[]]
        for ident in dict.fromkeys(idents):
            wider = {
                **query,
                "format": "json",
                "columns": ",".join(columns),
                "ID": ",".join([*groups[-1], ident]),
            }
            if groups[-1] and target_length("/data/experiments", wider) > MAX_TARGET:
                groups.append([])
            groups[-1].append(ident)
        return groups

    def _object_keys(self) -> dict[str, str]:
        """The fields an object's URI is made of (name -> XML path under the root), asked
        for as XNAT answers only the fields a search names (as xnatpy's
        ``DEFAULT_SEARCH_FIELDS``)."""
        cls = self._cls
        if issubclass(cls, ProjectBase):
            return {"key_id": "ID"}
        if issubclass(cls, SubjectBase):
            return {"key_id": "ID", "key_project": "project"}
        if issubclass(cls, ExperimentBase):
            return {"key_id": "ID", "key_project": "project", "key_subject": "subject_ID"}
        if issubclass(cls, ScanBase):
            return {"key_id": "ID", "key_session": "image_session_ID"}
        raise XNATValidationError(
            "objects", f"{cls.__name__} results cannot be turned into objects; use all()"
        )

    def _object(
        self,
        row: Row,
        where: Mapping[str, str],
        kinds: Mapping[str, str],
        asked: Mapping[str, str],
        home: str | None = None,
        labels: Mapping[tuple[str, str], str] | None = None,
    ) -> M:
        """The object of a row; one of another project than ``home`` (the search's, which
        it is shared into) bound under ``home``, without the primary's label and project:
        with its label there from ``labels`` (:meth:`_share_labels`), and an experiment's
        project, ``home``, when known."""
        cls = self._cls
        found = {name: str(row.get(column) or "") for name, column in where.items()}
        klass = cls
        if "key_session" in found:
            xsi = kinds.get(f"{found['key_session']}/{found['key_id']}")
        else:
            xsi = kinds.get(found["key_id"])
        if xsi:  # the object's own type, when it derives from the class searched
            concrete = class_for(xsi, cls, self._session)
            klass = concrete if issubclass(concrete, cls) else cls
        data = {k: v for k, v in row.to_dict().items() if k not in where}
        # the keys and listed fields by their XML paths: the object's own fields
        data.update({asked[n]: row.get(column) for n, column in where.items() if n in asked})
        if home is not None and found.get("key_project", home) not in ("", home):
            # shared into home: its label and (an experiment's) project there are the
            # share's, which the document read through home's path tells
            kind = "subjects" if issubclass(cls, SubjectBase) else "experiments"
            uri = f"/data/projects/{home}/{kind}/{found['key_id']}"
            gone = ("label",) if kind == "subjects" else ("label", "project")
            data = {k: v for k, v in data.items() if k not in gone}
            label = (labels or {}).get((home, found["key_id"]))
            if label is not None:  # the share's, from the project's listing
                data.update(
                    {"label": label} if kind == "subjects" else {"label": label, "project": home}
                )
        elif issubclass(cls, ProjectBase):
            uri = f"/data/projects/{found['key_id']}"
        elif issubclass(cls, SubjectBase):
            uri = f"/data/projects/{found['key_project']}/subjects/{found['key_id']}"
        elif issubclass(cls, ExperimentBase):
            uri = (
                f"/data/projects/{found['key_project']}/subjects/{found['key_subject']}"
                f"/experiments/{found['key_id']}"
            )
        else:
            uri = f"/data/experiments/{found['key_session']}/scans/{found['key_id']}"
        return klass._xnat_bind(self._session, uri, xsi=xsi or None, row=data)

    def count(self) -> int:
        """The number of matching rows (runs the search)."""
        return len(self.all())

    def __repr__(self) -> str:
        return f"<Query {self.root} ({len(self._criteria)} conditions)>"


class ClassQuery(Generic[M]):
    """xnatpy's spelling of a search, over the same :class:`Query`:
    ``MrSessionData.query().filter(MrSessionData.project == "P1").all()`` is a list of
    ``MrSessionData`` objects. Conditions are class attributes compared with values
    (``MrSessionData.label.like("E%")``, ``MrSessionData.custom_field("weight") == "70"``),
    combined with ``&``/``|`` or :func:`and_`/:func:`or_`.

    Type checkers read ``MrSessionData.project == "P1"`` as a ``bool`` (the class declares
    ``project: str | None``), so they cannot check these conditions; :meth:`where` takes
    the typed conditions of :class:`Query` (``lambda s: col(s.project) == "P1"``) instead.
    """

    def __init__(self, query: Query[M]) -> None:
        self._query = query

    @property
    def typed(self) -> Query[M]:
        """The same search as a typed :class:`Query` (``where``, ``columns``, ``values`` ...)."""
        return self._query

    def filter(self, *constraints: Criterion | bool) -> ClassQuery[M]:
        """Add conditions (ANDed): ``.filter(MrSessionData.label == "E1")``."""
        made = [_criterion(c) for c in constraints]
        q = self._query
        return ClassQuery(Query(q._session, q._cls, q._criteria + tuple(made), q._columns))

    def where(self, *conditions: Callable[[M], Criterion]) -> ClassQuery[M]:
        """Add typed conditions: ``.where(lambda s: col(s.label) == "E1")``."""
        return ClassQuery(self._query.where(*conditions))

    def in_project(self, project: str) -> ClassQuery[M]:
        """Only the objects of ``project``, shared ones included (see
        :meth:`Query.in_project`)."""
        return ClassQuery(self._query.in_project(project))

    def view(self, *fields: Column[Any] | Any) -> ClassQuery[M]:
        """Choose the columns of the tabulate_* results: ``.view(MrSessionData.label)``."""
        columns: list[Column[Any]] = []
        for field in fields:
            if not isinstance(field, Column):
                raise XNATValidationError(
                    "view", f"expected a search field such as MrSessionData.label, got {field!r}"
                )
            columns.append(field)
        q = self._query
        return ClassQuery(Query(q._session, q._cls, q._criteria, q._columns + tuple(columns)))

    @property
    def xsi_type(self) -> str:
        """The searched type (``xnat:mrSessionData``)."""
        return self._query.root

    @property
    def queried_class(self) -> type[M]:
        """The searched model class."""
        return self._query._cls

    @property
    def xnat_session(self) -> XNATSession:
        """The session the search is sent through."""
        return self._query._session

    @property
    def constraints(self) -> tuple[Criterion, ...]:
        """The conditions so far (ANDed)."""
        return self._query._criteria

    @property
    def fields(self) -> tuple[Column[Any], ...]:
        """The columns chosen with :meth:`view`."""
        return self._query._columns

    def to_string(self) -> str:
        """The ``xdat:bundle`` XML sent to the server."""
        return self._query.to_xml()

    def to_xml(self) -> ET.Element:
        """The ``xdat:bundle`` document as an ElementTree element (xnatpy's ``to_xml``)."""
        return ET.fromstring(self._query.to_xml())

    def all(self) -> list[M]:
        """The matching objects (bound, lazy, typed)."""
        return self._query.objects()

    def first(self) -> M | None:
        """The first matching object (None when nothing matches)."""
        found = self.all()
        return found[0] if found else None

    def last(self) -> M | None:
        """The last matching object (None when nothing matches)."""
        found = self.all()
        return found[-1] if found else None

    def one(self) -> M:
        """The one matching object; :class:`XNATValueError` when there are none or several."""
        found = self.all()
        if len(found) != 1:
            raise XNATValueError(f"expected exactly one result, found {len(found)}")
        return found[0]

    def one_or_none(self) -> M | None:
        """The one matching object, or None; :class:`XNATValueError` when several match."""
        found = self.all()
        if len(found) > 1:
            raise XNATValueError(f"expected one result or none, found {len(found)}")
        return found[0] if found else None

    def tabulate_csv(self) -> str:
        """The server's CSV answer, as text."""
        return self._query.send("csv").text

    def tabulate_json(self) -> str:
        """The server's JSON answer, as text."""
        return self._query.send("json").text

    def tabulate_dict(self) -> list[dict[str, RowValue]]:
        """The rows as ``{column: text}`` dicts."""
        return self._query.tabulate_dict()

    def tabulate_pandas(self) -> pandas.DataFrame:
        """The rows as a ``pandas.DataFrame`` (pandas is an optional extra)."""
        return self._query.tabulate_pandas()

    def __repr__(self) -> str:
        return f"<ClassQuery {self._query.root} ({len(self._query._criteria)} conditions)>"


class SearchPart:
    """A single part at class level, xnatpy's spelling of a part's fields in a search:
    ``SubjectData.demographics.gender == "female"`` is the condition the typed
    ``lambda s: col(s.demographics.gender) == "female"`` makes (sent as
    ``xnat:subjectData/demographics[@xsi:type=xnat:demographicData]/gender``). Its fields
    are search columns, its own single parts (``MrScanData.parameters.voxel_res``) parts."""

    def __init__(self, recorder: _Recorder, label: str) -> None:
        object.__setattr__(self, "_recorder", recorder)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Column[Any] | SearchPart:
        label: str = object.__getattribute__(self, "_label")
        if name[:2] == "__":  # Python's own protocols (copy, pickle ...) find nothing here
            raise AttributeError(name)
        try:
            found = getattr(object.__getattribute__(self, "_recorder"), name)
        except XNATValidationError as error:
            raise XNATValidationError(f"{label}.{name}", error.message) from None
        if isinstance(found, _Recorder):
            return SearchPart(found, f"{label}.{name}")
        if isinstance(found, _FieldRef):
            return Column(found)
        raise XNATValidationError(f"{label}.{name}", "is no search field")  # pragma: no cover

    def __setattr__(self, name: str, value: object) -> None:
        raise XNATValidationError(
            name, f"{object.__getattribute__(self, '_label')} is a search part, not an object"
        )

    def __eq__(self, other: object) -> bool:
        label = object.__getattribute__(self, "_label")
        raise XNATValidationError(
            label,
            f"a part is no search field: compare one of its fields ({label}.<field> == value)",
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<SearchPart {object.__getattribute__(self, '_label')}>"


class SearchList:
    """A list field at class level (``SubjectData.sharing``): no search field, nor are its
    items' fields (a condition names one value per object); reading one of them, or
    comparing the list, raises :class:`~xnat_sdk.errors.XNATValidationError` saying so."""

    def __init__(self, owner: type, name: str) -> None:
        self._label = f"{owner.__name__}.{name}"

    def _refuse(self, name: str = "") -> XNATValidationError:
        return XNATValidationError(
            f"{self._label}{'.' if name else ''}{name}",
            f"{self._label} is a list and cannot be searched (a condition or a column names "
            "one value per object: the class's own fields, those of its single parts, "
            "SubjectData.demographics.gender, and custom variables can)",
        )

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        raise self._refuse(name)

    def __eq__(self, other: object) -> bool:
        raise self._refuse()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<SearchList {self._label}>"


def readable_projects(session: XNATSession) -> frozenset[str]:
    """The IDs of the projects whose data the user of ``session`` reads (one request,
    cached until :meth:`~xnat_sdk.session.XNATSession.clearcache`): XNAT's
    ``/data/projects?data=readable`` (``ProjectListResource``'s filtered handler: the
    projects the user is a user of and the ``public`` ones; every one for a user with
    all-data access). Not :attr:`XNATSession.projects
    <xnat_sdk.session.XNATSession.projects>`, which also lists the ``protected`` projects,
    whose description a non-member sees but not their subjects and experiments (XNAT gives
    the guest group read of the project, none of its data). An XNAT that ignores ``data``
    answers its default listing (its ``ID`` column read): the projects the user sees."""

    def load() -> frozenset[str]:
        rows = answer_of(session.get("/data/projects", format="json", query={"data": "readable"}))
        return frozenset(str(r.get("id") or r.get("ID") or "") for r in rows.rows()) - {""}

    return session._cached("readable_projects", load)


def search_part(owner: type, name: str) -> SearchPart:
    """The single part ``owner.<name>`` at class level (``SubjectData.demographics``)."""
    found = getattr(_Recorder(owner), name)
    if not isinstance(found, _Recorder):
        raise XNATValidationError(name, f"{owner.__name__}.{name} is no part")
    return SearchPart(found, f"{owner.__name__}.{name}")


def search_column(owner: type, name: str) -> Column[Any]:
    """The search field ``owner.<name>`` at class level (``MrSessionData.label``)."""
    spec = class_fields(owner).by_name.get(name)
    if spec is None or not spec.is_data or spec.is_list:
        raise XNATValidationError(name, f"{owner.__name__}.{name} cannot be searched")
    return Column(_FieldRef(owner, spec))
