"""The owner of resources a URL names (project, subject, experiment, scan, reconstruction
``[/in|/out]``, assessor ``[/in|/out]``), its canonical URL and zip folders, and its
resources."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from xnat_sdk.testing._areas.archive.lookup import Chain, resolve
from xnat_sdk.testing._areas.files.zips import sanitize
from xnat_sdk.testing._server.context import RequestContext
from xnat_sdk.testing._server.routing import HttpError

__all__ = [
    "Parent",
    "experiment_base",
    "find_resources",
    "listing_parent_of",
    "one_resource",
    "parent_of",
    "resources_of",
    "scan_folder",
    "selected_scans",
    "session_children",
]


@dataclass
class Parent:
    """The resource owner named by a URL."""

    kind: str  # project|subject|experiment|scan|reconstruction|assessor
    id: str  # stored parent_id
    inout: str | None
    chain: Chain
    edit_project: str
    base_uri: str  # canonical URL of the parent
    zip_root: str  # first folder in zips
    zip_prefix: str  # folders between the root and "resources/"


def experiment_base(chain: Chain, exp: sqlite3.Row) -> str:
    if chain.has_subject_segment and chain.project is not None and chain.subject is not None:
        return (
            f"/data/projects/{chain.project['id']}/subjects/{chain.subject['id']}"
            f"/experiments/{exp['id']}"
        )
    return f"/data/experiments/{exp['id']}"


def parent_of(ctx: RequestContext) -> Parent:
    """Resolve the URL to the resource parent (404/403 as XNAT)."""
    chain = resolve(ctx)
    inout = ctx.params.get("inout")
    if inout is not None and inout not in ("in", "out"):
        raise HttpError(404, None)
    child = _experiment_child(chain, inout)
    if child is not None:
        return child
    if chain.experiment is not None:
        e = chain.experiment
        return Parent(
            "experiment",
            e["id"],
            None,
            chain,
            e["project"],
            experiment_base(chain, e),
            e["label"],
            "",
        )
    return _upper_parent(chain)


def listing_parent_of(ctx: RequestContext) -> Parent:
    """The owner whose resources ``GET {parent}/resources`` lists. XNAT's ``XNATTemplate``
    refuses a missing experiment, scan, reconstruction or assessor only for non-GET calls,
    and ``CatalogResourceList.loadCatalogs`` then lists the nearest object that did
    resolve: the URL's subject, else its project (404 when neither is in the URL)."""
    try:
        return parent_of(ctx)
    except HttpError as err:
        if err.status != 404 or ctx.params.get("inout") not in (None, "in", "out"):
            raise
        upper = resolve(ctx, upto="experiment")  # a missing project or subject stays 404
        if upper.project is None and upper.subject is None:
            raise HttpError(
                404,
                "You must specify an entity for which you want to retrieve resources, "
                "e.g. experiments, scan IDs, subjects, or projects.",
            ) from err
        return _upper_parent(upper)


def _upper_parent(chain: Chain) -> Parent:
    """The subject or (without one) the project of ``chain`` as a resource owner."""
    if chain.subject is not None:
        s = chain.subject
        return Parent(
            "subject",
            s["id"],
            None,
            chain,
            s["project"],
            f"/data/projects/{s['project']}/subjects/{s['id']}",
            s["label"],
            "",
        )
    assert chain.project is not None
    p = chain.project
    return Parent(
        "project", p["id"], None, chain, p["id"], f"/data/projects/{p['id']}", p["id"], ""
    )


def _experiment_child(chain: Chain, inout: str | None) -> Parent | None:
    """The assessor, reconstruction or scan the URL names (``None`` when it names none)."""
    if chain.assessor is not None:
        a, e = chain.assessor, chain.experiment
        assert e is not None
        io_seg = inout or "out"
        return Parent(
            "assessor",
            a["id"],
            inout,
            chain,
            a["project"],
            f"{experiment_base(chain, e)}/assessors/{a['id']}/{io_seg}",
            e["label"],
            f"assessors/{a['id']}/{io_seg}/",
        )
    if chain.recon is not None:
        r, e = chain.recon, chain.experiment
        assert e is not None
        io_seg = inout or "out"
        folder = f"{r['id']}-{sanitize(r['type'])}" if r["type"] else r["id"]
        return Parent(
            "reconstruction",
            str(r["pk"]),
            inout,
            chain,
            e["project"],
            f"{experiment_base(chain, e)}/reconstructions/{r['id']}/{io_seg}",
            e["label"],
            f"reconstructions/{folder}/{io_seg}/",
        )
    if chain.scan is not None:
        s, e = chain.scan, chain.experiment
        assert e is not None
        return Parent(
            "scan",
            str(s["pk"]),
            None,
            chain,
            e["project"],
            f"{experiment_base(chain, e)}/scans/{s['id']}",
            e["label"],
            f"scans/{scan_folder(s)}/",
        )
    return None


def selected_scans(ctx: RequestContext, selector: str) -> list[Parent]:
    """The scans that ``{experiment}/scans/{selector}`` names in every resource and file
    route (XNAT's ``XNATTemplate``): ``ALL`` or ``*`` every scan; else each comma-separated
    part names the scans of that ID and those of that type (``NULL``: no type; ``[COMMA]``
    in a type stands for a comma). An ID with a comma cannot be named (only ``ALL`` has it)."""
    chain = resolve(ctx, upto="scan")
    exp = chain.experiment
    assert exp is not None
    scans = ctx.store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (exp["id"],))
    if selector not in ("ALL", "*"):
        parts = selector.split(",")
        types = {p.replace("[COMMA]", ",") for p in parts if p != "NULL"}
        scans = [
            s
            for s in scans
            if s["id"] in parts or s["type"] in types or ("NULL" in parts and not s["type"])
        ]
    return [_scan_parent(chain, exp, s) for s in scans]


def _scan_parent(chain: Chain, exp: sqlite3.Row, scan: sqlite3.Row) -> Parent:
    sub = Chain(
        project=chain.project,
        subject=chain.subject,
        experiment=exp,
        scan=scan,
        has_subject_segment=chain.has_subject_segment,
    )
    return Parent(
        "scan",
        str(scan["pk"]),
        None,
        sub,
        exp["project"],
        f"{experiment_base(sub, exp)}/scans/{scan['id']}",
        exp["label"],
        f"scans/{scan_folder(scan)}/",
    )


def scan_folder(scan: sqlite3.Row) -> str:
    return f"{scan['id']}-{sanitize(scan['type'])}" if scan["type"] else str(scan["id"])


def resources_of(ctx: RequestContext, parent: Parent) -> list[sqlite3.Row]:
    sql = "SELECT * FROM resources WHERE parent_kind=? AND parent_id=?"
    params: list[Any] = [parent.kind, parent.id]
    if parent.inout is not None:
        sql += " AND inout IN (?, '')"
        params.append(parent.inout)
    return ctx.store.query(sql + " ORDER BY id", params)


def find_resources(ctx: RequestContext, parent: Parent, ref: str) -> list[sqlite3.Row]:
    out = []
    all_rows = resources_of(ctx, parent)
    for part in ref.split(","):
        for r in all_rows:
            hit = (
                (part.isdigit() and str(r["id"]) == part)
                or r["label"] == part
                or (part == "NULL" and not r["label"])
            )
            if hit and r not in out:
                out.append(r)
    return out


def one_resource(ctx: RequestContext, parent: Parent) -> sqlite3.Row:
    found = find_resources(ctx, parent, ctx.params["resource"])
    if not found:
        raise HttpError(404, "Unable to find the specified catalog.")
    return found[0]


def session_children(ctx: RequestContext, parent: Parent) -> list[Parent]:
    """The scans, reconstructions (``out``) and assessors (``out``) of an experiment, as
    resource owners: what ``all=true`` adds to its resources and files (``XNATTemplate
    .loadCatalogs``)."""
    chain = parent.chain
    exp = chain.experiment
    assert exp is not None
    store = ctx.store
    base = experiment_base(chain, exp)
    kids: list[Parent] = []
    for s in store.query("SELECT * FROM scans WHERE experiment_id=? ORDER BY pk", (exp["id"],)):
        kids.append(
            Parent(
                "scan",
                str(s["pk"]),
                None,
                chain,
                exp["project"],
                f"{base}/scans/{s['id']}",
                exp["label"],
                f"scans/{scan_folder(s)}/",
            )
        )
    for r in store.query(
        "SELECT * FROM reconstructions WHERE experiment_id=? ORDER BY pk", (exp["id"],)
    ):
        folder = f"{r['id']}-{sanitize(r['type'])}" if r["type"] else r["id"]
        kids.append(
            Parent(
                "reconstruction",
                str(r["pk"]),
                None,
                chain,
                exp["project"],
                f"{base}/reconstructions/{r['id']}/out",
                exp["label"],
                f"reconstructions/{folder}/out/",
            )
        )
    for a in store.query("SELECT * FROM experiments WHERE session_id=? ORDER BY id", (exp["id"],)):
        kids.append(
            Parent(
                "assessor",
                a["id"],
                None,
                chain,
                exp["project"],
                f"{base}/assessors/{a['id']}/out",
                exp["label"],
                f"assessors/{a['id']}/out/",
            )
        )
    return kids
