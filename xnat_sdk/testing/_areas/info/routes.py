"""Server information endpoints: ``/``, version/build info, uptime and schema files.

``GET /`` (HTML), ``GET /data/version`` -> 404 (as XNAT 1.8), ``GET /xapi/siteConfig/buildInfo``
(JSON of strings), ``GET /xapi/siteConfig/buildInfo/{property}``, ``GET /xapi/siteConfig/uptime``
(``{"days": .., "hours": .., "minutes": .., "seconds": ..}``, zero units omitted),
``GET /xapi/siteConfig/uptime/display``, ``GET /xapi/schemas`` (names of the ``*.xsd`` found in
the schemas folder as ``{folder}`` or ``{folder}/{file}``), ``GET /xapi/schemas/{name}`` and
``/xapi/schemas/{ns}/{name}``, ``GET /schemas/{ns}/{file}.xsd``, ``GET /xapi/plugins`` and
``/xapi/plugins/{id}`` (``XnatPluginApi``: the plugins added with
:meth:`~xnat_sdk.testing.LocalXNAT.add_plugin`, as ``XnatPluginBean`` JSON).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError, Router

__all__ = ["SCHEMA_SQL", "add_plugin", "register", "schema_names"]

SCHEMA_SQL = "CREATE TABLE IF NOT EXISTS info_plugins(id TEXT PRIMARY KEY, bean TEXT NOT NULL);"


def _root(ctx: RequestContext) -> Response:
    body = (
        "<!DOCTYPE html>\n<html><head><title>XNAT (local)</title></head>"
        "<body><h1>Local XNAT server</h1><p>xnat-sdk test server.</p></body></html>"
    )
    return ctx.text(body, mimetype="text/html")


def _build_info(ctx: RequestContext) -> dict[str, str]:
    cfg = ctx.state.config
    return {
        "version": cfg.version,
        "buildNumber": "local",
        "buildDate": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ctx.state.started_at)),
        "sha": "0000000",
        "isDirty": "false",
        "timestamp": str(int(ctx.state.started_at * 1000)),
        "hostName": ctx.request.host,
        "displayHostName": "false",
        "nodeId": "local",
        "branch": "local",
        "commit": "0000000",
        "tag": cfg.version,
        "shaFull": "0" * 40,
    }


def _build_info_get(ctx: RequestContext) -> Response:
    info = _build_info(ctx)
    prop = ctx.tail.strip("/")
    if prop:
        if prop not in info:
            raise HttpError(404, f"Unknown property {prop}")
        return ctx.text(info[prop])
    return ctx.json(info)


def _uptime_parts(ctx: RequestContext) -> dict[str, str]:
    total = time.time() - ctx.state.started_at
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    out: dict[str, str] = {}
    if days:
        out["days"] = str(int(days))
    if hours:
        out["hours"] = str(int(hours))
    if minutes:
        out["minutes"] = str(int(minutes))
    out["seconds"] = f"{seconds:.3f}"
    return out


def _uptime(ctx: RequestContext) -> Response:
    parts = _uptime_parts(ctx)
    if ctx.tail.strip("/") == "display":
        return ctx.text(", ".join(f"{v} {k}" for k, v in parts.items()))
    return ctx.json(parts)


def _schemas_dir(ctx: RequestContext) -> Path:
    d = ctx.state.config.schemas_dir
    if d is None or not d.is_dir():
        if ctx.state.config.extra_schemas:
            return Path("/nonexistent")
        raise HttpError(404, "No schemas folder is configured.")
    return d


def _extra(ctx: RequestContext, ns: str, name: str) -> Path | None:
    stem = name[:-4] if name.endswith(".xsd") else name
    for path in ctx.state.config.extra_schemas:
        if path.stem == stem and ns in (stem, path.parent.name):
            return path
    return None


def schema_names(folder: Path) -> list[str]:
    """XNAT's schema names for the ``*.xsd`` files under ``folder`` (``xnat/xnat.xsd`` -> xnat)."""
    names: list[str] = []
    for path in sorted(folder.glob("*/*.xsd")):
        ns, stem = path.parent.name, path.stem
        names.append(ns if ns == stem else f"{ns}/{stem}")
    return names


def _schemas_list(ctx: RequestContext) -> Response:
    folder = _schemas_dir(ctx)
    names = schema_names(folder) if folder.is_dir() else []
    for path in ctx.state.config.extra_schemas:
        name = ctx.state.config.schema_names.get(path, path.stem)
        if name not in names:
            names.append(name)
    return ctx.json(names)


def _schema_file(folder: Path, ns: str, name: str) -> Path:
    if any(p in ("", ".", "..") or "/" in p or "\\" in p for p in (ns, name)):
        raise HttpError(404, "Unable to find requested file or resource.")
    path = folder / ns / (name if name.endswith(".xsd") else name + ".xsd")
    if not path.is_file():
        raise HttpError(404, f"Unable to find requested file or resource: {ns}/{name}")
    return path


def _schema_get(ctx: RequestContext) -> Response:
    folder = _schemas_dir(ctx)
    parts = [p for p in ctx.tail.split("/") if p]
    if 1 <= len(parts) <= 2:
        extra = _extra(ctx, parts[0], parts[-1])
        if extra is not None:
            return Response(extra.read_bytes(), mimetype="application/xml")
    if len(parts) == 1:
        path = _schema_file(folder, parts[0], parts[0])
    elif len(parts) == 2:
        path = _schema_file(folder, parts[0], parts[1])
    else:
        raise HttpError(404, "Unable to find requested file or resource.")
    return Response(path.read_bytes(), mimetype="application/xml")


def _schema_static(ctx: RequestContext) -> Response:
    extra = _extra(ctx, ctx.params["ns"], ctx.params["file"])
    if extra is not None:
        return Response(extra.read_bytes(), mimetype="text/xml")
    folder = _schemas_dir(ctx)
    path = _schema_file(folder, ctx.params["ns"], ctx.params["file"])
    return Response(path.read_bytes(), mimetype="text/xml")


def add_plugin(store: Any, bean: dict[str, Any]) -> None:
    """Store a plugin's ``XnatPluginBean`` (its JSON fields) under its ``id``."""
    with store.tx() as db:
        db.execute(SCHEMA_SQL)
        db.execute(
            "INSERT INTO info_plugins(id, bean) VALUES(?, ?) "
            "ON CONFLICT(id) DO UPDATE SET bean=excluded.bean",
            (bean["id"], json.dumps(bean)),
        )


def _plugins(ctx: RequestContext) -> Response:
    """``/xapi/plugins[/{id}]`` (``XnatPluginApi``): every installed plugin by ID, or one
    (404 ``NotFoundException`` for an ID not installed)."""
    rows = ctx.store.query("SELECT id, bean FROM info_plugins ORDER BY id")
    beans = {str(r["id"]): json.loads(r["bean"]) for r in rows}
    name = ctx.tail.strip("/")
    if name:
        if name not in beans:
            raise HttpError(404, f"No plugin with ID {name} could be found on this system")
        return ctx.json(beans[name])
    return ctx.json(beans)


def _version(ctx: RequestContext) -> Response:
    raise HttpError(404, None)


def register(router: Router) -> None:
    """Register the information routes."""
    router.add("GET", "/", _root, auth="optional")
    router.add("GET", "/data/version", _version, auth="optional")
    router.add("GET", "/xapi/siteConfig/buildInfo", _build_info_get, tail=True, auth="optional")
    router.add("GET", "/xapi/siteConfig/uptime", _uptime, tail=True, auth="optional")
    router.add("GET", "/xapi/plugins", _plugins, tail=True)
    router.add("GET", "/xapi/schemas", _schemas_list, auth="optional")
    router.add("GET", "/xapi/schemas", _schema_get, tail=True, auth="optional")
    router.add("GET", "/schemas/{ns}/{file}", _schema_static, auth="optional")
