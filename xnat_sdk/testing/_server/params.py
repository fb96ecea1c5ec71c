"""Request parameters the way XNAT's services read them: query, form and JSON bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from xnat_sdk.testing._server.context import RequestContext

__all__ = ["all_params", "first", "strip_data_prefix"]


def all_params(ctx: RequestContext) -> dict[str, list[str]]:
    """Query, form and (for a JSON body) JSON parameters, each name to all its values."""
    out: dict[str, list[str]] = {}
    for k, v in ctx.request.args.items(multi=True):
        out.setdefault(k, []).append(v)
    ctype = (ctx.request.mimetype or "").lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for k, v in ctx.request.form.items(multi=True):
            out.setdefault(k, []).append(v)
    elif ctype == "application/json":
        try:
            body = json.loads(ctx.request.get_data(cache=True) or b"{}")
        except ValueError:
            body = {}
        if isinstance(body, dict):
            for k, v in body.items():
                values = v if isinstance(v, list) else [v]
                out.setdefault(str(k), []).extend(str(x) for x in values)
    return out


def first(params: Mapping[str, list[str]], *names: str) -> str | None:
    """The first value of the first of ``names`` present (exact names)."""
    for name in names:
        values = params.get(name)
        if values:
            return values[0]
    return None


def strip_data_prefix(uri: str) -> str:
    """Drop a leading ``/data`` or ``/REST`` (and the host part of an absolute URL)."""
    uri = re.sub(r"^https?://[^/]+", "", uri.strip())
    for prefix in ("/data/", "/REST/"):
        if uri.startswith(prefix):
            return uri[len(prefix) - 1 :]
    return uri
