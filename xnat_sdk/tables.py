"""Typed tables: the rows of ``listing.tabulate()`` and of searches.

A :class:`Row` is a named tuple of one listing or search row, as xnatpy's ``tabulate`` gives:
its values in column order, each also an attribute under the column's name with every run of
characters other than letters and digits made ``_`` (``xnat:subjectassessordata/id`` ->
``row.xnat_subjectassessordata_id``), and under the original name by key
(``row["xnat:subjectassessordata/id"]``). A :class:`Table` is a tuple of rows with the column
names and the ``to_csv()`` / ``to_pandas()`` conversions, which name the columns as the rows'
attributes (pandas is an optional extra, imported only by ``to_pandas``).

This module imports nothing heavy.
"""

from __future__ import annotations

import csv
import io
import keyword
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, SupportsIndex, TypeVar, overload

from xnat_sdk.errors import XNATColumnError, XNATError, XNATIndexError, XNATKeyError

if TYPE_CHECKING:
    import pandas

__all__ = ["Row", "RowValue", "Table", "XNATColumnError", "column_attribute"]

RowValue = str | int | float | None
"""What a cell holds: XNAT's listings answer text, a few columns are numbers (``Size``)."""

_T = TypeVar("_T", bound="Table")
_NOT_ALNUM = re.compile(r"[^0-9a-zA-Z]+")
_REPR_COLUMNS = 8  # a table's repr names this many columns at most


def column_attribute(column: str) -> str:
    """The attribute name of a column: runs of characters other than letters and digits become
    ``_`` (xnatpy's rule); a name that is a keyword or starts with a digit gets a ``_`` more
    (``class`` -> ``class_``, ``1`` -> ``_1``), an empty one is ``_``."""
    name = _NOT_ALNUM.sub("_", column) or "_"
    if keyword.iskeyword(name):
        name += "_"
    if name[0].isdigit():
        name = "_" + name
    return name


def _attributes(columns: Sequence[str]) -> tuple[str, ...]:
    """Attribute names for ``columns``; a clash gets ``_2``, ``_3`` ... in column order."""
    taken: set[str] = set()
    names: list[str] = []
    for column in columns:
        base = column_attribute(column)
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name)
        names.append(name)
    return tuple(names)


class _Layout:
    """The columns of one table, shared by its rows."""

    __slots__ = ("attributes", "columns", "index")

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.attributes = _attributes(self.columns)
        index = {name: i for i, name in enumerate(self.attributes)}
        index.update({name: i for i, name in enumerate(self.columns)})  # originals win
        self.index = index


class Row(tuple[RowValue, ...]):
    """One row: a tuple of the values, with attribute and key access by column name."""

    __slots__ = ()
    _layout: _Layout  # set per table on a subclass made for it (see Table)

    def __new__(cls, values: Iterable[RowValue]) -> Row:
        return super().__new__(cls, values)

    @property
    def _fields(self) -> tuple[str, ...]:
        """The attribute names, in column order (as a named tuple's)."""
        return self._layout.attributes

    @property
    def columns(self) -> tuple[str, ...]:
        """The original column names, in order."""
        return self._layout.columns

    def __getattr__(self, name: str) -> RowValue:
        if name.startswith("__"):
            raise AttributeError(name)
        position = self._layout.index.get(name)
        if position is None:
            raise XNATColumnError(name, self._layout.attributes)
        return tuple.__getitem__(self, position)

    @overload
    def __getitem__(self, key: SupportsIndex) -> RowValue: ...

    @overload
    def __getitem__(self, key: slice) -> tuple[RowValue, ...]: ...

    @overload
    def __getitem__(self, key: str) -> RowValue: ...

    def __getitem__(self, key: SupportsIndex | slice | str) -> RowValue | tuple[RowValue, ...]:
        if isinstance(key, str):
            position = self._layout.index.get(key)
            if position is None:
                raise XNATColumnError(key, self._layout.columns)
            return tuple.__getitem__(self, position)
        try:
            return tuple.__getitem__(self, key)
        except IndexError:
            raise XNATIndexError(
                key,
                f"no column {key} in a row of {len(self)} (columns: "
                f"{', '.join(self._layout.columns) or 'none'})",
            ) from None

    def get(self, key: str, default: RowValue = None) -> RowValue:
        """The value of a column (original or attribute name), else ``default``."""
        position = self._layout.index.get(key)
        return default if position is None else tuple.__getitem__(self, position)

    def _asdict(self) -> dict[str, RowValue]:
        """``{attribute name: value}`` (as a named tuple's)."""
        return dict(zip(self._layout.attributes, self, strict=True))

    def to_dict(self) -> dict[str, RowValue]:
        """``{original column name: value}``."""
        return dict(zip(self._layout.columns, self, strict=True))

    def __repr__(self) -> str:
        pairs = ", ".join(f"{a}={v!r}" for a, v in zip(self._layout.attributes, self, strict=True))
        return f"Row({pairs})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and copy) as its columns and values: its class is made per table."""
        return (_row_of, (self._layout.columns, tuple(self)))


class Table(tuple[Row, ...]):
    """The rows of a listing or a search, with their column names (a tuple of :class:`Row`)."""

    _layout: _Layout

    def __new__(cls: type[_T], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> _T:
        layout = _Layout(columns)
        row_class = type("Row", (Row,), {"__slots__": (), "_layout": layout})
        made = super().__new__(
            cls, (row_class(_cell(row.get(c)) for c in layout.columns) for row in rows)
        )
        made._layout = layout
        return made

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in order."""
        return self._layout.columns

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and copy) as its columns and rows' values."""
        return (_table_of, (type(self), self._layout.columns, [tuple(row) for row in self]))

    # spelled out (a tuple's would do) so that IDE engines that do not follow a tuple
    # subclass's type parameter still know the rows
    @overload
    def __getitem__(self, index: SupportsIndex) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Row, ...]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Row | tuple[Row, ...]:
        if isinstance(index, str):  # a column's name, or an object's ID, where rows count
            raise XNATKeyError(
                index,
                f"a table's rows are numbered, got {index!r}: a column's values are "
                f"table.column({index!r}), a row's cell row[{index!r}]",
            )
        try:
            return tuple.__getitem__(self, index)
        except IndexError:
            raise XNATIndexError(index, f"no row {index} in a table of {len(self)}") from None

    def __iter__(self) -> Iterator[Row]:
        return tuple.__iter__(self)

    def column(self, name: str) -> list[RowValue]:
        """Every row's value of one column (by original or attribute name)."""
        layout = self._layout
        if name not in layout.index:
            raise XNATColumnError(name, layout.columns)
        position = layout.index[name]
        return [tuple.__getitem__(row, position) for row in self]

    def dicts(self) -> list[dict[str, RowValue]]:
        """The rows as ``{original column name: value}`` dicts."""
        return [row.to_dict() for row in self]

    @property
    def fields(self) -> tuple[str, ...]:
        """The rows' attribute names, in column order (``xnat_subjectassessordata_id`` for
        ``xnat:subjectassessordata/id``): the header of :meth:`to_csv` and the columns of
        :meth:`to_pandas`, as xnatpy names them in ``tabulate_csv``/``tabulate_pandas``."""
        return self._layout.attributes

    def to_csv(self, header: bool = True) -> str:
        """The table as CSV text (:attr:`fields` as header; ``""`` for None)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if header:
            writer.writerow(self.fields)
        writer.writerows(("" if v is None else v for v in row) for row in self)
        return out.getvalue()

    def to_pandas(self) -> pandas.DataFrame:
        """The table as a ``pandas.DataFrame``, its columns named by :attr:`fields` (needs
        pandas: ``pip install 'xnat-sdk[pandas]'``)."""
        try:
            import pandas
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise XNATError(
                "to_pandas() needs pandas, an optional extra: pip install 'xnat-sdk[pandas]'"
            ) from error
        frame: pandas.DataFrame = pandas.DataFrame.from_records(
            [tuple(row) for row in self], columns=list(self.fields)
        )
        return frame

    def __repr__(self) -> str:
        columns = self.columns
        shown = ", ".join(columns[:_REPR_COLUMNS])
        if len(columns) > _REPR_COLUMNS:
            shown += f", ... ({len(columns)} columns)"
        return f"<Table {len(self)} rows: {shown}>"


def _table_of(
    cls: type[Table], columns: Sequence[str], values: Sequence[Sequence[RowValue]]
) -> Table:
    """A table of ``columns`` from its rows' values (how a table unpickles)."""
    return cls(columns, [dict(zip(columns, row, strict=True)) for row in values])


def _row_of(columns: Sequence[str], values: Sequence[RowValue]) -> Row:
    """A row of ``columns`` (how a row unpickles, with a class of its own)."""
    (row,) = _table_of(Table, columns, [values])
    return row


def _cell(value: object) -> RowValue:
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)
