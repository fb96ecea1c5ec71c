"""``prearchive ls|archive|move|rebuild|delete``."""

from __future__ import annotations

import re
from typing import Any

import click

from xnat_sdk.cli._app import (
    OVERWRITE_HELP,
    Runtime,
    command,
    pass_runtime,
    root,
    session_exists_in_words,
)

__all__: list[str] = []

SESSION_HELP = (
    "SESSION is P/TIMESTAMP/FOLDER (as `prearchive ls` prints in its `address` column) or "
    "the REST path /data/prearchive/projects/P/TIMESTAMP/FOLDER."
)
_COLUMNS = ("address", "subject", "label", "status", "scan_date", "uploaded")
"""The columns of ``prearchive ls`` (the project is the address's first part)."""


def _row(item: Any) -> dict[str, Any]:
    return {
        "address": f"{item.project}/{item.timestamp_folder}/{item.folder_name}",
        "project": item.project,
        "subject": item.subject,
        "label": item.label,
        "status": item.status,
        "scan_date": item.scan_date.isoformat() if item.scan_date else None,
        "uploaded": item.uploaded.isoformat(sep=" ", timespec="seconds") if item.uploaded else None,
    }


def _find(runtime: Runtime, address: str) -> Any:
    path = re.sub(r"^/data/prearchive/projects/", "", address).strip("/")
    parts = path.split("/")
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter(f"{address!r}: {SESSION_HELP}", param_hint="SESSION")
    return runtime.session().prearchive.get(*parts)


@root.group("prearchive")
def prearchive() -> None:
    """Sessions waiting in the prearchive: list, archive, move, rebuild, delete."""


@command(
    prearchive, "ls", help="List the prearchive sessions (of --project, else all you may see)."
)
@click.option("--project", "-p", help="only this project's sessions")
@pass_runtime
def prearchive_ls(runtime: Runtime, project: str | None) -> None:
    """``xnat-sdk prearchive ls``."""
    items = runtime.session().prearchive.sessions(project)
    runtime.output.rows(_COLUMNS, [_row(item) for item in items], title="prearchive")


@command(prearchive, "archive", help="Archive SESSION.\n\n" + SESSION_HELP)
@click.argument("session")
@click.option("--project", help="archive into this project (default: its own)")
@click.option("--subject", help="subject label")
@click.option("--experiment", help="experiment label")
@click.option(
    "--overwrite",
    type=click.Choice(["none", "append", "delete"]),
    help=OVERWRITE_HELP,
)
@pass_runtime
def prearchive_archive(runtime: Runtime, /, session: str, **opts: Any) -> None:
    """``xnat-sdk prearchive archive SESSION``."""
    item = _find(runtime, session)
    with session_exists_in_words():
        done = item.archive(**{k: v for k, v in opts.items() if v is not None})
    runtime.output.record({"uri": done.uri, "label": getattr(done, "label", "")})


@command(prearchive, "move", help="Move SESSION to project NEW_PROJECT.\n\n" + SESSION_HELP)
@click.argument("session")
@click.argument("new_project")
@pass_runtime
def prearchive_move(runtime: Runtime, session: str, new_project: str) -> None:
    """``xnat-sdk prearchive move SESSION NEW_PROJECT``."""
    moved = _find(runtime, session).move(new_project)
    runtime.output.record(_row(moved))


@command(prearchive, "rebuild", help="Rebuild SESSION from its files.\n\n" + SESSION_HELP)
@click.argument("session")
@pass_runtime
def prearchive_rebuild(runtime: Runtime, session: str) -> None:
    """``xnat-sdk prearchive rebuild SESSION``."""
    runtime.output.record(_row(_find(runtime, session).rebuild()))


@command(prearchive, "delete", help="Delete SESSION from the prearchive.\n\n" + SESSION_HELP)
@click.argument("session")
@pass_runtime
def prearchive_delete(runtime: Runtime, session: str) -> None:
    """``xnat-sdk prearchive delete SESSION``."""
    item = _find(runtime, session)
    row = _row(item)
    item.delete()
    runtime.output.record({**row, "deleted": True})
