"""``POST`` on archive collections (spec §5.8): create from query fields or an XML body.

``POST /data/projects``, ``POST /data/projects/{P}/subjects``,
``POST /data/projects/{P}/subjects/{S}/experiments`` (and ``/data/projects/{P}/experiments``),
``POST {experiment}/scans``. The new object's ID or label comes from ``ID``/``label`` query
parameters or the XML document's attributes. Success -> 200, body = absolute URL of the new
object, ``Location`` header; an existing object -> 409.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from werkzeug.wrappers import Response

from xnat_sdk.testing._areas.archive.experiments import experiment_put
from xnat_sdk.testing._areas.archive.lookup import find_project, resolve
from xnat_sdk.testing._areas.archive.projects import project_put
from xnat_sdk.testing._areas.archive.scans import scan_put
from xnat_sdk.testing._areas.archive.subjects import subject_put
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = ["post_experiment", "post_project", "post_scan", "post_subject"]


def _body_attr(ctx: RequestContext, name: str) -> str | None:
    ctype = (ctx.request.mimetype or "").lower()
    if ctype not in ("text/xml", "application/xml") and not ctx.flag("inbody"):
        return None
    try:
        root = ET.fromstring(ctx.request.get_data())
    except ET.ParseError as exc:
        raise HttpError(422, f"An error occurred parsing the XML: {exc}") from exc
    return root.get(name)


def _created(ctx: RequestContext, new_id: str) -> Response:
    target = f"{ctx.site_url}{ctx.request.path.rstrip('/')}/{new_id}"
    resp = ctx.text(target)
    resp.headers["Location"] = target
    return resp


def post_project(ctx: RequestContext) -> Response:
    pid = ctx.q("ID") or ctx.q("xnat:projectData/ID") or _body_attr(ctx, "ID")
    if not pid:
        raise HttpError(417, "Requires XNAT ProjectData ID")
    if find_project(ctx.store, pid) is not None:
        raise HttpError(409, "Project already exists.")
    sub = replace(ctx, params={**ctx.params, "project": pid}, tail="")
    project_put(sub)
    return _created(ctx, pid)


def _label(ctx: RequestContext, xsi_prefix: str) -> str:
    label = ctx.q("label") or ctx.q(f"{xsi_prefix}/label") or _body_attr(ctx, "label")
    if not label:
        raise HttpError(400, "A label is required to create an object by POST.")
    return label


def post_subject(ctx: RequestContext) -> Response:
    label = _label(ctx, "xnat:subjectData")
    sub = replace(ctx, params={**ctx.params, "subject": label}, tail="")
    resp = subject_put(sub)
    if resp.status_code != 201:
        raise HttpError(409, "Subject already exists.")
    return _created(ctx, resp.get_data(as_text=True))


def post_experiment(ctx: RequestContext) -> Response:
    label = _label(ctx, ctx.q("xsiType") or "xnat:experimentData")
    sub = replace(ctx, params={**ctx.params, "experiment": label}, tail="")
    resp = experiment_put(sub)
    if resp.status_code != 201:
        raise HttpError(409, "Specified experiment already exists.")
    return _created(ctx, resp.get_data(as_text=True))


def post_scan(ctx: RequestContext) -> Response:
    scan_id = ctx.q("ID") or _body_attr(ctx, "ID")
    if not scan_id:
        raise HttpError(400, "A scan ID is required to create a scan by POST.")
    chain = resolve(ctx)
    assert chain.experiment is not None
    exists = ctx.store.one(
        "SELECT 1 FROM scans WHERE experiment_id=? AND id=?", (chain.experiment["id"], scan_id)
    )
    if exists is not None:
        raise HttpError(409, "Specified scan already exists.")
    scan_put(replace(ctx, params={**ctx.params, "scan": scan_id}, tail=""))
    return _created(ctx, scan_id)
