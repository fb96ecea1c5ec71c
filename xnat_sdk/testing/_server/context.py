"""The request context of the local XNAT server: what every handler gets, and its answers.

A handler is ``handler(ctx: RequestContext) -> Response``: ``ctx`` holds the request, the
user (the guest user for anonymous requests), the route's params and tail, the server state
and store, and helpers to answer text, JSON, XML or a ResultSet table
(``ctx.table(columns, rows, meta=...)`` renders the format asked for by ``format=``, json
default, xml, csv, html, and applies ``sortBy``/``sortOrder``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from xnat_sdk.testing._server.render import render_table
from xnat_sdk.testing._server.routing import HttpError

if TYPE_CHECKING:
    from xnat_sdk.testing._server.state import ServerState
    from xnat_sdk.testing._server.store import Store, User

__all__ = ["RequestContext", "is_true"]


def is_true(value: str | None) -> bool:
    """XNAT's ``isQueryVariableTrue``: present and not ``false``/``0`` (empty counts as true)."""
    if value is None:
        return False
    return value.strip().lower() not in ("false", "0")


@dataclass
class RequestContext:
    """Everything a handler needs: the request, the user, the store and answer helpers."""

    request: Request
    state: ServerState
    user: User
    params: dict[str, str]
    tail: str
    path: str
    #: the JSESSIONID this request runs in (new or from the cookie), ``None`` for guests
    session_id: str | None = None

    # -- request -------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The server's SQLite store."""
        return self.state.store

    @property
    def is_guest(self) -> bool:
        """True for anonymous (guest) requests."""
        return self.user.login == "guest"

    @property
    def is_admin(self) -> bool:
        """True for site administrators."""
        return self.user.admin

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        return self.request.method.upper()

    @property
    def query(self) -> MultiDict[str, str]:
        """The query parameters (percent-decoded)."""
        return self.request.args

    def q(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, case-sensitive name; ``default`` when absent."""
        return self.request.args.get(name, default)

    def qi(self, name: str, default: str | None = None) -> str | None:
        """A query parameter looked up case-insensitively."""
        low = name.lower()
        for k, v in self.request.args.items(multi=True):
            if k.lower() == low:
                return v
        return default

    def flag(self, name: str) -> bool:
        """XNAT truthiness of a query flag (present and not false/0; empty is true)."""
        return is_true(self.qi(name))

    def strict_flag(self, name: str) -> bool:
        """True only for the literal ``true`` (``allowDataDeletion``, ``primary``)."""
        v = self.qi(name)
        return v is not None and v.strip().lower() == "true"

    @property
    def format(self) -> str | None:
        """The ``format=`` parameter lower-cased, or ``None``."""
        f = self.qi("format")
        return f.lower() if f else None

    def require_admin(self) -> None:
        """Raise 403 unless the user is a site administrator."""
        if not self.is_admin:
            raise HttpError(403, "Access Denied: only site administrators may do this.")

    def require_user(self) -> None:
        """Raise 403 for the guest user (writes are never allowed to guests)."""
        if self.is_guest:
            raise HttpError(403, "The guest user may not do this.")

    @property
    def site_url(self) -> str:
        """The absolute URL of the server root (no trailing slash)."""
        return self.request.host_url.rstrip("/")

    # -- answers -------------------------------------------------------------------------
    def text(self, body: str = "", status: int = 200, mimetype: str = "text/plain") -> Response:
        """A text answer."""
        return Response(body, status=status, mimetype=mimetype)

    def json(self, obj: Any, status: int = 200) -> Response:
        """A compact JSON answer."""
        return Response(
            json.dumps(obj, separators=(",", ":")), status=status, mimetype="application/json"
        )

    def xml(self, body: str, status: int = 200) -> Response:
        """A ``text/xml`` answer."""
        return Response(body, status=status, mimetype="text/xml")

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Mapping[str, Any]],
        *,
        meta: Mapping[str, Any] | None = None,
        column_props: Sequence[Mapping[str, str]] | None = None,
        default_format: str = "json",
    ) -> Response:
        """Render a ResultSet table in the requested format (see :func:`render_table`)."""
        fmt = self.format or default_format
        rows = list(rows)
        sort_by = self.q("sortBy")
        if sort_by:
            keys = [k for k in sort_by.split(",") if k in columns]
            if keys:
                rows.sort(key=functools.cmp_to_key(lambda a, b: _compare_rows(a, b, keys)))
            if (self.q("sortOrder") or "").upper() == "DESC":
                rows.reverse()
        body, mimetype = render_table(fmt, columns, rows, meta or {}, column_props)
        return Response(body, status=200, mimetype=mimetype)


#: the listing columns XNAT's database holds as numbers (the others are text): a table
#: sorts them as numbers
NUMERIC_COLUMNS = frozenset(
    {
        "xnat_imagescandata_id",
        "xnat_abstractresource_id",
        "xnat_reconstructedimagedata_id",
        "file_count",
        "file_size",
        "Size",
        "cat_ID",
    }
)


def _compare_rows(a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[str]) -> int:
    """``XFTTable.sort(List)``: column by column, a missing value (null; "" here) after any
    other, and two missing values end the comparison as equal; text compares as Java's
    ``String.compareTo`` (case kept: ``B`` before ``a``, ``10`` before ``9``), numbers as
    numbers."""
    for key in keys:
        x, y = _sort_value(key, a.get(key)), _sort_value(key, b.get(key))
        if x is None:
            return 0 if y is None else 1
        if y is None:
            return -1
        if isinstance(x, str) != isinstance(y, str):  # a number beside text: both as text
            x, y = str(x), str(y)
        if x != y:
            return -1 if x < y else 1
    return 0


def _sort_value(key: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if key in NUMERIC_COLUMNS:
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)
