"""``ls``, ``tree`` and ``users ls``."""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import click

from xnat_sdk._units import format_bytes
from xnat_sdk.cli._addresses import ADDRESS_HELP, parse_address, resolve
from xnat_sdk.cli._app import Runtime, command, pass_runtime, root

__all__ = ["COLUMNS"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "projects": ("ID", "secondary_ID", "name", "pi_lastname"),
    "subjects": ("ID", "label", "project"),
    "experiments": ("ID", "label", "xsiType", "date", "project"),
    "scans": ("ID", "type", "series_description", "quality", "xsiType"),
    "resources": ("label", "format", "file_count", "file_size", "xnat_abstractresource_id"),
    "files": ("path", "Size", "collection", "digest"),
}
"""The columns ``ls`` shows (and the keys of its JSON/CSV rows) by what it lists."""

_CHILDREN = {
    "site": "projects",
    "project": "subjects",
    "subject": "experiments",
    "experiment": "scans",
    "scan": "resources",
    "resource": "files",
}


def _split_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        # the first "=" outside brackets: a custom variable's path has one inside
        # (xnat:subjectData/fields/field[name=cohort]/field=B)
        depth, at = 0, -1
        for n, char in enumerate(value):
            depth += {"[": 1, "]": -1}.get(char, 0)
            if char == "=" and depth == 0:
                at = n
                break
        key, pattern = (value[:at], value[at + 1 :]) if at > 0 else ("", "")
        if at <= 0:
            raise click.BadParameter(f"{value!r} is not KEY=GLOB", param_hint=what)
        pairs[key] = pattern
    return pairs


def _matches(row: Mapping[str, Any], filters: Mapping[str, str], kinds: Mapping[str, str]) -> bool:
    from xnat_sdk._typed_filters import typed_matches

    def one(key: str, pattern: str) -> bool:
        cell = "" if row.get(key) is None else str(row.get(key))
        if kinds.get(key):  # a date or number: a value or range, as the API's filter
            return typed_matches(kinds[key], cell, pattern)
        return fnmatch.fnmatchcase(cell, pattern)

    return all(one(k, v) for k, v in filters.items())


def _kinds(listing: Any, filters: Mapping[str, str]) -> dict[str, str]:
    """``{column: "date"/"number"}`` for the filters on a date or number column whose
    pattern is a value or range the API's ``filter`` takes (``2024-01-01..2024-12-31``);
    another (a glob, ``2024*``) is matched as a glob."""
    from xnat_sdk._typed_filters import check_value
    from xnat_sdk.errors import XNATValidationError

    kind_of = getattr(listing, "_filter_kind", None)
    kinds: dict[str, str] = {}
    for key, pattern in filters.items():
        kind = kind_of(key) if kind_of is not None else ""
        try:
            check_value(kind, key, pattern)
        except XNATValidationError as exc:
            if not any(c in pattern for c in "*?["):  # no glob either: it matches no row
                raise click.BadParameter(
                    f"{exc.message} (here also a glob, with * or ?, matched as text)",
                    param_hint="--filter",
                ) from None
            continue
        if kind:
            kinds[key] = kind
    return kinds


def listing_rows(
    listing: Any, kind: str, columns: Sequence[str], filters: Mapping[str, str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows of ``listing`` with ``columns`` (default: :data:`COLUMNS`, always all of
    them, empty where a server's listing lacks one), filtered."""
    kinds = _kinds(listing, filters)
    table = listing.tabulate()
    have = list(table.columns)
    wanted = list(columns) or list(COLUMNS[kind])
    needed = [*columns, *(k for k in filters if k not in columns)]
    missing = [c for c in needed if c not in have]
    if missing and kind != "files":
        from xnat_sdk.errors import XNATConnectionError, XNATResponseError, XNATValueError

        # the columns shown come too (without --columns, the defaults beside the filter's)
        shown = [*wanted, *(k for k in needed if k not in wanted)]
        try:
            table = listing.tabulate(columns=shown)
        except (XNATResponseError, XNATConnectionError):
            raise  # ValueErrors too, but not about a column
        except XNATValueError as exc:  # a column XNAT left out, named
            raise click.BadParameter(
                f"no column {', '.join(missing)} ({exc})", param_hint="--columns/--filter"
            ) from exc
        # a column the server does not know comes back empty in every row
        have = [c for c in table.columns if any(r.get(c) is not None for r in table)]
        missing = [c for c in needed if c not in have] if len(table) else []
    if missing:
        raise click.BadParameter(
            f"no column {', '.join(missing)} (columns: {', '.join(have)})",
            param_hint="--columns/--filter",
        )
    rows = [row.to_dict() for row in table]
    return wanted, [row for row in rows if _matches(row, filters, kinds)]


LS_HELP = (
    "List what is inside ADDRESS (the projects without one): the subjects of a project, "
    "the experiments of a subject, the scans of an experiment, the resources of a scan, the "
    "files of a resource (P/S/E/RESOURCE for one of the experiment itself, or a REST path "
    "ending in /resources/R or /resources/R/files; a file: its own row).\n\n"
    "\b\nColumns (the keys of the JSON objects and the CSV header), unless --columns:\n"
    + "\n".join(f"  {kind}: {', '.join(names)}" for kind, names in COLUMNS.items())
    + "\n\n--filter KEY=GLOB keeps the rows whose column KEY matches GLOB (repeatable); on "
    "a date or number column (date, insert_date, yob ...) a value or a range is compared as "
    "the API's filter compares it: date=2024-01-01..2024-12-31, yob=1970-1990.\n\n" + ADDRESS_HELP
)


@command(root, "ls", help=LS_HELP)
@click.argument("address", required=False)
@click.option("--columns", "-c", help="comma-separated columns to show (default: the useful ones)")
@click.option("--filter", "filters", multiple=True, metavar="KEY=GLOB", help="keep matching rows")
@pass_runtime
def ls(
    runtime: Runtime, address: str | None, columns: str | None, filters: tuple[str, ...]
) -> None:
    """``xnat-sdk ls [ADDRESS]``."""
    parsed = parse_address(address)
    pairs = _split_pairs(filters, "--filter")
    obj = resolve(runtime.session(), parsed, files=False)  # may re-level P/S/E/RESOURCE
    kind = _CHILDREN.get(parsed.level)
    if kind is None:  # a file: its own row of its resource's listing
        path = parsed.parts["file"]
        _ = obj.files[path]  # names the files there when it is not one
        kind, listing = "files", obj.files
        pairs["path"] = glob.escape(path)
    else:
        listing = getattr(obj, kind)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else []
    names, rows = listing_rows(listing, kind, chosen, pairs)
    runtime.output.rows(names, rows, title=f"{kind} of {parsed.text}" if parsed.text else kind)


_BELOW = {"project": ("subjects", "subject"), "subject": ("experiments", "experiment")}
_LEAVES = ("scan", "resource", "assessor")
"""Nodes counted whole from their own file listing (a scan's resources are summed in)."""
_TREE_WORKERS = 8
"""File listings ``tree`` reads side by side."""


_LABELS = {"project": "name", "scan": "type"}
"""The field a node's ``label`` shows (else ``label``)."""


def _node(kind: str, obj: Any) -> dict[str, Any]:
    label = getattr(obj, _LABELS.get(kind, "label"), None) or ""
    ident = unquote(obj.uri.rstrip("/").rsplit("/", 1)[-1])
    return {"level": kind, "id": ident, "label": str(label), "files": 0, "size": 0, "children": []}


def _skeleton(obj: Any, kind: str, asks: dict[int, list[str]]) -> dict[str, Any]:
    """The node of ``obj`` and those below it, counts not yet filled: ``asks`` gets the file
    listings each node's counts come from (its own resources'; a session's, its scans' too,
    in one listing for them all)."""
    from xnat_sdk._objects.core import routed_experiment_uri
    from xnat_sdk._objects.navigation import ImageSessionBase

    node = _node(kind, obj)
    children: list[dict[str, Any]] = []
    if kind in _BELOW:
        attr, child = _BELOW[kind]
        listing = getattr(obj, attr)
        if kind == "project" and obj.xnat_session.caching:
            listing = obj.load_tree(assessors=True)  # subjects, experiments, scans, assessors
        children = [_skeleton(item, child, asks) for item in listing.values()]
        if kind == "project":  # shared into it without their subject: under the project
            from xnat_sdk._objects.tree import unfiled_experiments

            children += [_skeleton(e, "experiment", asks) for e in unfiled_experiments(obj)]
        asks[id(node)] = [f"{obj.uri}/files"]
    elif kind == "experiment":
        uri = routed_experiment_uri(obj.uri)
        asks[id(node)] = [f"{uri}/files"]
        if isinstance(obj, ImageSessionBase):
            children = [_node("scan", scan) for scan in obj.scans.values()]
            asks[id(node)].append(f"{uri}/scans/ALL/files")
            for assessor in obj.assessors.values():  # each its own file listing
                found = _node("assessor", assessor)
                asks[id(found)] = [f"{routed_experiment_uri(assessor.uri)}/files"]
                children.append(found)
    elif kind == "resource":  # its own files
        asks[id(node)] = [f"{routed_experiment_uri(obj.uri)}/files"]
    else:  # a scan asked for itself (its rows are kept by scan: see ScanTransfers)
        asks[id(node)] = [f"{obj._files_base()}/files"]
    node["children"] = children
    return node


def _file_counts(session: Any, uri: str) -> dict[tuple[str, str], list[int]]:
    """``{(scan ID or "", resource label): [files, bytes]}`` of one file listing."""
    from xnat_sdk._answers import fetch
    from xnat_sdk.transfers._paths import split_file_uri

    counts: dict[tuple[str, str], list[int]] = {}
    for row in fetch(session, uri).rows(numbers=("Size",)):
        found = split_file_uri(str(row.get("URI", ""))) or ("", "", "")
        label = str(row.get("collection") or found[1])
        entry = counts.setdefault((found[0], label), [0, 0])
        entry[0] += 1
        entry[1] += int(row.get("Size") or 0)
    return counts


def _fill(node: dict[str, Any], asks: dict[int, list[str]], answers: dict[str, Any]) -> None:
    """Counts from the listings read, then sums upwards; a node's own resources holding
    files become its ``resource`` children (a scan's are summed into it)."""
    for child in node["children"]:
        if child["level"] != "scan" or id(child) in asks:
            _fill(child, asks, answers)
    scans = {c["id"]: c for c in node["children"] if c["level"] == "scan"}
    resources: list[dict[str, Any]] = []
    for uri in asks.get(id(node), ()):
        for (scan, label), (files, size) in answers[uri].items():
            if node["level"] in _LEAVES or uri.endswith("/scans/ALL/files"):
                target: dict[str, Any] | None
                if node["level"] in ("resource", "assessor"):
                    target = node
                elif node["level"] != "scan":
                    target = scans.get(scan)
                else:  # XNAT's {scan}/files has the scans of that type too
                    target = node if scan == node["id"] else None
                if target is not None:
                    target["files"] += files
                    target["size"] += size
            else:
                resource = {"level": "resource", "id": label, "label": label}
                resources.append({**resource, "files": files, "size": size, "children": []})
    node["children"] += resources
    if node["level"] not in _LEAVES:
        node["files"] = sum(int(c["files"]) for c in node["children"])
        node["size"] = sum(int(c["size"]) for c in node["children"])


def build_tree(obj: Any, kind: str) -> dict[str, Any]:
    """The hierarchy below ``obj`` with file counts and sizes: a project's tree in three
    listing requests, then one file listing per project, subject and scan asked for, and
    two per session (its own resources, all its scans), read side by side; a resource
    holding files is a node of its own under its project, subject or session."""
    from concurrent.futures import ThreadPoolExecutor

    asks: dict[int, list[str]] = {}
    root = _skeleton(obj, kind, asks)
    uris = [uri for found in asks.values() for uri in found]
    session = obj.xnat_session
    with ThreadPoolExecutor(_TREE_WORKERS) as pool:
        answers = dict(zip(uris, pool.map(lambda u: _file_counts(session, u), uris), strict=True))
    _fill(root, asks, answers)
    return root


def _flatten(node: dict[str, Any], path: str = "") -> list[dict[str, Any]]:
    """One row per node; ``path`` is an address of it (a scan by ID: types repeat)."""
    here = path or _part(node)
    row = {k: node[k] for k in ("level", "id", "label", "files", "size")}
    row["path"] = here
    return [row, *(r for c in node["children"] for r in _flatten(c, _path(node, here, c)))]


def _path(parent: dict[str, Any], here: str, child: dict[str, Any]) -> str:
    """The address of ``child``: ``here/{part}``, but a session under its project (shared
    into it without its subject) by its REST path, which names no subject."""
    if parent["level"] == "project" and child["level"] == "experiment":
        return f"/data/projects/{parent['id']}/experiments/{child['id']}"
    if here.startswith("/"):  # below such a session: REST path segments
        return f"{here}/{child['level']}s/{child['id']}"
    return f"{here}/{_part(child)}"


def _part(node: dict[str, Any]) -> str:
    return str(node["id"] if node["level"] == "scan" else node["label"] or node["id"])


def _rich_tree(node: dict[str, Any], branch: Any = None) -> Any:
    from rich.tree import Tree

    text = (
        f"[bold]{node['level']}[/] {node['label'] or node['id']} "
        f"({node['id']}): {node['files']} files, {format_bytes(node['size'])}"
    )
    tree = Tree(text) if branch is None else branch.add(text)
    for child in node["children"]:
        _rich_tree(child, tree)
    return tree


@command(
    root,
    "tree",
    help="Show the hierarchy below ADDRESS with file counts and sizes.\n\n"
    "JSON: nested objects {level, id, label, files, size, children}; CSV: one row per "
    "object (level, id, label, files, size, path).\n\n" + ADDRESS_HELP,
)
@click.argument("address")
@pass_runtime
def tree(runtime: Runtime, address: str) -> None:
    """``xnat-sdk tree ADDRESS``."""
    parsed = parse_address(address)
    levels = ("project", "subject", "experiment", "scan", "resource")
    if parsed.level not in levels:
        raise click.BadParameter(
            "give a project, subject, experiment, scan or resource", param_hint="ADDRESS"
        )
    obj = resolve(runtime.session(), parsed)
    node = build_tree(obj, parsed.level)
    output = runtime.output
    if output.format == "json":
        import json

        click.echo(json.dumps(node, indent=2))
    elif output.format == "csv":
        root_path = address.rstrip("/") if not address.startswith("/") else ""
        output.rows(["level", "id", "label", "files", "size", "path"], _flatten(node, root_path))
    else:
        from rich.console import Console

        Console().print(_rich_tree(node))


@root.group("users")
def users() -> None:
    """The server's user accounts."""


@command(users, "ls")
@pass_runtime
def users_ls(runtime: Runtime) -> None:
    """List the users (login, names, email, id)."""
    listing = runtime.session().users
    if listing.refused:  # an empty list would read as a site without users
        raise click.ClickException(
            f"{listing.path}: the server lets only site admins list its users "
            "(restrictUserListAccessToAdmins); log in as an admin"
        )
    accounts = listing.values()
    rows = [
        {
            "login": u.login,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "email": u.email,
            "id": u.id,
        }
        for u in accounts
    ]
    runtime.output.rows(["login", "first_name", "last_name", "email", "id"], rows, title="users")
