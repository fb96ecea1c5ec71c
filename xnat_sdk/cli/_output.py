"""What the commands print: tables (rich) on a terminal, JSON or CSV for machines.

Machine output is stable: ``--format json`` prints one JSON document (a list of objects for
listings, whose keys are the column names shown in the table; an object for single results),
``--format csv`` the same rows with a header line. Numbers stay numbers in JSON.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

__all__ = ["FORMATS", "Output", "default_format"]

FORMATS = ("table", "json", "csv")


def default_format() -> str:
    """``table`` when standard output is a terminal, else ``json``."""
    try:
        return "table" if sys.stdout.isatty() else "json"
    except (AttributeError, ValueError, OSError):
        return "json"


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None, ``true``/``false`` as in the JSON output."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class Output:
    """Prints results in the chosen format; ``quiet`` drops the human-only messages."""

    def __init__(self, format: str | None = None, quiet: bool = False) -> None:
        self.format = format or default_format()
        self.quiet = quiet

    def rows(
        self, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], title: str = ""
    ) -> None:
        """A listing: a table, a JSON list of objects or CSV with a header."""
        picked = [{c: row.get(c) for c in columns} for row in rows]
        if self.format == "json":
            click.echo(json.dumps(picked, indent=2, default=str))
        elif self.format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            for row in picked:
                writer.writerow([_cell(row[c]) for c in columns])
            click.echo(buffer.getvalue(), nl=False)
        else:
            self._table(columns, picked, title)

    def record(self, data: Mapping[str, Any], title: str = "") -> None:
        """One result: a two-column table, a JSON object or a one-row CSV."""
        if self.format == "json":
            click.echo(json.dumps(dict(data), indent=2, default=str))
        elif self.format == "csv":
            self.rows(list(data), [data])
        else:
            rows = [{"field": k, "value": v} for k, v in data.items()]
            self._table(["field", "value"], rows, title, header=False)

    def message(self, text: str) -> None:
        """A note for people (on standard error, so it never mixes with the data); not
        shown with ``--quiet``."""
        if not self.quiet:
            click.echo(text, err=True)

    @staticmethod
    def _table(
        columns: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
        title: str,
        header: bool = True,
    ) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or None, show_header=header, header_style="bold")
        for index, column in enumerate(columns):  # the first column (the key) never wraps
            table.add_column(
                column, overflow="fold", no_wrap=index == 0, min_width=min(len(column), 12)
            )
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        Console(soft_wrap=False).print(table)
